"""Handovers (移交) and disputes over authority: a case handed to another unit or to an agency, the
unit handed to accepting or contesting it, the agency acknowledging it or letting it lapse, a unit
returning a case to routing (Art 41), the common higher unit deciding a dispute (Art 33), and
requests to the unit above to take a case over. Plain functions over a session and the division
tree; each goes through the table in moves.py and returns the events it causes (the service emits
them through its outbox in the same transaction). `now` is the entrypoint's time."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from common.contracts import Contract
from common.errors import Conflict, Forbidden, InvalidInput
from common.tenancy import Scope
from services.routing import lights
from services.routing.facts import facts_from_json
from services.routing.models import Agency, Assignment, CaseClock, Handover, TierClock
from services.routing.moves import (
    ABOVE,
    ACCEPT,
    ACKNOWLEDGE,
    AGENCY,
    AGENCY_ACK,
    AGENCY_LAPSED,
    AGENCY_PENDING,
    AUTHORITY_DISPUTE,
    CONTEST,
    CONTEST_EXPIRED,
    CONTESTED,
    DECIDE_AUTHORITY,
    DECLINE_TAKEOVER,
    DISPUTE,
    HAND_OVER,
    HAND_TO_AGENCY,
    REQUEST_TAKEOVER,
    RETURN,
    authorize,
    by_the_responsible_unit,
    enter,
    load,
    make_responsible,
    move_to,
    need_role,
    open_handover,
    record_step,
    transition,
)
from services.routing.rules import common_higher_unit, escalation_target
from services.routing.tree import DivisionTree


def resume_tier_clock(session: Session, tree: DivisionTree, a: Assignment, now: datetime) -> None:
    """The case is the unit's to work again (a lapsed agency handover, a dispute decided in its
    favour): its target starts afresh if it had stopped (its red light came while the case was
    elsewhere); a running one goes on."""
    row = session.get(TierClock, a.complaint_id)
    if row is None or row.stopped_at is not None or row.unit_code != a.unit_code:
        lights.start_tier_clock(session, tree, a.complaint_id, a.unit_code, a.tier, now)


def hand_over(
    session: Session,
    tree: DivisionTree,
    a: Assignment,
    kind: str,
    to: str,
    rule: str,
    inputs: dict[str, Any],
    actor: str,
    now: datetime,
) -> Contract:
    """Hand the case to another unit (`kind` unit: it accepts or contests) or to an agency (`kind`
    agency: it acknowledges within 3 working days). The unit handing it over stays responsible until
    then (首接责任制)."""
    handover = Handover(
        complaint_id=a.complaint_id,
        kind=kind,
        from_unit=a.unit_code,
        to_tenant=to,
        state="pending",
        rule=rule,
        inputs=inputs,
        requested_at=now,
        requested_by=actor,
    )
    session.add(handover)
    move = HAND_TO_AGENCY if kind == "agency" else HAND_OVER
    waits_for = transition(a, move).waits_for
    enter(a, move)
    if kind == "agency":
        a.agency_tenant, a.agency_state = to, "pending"
        step, key = "agency_handover_requested", "agency"
        session.flush()  # the handover's id, for its clock
        ack = lights.start_case_clock(
            session, tree, a.complaint_id, lights.AGENCY_ACK, unit_code=a.unit_code, handover_id=handover.id, now=now
        )
        extra = {
            "agency_name": agency_name(session, to),
            "acknowledge_by": ack.deadline.isoformat(),
            "working_days": ack.amount,
        }
    else:
        step, key, extra = "handover_requested", "to", {}
    step_inputs = {
        key: to,
        "decision": inputs,
        "first_receiver_duty": f"{a.unit_code} stays responsible until {to} {waits_for}",
        **extra,
    }
    return record_step(
        session, tree, a, step, rule=rule, inputs=step_inputs, actor=actor, at=now, from_unit=a.unit_code, to=to
    )


def _with_unit_handover(
    session: Session, scope: Scope | None, complaint_id: uuid.UUID, move: str
) -> tuple[Scope, Assignment, Handover | None]:
    """The case, locked, when the move is allowed in its state, and its open handover to a unit (the
    move checks who the caller is against it)."""
    a = load(session, complaint_id)
    caller, _ = authorize(session, a, scope)
    transition(a, move)
    return caller, a, open_handover(session, complaint_id, "unit")


def accept_handover(
    session: Session, tree: DivisionTree, scope: Scope | None, complaint_id: uuid.UUID, *, now: datetime
) -> list[Contract]:
    caller, a, handover = _with_unit_handover(session, scope, complaint_id, ACCEPT)
    if handover is None or handover.state != "pending":
        raise Conflict("not possible now: no handover is pending")
    if caller.unit != handover.to_tenant:
        raise Forbidden(f"only {handover.to_tenant}, the unit the case is handed to, accepts the handover")
    need_role(caller, ACCEPT)
    handover.state, handover.resolved_at, handover.resolved_by = "accepted", now, caller.user
    enter(a, ACCEPT)
    to, rule = handover.to_tenant, f"handover.{handover.rule}"[:40]
    inputs = {"from": a.unit_code, "to": to, "handover_rule": handover.rule, "accepted_by": caller.user}
    return [
        make_responsible(
            session, tree, a, to, "handover_accepted", rule=rule, inputs=inputs, actor=caller.user, now=now
        )
    ]


def acknowledge_agency(
    session: Session, tree: DivisionTree, scope: Scope | None, complaint_id: uuid.UUID, *, now: datetime
) -> list[Contract]:
    a = load(session, complaint_id)
    caller, seen = authorize(session, a, scope)
    if seen != AGENCY:
        raise Forbidden(f"only the agency {a.agency_tenant or ''} acknowledges its handover".replace("  ", " "))
    transition(a, ACKNOWLEDGE)
    need_role(caller, ACKNOWLEDGE)
    handover = open_handover(session, complaint_id, "agency")
    if handover is not None:
        handover.state, handover.resolved_at, handover.resolved_by = "acknowledged", now, caller.user
    enter(a, ACKNOWLEDGE)
    a.agency_state = "acknowledged"
    lights.stop_tier_clock(session, complaint_id, now)
    lights.stop_case_clock(session, complaint_id, AGENCY_ACK, now)
    inputs = {
        "agency": a.agency_tenant,
        "agency_name": agency_name(session, a.agency_tenant),
        "acknowledged_by": caller.user,
    }
    rule = handover.rule if handover else "agency"
    return [
        record_step(
            session,
            tree,
            a,
            "agency_acknowledged",
            rule=rule,
            inputs=inputs,
            actor=caller.user,
            at=now,
            to=a.agency_tenant,
        )
    ]


def return_case(
    session: Session, tree: DivisionTree, scope: Scope | None, complaint_id: uuid.UUID, reason: str, *, now: datetime
) -> list[Contract]:
    """A unit without authority gives the case back to routing (Art 41: never sideways). Routing
    decides again: another unit gets a handover (the returning unit stays responsible until it is
    accepted); if the rules point back at the returning unit, authority is disputed and the unit
    above decides (Art 33)."""
    caller, a = by_the_responsible_unit(session, scope, complaint_id, RETURN, "returns a case to routing")
    facts = facts_from_json(a.facts) if a.facts else None
    if facts is None:
        raise Conflict(
            "not possible now: the case was routed before routing kept its facts; ask the unit above to take it over"
        )
    decision = tree.decide(facts)
    inputs = {
        "returned_by": a.unit_code,
        "reason": reason,
        "decision": {"unit": decision.unit.code, "rule": decision.rule, "inputs": decision.inputs},
    }
    events = [
        record_step(
            session,
            tree,
            a,
            "returned",
            rule="return.no_authority",
            inputs=inputs,
            actor=caller.user,
            at=now,
            from_unit=a.unit_code,
        )
    ]
    if decision.unit.code != a.unit_code:
        events.append(
            hand_over(session, tree, a, "unit", decision.unit.code, decision.rule, decision.inputs, caller.user, now)
        )
        return events
    decider = escalation_target(a.unit_code, tree.units)
    if decider is None:
        raise Conflict(
            f"not possible now: the rules make {a.unit_code} responsible ({decision.rule}) "
            "and no unit above it can decide otherwise"
        )
    handover = Handover(
        complaint_id=a.complaint_id,
        kind="unit",
        from_unit=a.unit_code,
        to_tenant=a.unit_code,
        state="contested",
        rule=decision.rule,
        inputs=decision.inputs,
        requested_at=now,
        requested_by=caller.user,
        contested_by=a.unit_code,
        contest_reason=reason,
        decider=decider.code,
    )
    session.add(handover)
    events.append(_dispute(session, tree, a, handover, DISPUTE, caller.user, now, rule_points_back=decision.rule))
    return events


def _dispute(
    session: Session,
    tree: DivisionTree,
    a: Assignment,
    handover: Handover,
    move: str,
    actor: str,
    now: datetime,
    **extra: Any,
) -> Contract:
    """Authority over the case is disputed (Art 33; `handover` names who contests, why, and the
    decider): the Art 33 clock runs, 7 working days on the deciding unit's calendar, its colours told
    to it; the case waits for the decision. The step `contested` goes to the decider and names the
    units disputing: the one that handed the case over and the one it went to, one unit when the
    rules point back at the unit returning it."""
    session.flush()  # the handover's id, for its clock
    clock = lights.start_case_clock(
        session,
        tree,
        handover.complaint_id,
        lights.AUTHORITY_DISPUTE,
        unit_code=handover.decider or handover.from_unit,
        handover_id=handover.id,
        now=now,
    )
    handover.contest_deadline = clock.deadline
    enter(a, move)
    inputs = {
        "disputing": list(dict.fromkeys([handover.from_unit, handover.to_tenant])),
        "decider": handover.decider,
        "deadline": handover.contest_deadline.isoformat(),
        "reason": handover.contest_reason,
        **extra,
    }
    return record_step(
        session,
        tree,
        a,
        "contested",
        rule="authority.art33",
        inputs=inputs,
        actor=actor,
        at=now,
        from_unit=handover.contested_by,
        to=handover.decider,
    )


def contest(
    session: Session, tree: DivisionTree, scope: Scope | None, complaint_id: uuid.UUID, reason: str, *, now: datetime
) -> list[Contract]:
    """The unit a case is handed to disputes its authority: the Art 33 clock (7 working days) runs;
    then, or earlier on its own initiative, the lowest common higher unit decides."""
    caller, a, handover = _with_unit_handover(session, scope, complaint_id, CONTEST)
    if handover is None or caller.unit != handover.to_tenant:
        raise Forbidden("only the unit the case is handed to contests the handover")
    need_role(caller, CONTEST)
    decider = common_higher_unit(handover.from_unit, handover.to_tenant, tree.units)
    if decider is None:
        raise Conflict(
            f"not possible now: no onboarded unit covers both {handover.from_unit} and {handover.to_tenant} to decide"
        )
    handover.state, handover.contested_by, handover.contest_reason = "contested", caller.unit, reason
    handover.decider = decider.code
    return [_dispute(session, tree, a, handover, CONTEST, caller.user, now)]


def decide_authority(
    session: Session,
    tree: DivisionTree,
    scope: Scope | None,
    complaint_id: uuid.UUID,
    unit: str,
    reason: str,
    *,
    now: datetime,
) -> list[Contract]:
    """The lowest common higher unit decides a contested case: when the 7 working days ran out, or
    earlier on its own initiative. The decided unit is responsible at once."""
    caller, a, handover = _with_unit_handover(session, scope, complaint_id, DECIDE_AUTHORITY)
    if handover is None or handover.decider is None:
        raise Conflict("not possible now: no contested handover")
    if caller.unit != handover.decider:
        raise Forbidden(f"only {handover.decider}, the lowest common higher unit, decides this dispute")
    need_role(caller, DECIDE_AUTHORITY)
    if unit not in tree.units or not caller.sees(unit):
        raise InvalidInput.one("unit", f"expected an onboarded unit within {caller.unit}")
    previous = a.unit_code
    handover.state, handover.resolved_at, handover.resolved_by = "decided", now, caller.user
    lights.stop_case_clock(session, complaint_id, AUTHORITY_DISPUTE, now)
    inputs = {
        "disputing": sorted({handover.from_unit, handover.to_tenant}),
        "decider": caller.unit,
        "decided_unit": unit,
        "reason": reason,
        "deadline": handover.contest_deadline.isoformat() if handover.contest_deadline else None,
        "clock_ran_out": handover.contest_expired
        or bool(handover.contest_deadline and now > handover.contest_deadline),
    }
    enter(a, DECIDE_AUTHORITY)
    if unit != previous:
        move_to(a, tree, unit, "authority.decided", now)
        lights.start_tier_clock(session, tree, a.complaint_id, a.unit_code, a.tier, now)
    else:
        a.rule = "authority.decided"
        resume_tier_clock(session, tree, a, now)
    step = record_step(
        session,
        tree,
        a,
        "authority_decided",
        rule="authority.decided",
        inputs=inputs,
        actor=caller.user,
        at=now,
        from_unit=previous,
        to=unit,
        previous=previous,
    )
    if handover.to_tenant == unit:
        return [step]
    # the unit that contested and lost no longer sees the case: intake releases its view
    return [step.model_copy(update={"inputs": {**inputs, "released_viewer": handover.to_tenant}})]


def request_takeover(
    session: Session, tree: DivisionTree, scope: Scope | None, complaint_id: uuid.UUID, reason: str, *, now: datetime
) -> list[Contract]:
    """The responsible unit asks the unit above to take the case over; it stays responsible until
    the unit above does (POST .../take-over)."""
    caller, a = by_the_responsible_unit(
        session, scope, complaint_id, REQUEST_TAKEOVER, "asks the unit above to take a case over"
    )
    above = escalation_target(a.unit_code, tree.units)
    if above is None:
        raise Conflict("not possible now: no onboarded unit above yours")
    if open_handover(session, complaint_id, "takeover") is not None:
        raise Conflict(f"not possible now: a take-over request to {above.code} is already pending")
    session.add(
        Handover(
            complaint_id=a.complaint_id,
            kind="takeover",
            from_unit=a.unit_code,
            to_tenant=above.code,
            state="pending",
            rule="takeover.requested",
            inputs={"reason": reason},
            requested_at=now,
            requested_by=caller.user,
        )
    )
    inputs = {"to": above.code, "reason": reason}
    return [
        record_step(
            session,
            tree,
            a,
            "takeover_requested",
            rule="takeover.requested",
            inputs=inputs,
            actor=caller.user,
            at=now,
            from_unit=a.unit_code,
            to=above.code,
        )
    ]


def decline_takeover(
    session: Session, tree: DivisionTree, scope: Scope | None, complaint_id: uuid.UUID, reason: str, *, now: datetime
) -> list[Contract]:
    """The unit asked to take a case over declines, with its reason: the request is closed, the unit
    that asked stays responsible and is told (it may pass the case up by other means or ask again)."""
    a = load(session, complaint_id)
    caller, seen = authorize(session, a, scope)
    request = open_handover(session, complaint_id, "takeover")
    if request is None:
        raise Conflict("not possible now: no take-over request is pending")
    if seen != ABOVE or caller.unit != request.to_tenant:
        raise Forbidden(f"only {request.to_tenant}, the unit asked to take the case over, declines the request")
    need_role(caller, DECLINE_TAKEOVER)
    transition(a, DECLINE_TAKEOVER)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput.one("reason", "say why the request is declined; the unit that asked is told")
    request.state, request.resolved_at, request.resolved_by = "declined", now, caller.user
    request.decline_reason = reason
    inputs = {
        "requested_by": request.from_unit,
        "requested_at": request.requested_at.isoformat(),
        "request_reason": (request.inputs or {}).get("reason", ""),
        "declined_by": caller.unit,
        "reason": reason,
    }
    return [
        record_step(
            session,
            tree,
            a,
            "takeover_declined",
            rule="takeover.declined",
            inputs=inputs,
            actor=caller.user,
            at=now,
            from_unit=caller.unit,
            to=request.from_unit,
        )
    ]


def agency_name(session: Session, agency: str | None) -> str:
    """The agency's name for the history (the console shows it, not the tenant id)."""
    row = session.get(Agency, agency) if agency else None
    return row.name if row is not None else agency or ""


def agency_handover_lapsed(session: Session, tree: DivisionTree, a: Assignment | None, now: datetime) -> list[Contract]:
    """The agency did not acknowledge within 3 working days: the handover lapses and the unit above
    is told."""
    if a is None or a.state != AGENCY_PENDING:
        return []
    clock = session.get(CaseClock, (a.complaint_id, AGENCY_ACK))
    handover = open_handover(session, a.complaint_id, "agency")
    above = escalation_target(a.unit_code, tree.units)
    inputs = {
        "requested_at": handover.requested_at.isoformat() if handover else None,
        "deadline": clock.deadline.isoformat() if clock else None,
        "working_days": clock.amount if clock else lights.AGENCY_ACK.amount,
        "told": above.code if above else None,
    }
    return release_from_agency(
        session,
        tree,
        a,
        handover,
        "agency_handover_lapsed",
        move=AGENCY_LAPSED,
        handover_state="lapsed",
        rule="agency.ack_expired",
        inputs=inputs,
        actor="system:clock",
        now=now,
        target=above.code if above else None,
    )


def release_from_agency(
    session: Session,
    tree: DivisionTree,
    a: Assignment,
    handover: Handover | None,
    step: str,
    *,
    move: str,
    handover_state: str,
    rule: str,
    inputs: dict[str, Any],
    actor: str,
    now: datetime,
    target: str | None,
) -> list[Contract]:
    """The agency no longer has the case (its acknowledgement lapsed, or it handed the case back,
    agencies.py): the unit that handed it over (responsible all along, first-receiver duty) works it
    again, on a running tier target. `target` is told."""
    agency = a.agency_tenant
    if handover is not None:
        handover.state, handover.resolved_at, handover.resolved_by = handover_state, now, actor
    clock = session.get(CaseClock, (a.complaint_id, AGENCY_ACK))
    if clock is not None and clock.stopped_at is None:
        lights.stop_case_clock(session, a.complaint_id, AGENCY_ACK, now)
    enter(a, move)
    a.agency_tenant, a.agency_state = None, None
    resume_tier_clock(session, tree, a, now)
    inputs = {
        "agency": agency,
        "agency_name": agency_name(session, agency),
        **inputs,
        "first_receiver_duty": f"{a.unit_code} is responsible and works the case",
    }
    event = record_step(session, tree, a, step, rule=rule, inputs=inputs, actor=actor, at=now, to=agency)
    # the event names the agency (its consumers tell it, and stop reminding it) though it no longer
    # has the case, and goes to `target`
    return [event.model_copy(update={"agency_tenant": agency, "target": target})]


def contest_expired(session: Session, tree: DivisionTree, a: Assignment | None, now: datetime) -> list[Contract]:
    """The Art 33 days ran out: recorded; the deciding unit (told by the red light) decides now."""
    if a is None or a.state != CONTESTED:
        return []
    handover = open_handover(session, a.complaint_id, "unit")
    if handover is None or handover.state != "contested" or handover.contest_expired:
        return []
    handover.contest_expired = True
    enter(a, CONTEST_EXPIRED)
    inputs = {
        "decider": handover.decider,
        "deadline": handover.contest_deadline.isoformat() if handover.contest_deadline else None,
    }
    return [
        record_step(
            session,
            tree,
            a,
            "contest_expired",
            rule="authority.art33",
            inputs=inputs,
            actor="system:clock",
            at=now,
            to=handover.decider,
        )
    ]
