"""Moving a case between units and agencies: plain functions over a session and the division tree (no
broker). Each
returns the events it causes; the service emits them through its outbox in the same transaction.

States of a case (`routing.assignments.state`):

| state | meaning | leaves it by |
|---|---|---|
| `active` | the responsible unit works it | escalation, return, take-over |
| `handover_pending` | handed to another unit; the first receiver stays responsible (首接责任制) | accept, contest |
| `contested` | the target contests, or a returned case points back | the common higher unit decides (Art 33) |
| `agency_pending` | handed to an agency (谁主管，谁负责); the unit stays responsible | the agency acknowledges |
| `with_agency` | the agency acknowledged | - |
| `ended` | passed beyond the city, the top: the parties are told the remedy routes | - |

Who may act (the caller's `Scope`): staff of the responsible unit holding `supervisor`; the unit a
case is handed to with `supervisor` or `intake_clerk` accepts it (contesting needs `supervisor`);
the agency's staff acknowledge; a higher unit's `supervisor` takes over or decides authority. A case
the caller cannot see answers NotFound; a unit that only keeps a read-only view (it passed the case
up) or another wrong role answers Forbidden; the wrong state answers Conflict with the reason.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from common.clocks import ClockKind
from common.contracts import CaseRoutingStep, Contract
from common.contracts import Unit as UnitData
from common.errors import Conflict, Forbidden, InvalidInput, NotFound
from common.tenancy import Role, Scope
from services.routing import lights
from services.routing.facts import facts_from_json
from services.routing.models import Assignment, CaseClock, CaseStep, Handover, TierClock
from services.routing.rules import REMEDY_ROUTES, common_higher_unit, escalation_target
from services.routing.tree import DivisionTree

ACTIVE, HANDOVER_PENDING, CONTESTED = "active", "handover_pending", "contested"
AGENCY_PENDING, WITH_AGENCY, ENDED = "agency_pending", "with_agency", "ended"
AGENCY_ACK = ClockKind.AGENCY_HANDOVER_ACK.value
AUTHORITY_DISPUTE = ClockKind.AUTHORITY_DISPUTE.value
SUPERVISOR = frozenset({Role.SUPERVISOR})
ACCEPTORS = frozenset({Role.SUPERVISOR, Role.INTAKE_CLERK})
AGENCY_STAFF = frozenset({Role.AGENCY_LIAISON, Role.SUPERVISOR, Role.INTAKE_CLERK})
SYSTEM = "system:routing"


# --- small helpers --------------------------------------------------------------------------------


def unit_data(tree: DivisionTree, code: str) -> UnitData:
    return lights.unit_data(tree, code)


def load(session: Session, complaint_id: uuid.UUID) -> Assignment:
    found = session.get(Assignment, complaint_id, with_for_update=True, populate_existing=True)
    if found is None:
        raise NotFound(f"no complaint {complaint_id}")
    return found


def open_handover(session: Session, complaint_id: uuid.UUID, kind: str | None = None) -> Handover | None:
    query = select(Handover).where(Handover.complaint_id == complaint_id, Handover.state.in_(("pending", "contested")))
    if kind:
        query = query.where(Handover.kind == kind)
    return session.scalars(query.order_by(Handover.id.desc()).with_for_update()).first()


def _passed_up_by(session: Session, complaint_id: uuid.UUID, scope: Scope) -> bool:
    return (
        session.scalar(
            select(func.count())
            .select_from(CaseStep)
            .where(
                CaseStep.complaint_id == complaint_id,
                CaseStep.step == "escalated",
                CaseStep.from_unit.startswith(scope.unit, autoescape=True),
            )
        )
        or 0
    ) > 0


def visibility(session: Session, a: Assignment, scope: Scope | None) -> str | None:
    """How the caller sees the case: responsible | above | target | decider | viewer | agency; None."""
    if scope is None or not scope.valid:
        return None
    if scope.is_agency:
        return "agency" if a.agency_tenant == scope.unit else None
    if scope.unit == a.unit_code:
        return "responsible"
    if scope.sees(a.unit_code):
        return "above"
    handover = session.scalars(
        select(Handover).where(Handover.complaint_id == a.complaint_id, Handover.state.in_(("pending", "contested")))
    ).first()
    if handover is not None and handover.kind == "unit" and scope.sees(handover.to_tenant):
        return "target"
    if handover is not None and handover.decider and scope.sees(handover.decider):
        return "decider"
    if _passed_up_by(session, a.complaint_id, scope):
        return "viewer"
    return None


def authorize(session: Session, a: Assignment, scope: Scope | None) -> tuple[Scope, str]:
    seen = visibility(session, a, scope)
    if seen is None or scope is None:
        raise NotFound(f"no complaint {a.complaint_id}")
    if seen == "viewer":
        raise Forbidden("read-only view: your unit passed this case up and can no longer act on it")
    return scope, seen


def need_role(scope: Scope, roles: frozenset[str], what: str) -> None:
    if not scope.roles & roles:
        raise Forbidden(f"{what} needs the role {' or '.join(sorted(roles))}")


def need_state(a: Assignment, *states: str) -> None:
    if a.state not in states:
        reasons = {
            HANDOVER_PENDING: "a handover to another unit is pending",
            CONTESTED: "authority over it is contested and waits for the common higher unit's decision",
            AGENCY_PENDING: "it is handed to an agency that has not acknowledged yet",
            WITH_AGENCY: "an agency has taken it over",
            ENDED: "it ended at the top tier; the parties were told the remedy routes",
            ACTIVE: "it is with its responsible unit, not in a handover",
        }
        raise Conflict(f"not possible now: {reasons.get(a.state, a.state)}")


def write_step(
    session: Session,
    a: Assignment,
    step: str,
    *,
    rule: str,
    inputs: dict[str, Any],
    actor: str,
    at: datetime,
    from_unit: str | None = None,
    to_tenant: str | None = None,
) -> int:
    a.seq += 1
    session.add(
        CaseStep(
            complaint_id=a.complaint_id,
            seq=a.seq,
            step=step,
            unit_code=a.unit_code,
            from_unit=from_unit,
            to_tenant=to_tenant,
            rule=rule,
            inputs=inputs,
            actor=actor,
            at=at,
        )
    )
    return a.seq


def routing_step(
    tree: DivisionTree,
    a: Assignment,
    step: str,
    *,
    rule: str,
    inputs: dict[str, Any],
    actor: str,
    at: datetime,
    previous: str | None = None,
    target: str | None = None,
    remedy: bool = False,
) -> CaseRoutingStep:
    return CaseRoutingStep(
        complaint_id=a.complaint_id,
        seq=a.seq,
        step=step,
        responsible_unit=unit_data(tree, a.unit_code),
        previous_unit=unit_data(tree, previous) if previous else None,
        target=target,
        agency_tenant=a.agency_tenant,
        rule=rule,
        inputs=inputs,
        remedy_routes=list(inputs.get("remedy_routes") or REMEDY_ROUTES) if remedy else [],
        actor=actor,
        at=at,
    )


# --- tier clocks (services/routing/lights.py) ----------------------------------------------------------


def start_tier_clock(session: Session, tree: DivisionTree, a: Assignment, now: datetime) -> None:
    """(Re)start the responsible unit's own time target (its effective `time_targets`)."""
    lights.start_tier_clock(session, tree, a.complaint_id, a.unit_code, a.tier, now)


def stop_tier_clock(session: Session, complaint_id: uuid.UUID, now: datetime) -> None:
    lights.stop_tier_clock(session, complaint_id, now)


def resume_tier_clock(session: Session, tree: DivisionTree, a: Assignment, now: datetime) -> None:
    """The case is the unit's to work again (a lapsed agency handover, a dispute decided in its
    favour): its target starts afresh if it had stopped (its red light came while the case was
    elsewhere); a running one goes on."""
    row = session.get(TierClock, a.complaint_id)
    if row is None or row.stopped_at is not None or row.unit_code != a.unit_code:
        start_tier_clock(session, tree, a, now)


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
) -> CaseRoutingStep:
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
    if kind == "agency":
        a.state, a.agency_tenant, a.agency_state = AGENCY_PENDING, to, "pending"
        step, waits_for, key = "agency_handover_requested", "acknowledges", "agency"
        session.flush()  # the handover's id, for its clock
        ack = lights.start_case_clock(
            session, tree, a.complaint_id, lights.AGENCY_ACK, unit_code=a.unit_code, handover_id=handover.id, now=now
        )
        extra = {"acknowledge_by": ack.deadline.isoformat(), "working_days": ack.amount}
    else:
        a.state = HANDOVER_PENDING
        step, waits_for, key, extra = "handover_requested", "accepts", "to", {}
    step_inputs = {
        key: to,
        "decision": inputs,
        "first_receiver_duty": f"{a.unit_code} stays responsible until {to} {waits_for}",
        **extra,
    }
    write_step(
        session, a, step, rule=rule, inputs=step_inputs, actor=actor, at=now, from_unit=a.unit_code, to_tenant=to
    )
    return routing_step(tree, a, step, rule=rule, inputs=step_inputs, actor=actor, at=now, target=to)


# --- moving a case ----------------------------------------------------------------------------------


def accept_handover(
    session: Session, tree: DivisionTree, scope: Scope | None, complaint_id: uuid.UUID
) -> list[Contract]:
    a = load(session, complaint_id)
    caller, _ = authorize(session, a, scope)
    need_state(a, HANDOVER_PENDING)
    handover = open_handover(session, complaint_id, "unit")
    if handover is None or handover.state != "pending":
        raise Conflict("not possible now: no handover is pending")
    if caller.unit != handover.to_tenant:
        raise Forbidden(f"only {handover.to_tenant}, the unit the case is handed to, accepts the handover")
    need_role(caller, ACCEPTORS, "accepting a handover")
    now = datetime.now(UTC)
    previous = a.unit_code
    handover.state, handover.resolved_at, handover.resolved_by = "accepted", now, caller.user
    move_to(a, tree, handover.to_tenant, f"handover.{handover.rule}"[:40], now)
    inputs = {"from": previous, "to": a.unit_code, "handover_rule": handover.rule, "accepted_by": caller.user}
    write_step(
        session,
        a,
        "handover_accepted",
        rule=a.rule,
        inputs=inputs,
        actor=caller.user,
        at=now,
        from_unit=previous,
        to_tenant=a.unit_code,
    )
    start_tier_clock(session, tree, a, now)
    return [
        routing_step(
            tree,
            a,
            "handover_accepted",
            rule=a.rule,
            inputs=inputs,
            actor=caller.user,
            at=now,
            previous=previous,
            target=a.unit_code,
        )
    ]


def acknowledge_agency(
    session: Session, tree: DivisionTree, scope: Scope | None, complaint_id: uuid.UUID
) -> list[Contract]:
    a = load(session, complaint_id)
    caller, seen = authorize(session, a, scope)
    if seen != "agency":
        raise Forbidden(f"only the agency {a.agency_tenant or ''} acknowledges its handover".replace("  ", " "))
    need_state(a, AGENCY_PENDING)
    need_role(caller, AGENCY_STAFF, "acknowledging a handover")
    now = datetime.now(UTC)
    handover = open_handover(session, complaint_id, "agency")
    if handover is not None:
        handover.state, handover.resolved_at, handover.resolved_by = "acknowledged", now, caller.user
    a.state, a.agency_state = WITH_AGENCY, "acknowledged"
    stop_tier_clock(session, complaint_id, now)
    lights.stop_case_clock(session, complaint_id, AGENCY_ACK, now)
    inputs = {"agency": a.agency_tenant, "acknowledged_by": caller.user}
    write_step(
        session,
        a,
        "agency_acknowledged",
        rule=handover.rule if handover else "agency",
        inputs=inputs,
        actor=caller.user,
        at=now,
        to_tenant=a.agency_tenant,
    )
    return [
        routing_step(
            tree,
            a,
            "agency_acknowledged",
            rule=handover.rule if handover else "agency",
            inputs=inputs,
            actor=caller.user,
            at=now,
            target=a.agency_tenant,
        )
    ]


def return_case(
    session: Session, tree: DivisionTree, scope: Scope | None, complaint_id: uuid.UUID, reason: str
) -> list[Contract]:
    """A unit without authority gives the case back to routing (Art 41: never sideways). Routing
    decides again: another unit gets a handover (the returning unit stays responsible until it is
    accepted); if the rules point back at the returning unit, authority is disputed and the unit
    above decides (Art 33)."""
    a = load(session, complaint_id)
    caller, seen = authorize(session, a, scope)
    if seen != "responsible":
        raise Forbidden("only the responsible unit returns a case to routing")
    need_role(caller, SUPERVISOR, "returning a case")
    need_state(a, ACTIVE)
    now = datetime.now(UTC)
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
    write_step(
        session,
        a,
        "returned",
        rule="return.no_authority",
        inputs=inputs,
        actor=caller.user,
        at=now,
        from_unit=a.unit_code,
    )
    events: list[Contract] = [
        routing_step(tree, a, "returned", rule="return.no_authority", inputs=inputs, actor=caller.user, at=now)
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
    _start_dispute(session, tree, handover, now)
    a.state = CONTESTED
    dispute = {
        "disputing": [a.unit_code],
        "decider": decider.code,
        "deadline": handover.contest_deadline.isoformat(),
        "reason": reason,
        "rule_points_back": decision.rule,
    }
    write_step(
        session,
        a,
        "contested",
        rule="authority.art33",
        inputs=dispute,
        actor=caller.user,
        at=now,
        from_unit=a.unit_code,
        to_tenant=decider.code,
    )
    events.append(
        routing_step(
            tree, a, "contested", rule="authority.art33", inputs=dispute, actor=caller.user, at=now, target=decider.code
        )
    )
    return events


def _start_dispute(session: Session, tree: DivisionTree, handover: Handover, now: datetime) -> None:
    """The Art 33 clock: 7 working days on the deciding unit's calendar, its colours told to it."""
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


def contest(
    session: Session, tree: DivisionTree, scope: Scope | None, complaint_id: uuid.UUID, reason: str
) -> list[Contract]:
    """The unit a case is handed to disputes its authority: the Art 33 clock (7 working days) runs;
    then, or earlier on its own initiative, the lowest common higher unit decides."""
    a = load(session, complaint_id)
    caller, _ = authorize(session, a, scope)
    need_state(a, HANDOVER_PENDING)
    handover = open_handover(session, complaint_id, "unit")
    if handover is None or caller.unit != handover.to_tenant:
        raise Forbidden("only the unit the case is handed to contests the handover")
    need_role(caller, SUPERVISOR, "contesting a handover")
    decider = common_higher_unit(handover.from_unit, handover.to_tenant, tree.units)
    if decider is None:
        raise Conflict(
            f"not possible now: no onboarded unit covers both {handover.from_unit} and {handover.to_tenant} to decide"
        )
    now = datetime.now(UTC)
    handover.state, handover.contested_by, handover.contest_reason = "contested", caller.unit, reason
    handover.decider = decider.code
    _start_dispute(session, tree, handover, now)
    a.state = CONTESTED
    inputs = {
        "disputing": [handover.from_unit, handover.to_tenant],
        "decider": decider.code,
        "deadline": handover.contest_deadline.isoformat(),
        "reason": reason,
    }
    write_step(
        session,
        a,
        "contested",
        rule="authority.art33",
        inputs=inputs,
        actor=caller.user,
        at=now,
        from_unit=caller.unit,
        to_tenant=decider.code,
    )
    return [
        routing_step(
            tree, a, "contested", rule="authority.art33", inputs=inputs, actor=caller.user, at=now, target=decider.code
        )
    ]


def decide_authority(
    session: Session, tree: DivisionTree, scope: Scope | None, complaint_id: uuid.UUID, unit: str, reason: str
) -> list[Contract]:
    """The lowest common higher unit decides a contested case: when the 7 working days ran out, or
    earlier on its own initiative. The decided unit is responsible at once."""
    a = load(session, complaint_id)
    caller, _ = authorize(session, a, scope)
    need_state(a, CONTESTED)
    handover = open_handover(session, complaint_id, "unit")
    if handover is None or handover.decider is None:
        raise Conflict("not possible now: no contested handover")
    if caller.unit != handover.decider:
        raise Forbidden(f"only {handover.decider}, the lowest common higher unit, decides this dispute")
    need_role(caller, SUPERVISOR, "deciding authority")
    if unit not in tree.units or not caller.sees(unit):
        raise InvalidInput.one("unit", f"expected an onboarded unit within {caller.unit}")
    now = datetime.now(UTC)
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
    a.state = ACTIVE
    if unit != previous:
        move_to(a, tree, unit, "authority.decided", now)
        start_tier_clock(session, tree, a, now)
    else:
        a.rule = "authority.decided"
        resume_tier_clock(session, tree, a, now)
    write_step(
        session,
        a,
        "authority_decided",
        rule="authority.decided",
        inputs=inputs,
        actor=caller.user,
        at=now,
        from_unit=previous,
        to_tenant=unit,
    )
    released = handover.to_tenant if handover.to_tenant != unit else None
    if released:
        inputs = {**inputs, "released_viewer": released}
    return [
        routing_step(
            tree,
            a,
            "authority_decided",
            rule="authority.decided",
            inputs=inputs,
            actor=caller.user,
            at=now,
            previous=previous,
            target=unit,
        )
    ]


def move_to(a: Assignment, tree: DivisionTree, to: str, rule: str, now: datetime) -> None:
    unit = tree.units.get(to)
    a.unit_code, a.tier = to, unit.tier if unit else a.tier
    a.rule, a.decided_at = rule, now
    a.state = ACTIVE


def request_takeover(
    session: Session, tree: DivisionTree, scope: Scope | None, complaint_id: uuid.UUID, reason: str
) -> list[Contract]:
    """The responsible unit asks the unit above to take the case over; it stays responsible until
    the unit above does (POST .../take-over)."""
    a = load(session, complaint_id)
    caller, seen = authorize(session, a, scope)
    if seen != "responsible":
        raise Forbidden("only the responsible unit asks the unit above to take a case over")
    need_role(caller, SUPERVISOR, "asking for a take-over")
    need_state(a, ACTIVE)
    above = escalation_target(a.unit_code, tree.units)
    if above is None:
        raise Conflict("not possible now: no onboarded unit above yours")
    if open_handover(session, complaint_id, "takeover") is not None:
        raise Conflict(f"not possible now: a take-over request to {above.code} is already pending")
    now = datetime.now(UTC)
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
    write_step(
        session,
        a,
        "takeover_requested",
        rule="takeover.requested",
        inputs=inputs,
        actor=caller.user,
        at=now,
        from_unit=a.unit_code,
        to_tenant=above.code,
    )
    return [
        routing_step(
            tree,
            a,
            "takeover_requested",
            rule="takeover.requested",
            inputs=inputs,
            actor=caller.user,
            at=now,
            target=above.code,
        )
    ]


def decline_takeover(
    session: Session, tree: DivisionTree, scope: Scope | None, complaint_id: uuid.UUID, reason: str
) -> list[Contract]:
    """The unit asked to take a case over declines, with its reason: the request is closed, the unit
    that asked stays responsible and is told (it may pass the case up by other means or ask again)."""
    a = load(session, complaint_id)
    caller, seen = authorize(session, a, scope)
    request = open_handover(session, complaint_id, "takeover")
    if request is None:
        raise Conflict("not possible now: no take-over request is pending")
    if seen != "above" or caller.unit != request.to_tenant:
        raise Forbidden(f"only {request.to_tenant}, the unit asked to take the case over, declines the request")
    need_role(caller, SUPERVISOR, "declining a take-over request")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput.one("reason", "say why the request is declined; the unit that asked is told")
    now = datetime.now(UTC)
    request.state, request.resolved_at, request.resolved_by = "declined", now, caller.user
    request.decline_reason = reason
    inputs = {
        "requested_by": request.from_unit,
        "requested_at": request.requested_at.isoformat(),
        "request_reason": (request.inputs or {}).get("reason", ""),
        "declined_by": caller.unit,
        "reason": reason,
    }
    rule = "takeover.declined"
    write_step(
        session,
        a,
        "takeover_declined",
        rule=rule,
        inputs=inputs,
        actor=caller.user,
        at=now,
        from_unit=caller.unit,
        to_tenant=request.from_unit,
    )
    return [
        routing_step(
            tree, a, "takeover_declined", rule=rule, inputs=inputs, actor=caller.user, at=now, target=request.from_unit
        )
    ]


def agency_handover_lapsed(session: Session, tree: DivisionTree, a: Assignment | None, now: datetime) -> list[Contract]:
    """The agency did not acknowledge within 3 working days: the handover lapses, the agency no
    longer sees the case, and the unit that handed it over (responsible all along, first-receiver
    duty) works it again. The unit above is told (the step's target), the agency too."""
    if a is None or a.state != AGENCY_PENDING:
        return []
    clock = session.get(CaseClock, (a.complaint_id, AGENCY_ACK))
    handover = open_handover(session, a.complaint_id, "agency")
    agency = a.agency_tenant
    if handover is not None:
        handover.state, handover.resolved_at, handover.resolved_by = "lapsed", now, "system:clock"
    if clock is not None and clock.stopped_at is None:
        lights.stop_case_clock(session, a.complaint_id, AGENCY_ACK, now)
    a.state, a.agency_tenant, a.agency_state = ACTIVE, None, None
    resume_tier_clock(session, tree, a, now)
    above = escalation_target(a.unit_code, tree.units)
    inputs = {
        "agency": agency,
        "requested_at": handover.requested_at.isoformat() if handover else None,
        "deadline": clock.deadline.isoformat() if clock else None,
        "working_days": clock.amount if clock else lights.AGENCY_ACK.amount,
        "first_receiver_duty": f"{a.unit_code} is responsible and works the case",
        "told": above.code if above else None,
    }
    rule = "agency.ack_expired"
    write_step(
        session, a, "agency_handover_lapsed", rule=rule, inputs=inputs, actor="system:clock", at=now, to_tenant=agency
    )
    step = routing_step(
        tree,
        a,
        "agency_handover_lapsed",
        rule=rule,
        inputs=inputs,
        actor="system:clock",
        at=now,
        target=above.code if above else None,
    )
    # the event names the agency (its consumers tell it, and stop reminding it) though it no longer has the case
    return [step.model_copy(update={"agency_tenant": agency})]


def contest_expired(session: Session, tree: DivisionTree, a: Assignment | None, now: datetime) -> list[Contract]:
    """The Art 33 days ran out: recorded; the deciding unit (told by the red light) decides now."""
    if a is None or a.state != CONTESTED:
        return []
    handover = open_handover(session, a.complaint_id, "unit")
    if handover is None or handover.state != "contested" or handover.contest_expired:
        return []
    handover.contest_expired = True
    inputs = {
        "decider": handover.decider,
        "deadline": handover.contest_deadline.isoformat() if handover.contest_deadline else None,
    }
    write_step(
        session,
        a,
        "contest_expired",
        rule="authority.art33",
        inputs=inputs,
        actor="system:clock",
        at=now,
        to_tenant=handover.decider,
    )
    return [
        routing_step(
            tree,
            a,
            "contest_expired",
            rule="authority.art33",
            inputs=inputs,
            actor="system:clock",
            at=now,
            target=handover.decider,
        )
    ]
