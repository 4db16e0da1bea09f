"""An agency's moves on a case handed to it (对接, docs/routing.md "Agency matters"): it answers
what it did, or hands the case back. Acknowledging is `cases.acknowledge_agency`; a lapsed
acknowledgement is `cases._agency_handover_lapsed`.

| move | state needed (not answered yet) | what happens |
|---|---|---|
| answer (`outcome`, `answer`) | `agency_pending` (acknowledged first), `with_agency` | step `agency_answered` |
| hand back (`reason`) | `agency_pending`, `with_agency` | step `agency_handed_back` |

An answered case stays with the agency (it still sees it) and its unit, which stays responsible; a
case handed back is the unit's to work again and the agency no longer sees it.

Only the agency the case is with acts (another agency does not see the case: 404; the unit 403),
with a role of `cases.AGENCY_STAFF`. Each step's target is the unit that handed the case over: it is
told (notification). Input is checked before anything is written.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from common.contracts import Contract
from common.errors import Conflict, Forbidden, InvalidInput
from common.reference import AGENCY_ANSWER_MAX_TEXT, AGENCY_OUTCOMES, AGENCY_REASON_MAX_TEXT
from common.tenancy import Scope
from services.routing.cases import (
    AGENCY_PENDING,
    AGENCY_STAFF,
    WITH_AGENCY,
    _authorize,
    _load,
    _need,
    _need_state,
    _routing_step,
    _step,
    acknowledge_agency,
    agency_releases,
    unit_data,
)
from services.routing.models import Agency, Assignment, CaseStep, Handover
from services.routing.tree import DivisionTree

ANSWERED = "answered"
ANSWERED_STEP, HANDED_BACK_STEP = "agency_answered", "agency_handed_back"
LIST_LIMIT = 500


def _text(value: Any, field: str, limit: int, what: str) -> str:
    text = str(value or "").strip()
    if not text:
        raise InvalidInput.one(field, what)
    if len(text) > limit:
        raise InvalidInput.one(field, f"at most {limit} characters")
    return text


def _with_the_agency(
    session: Session, scope: Scope | None, complaint_id: uuid.UUID, what: str
) -> tuple[Scope, Assignment]:
    """The case, locked, when the caller is staff of the agency that has it and has not answered."""
    a = _load(session, complaint_id)
    caller, seen = _authorize(session, a, scope)
    if seen != "agency":
        raise Forbidden(f"{what} is for the agency the case is handed to ({a.agency_tenant or 'none now'})")
    _need_state(a, AGENCY_PENDING, WITH_AGENCY)
    if a.agency_state == ANSWERED:
        raise Conflict("not possible now: the agency answered already; the unit works the case")
    _need(caller, AGENCY_STAFF, what)
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


def _agency_name(session: Session, agency: str | None) -> str:
    row = session.get(Agency, agency) if agency else None
    return row.name if row is not None else agency or ""


def answer(
    session: Session,
    tree: DivisionTree,
    scope: Scope | None,
    complaint_id: uuid.UUID,
    text: str,
    outcome: str | None = None,
) -> list[Contract]:
    """The agency says what it did (`outcome`: a code of common.reference.AGENCY_OUTCOMES). An
    unacknowledged handover is acknowledged first, in the same transaction."""
    caller, a = _with_the_agency(session, scope, complaint_id, "answering")
    text = _text(text, "answer", AGENCY_ANSWER_MAX_TEXT, "say what the agency did")
    if outcome is not None and outcome not in AGENCY_OUTCOMES:
        raise InvalidInput.one("outcome", f"one of {', '.join(AGENCY_OUTCOMES)}")
    events: list[Contract] = []
    if a.state == AGENCY_PENDING:
        events += acknowledge_agency(session, tree, scope, complaint_id)
    now = datetime.now(UTC)
    handover = _handover(session, a)
    if handover is not None:
        handover.state = ANSWERED
    a.agency_state = ANSWERED
    rule = handover.rule if handover else "agency"
    inputs = {
        "agency": a.agency_tenant,
        "agency_name": _agency_name(session, a.agency_tenant),
        "outcome": outcome,
        "answer": text,
        "answered_by": caller.user,
    }
    _step(session, a, ANSWERED_STEP, rule=rule, inputs=inputs, actor=caller.user, at=now, to_tenant=a.agency_tenant)
    return [
        *events,
        _routing_step(tree, a, ANSWERED_STEP, rule=rule, inputs=inputs, actor=caller.user, at=now, target=a.unit_code),
    ]


def hand_back(
    session: Session, tree: DivisionTree, scope: Scope | None, complaint_id: uuid.UUID, reason: str
) -> list[Contract]:
    """The agency gives the case back (not its matter, or it cannot act): the unit that handed it
    over works it again, as after a lapsed acknowledgement."""
    caller, a = _with_the_agency(session, scope, complaint_id, "handing a case back")
    reason = _text(reason, "reason", AGENCY_REASON_MAX_TEXT, "say why the case goes back")
    inputs = {"agency_name": _agency_name(session, a.agency_tenant), "reason": reason, "handed_back_by": caller.user}
    return agency_releases(
        session,
        tree,
        a,
        _handover(session, a),
        HANDED_BACK_STEP,
        handover_state="handed_back",
        rule="agency.handed_back",
        inputs=inputs,
        actor=caller.user,
        now=datetime.now(UTC),
        target=a.unit_code,
    )


def offered(a: Assignment, scope: Scope, seen: str | None) -> list[str]:
    """The agency's moves offered now (services/routing/offers.py), as `_with_the_agency` allows them."""
    if seen != "agency" or a.state not in (AGENCY_PENDING, WITH_AGENCY) or not scope.roles & AGENCY_STAFF:
        return []
    return [] if a.agency_state == ANSWERED else ["agency_answer", "agency_hand_back"]


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
                "from_unit": unit_data(tree, h.from_unit).model_dump(),
                "outcome": inputs.get("outcome") if step is not None and step.step == ANSWERED_STEP else None,
                "answer": inputs.get("answer"),
                "reason": inputs.get("reason"),
                "at": step.at.isoformat() if step is not None else None,
            }
        )
    return found
