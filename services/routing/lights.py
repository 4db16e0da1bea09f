"""Routing's clocks and their warning lights (common/clock_watch.py): starting and stopping them,
who is told of their colours, and the running clocks counted for the open-case gauge.

- `tier_target` (`TierClock`): runs while a unit is responsible, `time_targets.<tier>` working days
  on the unit's calendar; its colours go to the responsible unit; red: the case is escalated.
- `agency_handover_ack` (`CaseClock`): runs until the agency acknowledges, 3 working days on the
  handing unit's calendar; its colours go to the handing unit (yellow: notification reminds the
  agency too); red: the agency handover lapses and the handing unit works the case.
- `authority_dispute` (`CaseClock`): runs while authority is contested (Art 33), 7 working days on
  the deciding unit's calendar; its colours go to the deciding unit; red: `contest_expired`, it
  decides now.
- `supervision` (`SupervisionOrder`, services/routing/supervision.py): a supervision order (督办)
  until it is answered, the working days its sender gave on the ordered unit's calendar; its colours
  go to the unit ordered, its red light to the sender too.

Each takes the yellow share of the unit whose calendar counts it (its effective tenant settings).
What happens on red is in services/routing/escalation.py (`on_clock_red`), run by the watcher in the
transaction that reports the red light, so a breach is counted once and acted on once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime

from sqlalchemy import func, literal, select, union_all
from sqlalchemy.orm import Session

from common import clocks, metrics, official_calendar
from common.clock_watch import DEFAULT_YELLOW_SHARE, HeldClocks, Holder, held_clock, schedule, stopped
from common.clocks import DEFAULT_RULES, ClockKind, ClockRule, start_clock, tier_target_rule
from common.contracts import ClockPolicy, WorkingDays
from common.contracts import Unit as UnitData
from common.divisions import tier_of
from common.tenancy import Scope, scope_clause
from common.workdays import WorkCalendar
from services.routing.models import CaseClock, Outbox, SupervisionOrder, TierClock
from services.routing.settings import DEFAULTS, TenantSettings, work_calendar
from services.routing.tree import DivisionTree

AGENCY_ACK = DEFAULT_RULES[ClockKind.AGENCY_HANDOVER_ACK]
AUTHORITY_DISPUTE = DEFAULT_RULES[ClockKind.AUTHORITY_DISPUTE]


# --- a unit's settings --------------------------------------------------------------------------------


def settings_of(tree: DivisionTree, code: str) -> TenantSettings:
    """The effective settings of an onboarded unit; the defaults for anything else."""
    return tree.settings_for(code) if code in tree.units else DEFAULTS


def calendar_of(tree: DivisionTree, code: str) -> WorkCalendar:
    return work_calendar(settings_of(tree, code))


def clock_policy(tree: DivisionTree, code: str) -> ClockPolicy:
    """What intake applies to the clocks it runs for the unit (ComplaintRouted.clock_policy)."""
    settings = settings_of(tree, code)
    return ClockPolicy(
        acknowledgement_hours=settings.acknowledgement_hours,
        acceptance_working_days=settings.acceptance_working_days,
        yellow_share=settings.yellow_share,
        working_days=WorkingDays(
            extra_workdays=settings.working_days.extra_workdays, extra_holidays=settings.working_days.extra_holidays
        ),
        settle_first_working_days=(
            settings.settle_first.window_working_days if settings.settle_first.enabled else None
        ),
    )


def unit_data(tree: DivisionTree, code: str) -> UnitData:
    unit = tree.units.get(code)
    if unit is not None:
        return UnitData(code=unit.code, name=unit.name, tier=unit.tier)
    return UnitData(code=code, name=tree.names.get(code, code), tier=tier_of(code).value)


# --- stopping and measuring ---------------------------------------------------------------------------


def _measure(session: Session, row: TierClock | CaseClock, clock: clocks.Clock) -> None:
    """The clock stopped: measured and published (`clock_watch.stopped`), for the unit on the row."""
    stopped(
        session,
        Outbox,
        row.complaint_id,
        clock,
        unit_code=row.unit_code,
        tier=row.tier or metrics.NO_TIER,
        breach_counted=row.colour == "red",
    )


# --- the tier target ----------------------------------------------------------------------------------


def start_tier_clock(
    session: Session, tree: DivisionTree, complaint_id: uuid.UUID, unit_code: str, tier: str, now: datetime
) -> TierClock:
    """(Re)start the responsible unit's own time target (its effective `time_targets`, calendar and
    yellow share). A clock still running for the unit before is stopped (and measured) first."""
    settings = settings_of(tree, unit_code)
    calendar = work_calendar(settings)
    rule = tier_target_rule(tier, getattr(settings.time_targets, tier, None))
    row = session.get(TierClock, complaint_id)
    if row is None:
        row = TierClock(complaint_id=complaint_id)
        session.add(row)
    elif row.stopped_at is None:
        _measure(session, row, clocks.stop(row.clock(), max(now, row.started_at)))
    clock = start_clock(rule, now, calendar)
    row.unit_code, row.tier, row.working_days = unit_code, tier, rule.amount
    row.started_at, row.deadline, row.stopped_at = now, clock.deadline, None
    row.colour, row.yellow_share = "green", settings.yellow_share
    schedule(row, clock, now, calendar)
    return row


def move_tier_clock(session: Session, tree: DivisionTree, complaint_id: uuid.UUID, to: UnitData, now: datetime) -> None:
    """The case moved to `to` while its target ran (its unit offboarded): the target of the unit
    that has it now starts. A stopped target (the case with an agency, ended) stays stopped."""
    row = session.get(TierClock, complaint_id)
    if row is not None and row.stopped_at is None and row.unit_code != to.code:
        start_tier_clock(session, tree, complaint_id, to.code, to.tier, now)


def stop_tier_clock(session: Session, complaint_id: uuid.UUID, now: datetime) -> None:
    row = session.get(TierClock, complaint_id)
    if row is None or row.stopped_at is not None:
        return
    clock = clocks.stop(row.clock(), max(now, row.started_at))
    _measure(session, row, clock)
    row.stopped_at = clock.stopped_at
    schedule(row, clock, now)


# --- the handovers' clocks ------------------------------------------------------------------------------


def start_case_clock(
    session: Session,
    tree: DivisionTree,
    complaint_id: uuid.UUID,
    rule: ClockRule,
    *,
    unit_code: str,
    handover_id: int | None,
    now: datetime,
) -> CaseClock:
    """Start a handover's clock, counted on `unit_code`'s calendar, its colours told to that unit."""
    settings = settings_of(tree, unit_code)
    calendar = work_calendar(settings)
    row = session.get(CaseClock, (complaint_id, rule.kind.value))
    if row is None:
        row = CaseClock(complaint_id=complaint_id, kind=rule.kind.value)
        session.add(row)
    elif row.stopped_at is None:
        stop_case_clock(session, complaint_id, rule.kind.value, now)
    row.handover_id, row.unit_code, row.tier = handover_id, unit_code, unit_data(tree, unit_code).tier
    row.yellow_share = settings.yellow_share
    row.colour = "green"
    row.store(start_clock(rule, now, calendar), now, calendar)
    return row


def stop_case_clock(session: Session, complaint_id: uuid.UUID, kind: str, now: datetime) -> CaseClock | None:
    row = session.get(CaseClock, (complaint_id, kind))
    if row is None or row.stopped_at is not None:
        return row
    clock = row.clock()
    if clock.paused_at is not None:
        clock = clocks.resume(clock, max(now, clock.paused_at))
    clock = clocks.stop(clock, max(now, row.started_at))
    _measure(session, row, clock)
    row.store(clock, now)
    return row


def view(row: TierClock | CaseClock | SupervisionOrder | None, tree: DivisionTree, now: datetime) -> dict | None:
    if row is None:
        return None
    clock = row.clock()
    shown = clocks.to_dict(
        clock,
        max(now, row.started_at),
        calendar_of(tree, row.unit_code),
        row.yellow_share or DEFAULT_YELLOW_SHARE,
    )
    return {**shown, "unit": row.unit_code, "tier": row.tier}


def held(session: Session, tree: DivisionTree, scope: Scope | None, asked: HeldClocks, now: datetime) -> list[dict]:
    """The running clocks asked for that the caller's units hold (the unit each row names, see the
    table above), the nearest deadline first."""
    rows: list[TierClock | CaseClock | SupervisionOrder] = []
    for model, kind in (
        (TierClock, literal(ClockKind.TIER_TARGET.value)),
        (CaseClock, CaseClock.kind),
        (SupervisionOrder, literal(ClockKind.SUPERVISION.value)),
    ):
        rows += session.scalars(asked.select(model, kind).where(scope_clause(model.unit_code, scope)))
    rows.sort(key=lambda row: row.deadline)
    return [_held(row, tree, now) for row in rows[: asked.limit]]


def of_case(session: Session, tree: DivisionTree, complaint_id: uuid.UUID, now: datetime) -> list[dict]:
    """Every clock of routing's for the case, stopped ones too (the caller checked it may see it)."""
    handovers = select(CaseClock).where(CaseClock.complaint_id == complaint_id).order_by(CaseClock.started_at)
    orders = select(SupervisionOrder).where(SupervisionOrder.complaint_id == complaint_id)
    rows: list[TierClock | CaseClock | SupervisionOrder] = [
        *session.scalars(select(TierClock).where(TierClock.complaint_id == complaint_id)),
        *session.scalars(handovers),
        *session.scalars(orders.order_by(SupervisionOrder.sent_at)),
    ]
    return [_held(row, tree, now) for row in rows]


def _held(row: TierClock | CaseClock | SupervisionOrder, tree: DivisionTree, now: datetime) -> dict:
    shown = held_clock(
        row.complaint_id,
        row.clock(),
        max(now, row.started_at),
        unit=unit_data(tree, row.unit_code),
        calendar=calendar_of(tree, row.unit_code),
        yellow_share=row.yellow_share,
    )
    if isinstance(row, SupervisionOrder):  # a case may hold several: which order, and who sent it
        shown.update(order_id=str(row.id), sent_by_unit=unit_data(tree, row.from_unit).model_dump())
    return shown


# --- what the watcher needs -----------------------------------------------------------------------------


def holders(tree: DivisionTree) -> Callable[[Session, list], dict[uuid.UUID, Holder]]:
    """Who is told of a clock's colours: the unit on the row (see the table above). Never None, so
    every red light is reported and acted on."""

    def held(session: Session, rows: list) -> dict[uuid.UUID, Holder]:
        return {row.complaint_id: Holder(unit_data(tree, row.unit_code)) for row in rows}

    return held


def calendars(tree: DivisionTree) -> Callable[[TierClock | CaseClock | SupervisionOrder], WorkCalendar]:
    cache: dict[str, WorkCalendar] = {}

    def calendar(row: TierClock | CaseClock | SupervisionOrder) -> WorkCalendar:
        if row.unit_code not in cache:
            cache[row.unit_code] = calendar_of(tree, row.unit_code)
        return cache[row.unit_code]

    return calendar


def recount(session: Session, tree: DivisionTree, since: date, now: datetime) -> int:
    """The official calendar changed: the running tier targets and handover clocks due from `since`
    count again on it (common.official_calendar.recount); how many moved."""
    calendar = calendars(tree)
    return sum(
        official_calendar.recount(session, model, model.clock, calendar, since, now) for model in (TierClock, CaseClock)
    )


# running clocks by kind, colour, the tier and city of the unit told, for the open-case gauge
_TIER = (TierClock.colour, TierClock.tier, func.substr(TierClock.unit_code, 1, 6))
_CASE = (CaseClock.kind, CaseClock.colour, CaseClock.tier, func.substr(CaseClock.unit_code, 1, 6))
_ORDER = (SupervisionOrder.colour, SupervisionOrder.tier, func.substr(SupervisionOrder.unit_code, 1, 6))
OPEN_CLOCKS = union_all(
    select(literal(ClockKind.TIER_TARGET.value), *_TIER, func.count())
    .where(TierClock.stopped_at.is_(None))
    .group_by(*_TIER),
    select(*_CASE, func.count()).where(CaseClock.stopped_at.is_(None)).group_by(*_CASE),
    select(literal(ClockKind.SUPERVISION.value), *_ORDER, func.count())
    .where(SupervisionOrder.stopped_at.is_(None))
    .group_by(*_ORDER),
)
