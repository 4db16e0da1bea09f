"""An agency's moves on a case handed to it (对接, docs/routing.md "Agency matters"): it answers
what it did, or hands the case back. Acknowledging is `handovers.acknowledge_agency`; a lapsed
acknowledgement is `handovers.agency_handover_lapsed`. Both moves go through the table in moves.py
(`agency_answer`, `agency_hand_back`).

| move | state needed (not answered yet) | what happens |
|---|---|---|
| answer (`outcome`, `answer`) | `agency_pending` (acknowledged first), `with_agency` | step `agency_answered` |
| hand back (`reason`) | `agency_pending`, `with_agency` | step `agency_handed_back` |

An answered case stays with the agency (it still sees it) and its unit, which stays responsible; a
case handed back is the unit's to work again and the agency no longer sees it.

Only the agency the case is with acts (another agency does not see the case: 404; the unit 403),
with a role of `moves.AGENCY_STAFF`. Each step's target is the unit that handed the case over: it is
told (notification). Input is checked before anything is written.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from common.contracts import Contract
from common.errors import Conflict, Forbidden, InvalidInput
from common.reference import AGENCY_ANSWER_MAX_TEXT, AGENCY_OUTCOMES, AGENCY_REASON_MAX_TEXT
from common.tenancy import Scope
from services.routing import lights
from services.routing.handovers import acknowledge_agency, agency_name, release_from_agency
from services.routing.models import Assignment, CaseStep, Handover
from services.routing.moves import (
    AGENCY,
    AGENCY_ANSWER,
    AGENCY_HAND_BACK,
    AGENCY_PENDING,
    DOING,
    authorize,
    enter,
    load,
    may,
    need_role,
    record_step,
    required_text,
    transition,
)
from services.routing.tree import DivisionTree

ANSWERED = "answered"
ANSWERED_STEP, HANDED_BACK_STEP = "agency_answered", "agency_handed_back"
LIST_LIMIT = 500


def _with_the_agency(
    session: Session, scope: Scope | None, complaint_id: uuid.UUID, move: str
) -> tuple[Scope, Assignment]:
    """The case, locked, when the caller is staff of the agency that has it and has not answered."""
    a = load(session, complaint_id)
    caller, seen = authorize(session, a, scope)
    if seen != AGENCY:
        raise Forbidden(f"{DOING[move]} is for the agency the case is handed to ({a.agency_tenant or 'none now'})")
    transition(a, move)
    if a.agency_state == ANSWERED:
        raise Conflict("not possible now: the agency answered already; the unit works the case")
    need_role(caller, move)
    return caller, a


def _handover(session: Session, a: Assignment) -> Handover | None:
    """The agency's handover of the case, the latest."""
    return session.scalars(
        select(Handover)
        .where(Handover.complaint_id == a.complaint_id, Handover.kind == "agency")
        .where(Handover.to_tenant == a.agency_tenant)
        .order_by(Handover.id.desc())
        .with_for_update()
    ).first()


def answer(
    session: Session,
    tree: DivisionTree,
    scope: Scope | None,
    complaint_id: uuid.UUID,
    text: str,
    outcome: str | None = None,
    *,
    now: datetime,
) -> list[Contract]:
    """The agency says what it did (`outcome`: a code of common.reference.AGENCY_OUTCOMES). An
    unacknowledged handover is acknowledged first, in the same transaction."""
    caller, a = _with_the_agency(session, scope, complaint_id, AGENCY_ANSWER)
    text = required_text(text, "answer", AGENCY_ANSWER_MAX_TEXT, "say what the agency did")
    if outcome is not None and outcome not in AGENCY_OUTCOMES:
        raise InvalidInput.one("outcome", f"one of {', '.join(AGENCY_OUTCOMES)}")
    events: list[Contract] = []
    if a.state == AGENCY_PENDING:
        events += acknowledge_agency(session, tree, scope, complaint_id, now=now)
    handover = _handover(session, a)
    if handover is not None:
        handover.state = ANSWERED
    enter(a, AGENCY_ANSWER)
    a.agency_state = ANSWERED
    rule = handover.rule if handover else "agency"
    inputs = {
        "agency": a.agency_tenant,
        "agency_name": agency_name(session, a.agency_tenant),
        "outcome": outcome,
        "answer": text,
        "answered_by": caller.user,
    }
    step = record_step(
        session, tree, a, ANSWERED_STEP, rule=rule, inputs=inputs, actor=caller.user, at=now, to=a.agency_tenant
    )
    # the step goes to the agency; its event tells the unit that handed the case over
    return [*events, step.model_copy(update={"target": a.unit_code})]


def hand_back(
    session: Session, tree: DivisionTree, scope: Scope | None, complaint_id: uuid.UUID, reason: str, *, now: datetime
) -> list[Contract]:
    """The agency gives the case back (not its matter, or it cannot act): the unit that handed it
    over works it again, as after a lapsed acknowledgement."""
    caller, a = _with_the_agency(session, scope, complaint_id, AGENCY_HAND_BACK)
    reason = required_text(reason, "reason", AGENCY_REASON_MAX_TEXT, "say why the case goes back")
    inputs = {"reason": reason, "handed_back_by": caller.user}  # release_from_agency names the agency
    return release_from_agency(
        session,
        tree,
        a,
        _handover(session, a),
        HANDED_BACK_STEP,
        move=AGENCY_HAND_BACK,
        handover_state="handed_back",
        rule="agency.handed_back",
        inputs=inputs,
        actor=caller.user,
        now=now,
        target=a.unit_code,
    )


def offered(a: Assignment, scope: Scope, seen: str | None) -> list[str]:
    """The agency's moves offered now (services/routing/offers.py), as `_with_the_agency` allows them."""
    if seen != AGENCY or a.agency_state == ANSWERED:
        return []
    return [move for move in (AGENCY_ANSWER, AGENCY_HAND_BACK) if may(a.state, move, scope)]


# --- the agency's list ----------------------------------------------------------------------------------


def handovers(session: Session, tree: DivisionTree, scope: Scope | None, limit: int = 100) -> list[dict[str, Any]]:
    """The cases handed to the caller's agency, newest first: the handover's state (pending,
    acknowledged, answered, handed_back, lapsed), the unit that handed it over and is responsible,
    and the agency's answer or reason for handing back. Nothing for a unit."""
    if not 1 <= limit <= LIST_LIMIT:
        raise InvalidInput.one("limit", f"must be between 1 and {LIST_LIMIT}")
    if scope is None or not scope.valid or not scope.is_agency:
        return []
    rows = session.scalars(
        select(Handover)
        .where(Handover.kind == "agency", Handover.to_tenant == scope.unit)
        .order_by(Handover.id.desc())
        .limit(limit)
    ).all()
    latest: dict[uuid.UUID, Handover] = {}
    for row in rows:
        latest.setdefault(row.complaint_id, row)
    said: dict[uuid.UUID, CaseStep] = {}
    for step in session.scalars(
        select(CaseStep)
        .where(
            CaseStep.complaint_id.in_(latest),
            CaseStep.step.in_((ANSWERED_STEP, HANDED_BACK_STEP)),
        )
        .order_by(CaseStep.seq)
    ):
        if (step.inputs or {}).get("agency", scope.unit) == scope.unit:
            said[step.complaint_id] = step
    found = []
    for complaint_id, h in latest.items():
        step = said.get(complaint_id)
        inputs = step.inputs if step is not None else {}
        found.append(
            {
                "complaint_id": str(complaint_id),
                "state": h.state,
                "requested_at": h.requested_at.isoformat(),
                "from_unit": lights.unit_data(tree, h.from_unit).model_dump(),
                "outcome": inputs.get("outcome") if step is not None and step.step == ANSWERED_STEP else None,
                "answer": inputs.get("answer"),
                "reason": inputs.get("reason"),
                "at": step.at.isoformat() if step is not None else None,
            }
        )
    return found
