"""The acceptance decision (受理 / 不予受理, Art 15-16): who may take it, in which state, and what it
records and announces.

Only staff of the responsible unit itself (the token's tenant equals the case's responsible unit)
holding `intake_clerk` or `supervisor` decide; a unit above that sees the case, a read-only viewer or
an agency gets 403, a caller who does not see the case 404 (like an absent case). A decision is taken
once, on a routed complaint; any other state answers 409 with the reason. The decision stops the
acceptance clock and is announced (`complaint.accepted.v1`, `complaint.refused.v1`) through the outbox.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session, object_session

from common import reference
from common.categories import RefusalGround, refusal_ground
from common.clock_watch import DEFAULT_YELLOW_SHARE
from common.clocks import ClockKind
from common.contracts import ComplaintAccepted, ComplaintRefused, Contract
from common.db import UnitOfWork
from common.errors import Conflict, Forbidden, InvalidInput, NotFound
from common.tenancy import Role, Scope
from services.intake import lights, validation
from services.intake.complaints import (
    ACCEPTED,
    DRAFT,
    DUPLICATE,
    ESCALATED,
    REFUSED,
    REPORT,
    ROUTED,
    find_visible,
    receipt,
    responsible_unit,
)
from services.intake.models import Complaint, HistoryEntry

DECIDERS = frozenset({Role.INTAKE_CLERK, Role.SUPERVISOR})
# a case passed up before anyone accepted it is decided by the unit above
DECIDABLE = frozenset({ROUTED, ESCALATED})
MAX_OTHER_ROUTES_LEN = 1000


def check_decider(complaint: Complaint, scope: Scope) -> None:
    if scope.is_agency or scope.unit != complaint.responsible_unit_code:
        raise Forbidden(
            f"only staff of the responsible unit ({complaint.responsible_unit_code}) decide whether to accept "
            "this complaint"
        )
    if not scope.roles & DECIDERS:
        raise Forbidden("deciding acceptance needs the role intake_clerk or supervisor")


def decidable(complaint: Complaint) -> bool:
    return complaint.status in DECIDABLE and complaint.decision is None and complaint.kind != REPORT


def check_state(complaint: Complaint) -> None:
    if decidable(complaint):
        return
    decided = (complaint.decision or {}).get("at", "")
    reasons = {
        ACCEPTED: f"the complaint was already accepted ({decided})",
        REFUSED: f"the complaint was already refused ({decided})",
        DUPLICATE: "the complaint is a duplicate (Art 35): decide on the first filing instead",
        DRAFT: "the complaint is an e-mail draft: complete it first",
        reference.SETTLE_FIRST: "the business has the case first (settle-first lane) until the consumer rejects "
        "its offer or the window passes",
        reference.SETTLED: "the parties settled the case in the settle-first lane",
    }
    if complaint.kind == REPORT:
        raise Conflict("a report (Art 9) is not accepted or refused as a complaint")
    raise Conflict(reasons.get(complaint.status, f"a complaint in status {complaint.status!r} cannot be decided"))


def parse_refusal(ground: Any, reason: Any, other_routes: Any) -> tuple[RefusalGround, str, str]:
    problems: list[dict[str, str]] = []
    parsed_ground = None
    try:
        parsed_ground = refusal_ground(ground if isinstance(ground, str) else "")
    except KeyError:
        problems.append(
            {"field": "ground", "message": f"one of the Art 16 grounds: {', '.join(g.value for g in RefusalGround)}"}
        )
    text = routes = ""
    try:
        text = validation.text(reason, "reason", max_len=validation.MAX_NOTE_LEN, min_len=2)
    except validation.InvalidField as exc:
        problems.append({"field": exc.field, "message": exc.message})
    if other_routes is not None:
        try:
            routes = validation.text(other_routes, "other_routes", max_len=MAX_OTHER_ROUTES_LEN, min_len=2)
        except validation.InvalidField as exc:
            problems.append({"field": exc.field, "message": exc.message})
    if problems:
        raise InvalidInput(problems)
    assert parsed_ground is not None
    return parsed_ground, text, routes or parsed_ground.other_routes_zh


def _stop_acceptance(complaint: Complaint, now: datetime) -> None:
    row = lights.find(list(complaint.clocks), ClockKind.ACCEPTANCE)
    if row is not None:
        lights.stop(row, now, measured_for=complaint)
        lights.refresh_deadline(object_session(complaint), complaint.id)


def accept(session: Session, complaint: Complaint, scope: Scope, now: datetime) -> ComplaintAccepted:
    complaint.status, complaint.status_at = ACCEPTED, now
    complaint.decision = {"decision": "accepted", "at": now.isoformat(), "by": scope.user, "unit": scope.unit}
    complaint.updated_at = now
    _stop_acceptance(complaint, now)
    session.add(HistoryEntry(complaint_id=complaint.id, at=now, step="accepted", detail={"by": scope.user}))
    return ComplaintAccepted(
        complaint_id=complaint.id,
        tracking_no=complaint.tracking_no,
        unit=responsible_unit(complaint),
        accepted_at=now,
        accepted_by=scope.user,
        category=complaint.category or "other",
        claim_amount=complaint.claim_amount,
        business_name=complaint.business.get("name", ""),
        business_credit_code=complaint.business.get("credit_code"),
        complainant_name=complaint.complainant.get("name", ""),
        complainant_phone=complaint.complainant.get("phone", ""),
        **_clock_policy(complaint),
    )


def _clock_policy(complaint: Complaint) -> dict[str, Any]:
    """The responsible tenant's yellow share and calendar, which the acceptance clock carries
    (lights.apply_policy), for the clocks mediation runs."""
    row = lights.find(list(complaint.clocks), ClockKind.ACCEPTANCE)
    if row is None:
        return {"yellow_share": DEFAULT_YELLOW_SHARE}
    return {"yellow_share": row.yellow_share or DEFAULT_YELLOW_SHARE, "working_days": row.working_days()}


def refuse(
    session: Session,
    complaint: Complaint,
    scope: Scope,
    now: datetime,
    *,
    ground: RefusalGround,
    reason: str,
    other_routes: str,
) -> ComplaintRefused:
    complaint.status, complaint.status_at = REFUSED, now
    complaint.decision = {
        "decision": "refused",
        "at": now.isoformat(),
        "by": scope.user,
        "unit": scope.unit,
        "ground": ground.value,
        "ground_label": ground.label_zh,
        "reason": reason,
        "other_routes": other_routes,
    }
    complaint.updated_at = now
    _stop_acceptance(complaint, now)
    session.add(
        HistoryEntry(
            complaint_id=complaint.id,
            at=now,
            step="refused",
            detail={"by": scope.user, "ground": ground.value, "reason": reason, "other_routes": other_routes},
        )
    )
    return ComplaintRefused(
        complaint_id=complaint.id,
        tracking_no=complaint.tracking_no,
        unit=responsible_unit(complaint),
        ground=ground.value,
        reason=reason,
        other_routes=other_routes,
        refused_at=now,
        refused_by=scope.user,
        complainant_phone=complaint.complainant.get("phone", ""),
    )


# a decision taken on a locked case at a time: what it announces
Decision = Callable[[Session, Complaint, datetime], Contract]


def check_decidable(db: UnitOfWork, scope: Scope, key: uuid.UUID) -> None:
    """404 for a case the caller does not see, 403 for one it sees but may not decide."""
    with db.scoped(scope) as session:
        check_decider(find_visible(session, key, scope), scope)


def decide(db: UnitOfWork, scope: Scope, key: uuid.UUID, act: Decision) -> dict[str, Any]:
    """Take the decision on the locked case, checked again, and announce it through the outbox."""
    with db.transaction() as session:
        complaint = session.get(Complaint, key, with_for_update=True)
        if complaint is None:  # pragma: no cover - seen a moment ago; cases are never deleted
            raise NotFound(f"no complaint {key}")
        check_decider(complaint, scope)  # it may have moved meanwhile
        check_state(complaint)
        db.emit(session, act(session, complaint, datetime.now(UTC)))
        return {**receipt(complaint), "decision": complaint.decision}
