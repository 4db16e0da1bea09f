"""The mediation case: plain functions over a session (no broker). The service wraps them in
transactions, emits what they return through the outbox and maps their errors to answers.

Every change goes through `perform`: the state machine (`states`) decides whether the action is
allowed and where it leads; the action's handler records what it records; then the transition is
journalled (`Step`) and published (`mediation.transitioned.v1`), and entering an end state stops the
60-day clock, starts the 7-working-day notice clock and publishes `mediation.ended.v1`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, object_session
from sqlalchemy.sql.elements import ColumnElement

from common import audit, clock_watch, clocks
from common.clock_watch import DEFAULT_YELLOW_SHARE
from common.contracts import ComplaintAccepted, Contract, MediationEnded, MediationTransitioned, Unit
from common.contracts import mediation as inputs
from common.errors import Conflict, Forbidden, InvalidInput, NotFound
from common.tenancy import Role, Scope, Viewers, scope_clause
from services.mediation import roster, states
from services.mediation.models import (
    Agreement,
    Assignment,
    Callback,
    Case,
    CaseViewer,
    ClockRow,
    MediationSession,
    Mediator,
    Outbox,
    PersonalDataAccess,
    Recusal,
    ReReview,
    Step,
    Term,
)

SYSTEM = "system"
PARTIES = ("complainant", "business")
# what the journal's detail may pass on in events: no free text (it may name people)
PUBLIC_DETAIL = frozenset(
    {
        "session",
        "mode",
        "party",
        "channel",
        "scheduled_at",
        "round",
        "term",
        "terms",
        "kind",
        "score",
        "mediator",
        "previous_mediator",
        "picked",
        "recusal",
        "requested_by",
        "granted",
        "replacement",
        "decision",
        "remedies",
        "escalate",
        "from_unit",
        "to_unit",
        "trigger",
        "deadline",
        "recovered_amount",
        "judicial_confirmation",
        "agreed",
        "consent",
        "via",
        "all_confirmed",
        "unit",  # a call-back by the unit whose mediation ended before the case moved on
        # 诉调对接: the court applied to and its answer (a ruling number is public, its reason is not)
        "court",
        "court_name",
        "ruling_no",
    }
)
ACTOR_ROLES = frozenset({Role.MEDIATOR, Role.SUPERVISOR})
# a mediator who does not hold the case may still do these (a party's request, the after-care)
ANY_MEDIATOR_ACTIONS = frozenset({states.REQUEST_RECUSAL, states.CALLBACK, states.NOTIFY_END})


def utcnow() -> datetime:
    return datetime.now(UTC)


def _unit(case: Case) -> Unit:
    return Unit(code=case.unit_code, name=case.unit_name, tier=case.unit_tier)


# --- clocks ---------------------------------------------------------------------------------------


def _clock_row(case: Case, kind: clocks.ClockKind) -> ClockRow | None:
    return next((row for row in case.clocks if row.kind == kind.value), None)


def _start_clock(
    session: Session, case: Case, kind: clocks.ClockKind, at: datetime, accepted: ComplaintAccepted | None = None
) -> ClockRow:
    """A fresh clock of `kind` (replacing an earlier one: mediation reopened, or ended again). Its
    yellow share and working-day calendar are the tenant's, from the acceptance, else those the
    case's first clock took from it."""
    row = _clock_row(case, kind)
    if row is None:
        row = ClockRow(complaint_id=case.complaint_id, kind=kind.value)
        case.clocks.append(row)
    first = case.clocks[0]
    if accepted is not None:
        row.yellow_share = accepted.yellow_share
        row.count_on(accepted.working_days)
    elif first is not row:
        row.yellow_share = first.yellow_share
        row.count_on(first.working_days())
    row.yellow_share = row.yellow_share or DEFAULT_YELLOW_SHARE
    row.pauses = []
    row.store(clocks.start_clock(clocks.DEFAULT_RULES[kind], at, row.work_calendar()), utcnow())
    return row


def _stop_clock(case: Case, kind: clocks.ClockKind, at: datetime) -> None:
    row = _clock_row(case, kind)
    if row is None or row.stopped_at is not None:
        return
    clock = row.clock()
    if clock.paused:  # an appraisal still open when mediation ends: credit it, then stop
        clock = clocks.resume(clock, at, row.work_calendar())
        row.pauses = [*row.pauses[:-1], {**row.pauses[-1], "end": at.isoformat()}] if row.pauses else row.pauses
    reported_red = row.colour == "red"
    stopped = clocks.stop(clock, at)
    row.store(stopped, utcnow())
    clock_watch.stopped(
        object_session(case),
        Outbox,
        case.complaint_id,
        stopped,
        unit_code=case.unit_code,
        tier=case.unit_tier,
        breach_counted=reported_red,
    )


# --- cases from events ------------------------------------------------------------------------------


def open_case(session: Session, event: ComplaintAccepted) -> list[Contract]:
    """Start the mediation case of an accepted complaint. The complainant's consent is implied by the
    complaint; the business is asked next. A case that exists already: a later acceptance by another
    unit moves it there, the same unit's is ignored."""
    existing = session.get(Case, event.complaint_id, with_for_update=True)
    if existing is not None:
        if existing.unit_code != event.unit.code:
            return move_unit(session, existing, event.unit, actor=event.accepted_by, trigger="accepted_elsewhere")
        return []
    now = utcnow()
    case = Case(
        complaint_id=event.complaint_id,
        tracking_no=event.tracking_no,
        unit_code=event.unit.code,
        unit_name=event.unit.name,
        unit_tier=event.unit.tier,
        category=event.category,
        claim_amount=event.claim_amount,
        complainant_name=event.complainant_name,
        complainant_phone=event.complainant_phone,
        business_name=event.business_name,
        business_credit_code=event.business_credit_code,
        state=states.AWAITING_CONSENT,
        round=1,
        accepted_at=event.accepted_at,
        accepted_by=event.accepted_by,
        complainant_consent_at=event.accepted_at,
        consent_detail={"complainant": "implied by filing the complaint"},
        remedies=[],
        created_at=now,
        updated_at=now,
    )
    session.add(case)
    session.flush()
    _start_clock(session, case, clocks.ClockKind.MEDIATION, event.accepted_at, event)
    session.add(
        Step(
            complaint_id=case.complaint_id,
            at=now,
            actor=event.accepted_by,
            action="open",
            from_state="",
            to_state=case.state,
            detail={"complainant_consent": "implied"},
        )
    )
    return [_transitioned(case, "open", "", case.state, event.accepted_by, now, {})]


def move_unit(session: Session, case: Case, to_unit: Unit, *, actor: str, trigger: str) -> list[Contract]:
    """Routing moved the case (escalation, reassignment): the new unit is responsible from now on."""
    if case.unit_code == to_unit.code:
        return []
    from_unit = _unit(case)

    def handler(ctx: _Ctx) -> None:
        session.execute(
            insert(CaseViewer)
            .values(complaint_id=case.complaint_id, unit_code=from_unit.code, since=ctx.now, reason=trigger[:40])
            .on_conflict_do_nothing()
        )
        case.unit_code, case.unit_name, case.unit_tier = to_unit.code, to_unit.name, to_unit.tier
        ctx.detail.update(from_unit=from_unit.code, to_unit=to_unit.code, trigger=trigger)
        if states.next_state(case.state, states.MOVE_UNIT, _facts(case)) == states.AWAITING_ASSIGNMENT:
            # the new unit's supervisor assigns one of its own mediators
            for assignment in case.assignments:
                if assignment.ended_at is None:
                    assignment.ended_at = ctx.now
            ctx.detail["previous_mediator"] = case.mediator
            case.mediator, case.round, case.previous_state = None, 1, None

    return perform(session, case, states.MOVE_UNIT, None, None, actor=actor, handler=handler)


# --- finding and authorizing ------------------------------------------------------------------------


def case_key(complaint_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(complaint_id))
    except (TypeError, ValueError, AttributeError) as exc:
        raise NotFound(f"no mediation case for complaint {complaint_id}") from exc


def visible(scope: Scope | None) -> ColumnElement[bool]:
    """The cases `scope` reads: those of its subtree, and those its subtree passed up (read only:
    `authorize` lets only the responsible unit act)."""
    viewers = Viewers(unit=CaseViewer.unit_code, correlation=CaseViewer.complaint_id == Case.complaint_id)
    return scope_clause(Case.unit_code, scope, viewers=viewers)


def find(session: Session, key: uuid.UUID, scope: Scope | None, *, lock: bool = False) -> Case:
    query = select(Case).where(Case.complaint_id == key, visible(scope))
    if lock:
        query = query.with_for_update()
    case = session.scalar(query)
    if case is None:
        raise NotFound(f"no mediation case for complaint {key}")
    return case


def mediated_by(case: Case, unit_code: str) -> bool:
    """Whether the unit mediated this case and the case moved on after its mediation ended there (a
    termination passed up): its call-back (回访) on that mediation is still its own."""
    return any(
        step.action == states.MOVE_UNIT
        and (step.detail or {}).get("from_unit") == unit_code
        and step.from_state in states.CLOSED
        for step in case.steps
    )


def _require_actor_roles(scope: Scope) -> None:
    if not scope.roles & ACTOR_ROLES:
        raise Forbidden("acting on a mediation case needs the mediator or supervisor role")


def authorize(case: Case, scope: Scope, action: str) -> str | None:
    """Only staff of the responsible unit with the mediator or supervisor role act; some actions are
    a supervisor's; a mediator acts on the cases assigned to them. The one exception: the call-back
    by a unit whose mediation of the case ended before it moved on; that unit's code is returned."""
    if action == states.CALLBACK and scope.unit != case.unit_code and mediated_by(case, scope.unit):
        _require_actor_roles(scope)
        return scope.unit
    if scope.unit != case.unit_code:
        raise Forbidden(
            f"only staff of the responsible unit {case.unit_code} act on this mediation case; "
            f"your unit {scope.unit} may only read it"
        )
    _require_actor_roles(scope)
    if action in states.SUPERVISOR_ACTIONS and Role.SUPERVISOR not in scope.roles:
        raise Forbidden(f"{action} is a supervisor's decision (role supervisor)")
    if (
        Role.SUPERVISOR not in scope.roles
        and case.mediator is not None
        and case.mediator != scope.user
        and action not in ANY_MEDIATOR_ACTIONS
    ):
        raise Forbidden(f"the case is assigned to mediator {case.mediator}; ask them or a supervisor")
    return None


# --- performing actions -----------------------------------------------------------------------------


@dataclass
class _Ctx:
    session: Session
    case: Case
    data: Any
    actor: str
    now: datetime
    path: dict[str, Any]
    detail: dict[str, Any] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)


def _facts(case: Case) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "round": case.round,
        "previous": case.previous_state,
        "end_notice_given": case.end_notice_at is not None,
    }
    if case.state == states.AGREED or case.state in states.CLOSED:
        found = judicial(case)
        facts["judicial"] = found["status"] if found else None
    return facts


def judicial(case: Case) -> dict[str, Any] | None:
    """The judicial confirmation of the agreement (诉调对接) as the journal tells it: the court applied
    to, then its answer; None when the parties have not applied."""
    found: dict[str, Any] | None = None
    for step in case.steps:
        d = step.detail or {}
        if step.action == states.APPLY_JUDICIAL_CONFIRMATION:
            found = {
                "status": "applied",
                "court": d.get("court"),
                "court_name": d.get("court_name"),
                "applied_at": step.at.isoformat(),
                "applied_by": step.actor,
            }
        elif step.action == states.RECORD_JUDICIAL_DECISION and found is not None:
            found |= {
                "status": d.get("decision"),
                "ruling_no": d.get("ruling_no"),
                "reason": d.get("reason"),
                "decided_at": step.at.isoformat(),
                "decided_by": step.actor,
            }
    return found


def perform(
    session: Session,
    case: Case,
    action: str,
    scope: Scope | None,
    payload: Any,
    *,
    actor: str | None = None,
    path: dict[str, Any] | None = None,
    handler: Callable[[_Ctx], None] | None = None,
) -> list[Contract]:
    """Check, record, journal and publish one action. `scope` None is the system (timer, events)."""
    earlier = None
    if scope is not None:
        if action in states.SYSTEM_ACTIONS:
            raise Forbidden(f"{action} is done by the platform, not through the API")
        if action in states.COURT_ACTIONS:
            raise Forbidden("法院的司法确认答复由该法院（对接接口或法院工作人员）记录，调解单位不能代为记录")
        earlier = authorize(case, scope, action)
    facts = _facts(case)  # as they were when the action was allowed (its handler changes them)
    if earlier is None:
        try:
            states.next_state(case.state, action, facts)
        except states.Refused as exc:
            raise Conflict(str(exc)) from None
    model = inputs.INPUTS.get(action)
    data = inputs.parse(model, payload) if model is not None and handler is None else payload
    who = actor or (scope.user if scope is not None else SYSTEM)
    ctx = _Ctx(session=session, case=case, data=data, actor=who, now=utcnow(), path=path or {})
    if scope is not None:
        _note_mediator(session, case, scope, ctx.now)
    (handler or HANDLERS[action])(ctx)
    before = case.state
    if earlier is not None:
        # the call-back on the mediation that ended at `earlier`: it leaves today's case as it is,
        # and is counted for that unit (`detail.unit`)
        ctx.detail["unit"] = earlier
        return _apply(session, case, action, before, before, ctx)
    target = states.next_state(before, action, {**facts, **ctx.facts})
    return _apply(session, case, action, before, target, ctx)


def _apply(session: Session, case: Case, action: str, before: str, target: str, ctx: _Ctx) -> list[Contract]:
    now = ctx.now
    events: list[Contract] = []
    case.state = target
    case.updated_at = now
    if target in states.RUNNING and before not in states.RUNNING:
        # mediation (re)starts: after a breach, a re-review or a move to the unit above, 60 days again
        case.ended_at, case.outcome = None, None
        _start_clock(session, case, clocks.ClockKind.MEDIATION, now)
    if target in states.ENDED and before not in states.ENDED and action != states.UPHOLD:
        _stop_clock(case, clocks.ClockKind.MEDIATION, now)
        _start_clock(session, case, clocks.ClockKind.MEDIATION_END_NOTICE, now)
        case.ended_at, case.outcome = now, states.OUTCOMES[target]
        case.end_notice_at, case.end_notice = None, None
        if target in states.NOTIFIED_BY_ENDING:
            note = "结束告知随调解结束一并发出（含所选救济途径）"
            _give_end_notice(case, {"channel": "sms", "note": note, "by": ctx.actor}, now)
            ctx.detail["end_notice"] = "with_the_ending"
    session.add(
        Step(
            complaint_id=case.complaint_id,
            at=now,
            actor=ctx.actor,
            action=action,
            from_state=before,
            to_state=target,
            detail=_jsonable(ctx.detail),
        )
    )
    public = {k: v for k, v in _jsonable(ctx.detail).items() if k in PUBLIC_DETAIL}
    court = ctx.detail.get("court") if action in states.JUDICIAL_ACTIONS else None
    events.append(_transitioned(case, action, before, target, ctx.actor, now, public, court))
    if case.ended_at == now and case.outcome is not None and action != states.UPHOLD:
        events.append(
            MediationEnded(
                complaint_id=case.complaint_id,
                unit=_unit(case),
                outcome=case.outcome,
                recovered_amount=_agreed_amount(case) if target == states.AGREED else recovered(case) or None,
                ended_at=now,
                escalate=bool(ctx.facts.get("escalate")),
                remedies=list(case.remedies or []),
            )
        )
    return events


def _transitioned(
    case: Case,
    action: str,
    before: str,
    target: str,
    actor: str,
    at: datetime,
    detail: dict[str, Any],
    agency_tenant: str | None = None,
) -> MediationTransitioned:
    return MediationTransitioned(
        complaint_id=case.complaint_id,
        unit=_unit(case),
        action=action,
        from_state=before,
        to_state=target,
        actor=actor,
        mediator=case.mediator,
        at=at,
        detail=detail,
        agency_tenant=agency_tenant,
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _note_mediator(session: Session, case: Case, scope: Scope, now: datetime) -> None:
    """Staff holding the mediator role who act in their own unit join its roster (if not on it)."""
    joins = Role.MEDIATOR in scope.roles and scope.user and scope.unit == case.unit_code
    if joins and session.get(Mediator, scope.user) is None:
        session.add(
            Mediator(
                username=scope.user,
                unit_code=scope.unit,
                categories=[],
                active=True,
                source="acted",
                updated_by=scope.user,
                updated_at=now,
            )
        )
        session.flush()


# --- mediators ---------------------------------------------------------------------------------------


def loads(session: Session, unit_code: str) -> dict[str, int]:
    rows = session.execute(
        select(Case.mediator, func.count())
        .where(Case.unit_code == unit_code, Case.mediator.is_not(None), Case.state.in_(states.WITH_MEDIATOR))
        .group_by(Case.mediator)
    ).all()
    return {name: count for name, count in rows}


def _choose(ctx: _Ctx, named: str | None, exclude: set[str]) -> tuple[str, str]:
    """The mediator to assign: the one named (on the unit's active roster, not excluded), else by
    category skill and load. Conflict when nobody fits."""
    case = ctx.case
    if named:
        member = ctx.session.get(Mediator, named.lower())
        if member is None or member.unit_code != case.unit_code or not member.active:
            raise InvalidInput.one("mediator", f"{named} is not an active mediator on unit {case.unit_code}'s roster")
        if member.username in exclude:
            raise Conflict(f"{named} may not take this case (stepped aside or already held it)")
        return member.username, "named"
    members = ctx.session.scalars(select(Mediator).where(Mediator.unit_code == case.unit_code)).all()
    candidates = [
        roster.Candidate(m.username, tuple(m.categories or ()), m.active, rostered=m.source != "acted") for m in members
    ]
    chosen = roster.pick(candidates, case.category, loads(ctx.session, case.unit_code), exclude)
    if chosen is None:
        raise Conflict(
            f"no active mediator on unit {case.unit_code}'s roster can take this case; "
            "add one (PUT /api/v1/mediators/{username}) or name one"
        )
    return chosen, "load_and_skill"


def _hand_to(ctx: _Ctx, mediator: str, reason: str, picked: str) -> None:
    case = ctx.case
    previous = case.mediator
    for assignment in case.assignments:
        if assignment.ended_at is None:
            assignment.ended_at = ctx.now
    case.assignments.append(
        Assignment(
            complaint_id=case.complaint_id,
            mediator=mediator,
            assigned_at=ctx.now,
            assigned_by=ctx.actor,
            reason=reason,
            picked=picked,
        )
    )
    case.mediator = mediator
    for s in case.sessions:  # sessions still to come go to the new mediator
        if s.held_at is None:
            s.mediator = mediator
    ctx.detail.update(mediator=mediator, previous_mediator=previous, picked=picked)


def _recused(case: Case) -> set[str]:
    return {r.mediator for r in case.recusals if r.decision == "granted"}


def put_mediator(session: Session, scope: Scope, username: str, data: inputs.MediatorInput) -> Mediator:
    if not scope.sees(data.unit):
        raise NotFound(f"no unit {data.unit} in your scope")
    if scope.unit != data.unit or Role.SUPERVISOR not in scope.roles:
        raise Forbidden(f"the roster of unit {data.unit} is kept by its supervisors (role supervisor)")
    member = session.get(Mediator, username, with_for_update=True)
    if member is not None and member.unit_code != data.unit and not scope.sees(member.unit_code):
        raise Conflict(f"{username} is on another unit's roster")
    if member is None:
        member = Mediator(username=username, source="api")
        session.add(member)
    member.unit_code, member.categories, member.active = data.unit, list(data.categories), data.active
    member.source, member.updated_by, member.updated_at = "api", scope.user, utcnow()
    return member


# --- handlers: one per action ------------------------------------------------------------------------


def _consent(ctx: _Ctx) -> None:
    case, data = ctx.case, ctx.data
    case.business_consent, case.business_consent_at = data.consent, ctx.now
    case.consent_detail = {
        **case.consent_detail,
        "business": {"via": data.contacted_via, "contact_person": data.contact_person, "note": data.note},
    }
    ctx.detail.update(consent=data.consent, via=data.contacted_via)
    if not data.consent:
        case.remedies = list(data.remedies or inputs.DEFAULT_REMEDIES)
        case.end_reason = data.note or "the business refused mediation (Art 18)"
        ctx.detail.update(remedies=case.remedies)


def _assign(ctx: _Ctx) -> None:
    case = ctx.case
    exclude = _recused(case) | ({case.mediator} if case.mediator else set())
    mediator, picked = _choose(ctx, ctx.data.mediator, exclude)
    _hand_to(ctx, mediator, "initial" if case.mediator is None else "reassigned", picked)


def _request_recusal(ctx: _Ctx) -> None:
    case = ctx.case
    if any(r.decision is None for r in case.recusals):
        raise Conflict("a recusal request is already waiting for the supervisor's decision")
    n = len(case.recusals) + 1
    case.recusals.append(
        Recusal(
            complaint_id=case.complaint_id,
            n=n,
            mediator=case.mediator,
            requested_by=ctx.data.requested_by,
            reason=ctx.data.reason,
            requested_at=ctx.now,
            recorded_by=ctx.actor,
        )
    )
    ctx.detail.update(recusal=n, requested_by=ctx.data.requested_by, mediator=case.mediator, reason=ctx.data.reason)


def _decide_recusal(ctx: _Ctx) -> None:
    case, data = ctx.case, ctx.data
    pending = next((r for r in case.recusals if r.decision is None), None)
    if pending is None:
        raise Conflict("no recusal request is waiting for a decision")
    pending.decision = "granted" if data.granted else "refused"
    pending.decided_by, pending.decided_at, pending.decision_note = ctx.actor, ctx.now, data.note
    ctx.detail.update(recusal=pending.n, granted=data.granted)
    if data.granted:
        exclude = _recused(case) | {pending.mediator}
        mediator, picked = _choose(ctx, data.replacement, exclude)
        pending.replacement = mediator
        _hand_to(ctx, mediator, "recusal", picked)
        ctx.detail["replacement"] = mediator


def _schedule_session(ctx: _Ctx) -> None:
    case, data = ctx.case, ctx.data
    if case.mediator is None:
        raise Conflict("no mediator holds the case: assign one first")
    n = len(case.sessions) + 1
    # what the history step says of the booking is what the session holds (the place stays off it)
    booked = {
        "round": case.round,
        "mode": data.mode,
        "party": data.party,
        "channel": data.channel,
        "scheduled_at": data.scheduled_at,
    }
    case.sessions.append(
        MediationSession(
            complaint_id=case.complaint_id,
            number=n,
            place=data.place,
            scheduled_by=ctx.actor,
            mediator=case.mediator,
            statements={},
            **booked,
        )
    )
    ctx.detail.update(session=n, **booked)


def _session(case: Case, n: Any) -> MediationSession:
    found = next((s for s in case.sessions if s.number == n), None)
    if found is None:
        raise NotFound(f"no session {n} in this mediation case")
    return found


def _record_minutes(ctx: _Ctx) -> None:
    case, data = ctx.case, ctx.data
    s = _session(case, ctx.path["n"])
    if s.held_at is not None:
        raise Conflict(f"the minutes of session {s.number} are already recorded")
    if s.round != case.round:
        raise Conflict(f"session {s.number} belongs to round {s.round}; the case is in round {case.round}")
    s.held_at = data.held_at or ctx.now
    s.minutes, s.agreed, s.minutes_by = data.minutes, data.agreed, ctx.actor
    s.statements = {
        k: v for k, v in (("complainant", data.complainant_statement), ("business", data.business_statement)) if v
    }
    ctx.detail.update(session=s.number, agreed=data.agreed)


def confirmations_needed(s: MediationSession) -> tuple[str, ...]:
    return (s.party,) if s.mode == "single_party" and s.party else PARTIES


def _confirmed(s: MediationSession, party: str) -> bool:
    return getattr(s, f"{party}_confirmed_at") is not None


def _confirm_minutes(ctx: _Ctx) -> None:
    s = _session(ctx.case, ctx.path["n"])
    party = ctx.data.party
    if s.held_at is None:
        raise Conflict(f"session {s.number} has no minutes yet")
    if party not in confirmations_needed(s):
        raise Conflict(f"session {s.number} was held with the {s.party} only")
    if _confirmed(s, party):
        raise Conflict(f"the {party} already confirmed the minutes of session {s.number}")
    setattr(s, f"{party}_confirmed_at", ctx.now)
    ctx.detail.update(
        session=s.number, party=party, all_confirmed=all(_confirmed(s, p) for p in confirmations_needed(s))
    )


def _require_minutes_confirmed(case: Case) -> None:
    """调解员守则 5: the minutes of every session held are confirmed by the parties, agreed or not."""
    for s in case.sessions:
        if s.held_at is None:
            continue
        missing = [p for p in confirmations_needed(s) if not _confirmed(s, p)]
        if missing:
            raise Conflict(
                f"the minutes of session {s.number} are not yet confirmed by the {' and the '.join(missing)}"
            )


def _draft_agreement(ctx: _Ctx) -> None:
    case, data = ctx.case, ctx.data
    _require_minutes_confirmed(case)
    agreement = case.agreement
    if agreement is None:
        agreement = Agreement(complaint_id=case.complaint_id, version=0)
        case.agreement = agreement
    agreement.version = (agreement.version or 0) + 1
    agreement.summary, agreement.judicial_confirmation = data.summary, data.judicial_confirmation
    agreement.drafted_at, agreement.drafted_by = ctx.now, ctx.actor
    agreement.complainant_confirmed_at = agreement.business_confirmed_at = agreement.confirmed_at = None
    for old in list(case.terms):  # a revision replaces the terms
        ctx.session.delete(old)
    ctx.session.flush()
    ctx.session.expire(case, ["terms"])
    for n, t in enumerate(data.terms, start=1):
        case.terms.append(
            Term(
                complaint_id=case.complaint_id,
                n=n,
                kind=t.kind,
                description=t.description,
                amount=t.amount,
                deadline=t.deadline,
                status="pending",
            )
        )
    ctx.detail.update(
        terms=[{"kind": t.kind, "amount": t.amount, "deadline": t.deadline} for t in data.terms],
        judicial_confirmation=data.judicial_confirmation,
    )


def _confirm_agreement(ctx: _Ctx) -> None:
    agreement = ctx.case.agreement
    party = ctx.data.party
    if agreement is None:
        raise Conflict("there is no agreement draft to confirm")
    if getattr(agreement, f"{party}_confirmed_at") is not None:
        raise Conflict(f"the {party} already confirmed this agreement")
    setattr(agreement, f"{party}_confirmed_at", ctx.now)
    both = agreement.complainant_confirmed_at is not None and agreement.business_confirmed_at is not None
    if both:
        agreement.confirmed_at = ctx.now
    ctx.facts["both_confirmed"] = both
    ctx.detail.update(party=party, all_confirmed=both)


def judicial_deadline(case: Case) -> datetime | None:
    """The last moment the parties may apply for judicial confirmation: 30 days after the agreement
    took effect (both parties confirmed it; Art 33)."""
    agreement = case.agreement
    if agreement is None or agreement.confirmed_at is None:
        return None
    return agreement.confirmed_at + timedelta(days=states.JUDICIAL_APPLICATION_DAYS)


def _apply_judicial_confirmation(ctx: _Ctx) -> None:
    deadline = judicial_deadline(ctx.case)
    if deadline is None or ctx.now > deadline:
        raise Conflict("已超过调解协议生效之日起30日的申请期限，不能再申请司法确认（人民调解法第三十三条）")
    # the gateway checked that the court is onboarded in the case's city (routing owns the agencies)
    ctx.detail.update(court=ctx.data.court, court_name=ctx.data.court_name, note=ctx.data.note)


def _record_judicial_decision(ctx: _Ctx) -> None:
    data, applied = ctx.data, judicial(ctx.case) or {}
    ctx.detail.update(
        court=applied.get("court"),
        court_name=applied.get("court_name"),
        decision=data.decision,
        ruling_no=data.ruling_no,
        reason=data.reason,
    )


def _fail(ctx: _Ctx) -> None:
    _require_minutes_confirmed(ctx.case)
    ctx.case.round = 2
    ctx.detail.update(round=2, reason=ctx.data.reason)


def _terminate(ctx: _Ctx) -> None:
    case, data = ctx.case, ctx.data
    _require_minutes_confirmed(case)
    case.remedies, case.end_reason = list(data.remedies), data.reason
    ctx.facts["escalate"] = data.escalate
    ctx.detail.update(remedies=case.remedies, escalate=data.escalate, reason=data.reason)


def _withdraw(ctx: _Ctx) -> None:
    ctx.case.end_reason = ctx.data.reason
    ctx.detail.update(reason=ctx.data.reason, requested_by="complainant")


def _appraisal_at(ctx: _Ctx) -> datetime:
    at = ctx.data.at or ctx.now
    if at > ctx.now + timedelta(minutes=5):
        raise InvalidInput.one("at", "an appraisal is recorded when it started or ended, not ahead of time")
    return at


def _start_appraisal(ctx: _Ctx) -> None:
    row = _clock_row(ctx.case, clocks.ClockKind.MEDIATION)
    at = _appraisal_at(ctx)
    try:
        clock = clocks.pause(row.clock(), at)
    except ValueError as exc:
        raise Conflict(f"the 60-day clock cannot be paused: {exc}") from None
    row.store(clock, ctx.now)
    row.pauses = [*row.pauses, {"start": at.isoformat(), "end": None, "reason": ctx.data.reason}]
    ctx.detail.update(at=at, reason=ctx.data.reason)


def _end_appraisal(ctx: _Ctx) -> None:
    row = _clock_row(ctx.case, clocks.ClockKind.MEDIATION)
    at = _appraisal_at(ctx)
    try:
        clock = clocks.resume(row.clock(), at, row.work_calendar())
    except ValueError as exc:
        raise Conflict(f"the 60-day clock cannot be resumed: {exc}") from None
    row.store(clock, ctx.now)
    if row.pauses:
        row.pauses = [*row.pauses[:-1], {**row.pauses[-1], "end": at.isoformat()}]
    ctx.detail.update(at=at, deadline=clock.deadline, reason=ctx.data.reason)


def _term(case: Case, n: Any) -> Term:
    found = next((t for t in case.terms if t.n == n), None)
    if found is None:
        raise NotFound(f"no term {n} in this agreement")
    return found


def _perform_term(ctx: _Ctx) -> None:
    t = _term(ctx.case, ctx.path["n"])
    if t.status == "performed":
        raise Conflict(f"term {t.n} is already recorded as performed")
    t.status, t.followed_at, t.followed_by, t.note = "performed", ctx.now, ctx.actor, ctx.data.note
    t.recovered_amount = ctx.data.recovered_amount if ctx.data.recovered_amount is not None else t.amount
    ctx.facts["all_performed"] = all(x.status == "performed" for x in ctx.case.terms)
    ctx.detail.update(term=t.n, kind=t.kind, recovered_amount=t.recovered_amount, late=ctx.now.date() > t.deadline)


def _breach_term(ctx: _Ctx) -> None:
    t = _term(ctx.case, ctx.path["n"])
    if t.status != "pending":
        raise Conflict(f"term {t.n} is already recorded as {t.status}")
    t.status, t.followed_at, t.followed_by, t.note = "breached", ctx.now, ctx.actor, ctx.data.note
    ctx.detail.update(term=t.n, kind=t.kind, deadline=t.deadline, note=ctx.data.note)


def _reopen(ctx: _Ctx) -> None:
    case = ctx.case
    if case.state == states.RE_REVIEW:
        review = case.re_reviews[-1]
        review.decision, review.decided_at, review.decided_by = "reopened", ctx.now, ctx.actor
        ctx.detail["decision"] = "reopened"
    case.round = 1
    case.previous_state = None
    ctx.detail.update(reason=ctx.data.reason, round=1)


def _escalate(ctx: _Ctx) -> None:
    ctx.case.end_reason = ctx.data.reason
    ctx.facts["escalate"] = True
    ctx.detail.update(reason=ctx.data.reason, escalate=True)


def _request_re_review(ctx: _Ctx) -> None:
    case = ctx.case
    held = {a.mediator for a in case.assignments} | _recused(case)
    reviewer, picked = _choose(ctx, None, held)
    case.re_reviews.append(
        ReReview(
            complaint_id=case.complaint_id,
            requested_by=ctx.data.requested_by,
            reason=ctx.data.reason,
            requested_at=ctx.now,
            recorded_by=ctx.actor,
            from_state=case.state,
            previous_mediator=case.mediator,
            reviewer=reviewer,
        )
    )
    case.previous_state = case.state
    _hand_to(ctx, reviewer, "re_review", picked)
    ctx.detail.update(requested_by=ctx.data.requested_by, reason=ctx.data.reason)


def _uphold(ctx: _Ctx) -> None:
    review = ctx.case.re_reviews[-1]
    review.decision, review.decided_at, review.decided_by = "upheld", ctx.now, ctx.actor
    ctx.detail.update(decision="upheld", note=ctx.data.note)


def _callback(ctx: _Ctx) -> None:
    data = ctx.data
    ctx.case.callbacks.append(
        Callback(
            complaint_id=ctx.case.complaint_id,
            party=data.party,
            score=data.score,
            comments=data.comments,
            channel=data.channel,
            at=ctx.now,
            by=ctx.actor,
        )
    )
    ctx.detail.update(party=data.party, score=data.score, channel=data.channel)


def _notify_end(ctx: _Ctx) -> None:
    _give_end_notice(ctx.case, {"channel": ctx.data.channel, "note": ctx.data.note, "by": ctx.actor}, ctx.now)
    ctx.detail.update(channel=ctx.data.channel)


def _give_end_notice(case: Case, notice: dict[str, Any], at: datetime) -> None:
    """The parties were told of the end (Art 23): the 7-working-day clock stops."""
    case.end_notice_at, case.end_notice = at, notice
    _stop_clock(case, clocks.ClockKind.MEDIATION_END_NOTICE, at)


def _expire(ctx: _Ctx) -> None:
    row = _clock_row(ctx.case, clocks.ClockKind.MEDIATION)
    ctx.case.remedies = list(inputs.DEFAULT_REMEDIES)
    ctx.case.end_reason = "no agreement within 60 days of acceptance (Art 22)"
    ctx.detail.update(deadline=row.deadline if row else None, remedies=ctx.case.remedies)


HANDLERS: dict[str, Callable[[_Ctx], None]] = {
    states.CONSENT: _consent,
    states.REFUSE_CONSENT: _consent,
    states.ASSIGN: _assign,
    states.REQUEST_RECUSAL: _request_recusal,
    states.DECIDE_RECUSAL: _decide_recusal,
    states.SCHEDULE_SESSION: _schedule_session,
    states.RECORD_MINUTES: _record_minutes,
    states.CONFIRM_MINUTES: _confirm_minutes,
    states.DRAFT_AGREEMENT: _draft_agreement,
    states.CONFIRM_AGREEMENT: _confirm_agreement,
    states.FAIL: _fail,
    states.TERMINATE: _terminate,
    states.WITHDRAW: _withdraw,
    states.START_APPRAISAL: _start_appraisal,
    states.END_APPRAISAL: _end_appraisal,
    states.PERFORM_TERM: _perform_term,
    states.BREACH_TERM: _breach_term,
    states.REOPEN: _reopen,
    states.ESCALATE: _escalate,
    states.REQUEST_RE_REVIEW: _request_re_review,
    states.UPHOLD: _uphold,
    states.CALLBACK: _callback,
    states.NOTIFY_END: _notify_end,
    states.EXPIRE: _expire,
    states.APPLY_JUDICIAL_CONFIRMATION: _apply_judicial_confirmation,
    states.RECORD_JUDICIAL_DECISION: _record_judicial_decision,
}


def expire_due(session: Session, now: datetime, limit: int = 100) -> list[Contract]:
    """End the cases whose running, unpaused 60-day clock is past its deadline, found through the
    partial index `ix_clocks_due`. The case row is locked first (as every action does, so the two
    never wait on each other in opposite orders), skipping cases another worker holds: they are
    looked at again on the next tick, and the clock is re-read under the lock."""
    due = session.scalars(
        select(ClockRow.complaint_id)
        .where(
            ClockRow.kind == clocks.ClockKind.MEDIATION.value,
            ClockRow.stopped_at.is_(None),
            ClockRow.paused_at.is_(None),
            ClockRow.deadline < now,
        )
        .order_by(ClockRow.deadline)
        .limit(limit)
    ).all()
    events: list[Contract] = []
    for key in due:
        case = session.scalar(select(Case).where(Case.complaint_id == key).with_for_update(skip_locked=True))
        if case is None:
            continue
        row = _clock_row(case, clocks.ClockKind.MEDIATION)
        if row is None or row.stopped_at is not None or row.paused_at is not None or row.deadline >= now:
            continue
        if states.allowed(case.state, states.EXPIRE, _facts(case)):
            events.extend(perform(session, case, states.EXPIRE, None, None))
    return events


# --- views -------------------------------------------------------------------------------------------


def recovered(case: Case) -> Decimal:
    """Money recovered for the consumer so far (挽回经济损失): the performed terms."""
    return sum((t.recovered_amount or Decimal(0) for t in case.terms if t.status == "performed"), Decimal(0))


def _agreed_amount(case: Case) -> Decimal | None:
    amounts = [t.amount for t in case.terms if t.amount is not None]
    return sum(amounts, Decimal(0)) if amounts else None


def allowed_actions(case: Case, scope: Scope) -> list[str]:
    """The actions the caller may take now: the state machine's, or for a unit that only reads the
    case nothing, except the call-back of its own mediation."""
    if scope.unit != case.unit_code:
        return [states.CALLBACK] if scope.roles & ACTOR_ROLES and mediated_by(case, scope.unit) else []
    return states.allowed_actions(case.state, _facts(case))


def record_access(session: Session, scope: Scope, key: uuid.UUID, fields: list[str], endpoint: str) -> None:
    session.add(
        PersonalDataAccess(
            at=utcnow(), username=scope.user, tenant=scope.unit, complaint_id=key, fields=fields, endpoint=endpoint
        )
    )


def accesses(
    session: Session, scope: Scope, *, since: datetime | None, until: datetime | None, limit: int
) -> list[dict[str, Any]]:
    """The unmasked reads of the cases the caller's subtree is responsible for, newest first (as
    intake's: a unit that passed a case up does not audit the unit that took it)."""
    query = (
        select(PersonalDataAccess)
        .join(Case, Case.complaint_id == PersonalDataAccess.complaint_id)
        .where(scope_clause(Case.unit_code, scope))
    )
    if since is not None:
        query = query.where(PersonalDataAccess.at >= since)
    if until is not None:
        query = query.where(PersonalDataAccess.at < until)
    query = query.order_by(PersonalDataAccess.at.desc(), PersonalDataAccess.id.desc())
    return [audit.access_row(row) for row in session.scalars(query.limit(max(1, min(limit, audit.MAX_ROWS))))]
