"""Moves of a case and the one table they go through: which move is allowed in which state, to which
state it leads, who makes it, and what the case then waits for. Every move checks itself here
(`transition`, `need_role`), changes the state here (`enter`) and records itself here
(`record_step`: the history step and its event, together). The moves themselves are in
handovers.py, agencies.py, escalation.py and responsibility.py; what the console offers (offers.py) asks this
table too.

States of a case (`routing.assignments.state`):

| state | meaning | leaves it by |
|---|---|---|
| `active` | the responsible unit works it | escalation, return, take-over |
| `handover_pending` | handed to another unit; the first receiver stays responsible (首接责任制) | accept, contest |
| `contested` | the target contests, or a returned case points back | the common higher unit decides (Art 33) |
| `agency_pending` | handed to an agency (谁主管，谁负责); the unit stays responsible | acknowledge, answer, hand back |
| `with_agency` | the agency acknowledged; it answers (and keeps it) | hand back (agencies.py) |
| `ended` | passed beyond the city, the top: the parties are told the remedy routes | - |

Who may act (the caller's `Scope`): staff of the responsible unit holding `supervisor`; the unit a
case is handed to with `supervisor` or `intake_clerk` accepts it (contesting needs `supervisor`);
the agency's staff acknowledge; a higher unit's `supervisor` takes over or decides authority. A case
the caller cannot see answers NotFound; a unit that only keeps a read-only view (it passed the case
up) or another wrong role answers Forbidden; the wrong state answers Conflict with the reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from common.clocks import ClockKind
from common.contracts import CaseEscalated, CaseRoutingStep, ComplaintRouted, Contract
from common.errors import Conflict, Forbidden, InvalidInput, NotFound
from common.reference import REMEDY_ROUTES
from common.tenancy import Role, Scope
from services.routing import lights
from services.routing.models import Assignment, CaseStep, Handover
from services.routing.tree import DivisionTree

# --- states ---------------------------------------------------------------------------------------
ACTIVE, HANDOVER_PENDING, CONTESTED = "active", "handover_pending", "contested"
AGENCY_PENDING, WITH_AGENCY, ENDED = "agency_pending", "with_agency", "ended"
STATES = (ACTIVE, HANDOVER_PENDING, CONTESTED, AGENCY_PENDING, WITH_AGENCY, ENDED)
# why a move is not possible in a state (the 409's reason)
NOT_NOW = {
    HANDOVER_PENDING: "a handover to another unit is pending",
    CONTESTED: "authority over it is contested and waits for the common higher unit's decision",
    AGENCY_PENDING: "it is handed to an agency that has not acknowledged yet",
    WITH_AGENCY: "an agency has taken it over",
    ENDED: "it ended at the top tier; the parties were told the remedy routes",
    ACTIVE: "it is with its responsible unit, not in a handover",
}

# --- moves ----------------------------------------------------------------------------------------
# a person's moves are named by their codes in common.reference.CASE_ACTIONS (the console's buttons)
ACCEPT = "handover_accept"
ACKNOWLEDGE = "handover_acknowledge"
RETURN = "return"
CONTEST = "contest"
DECIDE_AUTHORITY = "decide_authority"
ESCALATE = "escalate"
RECLASSIFY = "reclassify"
REQUEST_TAKEOVER = "request_takeover"
TAKE_OVER = "take_over"
DECLINE_TAKEOVER = "decline_takeover"
AGENCY_ANSWER = "agency_answer"
AGENCY_HAND_BACK = "agency_hand_back"
# routing's own moves: on a decision, a return, a red light, mediation's end
HAND_OVER = "hand_over"  # to the unit the rules name, when the first receiver or a returning unit is not it
HAND_TO_AGENCY = "hand_to_agency"
DISPUTE = "dispute"  # a returned case the rules point back at: the unit above decides
PASS_UP = "pass_up"  # the case goes up (every escalation, whoever asked)
END_AT_TOP = "end_at_top"  # there is no unit above
AGENCY_LAPSED = "agency_lapsed"
CONTEST_EXPIRED = "contest_expired"

# who makes a move (as visibility() names how the caller sees the case)
RESPONSIBLE, TARGET, DECIDER, ABOVE, AGENCY, ROUTING = "responsible", "target", "decider", "above", "agency", "routing"
SUPERVISOR = frozenset({Role.SUPERVISOR})
ACCEPTORS = frozenset({Role.SUPERVISOR, Role.INTAKE_CLERK})
AGENCY_STAFF = frozenset({Role.AGENCY_LIAISON, Role.SUPERVISOR, Role.INTAKE_CLERK})
NOBODY: frozenset[str] = frozenset()  # routing's own moves: no caller
SYSTEM = "system:routing"
AGENCY_ACK = ClockKind.AGENCY_HANDOVER_ACK.value
AUTHORITY_DISPUTE = ClockKind.AUTHORITY_DISPUTE.value


@dataclass(frozen=True)
class Transition:
    to: str  # the state after the move
    who: str  # who makes it
    roles: frozenset[str]  # the caller holds one of them
    waits_for: str = ""  # what the case waits for next, in the words of its steps


def _rows(
    states: Iterable[str], move: str, to: str | None, who: str, roles: frozenset[str], waits_for: str = ""
) -> dict[tuple[str, str], Transition]:
    """One row per state; `to` None: the move records something and the case stays in its state."""
    return {(state, move): Transition(state if to is None else to, who, roles, waits_for) for state in states}


TRANSITIONS: dict[tuple[str, str], Transition] = {
    (ACTIVE, HAND_OVER): Transition(HANDOVER_PENDING, ROUTING, NOBODY, "accepts"),
    (ACTIVE, HAND_TO_AGENCY): Transition(AGENCY_PENDING, ROUTING, NOBODY, "acknowledges"),
    (HANDOVER_PENDING, ACCEPT): Transition(ACTIVE, TARGET, ACCEPTORS),
    (HANDOVER_PENDING, CONTEST): Transition(CONTESTED, TARGET, SUPERVISOR, "decides"),
    (ACTIVE, RETURN): Transition(ACTIVE, RESPONSIBLE, SUPERVISOR),  # then HAND_OVER or DISPUTE
    (ACTIVE, DISPUTE): Transition(CONTESTED, ROUTING, NOBODY, "decides"),
    (CONTESTED, CONTEST_EXPIRED): Transition(CONTESTED, ROUTING, NOBODY, "decides"),
    (CONTESTED, DECIDE_AUTHORITY): Transition(ACTIVE, DECIDER, SUPERVISOR),
    (AGENCY_PENDING, ACKNOWLEDGE): Transition(WITH_AGENCY, AGENCY, AGENCY_STAFF),
    (AGENCY_PENDING, AGENCY_LAPSED): Transition(ACTIVE, ROUTING, NOBODY),
    # the agency answers (acknowledging first if need be) and keeps the case, or hands it back; once
    # it answered, neither (agencies.py)
    **_rows([AGENCY_PENDING, WITH_AGENCY], AGENCY_ANSWER, WITH_AGENCY, AGENCY, AGENCY_STAFF),
    **_rows([AGENCY_PENDING, WITH_AGENCY], AGENCY_HAND_BACK, ACTIVE, AGENCY, AGENCY_STAFF),
    (ACTIVE, ESCALATE): Transition(ACTIVE, RESPONSIBLE, SUPERVISOR),  # PASS_UP or END_AT_TOP
    (ACTIVE, RECLASSIFY): Transition(ACTIVE, RESPONSIBLE, SUPERVISOR),  # recorded, or PASS_UP
    (ACTIVE, TAKE_OVER): Transition(ACTIVE, ABOVE, SUPERVISOR),  # PASS_UP to the caller
    (ACTIVE, PASS_UP): Transition(ACTIVE, ROUTING, NOBODY),  # the unit above is responsible now
    (ACTIVE, END_AT_TOP): Transition(ENDED, ROUTING, NOBODY),
    (ACTIVE, REQUEST_TAKEOVER): Transition(ACTIVE, RESPONSIBLE, SUPERVISOR, "takes it over or declines"),
    # the request stays open whatever happens to the case meanwhile, until a move up closes it
    **_rows(STATES, DECLINE_TAKEOVER, None, ABOVE, SUPERVISOR),
}
# what a caller without the role is told it was doing
DOING = {
    ACCEPT: "accepting a handover",
    ACKNOWLEDGE: "acknowledging a handover",
    RETURN: "returning a case",
    CONTEST: "contesting a handover",
    DECIDE_AUTHORITY: "deciding authority",
    ESCALATE: "escalating a case",
    RECLASSIFY: "reclassifying a case",
    TAKE_OVER: "taking a case over",
    REQUEST_TAKEOVER: "asking for a take-over",
    DECLINE_TAKEOVER: "declining a take-over request",
    AGENCY_ANSWER: "answering",
    AGENCY_HAND_BACK: "handing a case back",
}
ROLES = {move: t.roles for (_, move), t in TRANSITIONS.items()}


def may(state: str, move: str, scope: Scope) -> bool:
    """The move is allowed in the state and the caller holds a role it needs (the console's question)."""
    return (state, move) in TRANSITIONS and bool(scope.roles & ROLES[move])


def transition(a: Assignment, move: str) -> Transition:
    """The move's row for the case's state, or Conflict with the reason."""
    found = TRANSITIONS.get((a.state, move))
    if found is None:
        raise Conflict(f"not possible now: {NOT_NOW.get(a.state, a.state)}")
    return found


def need_role(scope: Scope, move: str) -> None:
    roles = ROLES[move]
    if not scope.roles & roles:
        raise Forbidden(f"{DOING[move]} needs the role {' or '.join(sorted(roles))}")


def enter(a: Assignment, move: str) -> None:
    """The case takes the state the move leads to."""
    a.state = transition(a, move).to


# --- the case and who sees it -----------------------------------------------------------------------


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
        return AGENCY if a.agency_tenant == scope.unit else None
    if scope.unit == a.unit_code:
        return RESPONSIBLE
    if scope.sees(a.unit_code):
        return ABOVE
    handover = session.scalars(
        select(Handover).where(Handover.complaint_id == a.complaint_id, Handover.state.in_(("pending", "contested")))
    ).first()
    if handover is not None and handover.kind == "unit" and scope.sees(handover.to_tenant):
        return TARGET
    if handover is not None and handover.decider and scope.sees(handover.decider):
        return DECIDER
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


def by_the_responsible_unit(
    session: Session, scope: Scope | None, complaint_id: uuid.UUID, move: str, does: str
) -> tuple[Scope, Assignment]:
    """The case, locked, when the caller is of its responsible unit, holds a role the move needs and
    the move is allowed now; `does` ends the Forbidden's "only the responsible unit ..."."""
    a = load(session, complaint_id)
    caller, seen = authorize(session, a, scope)
    if seen != RESPONSIBLE:
        raise Forbidden(f"only the responsible unit {does}")
    need_role(caller, move)
    transition(a, move)
    return caller, a


def move_to(a: Assignment, tree: DivisionTree, to: str, rule: str, now: datetime) -> None:
    """The unit `to` is responsible from now, for the reason `rule`."""
    unit = tree.units.get(to)
    a.unit_code, a.tier = to, unit.tier if unit else a.tier
    a.rule, a.decided_at = rule, now


# --- the record -------------------------------------------------------------------------------------


def record_step(
    session: Session,
    tree: DivisionTree,
    a: Assignment,
    step: str,
    *,
    rule: str,
    inputs: dict[str, Any],
    actor: str,
    at: datetime,
    from_unit: str | None = None,
    to: str | None = None,
    previous: str | None = None,
) -> Contract:
    """Write the case's next history step and answer its event: `complaint.routed.v1` for the
    decision, `case.escalated.v1` for a move up, else `case.routing_step.v1` (its target: `to`).
    `previous` is the unit the case left, when the move changed the responsible unit."""
    a.seq += 1
    session.add(
        CaseStep(
            complaint_id=a.complaint_id,
            seq=a.seq,
            step=step,
            unit_code=a.unit_code,
            from_unit=from_unit,
            to_tenant=to,
            rule=rule,
            inputs=inputs,
            actor=actor,
            at=at,
        )
    )
    unit = lights.unit_data(tree, a.unit_code)
    if step == "routed":
        policy = lights.clock_policy(tree, a.unit_code)
        return ComplaintRouted(
            complaint_id=a.complaint_id, unit=unit, rule=rule, inputs=inputs, decided_at=at, clock_policy=policy
        )
    if step == "escalated" and previous is not None:
        return CaseEscalated(
            complaint_id=a.complaint_id,
            from_unit=lights.unit_data(tree, previous),
            to_unit=unit,
            trigger=inputs["trigger"],
            reason=inputs["reason"],
            actor=actor,
            at=at,
            seq=a.seq,
            rule=rule,
            inputs=inputs,
        )
    return CaseRoutingStep(
        complaint_id=a.complaint_id,
        seq=a.seq,
        step=step,
        responsible_unit=unit,
        previous_unit=lights.unit_data(tree, previous) if previous else None,
        target=to,
        agency_tenant=a.agency_tenant,
        rule=rule,
        inputs=inputs,
        remedy_routes=list(inputs.get("remedy_routes") or REMEDY_ROUTES) if step == "ended_at_top" else [],
        actor=actor,
        at=at,
    )


def make_responsible(
    session: Session,
    tree: DivisionTree,
    a: Assignment,
    to: str,
    step: str,
    *,
    rule: str,
    inputs: dict[str, Any],
    actor: str,
    now: datetime,
) -> Contract:
    """The unit `to` is responsible from now, for the reason `rule` (an accepted handover, a move up):
    the step names the unit the case left, and the new unit's tier target starts."""
    previous = a.unit_code
    move_to(a, tree, to, rule, now)
    event = record_step(
        session,
        tree,
        a,
        step,
        rule=rule,
        inputs=inputs,
        actor=actor,
        at=now,
        from_unit=previous,
        to=to,
        previous=previous,
    )
    lights.start_tier_clock(session, tree, a.complaint_id, a.unit_code, a.tier, now)
    return event


# --- what a person writes -----------------------------------------------------------------------------


def required_text(value: Any, field: str, limit: int, what: str) -> str:
    """A text a person must write (an answer, a reason, an instruction): stripped, not empty (`what`
    says what to write), at most `limit` characters."""
    text = str(value or "").strip()
    if not text:
        raise InvalidInput.one(field, what)
    if len(text) > limit:
        raise InvalidInput.one(field, f"at most {limit} characters")
    return text
