"""Figures read from the fact rows: an agency's volumes, and escalations per unit (routing issue).
The read model is kept by services/reporting/folding.py; unit figures come from the rollups."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from common.contracts import CaseReassigned
from common.tenancy import Scope, scope_clause
from common.workdays import SHANGHAI, end_of_day
from services.reporting import views
from services.reporting.models import ComplaintFact, EarlyWarningFact, Escalation
from services.reporting.views import ESCALATION_LINE


def summary(
    session: Session, scope: Scope | None, first: date | None = None, last: date | None = None
) -> dict[str, Any]:
    """Volumes of the cases handed to an agency (units read the rollups: services/reporting/views.py),
    in total and by status, channel, category and tier, for complaints received in the period."""
    in_scope = scope_clause(ComplaintFact.unit_code, scope, agency_column=ComplaintFact.agency_tenant)
    if first is not None:
        in_scope = in_scope & (ComplaintFact.received_at >= datetime.combine(first, time.min, tzinfo=SHANGHAI))
    if last is not None:
        in_scope = in_scope & (ComplaintFact.received_at <= end_of_day(last))
    result: dict[str, Any] = {
        "unit": scope.unit if scope else None,
        "total": session.scalar(select(func.count()).select_from(ComplaintFact).where(in_scope)) or 0,
    }
    for name in ("status", "channel", "category", "tier"):
        column = getattr(ComplaintFact, name)
        rows = session.execute(select(column, func.count()).where(in_scope).group_by(column)).all()
        result[f"by_{name}"] = {key: count for key, count in rows}
    return result


def count_reassigned(session: Session, event: CaseReassigned) -> None:
    """The case counts for its new unit from now on. A move that arrives before the routing it
    moves from is refused (LookupError: the handler retries it), so the older decision cannot
    overwrite it; a move away from a unit the case has already left changes nothing.
    (`folding.on_reassigned` applies it with the rollups.)"""
    fact = session.get(ComplaintFact, event.complaint_id, with_for_update=True)
    if fact is None or fact.unit_code is None:
        raise LookupError(f"complaint {event.complaint_id} is not counted as routed yet; the move waits for it")
    if fact.unit_code == event.from_unit.code:
        fact.unit_code, fact.tier = event.to_unit.code, event.to_unit.tier


def escalation_rates(session: Session, scope: Scope | None) -> dict[str, Any]:
    """Per unit of the caller's subtree that passed cases up, over all time: the escalation rate of
    the summary's figures (`views.escalation_entry`), townships against the 10% line."""
    if scope is None or not scope.valid or scope.is_agency:
        return {"unit": scope.unit if scope else None, "line": ESCALATION_LINE, "units": [], "warnings": 0}
    passed = scope_clause(Escalation.from_unit, scope)
    codes = session.scalars(select(Escalation.from_unit).where(passed).distinct()).all()
    units = views.escalation_units(session, scope.unit, list(codes))
    warnings = (
        session.scalar(
            select(func.count())
            .select_from(EarlyWarningFact)
            .where(
                scope_clause(EarlyWarningFact.city_code, scope)
                if len(scope.unit) == 6
                else EarlyWarningFact.township_code == scope.unit
            )
        )
        or 0
    )
    return {
        "unit": scope.unit,
        "line": ESCALATION_LINE,
        "units": units,
        "warnings": warnings,
    }
