"""Keeping the read model from events: one function per contract, the event log, and the rebuild.

`consume` is what every handler runs inside its transaction after the inbox said "first delivery":
it appends the envelope (personal data stripped) to `reporting.event_log`, then applies the event.
`rebuild` truncates the model and applies the log again, in the order it was written (the order the
events were successfully handled in the first place), through the same functions.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy import event as orm_event
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from common import contracts, reference
from common.workdays import local_date
from services.reporting import figures, rollups
from services.reporting.models import (
    ComplaintFact,
    EarlyWarningFact,
    Escalation,
    EventLogEntry,
    MediationEnding,
    UnitName,
)
from services.reporting.rollups import Contribution, Ending, FactState

# --- the event log: what is kept of an envelope ---------------------------------------------------

# fields that name or reach a person (complainants; staff accounts; free text that may name anyone):
# replaced by an empty value, so the stored data still validates against its contract on replay
PERSONAL_FIELDS: dict[str, Any] = {
    "complainant_name": "",
    "complainant_phone": "",
    "complainant_division_code": None,
    "tracking_no": "",
    "accepted_by": "",
    "refused_by": "",
    "actor": "",
    "mediator": None,
    "reason": "",
    "other_routes": "",
    "inputs": {},
    "instruction": "",  # a supervision order's text
    "terms": None,  # a settle-first offer's note is free text
}
# mediation's `detail` is already free of personal data; staff names are dropped all the same
DETAIL_DROPPED = frozenset({"mediator", "previous_mediator", "replacement"})


def strip(data: dict[str, Any]) -> dict[str, Any]:
    kept = {k: PERSONAL_FIELDS.get(k, v) for k, v in data.items()}
    if isinstance(kept.get("detail"), dict):
        kept["detail"] = {k: v for k, v in kept["detail"].items() if k not in DETAIL_DROPPED}
    return kept


def log_event(session: Session, event_id: uuid.UUID, event: contracts.Contract) -> None:
    envelope = {"event_id": str(event_id), "type": event.type, "data": strip(event.model_dump(mode="json"))}
    session.execute(
        insert(EventLogEntry)
        .values(event_id=event_id, type=event.type, envelope=envelope)
        .on_conflict_do_nothing(constraint="uq_event_log_event")
    )


def consume(session: Session, event_id: uuid.UUID, event: contracts.Contract) -> None:
    log_event(session, event_id, event)
    apply(session, event_id, event)


# the inbox row and the event log's, in one round trip: the log row only for a first delivery. The
# complaint's lock comes first, held to the commit: of two transactions applying events of one
# complaint, the second logs and applies only after the first committed, so the log's order is the
# order the events were applied in and the rebuild applies them in that order again (a lock taken
# after the log row would let the later-logged event be applied first).
_RECEIVE = """
WITH first AS (
    INSERT INTO reporting.inbox (event_id, handler)
    SELECT :event_id, :handler FROM (SELECT pg_advisory_xact_lock(:complaint_lock)) AS complaint
    ON CONFLICT DO NOTHING RETURNING event_id
), logged AS (
    INSERT INTO reporting.event_log (event_id, type, envelope)
    SELECT event_id, :type, CAST(:envelope AS jsonb) FROM first
    ON CONFLICT ON CONSTRAINT uq_event_log_event DO NOTHING
)
SELECT count(*) FROM first
"""


def complaint_lock(event: contracts.Contract) -> int | None:
    """The advisory lock key of the event's complaint (its id's first 64 bits); None (no lock) for
    an event of no complaint, such as an early warning."""
    complaint_id = getattr(event, "complaint_id", None)
    return None if complaint_id is None else int.from_bytes(complaint_id.bytes[:8], "big", signed=True)


def receive(session: Session, event_id: uuid.UUID, event: contracts.Contract, handler: str) -> bool:
    """What every handler runs in its transaction: records `event_id` in the inbox and, on its first
    delivery, appends it to the event log (as `log_event`) and applies it (as `consume`). False for a
    redelivery, which changes nothing."""
    envelope = {"event_id": str(event_id), "type": event.type, "data": strip(event.model_dump(mode="json"))}
    params = {
        "event_id": event_id,
        "handler": handler,
        "type": event.type,
        "envelope": json.dumps(envelope),
        "complaint_lock": complaint_lock(event),
    }
    if not session.execute(text(_RECEIVE), params).scalar():
        return False
    apply(session, event_id, event)
    return True


# --- rollup rows: deltas appended per event, folded into the rollups in batches ------------------

# A handler appends what its event changes, at the event's own unit only, to `rollup_deltas`: an
# insert-only table, so concurrent handlers never wait on each other's rows (before this, every event
# of a day updated the same city and township rows). `fold` moves the deltas into the daily, monthly
# and yearly rollups of the unit and every unit above it, many events at a time, under an advisory
# lock (one folder at a time). Reads add the deltas not folded yet (views.py), so figures do not
# wait for the fold.
_DELTAS = """
INSERT INTO reporting.rollup_deltas (unit_code, day, metric, key, n, amount)
SELECT * FROM unnest(CAST(:units AS text[]), CAST(:days AS date[]), CAST(:metrics AS text[]),
                     CAST(:keys AS text[]), CAST(:ns AS bigint[]), CAST(:amounts AS numeric[]))
"""


def _pending(session: Session) -> dict[rollups.Key, list]:
    return session.info.setdefault("rollup_deltas", {})


def write_rows(session: Session, rows: dict[rollups.Key, tuple[int, Decimal]]) -> None:
    """Queue rows (at their own unit, not expanded) for this event's one delta insert (`write_deltas`)."""
    pending = _pending(session)
    for key, (n, amount) in rows.items():
        slot = pending.setdefault(key, [0, Decimal(0)])
        slot[0] += n
        slot[1] += amount
    know_units(session, {unit for unit, *_ in rows})


def write_deltas(session: Session) -> None:
    """Append the rows queued by the event(s) just applied, in one statement."""
    pending = session.info.pop("rollup_deltas", None)
    rows = [(*key, n, amount) for key, (n, amount) in sorted((pending or {}).items()) if n or amount]
    if not rows:
        return
    columns = list(zip(*rows, strict=True))
    names = ("units", "days", "metrics", "keys", "ns", "amounts")
    session.execute(text(_DELTAS), {name: list(column) for name, column in zip(names, columns, strict=True)})


def add(session: Session, contributions: Iterable[Contribution]) -> None:
    write_rows(session, rollups.net((), contributions))


# any constant: the advisory lock only one fold (in any process) holds at a time
FOLD_LOCK = 7_301_449_215
FOLD_BATCH = 20_000

# the oldest deltas (up to :batch rows) removed and added to the rollups of their unit and every unit
# above it (code prefixes of 6, 9 and 12 digits, as rollups.ancestors); businesses per month and year
# only. Rows in key order; net-zero rows are not written.
# each rollup: its table, its period column, a delta's period, and which deltas it takes
_ROLLUPS = (
    ("daily_rollups", "day", "day", "WHERE metric <> 'business'"),
    ("monthly_rollups", "month", "date_trunc('month', day::timestamp)::date", ""),
    ("yearly_rollups", "year", "date_trunc('year', day::timestamp)::date", ""),
)
_ADD_TO = """added_{period} AS (
    INSERT INTO reporting.{table} AS r (unit_code, {period}, metric, key, n, amount)
    SELECT unit_code, {period_of_day}, metric, key, sum(n), sum(amount) FROM expanded {which}
    GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0 OR sum(amount) <> 0 ORDER BY 1, 2, 3, 4
    ON CONFLICT (unit_code, {period}, metric, key)
    DO UPDATE SET n = r.n + excluded.n, amount = r.amount + excluded.amount
    RETURNING 1
)"""
_FOLD = f"""
WITH moved AS (
    DELETE FROM reporting.rollup_deltas
    WHERE id IN (SELECT id FROM reporting.rollup_deltas ORDER BY id LIMIT :batch)
    RETURNING unit_code, day, metric, key, n, amount
), expanded AS (
    SELECT left(m.unit_code, l.length) AS unit_code, m.day, m.metric, m.key, m.n, m.amount
    FROM moved m JOIN (VALUES (6), (9), (12)) AS l(length) ON l.length <= length(m.unit_code)
), {", ".join(_ADD_TO.format(table=t, period=p, period_of_day=d, which=w) for t, p, d, w in _ROLLUPS)}
SELECT (SELECT count(*) FROM moved), {" + ".join(f"(SELECT count(*) FROM added_{p})" for _, p, *_ in _ROLLUPS)}
"""


def fold(session: Session, batch: int = FOLD_BATCH, wait: bool = True) -> int:
    """Move up to `batch` of the oldest deltas into the rollups, in this transaction; the number moved.
    Without `wait`, answers 0 at once when another transaction is folding."""
    if wait:
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": FOLD_LOCK})
    elif not session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": FOLD_LOCK}).scalar():
        return 0
    moved, _ = session.execute(text(_FOLD), {"batch": batch}).one()
    return int(moved)


def fold_all(session: Session) -> int:
    """Every delta folded (the rebuild, tests), in this transaction."""
    total = 0
    while moved := fold(session):
        total += moved
    return total


# (code, name) pairs this process has committed already: skips a statement per event. A stale entry
# (after a rebuild elsewhere) is harmless: the rebuild wrote every unit of the log itself.
_KNOWN: set[tuple[str, str | None]] = set()


@orm_event.listens_for(Session, "after_commit")
def _units_committed(session: Session) -> None:
    _KNOWN.update(session.info.pop("known_units", ()))


@orm_event.listens_for(Session, "after_rollback")
def _units_rolled_back(session: Session) -> None:
    session.info.pop("known_units", None)
    session.info.pop("rollup_deltas", None)


def know_units(session: Session, codes: Iterable[str], named: Iterable[contracts.Unit] = ()) -> None:
    """Units the figures can be asked about: every code rows exist for (and its ancestors), with the
    name where an event gave one."""
    names = {u.code: u.name for u in named}
    codes = {a for code in [*codes, *names] for a in rollups.ancestors(code)}
    codes = {c for c in codes if (c, names.get(c)) not in _KNOWN}
    if not codes:
        return
    session.info.setdefault("known_units", set()).update((c, names.get(c)) for c in codes)
    values = [
        {"code": c, "name": names.get(c), "tier": rollups.tier_of(c), "parent_code": rollups.parent_of(c)}
        for c in sorted(codes)
    ]
    statement = insert(UnitName).values(values)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[UnitName.code],
            set_={"name": statement.excluded.name},
            where=(statement.excluded.name.is_not(None) & UnitName.name.is_distinct_from(statement.excluded.name)),
        )
    )


# --- the complaint's fact row, changed with its rollups -----------------------------------------


# built once: these run for nearly every event (building them per call cost more than running them)
_UPSERT_FACT = select(ComplaintFact).from_statement(
    text(
        "INSERT INTO reporting.complaint_facts (complaint_id, status) VALUES (:complaint_id, 'received') "
        "ON CONFLICT (complaint_id) DO UPDATE SET complaint_id = excluded.complaint_id RETURNING *"
    )
)
_FRESH = {"populate_existing": True}
_ENDINGS = select(MediationEnding.unit_code, MediationEnding.outcome, MediationEnding.ended_at).where(
    MediationEnding.complaint_id == bindparam("complaint_id")
)


def _locked_fact(session: Session, complaint_id: uuid.UUID, create: bool = True) -> ComplaintFact | None:
    """The complaint's row, locked until the transaction ends (its events are applied one at a time);
    with `create`, made first if missing, in the same statement (an upsert that changes nothing
    returns the row locked)."""
    if not create:
        return session.get(ComplaintFact, complaint_id, with_for_update=True, populate_existing=True)
    return session.scalars(_UPSERT_FACT, {"complaint_id": complaint_id}, execution_options=_FRESH).one()


def _endings_of(session: Session, complaint_id: uuid.UUID) -> list[Ending]:
    rows = session.execute(_ENDINGS, {"complaint_id": complaint_id}).all()
    return sorted((Ending(u, o, at) for u, o, at in rows), key=lambda e: (e.ended_at, e.outcome))


def _state(fact: ComplaintFact, endings: list[Ending]) -> FactState:
    return FactState(
        received_at=fact.received_at,
        channel=fact.channel,
        category=fact.category,
        claim_amount=fact.claim_amount,
        unit_code=fact.unit_code,
        tier=fact.tier,
        status=fact.status,
        business_key=fact.business_key,
        accepted_at=fact.accepted_at,
        decided_at=fact.decided_at,
        decided_unit=fact.decided_unit,
        endings=tuple(endings),
    )


class _Change:
    """`with _Change(session, fact) as change:` writes the difference the block made to the fact's
    rollups; the block reports an ending it adds with `change.ended(...)`."""

    def __init__(self, session: Session, fact: ComplaintFact) -> None:
        self.session, self.fact = session, fact

    def __enter__(self) -> _Change:
        self.endings = _endings_of(self.session, self.fact.complaint_id)
        self.before = rollups.fact_contributions(_state(self.fact, self.endings))
        return self

    def ended(self, row: MediationEnding) -> None:
        self.session.add(row)
        self.endings = sorted([*self.endings, Ending(row.unit_code, row.outcome, row.ended_at)],
                              key=lambda e: (e.ended_at, e.outcome))  # fmt: skip

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            after = rollups.fact_contributions(_state(self.fact, self.endings))
            write_rows(self.session, rollups.net(self.before, after))


def _set_status(fact: ComplaintFact, status: str, at: datetime) -> None:
    """The latest status by event time wins, whatever order the events arrive in; a refusal stays
    (as intake's case status, services/intake/case_status.py)."""
    if fact.status == reference.REFUSED and status != reference.REFUSED:
        return
    # the settle-first lane opens in the instant the complaint is routed (intake opens it on the
    # routing event), so at that same instant the lane's status stands, whichever came first
    if fact.status == reference.SETTLE_FIRST and status == reference.ROUTED and at == fact.status_at:
        return
    if fact.status_at is None or at >= fact.status_at:
        fact.status, fact.status_at = status, at


def _earlier(current: datetime | None, candidate: datetime) -> bool:
    return current is None or candidate < current


def business_key(credit_code: str | None, name: str | None) -> str | None:
    if not credit_code and not name:
        return None
    return f"{credit_code or ''}|{(name or '')[:100]}"


def _routed_fact(session: Session, complaint_id: uuid.UUID) -> ComplaintFact:
    fact = _locked_fact(session, complaint_id, create=False)
    if fact is None or fact.unit_code is None:
        raise LookupError(f"complaint {complaint_id} is not counted as routed yet; the move waits for it")
    return fact


def _move(fact: ComplaintFact, from_code: str, to: contracts.Unit) -> None:
    if fact.unit_code == from_code:
        fact.unit_code, fact.tier = to.code, to.tier


# --- one function per contract -------------------------------------------------------------------


def on_received(session: Session, event_id: uuid.UUID, event: contracts.ComplaintReceived) -> None:
    fact = _locked_fact(session, event.complaint_id)
    with _Change(session, fact):
        fact.received_at, fact.channel, fact.category = event.received_at, event.channel, event.category
        fact.claim_amount = event.claim_amount
        key = business_key(event.business_credit_code, event.business_name)
        if key:
            fact.business_key, fact.business_name = key, (event.business_name or "")[:100] or None
        _set_status(fact, "received", event.received_at)


def on_routed(session: Session, event_id: uuid.UUID, event: contracts.ComplaintRouted) -> None:
    fact = _locked_fact(session, event.complaint_id)
    with _Change(session, fact):
        if fact.routed_at is None:  # one routing decision per complaint; moves come as other events
            fact.unit_code, fact.tier, fact.routed_at = event.unit.code, event.unit.tier, event.decided_at
        _set_status(fact, "routed", event.decided_at)
    know_units(session, (), [event.unit])
    add(session, [Contribution(event.unit.code, local_date(event.decided_at), "arrived", "routed")])


def on_reassigned(session: Session, event_id: uuid.UUID, event: contracts.CaseReassigned) -> None:
    """A move that arrives before the routing it moves from is refused (LookupError: the handler
    retries it), so the older decision cannot overwrite it."""
    fact = _routed_fact(session, event.complaint_id)
    with _Change(session, fact):
        figures.count_reassigned(session, event)  # the decision (tests/unit/test_reassignment.py)
    know_units(session, (), [event.from_unit, event.to_unit])
    add(session, [Contribution(event.to_unit.code, local_date(event.at), "arrived", "moved")])


def on_escalated(session: Session, event_id: uuid.UUID, event: contracts.CaseEscalated) -> None:
    """The case counts for the unit above from now on, and as an escalation of the unit below."""
    fact = _routed_fact(session, event.complaint_id)
    session.add(
        Escalation(
            complaint_id=event.complaint_id,
            from_unit=event.from_unit.code,
            from_tier=event.from_unit.tier,
            to_unit=event.to_unit.code,
            trigger=event.trigger,
            at=event.at,
        )
    )
    with _Change(session, fact):
        _move(fact, event.from_unit.code, event.to_unit)
        _set_status(fact, reference.ESCALATED, event.at)
    know_units(session, (), [event.from_unit, event.to_unit])
    day = local_date(event.at)
    # the tier in the metric: within a township's subtree only the township itself is a township
    add(session, [Contribution(event.from_unit.code, day, f"escalated_from:{event.from_unit.tier}", event.trigger)])


def on_routing_step(session: Session, event_id: uuid.UUID, event: contracts.CaseRoutingStep) -> None:
    """A handover accepted or an authority decision moves the case; an agency handover marks it; a
    case nobody accepted that ends at the top tier is closed."""
    if event.step == "ended_at_top":
        fact = _routed_fact(session, event.complaint_id)
        if fact.accepted_at is None:
            with _Change(session, fact):
                _set_status(fact, reference.CLOSED, event.at)
    if event.previous_unit is None and event.agency_tenant is None:
        return
    fact = _routed_fact(session, event.complaint_id)
    with _Change(session, fact):
        if event.previous_unit is not None:
            _move(fact, event.previous_unit.code, event.responsible_unit)
        if event.agency_tenant is not None:
            # a lapsed or handed-back handover names the agency it left: the agency no longer sees it
            released = event.step in reference.AGENCY_RELEASING_STEPS
            fact.agency_tenant = None if released else event.agency_tenant
    know_units(session, (), [event.responsible_unit])
    if event.previous_unit is not None and event.previous_unit.code != event.responsible_unit.code:
        add(session, [Contribution(event.responsible_unit.code, local_date(event.at), "arrived", "moved")])


def on_accepted(session: Session, event_id: uuid.UUID, event: contracts.ComplaintAccepted) -> None:
    fact = _locked_fact(session, event.complaint_id)
    with _Change(session, fact):
        if _earlier(fact.accepted_at, event.accepted_at):
            fact.accepted_at = event.accepted_at
        if _earlier(fact.decided_at, event.accepted_at):
            fact.decided_at, fact.decided_unit, fact.decision = event.accepted_at, event.unit.code, "accepted"
        if fact.business_key is None:
            fact.business_key = business_key(event.business_credit_code, event.business_name)
            fact.business_name = event.business_name[:100] or None
        _set_status(fact, "accepted", event.accepted_at)
    know_units(session, (), [event.unit])
    add(session, [Contribution(event.unit.code, local_date(event.accepted_at), "decision", "accepted")])


def on_refused(session: Session, event_id: uuid.UUID, event: contracts.ComplaintRefused) -> None:
    fact = _locked_fact(session, event.complaint_id)
    with _Change(session, fact):
        if _earlier(fact.decided_at, event.refused_at):
            fact.decided_at, fact.decided_unit, fact.decision = event.refused_at, event.unit.code, "refused"
            fact.refusal_ground = event.ground
        _set_status(fact, "refused", event.refused_at)
    know_units(session, (), [event.unit])
    day = local_date(event.refused_at)
    add(
        session,
        [
            Contribution(event.unit.code, day, "decision", "refused"),
            Contribution(event.unit.code, day, "refusal", event.ground),
        ],
    )


def on_clock_stopped(session: Session, event_id: uuid.UUID, event: contracts.ClockStopped) -> None:
    """The clock's own verdict, in time or late, at the unit answering for it when it stopped."""
    figure = rollups.REPORTED_CLOCKS.get(event.clock)
    if figure is None:
        return
    know_units(session, [event.unit_code])
    day = local_date(event.stopped_at)
    add(session, [Contribution(event.unit_code, day, f"clock:{figure}", rollups.on_time(event.met))])
    if event.clock == "acceptance":  # the public disclosure's on-time rate (issue 19)
        _locked_fact(session, event.complaint_id).acceptance_met = event.met


def on_transitioned(session: Session, event_id: uuid.UUID, event: contracts.MediationTransitioned) -> None:
    fact = _locked_fact(session, event.complaint_id)
    with _Change(session, fact):
        # the case status as intake keeps it (common/reference.py): one mapping for list and figures
        status = reference.status_for_mediation(event.to_state)
        if status is not None:
            _set_status(fact, status, event.at)
    know_units(session, (), [event.unit])
    # a call-back by the unit whose mediation ended before the case moved on counts for that unit
    day, unit = local_date(event.at), event.detail.get("unit") or event.unit.code
    if event.action == "perform_term" and event.detail.get("recovered_amount") is not None:
        amount = Decimal(str(event.detail["recovered_amount"]))
        add(session, [Contribution(unit, day, "recovered", "performed", 1, amount)])
    elif event.action == "callback" and event.detail.get("party") == "complainant":
        score = int(event.detail.get("score") or 0)
        if 1 <= score <= 5:
            add(session, [Contribution(unit, day, "satisfaction", str(score), 1, Decimal(score))])


def on_ended(session: Session, event_id: uuid.UUID, event: contracts.MediationEnded) -> None:
    fact = _locked_fact(session, event.complaint_id)
    with _Change(session, fact) as change:
        change.ended(
            MediationEnding(
                event_id=event_id,
                complaint_id=event.complaint_id,
                unit_code=event.unit.code,
                outcome=event.outcome,
                ended_at=event.ended_at,
            )
        )
    know_units(session, (), [event.unit])
    day, unit = local_date(event.ended_at), event.unit.code
    rows = [Contribution(unit, day, "mediation", event.outcome)]
    if event.outcome == "agreement" and event.recovered_amount:
        rows.append(Contribution(unit, day, "recovered", "agreed", 1, event.recovered_amount))
    add(session, rows)


def on_settle_first_opened(session: Session, event_id: uuid.UUID, event: contracts.SettleFirstOpened) -> None:
    """The case went to the business first (issue 19): its status is `settle_first`, as in intake's
    case list, until the lane ends."""
    if event.opened_at is None:
        return
    fact = _locked_fact(session, event.complaint_id)
    with _Change(session, fact):
        _set_status(fact, reference.SETTLE_FIRST, event.opened_at)


def on_settle_first(session: Session, event_id: uuid.UUID, event: contracts.SettleFirstEnded) -> None:
    """The settle-first lane ended (issue 19): settled cases close as `settled`, the others go back
    to the unit's acceptance decision (`routed`, as intake has it); whether the business answered
    within its window is counted either way."""
    fact = _locked_fact(session, event.complaint_id)
    with _Change(session, fact):
        fact.settle_first, fact.settle_first_on_time = event.outcome, event.answered_on_time
        if event.outcome == "settled":
            fact.closed_at = event.ended_at
            _set_status(fact, reference.SETTLED, event.ended_at)
        else:
            _set_status(fact, reference.ROUTED, event.ended_at)
        if fact.business_key is None:
            fact.business_key = business_key(event.business_credit_code, event.business_name)
            fact.business_name = (event.business_name or "")[:100] or None
    know_units(session, (), [event.unit])
    day, answer = local_date(event.ended_at), "on_time" if event.answered_on_time else "not_on_time"
    add(
        session,
        [
            Contribution(event.unit.code, day, "settle_first", event.outcome),
            Contribution(event.unit.code, day, "settle_first_answer", answer),
        ],
    )


def on_warning(session: Session, event_id: uuid.UUID, event: contracts.EarlyWarningRaised) -> None:
    inserted = session.execute(
        insert(EarlyWarningFact)
        .values(
            warning_id=event.warning_id,
            kind=event.kind,
            township_code=event.township_code,
            city_code=event.city_code,
            count=event.count,
            raised_at=event.raised_at,
        )
        .on_conflict_do_nothing()
        .returning(EarlyWarningFact.warning_id)
    ).first()
    if inserted is not None:
        unit = event.township_code or event.city_code
        add(session, [Contribution(unit, local_date(event.raised_at), "warning", event.kind)])


# supervision orders (督办), metric `supervision`: what each event counts, at which of its units
SUPERVISION_COUNTS: dict[type[contracts.Contract], tuple[tuple[str, str], ...]] = {
    contracts.SupervisionOrdered: (("from_unit", "sent"), ("to_unit", "received")),
    contracts.SupervisionAnswered: (("to_unit", "answered"),),
    contracts.SupervisionAccepted: (("to_unit", "accepted"),),
    contracts.SupervisionReturned: (("to_unit", "returned"),),
}
SUPERVISION_CLOCK = "supervision"


def on_supervision(session: Session, event_id: uuid.UUID, event: Any) -> None:
    """Orders sent (at the sender) and received, answered (late ones too), accepted and sent back
    (at the unit ordered), on the day of the event; they never move."""
    day = local_date(event.at)
    rows = [
        Contribution(getattr(event, side).code, day, "supervision", key)
        for side, key in SUPERVISION_COUNTS[type(event)]
    ]
    if isinstance(event, contracts.SupervisionAnswered) and not event.in_time:
        rows.append(Contribution(event.to_unit.code, day, "supervision", "answered_late"))
    know_units(session, (), [event.from_unit, event.to_unit])
    add(session, rows)


def on_clock_colour(session: Session, event_id: uuid.UUID, event: contracts.ClockColourChanged) -> None:
    """A supervision order passed its deadline unanswered (its red light): overdue, at the unit ordered."""
    if event.clock != SUPERVISION_CLOCK or event.colour != "red":
        return
    know_units(session, (), [event.unit])
    add(session, [Contribution(event.unit.code, local_date(event.at or datetime.now(UTC)), "supervision", "overdue")])


APPLY: dict[type[contracts.Contract], Callable[[Session, uuid.UUID, Any], None]] = {
    contracts.ComplaintReceived: on_received,
    contracts.ComplaintRouted: on_routed,
    contracts.CaseReassigned: on_reassigned,
    contracts.CaseEscalated: on_escalated,
    contracts.CaseRoutingStep: on_routing_step,
    contracts.ComplaintAccepted: on_accepted,
    contracts.ComplaintRefused: on_refused,
    contracts.SettleFirstOpened: on_settle_first_opened,
    contracts.SettleFirstEnded: on_settle_first,
    contracts.ClockStopped: on_clock_stopped,
    contracts.MediationTransitioned: on_transitioned,
    contracts.MediationEnded: on_ended,
    contracts.EarlyWarningRaised: on_warning,
    contracts.SupervisionOrdered: on_supervision,
    contracts.SupervisionAnswered: on_supervision,
    contracts.SupervisionAccepted: on_supervision,
    contracts.SupervisionReturned: on_supervision,
    contracts.ClockColourChanged: on_clock_colour,
}
BY_TYPE: dict[str, type[contracts.Contract]] = {c.type: c for c in APPLY}


def apply(session: Session, event_id: uuid.UUID, event: contracts.Contract) -> None:
    APPLY[type(event)](session, event_id, event)
    write_deltas(session)


# --- rebuild -------------------------------------------------------------------------------------

MODEL_TABLES = (
    "complaint_facts",
    "escalations",
    "early_warnings",
    "daily_rollups",
    "monthly_rollups",
    "yearly_rollups",
    "rollup_deltas",
    "mediation_endings",
    "units",
)
REPLAY_BATCH = 2000


def rebuild(session: Session) -> dict[str, int]:
    """Empty the read model and apply the event log again, in its order, in this transaction,
    and fold every delta into the rollups. Monthly reports are documents already sent up: they stay as they were."""
    session.execute(text("LOCK TABLE reporting.event_log IN SHARE MODE"))  # no handler appends meanwhile
    # the fold lock before the truncation: a fold waiting on the truncated tables while holding it
    # would otherwise deadlock with the fold at the end of the rebuild
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": FOLD_LOCK})
    session.execute(text(f"TRUNCATE {', '.join(f'reporting.{t}' for t in MODEL_TABLES)}"))
    _KNOWN.clear()
    replayed, last = 0, 0
    waiting: dict[uuid.UUID, list[tuple[uuid.UUID, contracts.Contract]]] = {}
    while True:
        batch = session.execute(
            select(EventLogEntry.seq, EventLogEntry.event_id, EventLogEntry.type, EventLogEntry.envelope)
            # an event an earlier version read and this one does not (message.recorded.v1) changes nothing
            .where(EventLogEntry.seq > last, EventLogEntry.type.in_(BY_TYPE))
            .order_by(EventLogEntry.seq)
            .limit(REPLAY_BATCH)
        ).all()
        if not batch:
            break
        for seq, event_id, type_, envelope in batch:
            replayed += _replay(session, event_id, BY_TYPE[type_].model_validate(envelope["data"]), waiting)
            last = seq
        session.flush()
        session.expunge_all()
    if waiting:
        raise LookupError(f"the event log holds moves of complaints never routed: {sorted(map(str, waiting))[:10]}")
    fold_all(session)
    return {"replayed": replayed}


def _replay(
    session: Session,
    event_id: uuid.UUID,
    event: contracts.Contract,
    waiting: dict[uuid.UUID, list[tuple[uuid.UUID, contracts.Contract]]],
) -> int:
    """Apply a logged event, and then the moves of its complaint that waited for it; the number applied.

    Logs written before the complaint's lock came first in `receive` are in the order the handlers
    appended, which was not always the order they committed: a move's handler may have appended,
    then waited for the routing's lock, and applied after it. A move that finds
    its complaint not routed yet waits here as it did there (`_routed_fact` refuses it before it
    writes anything) until its complaint's next event is applied."""
    key = getattr(event, "complaint_id", None)
    try:
        apply(session, event_id, event)
    except LookupError:
        if key is None:
            raise
        waiting.setdefault(key, []).append((event_id, event))
        return 0
    applied = 1
    for held_id, held in waiting.pop(key, []) if key is not None else ():
        applied += _replay(session, held_id, held, waiting)
    return applied
