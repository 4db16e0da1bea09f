"""Routing's read models of a case: its routing record and its clocks, as the caller sees them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from common.contracts import CaseRoutingStep
from common.errors import NotFound
from common.reference import REMEDY_ROUTES
from common.tenancy import Scope
from services.routing import lights, offers
from services.routing.models import Assignment, CaseClock, CaseStep, Handover, TierClock
from services.routing.moves import ACTIVE, ENDED, visibility
from services.routing.tree import DivisionTree


def clocks_of(
    session: Session, tree: DivisionTree, scope: Scope | None, complaint_id: uuid.UUID, now: datetime
) -> list[dict[str, Any]]:
    """Routing's clocks of a case the caller sees; none for a case it does not see or routing never
    decided (the two answer alike)."""
    a = session.get(Assignment, complaint_id)
    if a is None or visibility(session, a, scope) is None:
        return []
    return lights.of_case(session, tree, complaint_id, now)


def view(
    session: Session, tree: DivisionTree, scope: Scope | None, complaint_id: uuid.UUID, now: datetime
) -> dict[str, Any]:
    """The routing record of a case: who is responsible and why, open handovers, the tier clock and
    every step with its rule and inputs; what the caller may do now and why the case is where it is
    (offers.py). `read_only` for a unit that passed the case up."""
    a = session.get(Assignment, complaint_id)
    if a is None:
        raise NotFound(f"no complaint {complaint_id}")
    seen = visibility(session, a, scope)
    if seen is None:
        raise NotFound(f"no complaint {complaint_id}")
    handovers = session.scalars(
        select(Handover).where(Handover.complaint_id == complaint_id).order_by(Handover.id)
    ).all()
    clock = session.get(TierClock, complaint_id)
    handover_clocks = {
        c.handover_id: c for c in session.scalars(select(CaseClock).where(CaseClock.complaint_id == complaint_id))
    }
    steps = session.scalars(
        select(CaseStep).where(CaseStep.complaint_id == complaint_id).order_by(CaseStep.seq, CaseStep.id)
    ).all()
    data: dict[str, Any] = {
        "complaint_id": str(a.complaint_id),
        "responsible_unit": lights.unit_data(tree, a.unit_code).model_dump(),
        "state": a.state,
        "rule": a.rule,
        "inputs": a.inputs,
        "decided_at": a.decided_at.isoformat(),
        "first_receiver": a.first_receiver,
        "agency": {"tenant": a.agency_tenant, "state": a.agency_state} if a.agency_tenant else None,
        "read_only": seen == "viewer",
        "seen_as": seen,
        "handovers": [
            {
                "kind": h.kind,
                "from": h.from_unit,
                "to": h.to_tenant,
                "state": h.state,
                "rule": h.rule,
                "requested_at": h.requested_at.isoformat(),
                "requested_by": h.requested_by,
                "resolved_at": h.resolved_at.isoformat() if h.resolved_at else None,
                "contested_by": h.contested_by,
                "contest_reason": h.contest_reason,
                "decider": h.decider,
                "contest_deadline": h.contest_deadline.isoformat() if h.contest_deadline else None,
                "contest_expired": h.contest_expired,
                "decline_reason": h.decline_reason,
                "clock": lights.view(handover_clocks.get(h.id), tree, now),
            }
            for h in handovers
        ],
        "tier_clock": None,
        "steps": [
            {
                "seq": s.seq,
                "step": s.step,
                "unit": s.unit_code,
                "from": s.from_unit,
                "to": s.to_tenant,
                "rule": s.rule,
                "inputs": s.inputs,
                "actor": s.actor,
                "at": s.at.isoformat(),
            }
            for s in steps
        ],
    }
    if a.state == ENDED:
        data["remedy_routes"] = list(REMEDY_ROUTES)
    if clock is not None:
        data["tier_clock"] = {**lights.view(clock, tree, now), "working_days": clock.working_days}
    data["allowed_actions"] = offers.allowed_actions(session, tree, a, scope)
    data["explanation_zh"] = offers.explain(a, tree)
    return data


def handed_back(step: CaseRoutingStep) -> dict[str, Any]:
    """What an agency that handed a case back is answered: only where the case is now (it no longer
    sees it)."""
    return {
        "complaint_id": str(step.complaint_id),
        "state": ACTIVE,
        "responsible_unit": step.responsible_unit.model_dump(),
        "agency": None,
        "handed_back": True,
    }
