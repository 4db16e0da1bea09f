"""Warning lights for stored clocks: the watcher that turns running clocks yellow and red.

A stored clock row (``StoredClock``) keeps a ``common.clocks.Clock`` and, for the watcher, the
colour last reported and ``next_check_at``, the
moment its colour next changes if nothing else happens to it (``common.clocks.next_change``), or
NULL when it is stopped, paused or already red. A partial index on that column (``due_index``) lets
each pass of a service's timer read only the clocks that change colour now, so a pass costs in
proportion to the clocks due, not to the open cases.

Whoever changes a clock (starts, pauses, resumes, extends or stops it) stores it with
``StoredClock.store`` (or calls ``schedule`` for a row of another shape). Each
change of colour found by ``watch`` is published as ``clock.colour_changed.v1`` through the outbox, in
the transaction that records it, and a clock turning red counts its breach once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, get_args

from sqlalchemy import Date, DateTime, Float, Index, Integer, Interval, Select, String, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from common import clocks, metrics
from common.clocks import Clock, ClockKind, ClockUnit, Colour
from common.config import ServiceSettings
from common.contracts import ClockColourChanged, ClockStopped, Contract, Unit, WorkingDays
from common.errors import InvalidInput
from common.outbox import emit
from common.telemetry import trace_headers
from common.workdays import WorkCalendar

if TYPE_CHECKING:
    from common.db import UnitOfWork

DEFAULT_YELLOW_SHARE = 2 / 3
BATCH = 500
# how often a service looks for clocks changing colour, and recounts its open cases for the gauge
_SETTINGS = ServiceSettings()
WATCH_INTERVAL_SECONDS = _SETTINGS.clock_watch_interval_seconds
OPEN_CASES_INTERVAL_SECONDS = _SETTINGS.open_cases_interval_seconds


class WatchedClock:
    """Columns of a clock row the watcher reads and writes (a declarative mixin)."""

    colour: Mapped[str] = mapped_column(String(6), server_default="green")
    yellow_share: Mapped[float] = mapped_column(Float, server_default=text(repr(DEFAULT_YELLOW_SHARE)))
    next_check_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StoredClock(WatchedClock):
    """A `Clock` as columns (a declarative mixin; the table adds its key: the case and `kind`)."""

    unit: Mapped[str] = mapped_column(String(20))
    amount: Mapped[int] = mapped_column(Integer)
    added: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deadline: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    paused_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # wall-clock time paused, and paused time as the clock counts it (see common.clocks.Clock)
    paused_total: Mapped[timedelta] = mapped_column(Interval, default=timedelta(0))
    paused_counted: Mapped[timedelta] = mapped_column(Interval, default=timedelta(0))
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    def clock(self) -> Clock:
        return Clock(
            kind=ClockKind(self.kind),  # type: ignore[attr-defined]  # the table's key column
            unit=ClockUnit(self.unit),
            amount=self.amount,
            started_at=self.started_at,
            deadline=self.deadline,
            paused_at=self.paused_at,
            paused_total=self.paused_total or timedelta(0),
            stopped_at=self.stopped_at,
            paused_counted=self.paused_counted or timedelta(0),
            added=self.added or 0,
        )

    def work_calendar(self) -> WorkCalendar | None:
        """The calendar the clock counts on: None, the official one, unless the row keeps its
        tenant's (`OwnCalendar`)."""
        return None

    def store(self, clock: Clock, now: datetime, calendar: WorkCalendar | None = None) -> None:
        """Keep `clock` (a new value of this row's clock, or a fresh one) and schedule the watcher,
        counting on `calendar`, else the row's own."""
        if self.started_at != clock.started_at:  # a fresh clock starts green
            self.colour = "green"
        self.unit, self.amount, self.started_at = clock.unit.value, clock.amount, clock.started_at
        self.deadline, self.added = clock.deadline, clock.added
        self.paused_at, self.paused_total, self.paused_counted = (
            clock.paused_at,
            clock.paused_total,
            clock.paused_counted,
        )
        self.stopped_at = clock.stopped_at
        schedule(self, clock, now, self.work_calendar() if calendar is None else calendar)


class OwnCalendar:
    """A clock row that keeps its tenant's working-day corrections (a declarative mixin, listed
    before `StoredClock`): a service that does not hold tenant settings gets them with the case
    (`common.contracts.WorkingDays`) and counts every change of the clock on them."""

    extra_workdays: Mapped[list[date]] = mapped_column(ARRAY(Date), server_default="{}")
    extra_holidays: Mapped[list[date]] = mapped_column(ARRAY(Date), server_default="{}")

    def count_on(self, days: WorkingDays) -> None:
        self.extra_workdays, self.extra_holidays = list(days.extra_workdays), list(days.extra_holidays)

    def working_days(self) -> WorkingDays:
        return WorkingDays(extra_workdays=self.extra_workdays or (), extra_holidays=self.extra_holidays or ())

    def work_calendar(self) -> WorkCalendar | None:
        if not (self.extra_workdays or self.extra_holidays):
            return None
        return WorkCalendar(self.extra_workdays, self.extra_holidays)


def due_index(table: str) -> Index:
    return Index(f"ix_{table}_next_check", "next_check_at", postgresql_where=text("next_check_at IS NOT NULL"))


def held_index(table: str, include: Sequence[str] = ()) -> Index:
    """The running clocks by colour and deadline, for the clocks near breach (`HeldClocks`): a list
    costs in proportion to the running clocks of the colours asked, not to every clock ever kept.
    `include`: other columns a reader of the running clocks by colour takes from the index alone."""
    return Index(
        f"ix_{table}_held",
        "colour",
        "deadline",
        postgresql_where=text("stopped_at IS NULL"),
        postgresql_include=list(include),
    )


def schedule(row: Any, clock: Clock, now: datetime, calendar: WorkCalendar | None = None) -> None:
    """Record what the watcher must do after `clock` (the row's current value) changed at `now`.

    A stopped clock keeps its final colour (red when it stopped late) and is never looked at again.
    A running clock whose colour differs from the one reported is due at once, so the watcher
    reports the change; otherwise it is due when its colour next changes."""
    share = row.yellow_share if row.yellow_share is not None else DEFAULT_YELLOW_SHARE
    current = clocks.colour(clock, now, share, calendar)
    if clock.stopped_at is not None:
        row.colour, row.next_check_at = current, None
    elif current != (row.colour or "green"):
        row.next_check_at = now
    else:
        row.next_check_at = clocks.next_change(clock, now, share, calendar)


@dataclass(frozen=True, slots=True)
class Holder:
    """Who answers for a clock: the responsible unit (None before there is one) and the handler;
    for a supervision order's clock, the unit that sent it too (told of its red light)."""

    unit: Unit | None
    handler: str | None = None
    supervisor: Unit | None = None


def watch(
    uow: UnitOfWork,
    model: type,
    to_clock: Callable[[Any], Clock],
    holder: Callable[[Session, list[Any]], dict[uuid.UUID, Holder]],
    *,
    calendar: Callable[[Any], WorkCalendar | None] = lambda row: None,
    act: Callable[[Session, ClockColourChanged], Iterable[Contract]] | None = None,
    ref: Callable[[Any], str] | None = None,
    now: datetime | None = None,
    batch: int = BATCH,
) -> list[ClockColourChanged]:
    """Advance every due clock of `model`, `batch` rows per transaction; returns the changes published.

    `holder(session, rows)` maps the rows' complaint ids to who holds them. `act(session, change)` is
    what the service does about a change (routing escalates on a red tier target): the events it
    returns go out in the transaction that records the change, so a change is acted on once. Rows are
    locked with SKIP LOCKED, so several processes of a service can watch side by side; a breach is
    counted once its transaction has committed. `ref(row)` names a clock of a table holding several
    per case (supervision orders): `holder` then keys its answer by it, and each change carries it."""
    now = now or datetime.now(UTC)
    published: list[ClockColourChanged] = []
    while True:
        changes: list[ClockColourChanged] = []
        with uow.transaction() as session:
            rows = list(
                session.scalars(
                    select(model)
                    .where(model.next_check_at <= now)
                    .order_by(model.next_check_at)
                    .limit(batch)
                    .with_for_update(skip_locked=True)
                )
            )
            holders = holder(session, rows) if rows else {}
            for change in _advance(rows, to_clock, calendar, now, holders, ref):
                uow.emit(session, change)
                for caused in act(session, change) if act is not None else ():
                    uow.emit(session, caused)
                changes.append(change)
        for change in changes:
            if change.colour == "red":
                metrics.clock_breached(change.clock, change.tier, metrics.city_of(change.unit.code))
        published.extend(changes)
        if len(rows) < batch:
            return published


def _advance(
    rows: Iterable[Any],
    to_clock: Callable[[Any], Clock],
    calendar: Callable[[Any], WorkCalendar | None],
    now: datetime,
    holders: dict[Any, Holder],
    ref: Callable[[Any], str] | None = None,
) -> Iterable[ClockColourChanged]:
    for row in rows:
        clock, cal = to_clock(row), calendar(row)
        share = row.yellow_share if row.yellow_share is not None else DEFAULT_YELLOW_SHARE
        previous, row.colour = row.colour or "green", clocks.colour(clock, now, share, cal)
        row.next_check_at = clocks.next_change(clock, now, share, cal)
        key = ref(row) if ref is not None else None
        held = holders.get(row.complaint_id if key is None else key)
        if row.colour == previous or held is None or held.unit is None:
            continue  # nobody to tell yet: the colour is kept, the next change will be told
        yield ClockColourChanged(
            complaint_id=row.complaint_id,
            clock=clock.kind.value,
            colour=row.colour,
            unit=held.unit,
            handler=held.handler,
            tier=held.unit.tier,
            ref=key,
            supervisor=held.supervisor,
            at=now,
        )


def stopped(
    session: Session,
    outbox: type,
    complaint_id: uuid.UUID,
    clock: Clock,
    *,
    unit_code: str,
    tier: str,
    breach_counted: bool,
    ref: str | None = None,
) -> ClockStopped:
    """A clock of the case was stopped: measured in Prometheus (met, or late: its breach counted now
    unless the red light counted it) and published as `clock.stopped.v1` through the service's
    `outbox`, in the transaction that stopped it; the event, for what the service keeps of it."""
    if clock.stopped_at is None:
        raise ValueError("the clock is still running")
    seconds = max(0.0, (clock.stopped_at - clock.started_at - clock.paused_total).total_seconds())
    met = bool(clock.met)
    city = metrics.city_of(unit_code)
    metrics.clock_stopped(clock.kind.value, tier, city, seconds, in_time=met, breach_counted=breach_counted)
    event = ClockStopped(
        complaint_id=complaint_id,
        clock=clock.kind.value,
        unit_code=unit_code,
        tier=tier,
        started_at=clock.started_at,
        deadline=clock.deadline,
        stopped_at=clock.stopped_at,
        met=met,
        ref=ref,
    )
    emit(session, outbox, event, trace_headers())
    return event


def set_open_cases(session: Session, statement: Any) -> None:
    """Feed `disputes_open_cases` from `statement`, which selects (clock, colour, tier, unit code,
    count) for the service's running clocks."""
    counts: dict[tuple[str, str, str, str], int] = {}
    for clock, colour, tier, code, count in session.execute(statement):
        key = (clock, colour or "green", tier or metrics.NO_TIER, metrics.city_of(code))
        counts[key] = counts.get(key, 0) + count
    metrics.set_open_cases(counts)


# --- the clocks a unit holds (GET /api/v1/clocks) ---------------------------------------------------------

COLOURS: tuple[str, ...] = get_args(Colour)
NEAR_BREACH: tuple[str, ...] = ("yellow", "red")
HELD_LIMIT = 500


@dataclass(frozen=True, slots=True)
class HeldClocks:
    """What a caller asks of the running (or paused) clocks its units hold: their colours, as the
    watcher last saw them (at most `WATCH_INTERVAL_SECONDS` ago), their kinds (all when empty), and
    how many, the nearest deadline first."""

    colours: tuple[str, ...] = NEAR_BREACH
    kinds: tuple[str, ...] = ()
    limit: int = 100

    @classmethod
    def parse(cls, colours: Sequence[str] | None, kinds: Sequence[str] | None, limit: int) -> HeldClocks:
        errors = [
            {"field": "colour", "message": f"unknown colour {c!r}; one of {', '.join(COLOURS)}"}
            for c in colours or ()
            if c not in COLOURS
        ]
        known = {kind.value for kind in ClockKind}
        errors += [
            {"field": "kind", "message": f"unknown clock {k!r}; one of {', '.join(sorted(known))}"}
            for k in kinds or ()
            if k not in known
        ]
        if not 1 <= limit <= HELD_LIMIT:
            errors.append({"field": "limit", "message": f"must be between 1 and {HELD_LIMIT}"})
        if errors:
            raise InvalidInput(errors)
        return cls(tuple(colours or NEAR_BREACH), tuple(kinds or ()), limit)

    def select(self, model: type, kind: ColumnElement[str]) -> Select:
        """The rows of `model` asked for; `kind` is its clock kind (a column, or a literal for a
        table of one kind). The caller adds its scope."""
        query = select(model).where(model.stopped_at.is_(None), model.colour.in_(self.colours))
        if self.kinds:
            query = query.where(kind.in_(self.kinds))
        return query.order_by(model.deadline).limit(self.limit)


def held_clock(
    complaint_id: uuid.UUID,
    clock: Clock,
    now: datetime,
    *,
    unit: Unit,
    calendar: WorkCalendar | None,
    yellow_share: float | None,
    tracking_no: str | None = None,
    handler: str | None = None,
) -> dict[str, Any]:
    """One clock of the list: the case, the unit holding it (and its handler where the service knows
    one), and the clock as the case view shows it (deadline, remaining working time and colour, now)."""
    shown = clocks.to_dict(clock, now, calendar, yellow_share or DEFAULT_YELLOW_SHARE)
    return {
        "complaint_id": str(complaint_id),
        "tracking_no": tracking_no,
        "unit": unit.model_dump(),
        "handler": handler,
        **shown,
    }
