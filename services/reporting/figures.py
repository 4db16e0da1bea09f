"""The read model and the figures counted from it (no personal data ever enters it)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from common.contracts import CaseReassigned, ComplaintReceived, ComplaintRouted
from common.tenancy import Scope, scope_clause
from services.reporting.models import ComplaintFact


def count_received(session: Session, event: ComplaintReceived) -> None:
    # events may arrive in any order: each one fills only its own columns
    values = {
        "received_at": event.received_at,
        "channel": event.channel,
        "category": event.category,
        "claim_amount": event.claim_amount,
    }
    session.execute(
        insert(ComplaintFact)
        .values(complaint_id=event.complaint_id, status="received", **values)
        .on_conflict_do_update(index_elements=[ComplaintFact.complaint_id], set_=values)
    )


def count_routed(session: Session, event: ComplaintRouted) -> None:
    values = {"unit_code": event.unit.code, "tier": event.unit.tier, "status": "routed", "routed_at": event.decided_at}
    session.execute(
        insert(ComplaintFact)
        .values(complaint_id=event.complaint_id, **values)
        .on_conflict_do_update(index_elements=[ComplaintFact.complaint_id], set_=values)
    )


def count_reassigned(session: Session, event: CaseReassigned) -> None:
    """The case counts for its new unit from now on. A move that arrives before the routing it
    moves from is refused (LookupError: the handler retries it), so the older decision cannot
    overwrite it; a move away from a unit the case has already left changes nothing."""
    fact = session.get(ComplaintFact, event.complaint_id, with_for_update=True)
    if fact is None or fact.unit_code is None:
        raise LookupError(f"complaint {event.complaint_id} is not counted as routed yet; the move waits for it")
    if fact.unit_code == event.from_unit.code:
        fact.unit_code, fact.tier = event.to_unit.code, event.to_unit.tier


def summary(session: Session, scope: Scope | None) -> dict[str, Any]:
    """Volumes in the caller's subtree (an agency: the cases handed to it): in total and by status,
    channel, category and tier. Counted by responsible unit: a unit that passed a case up no longer
    counts it."""
    in_scope = scope_clause(ComplaintFact.unit_code, scope, agency_column=ComplaintFact.agency_tenant)
    result: dict[str, Any] = {
        "unit": scope.unit if scope else None,
        "total": session.scalar(select(func.count()).select_from(ComplaintFact).where(in_scope)) or 0,
    }
    for name in ("status", "channel", "category", "tier"):
        column = getattr(ComplaintFact, name)
        rows = session.execute(select(column, func.count()).where(in_scope).group_by(column)).all()
        result[f"by_{name}"] = {key: count for key, count in rows}
    return result
