"""Applying routing's moves to the case record (owned by the routing issue; intake keeps the record).

- `case.escalated.v1` (`CaseEscalated`): the unit above is responsible; the unit that passed the
  case up gets a `case_viewers` row (a read-only, masked view: docs/tenancy.md); a history step
  `escalated` with the trigger, reason, actor, rule and inputs.
- `case.routing_step.v1` (`CaseRoutingStep`): a history step named after the step (handover
  requested / accepted, returned, contested, contest expired, authority decided, agency handover
  requested / acknowledged, take-over requested, reclassified, ended at the top with the remedy
  routes) with its rule and inputs; the responsible unit when it changed; `agency_tenant` when an
  agency is involved (the agency then sees the case); a viewer row for a unit a case is handed to,
  so it can read it before accepting (removed when a decision gives the case to someone else); an
  agency handover that lapsed (`agency_handover_lapsed`: not acknowledged in time) takes the agency's
  view away again, and so does one the agency handed back (`agency_handed_back`).
- The case status (services/intake/case_status.py): an escalation makes it `escalated`; `ended_at_top`
  closes a case nobody accepted.
- Reclassification (`reclassified` steps, escalations with trigger `reclassified`): the case record
  shows the new category and claim amount (routing's `inputs.changed`); the history step keeps the
  values they replace (`detail.replaced`).

Order: routing numbers a case's events (`seq`; `complaint.routed.v1` is 1) and intake applies them in
that order. The number applied last is the largest `seq` in the case's history. An event that comes
before its predecessor, or before the case is routed, raises `OutOfOrder` and the failure policy
retries it (1 s, 5 s, 30 s); an event at or below the applied number changes nothing.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from common.contracts import CaseEscalated, CaseRoutingStep, Unit
from common.reference import AGENCY_RELEASING_STEPS
from services.intake import case_status
from services.intake.models import CaseViewer, Complaint, HistoryEntry

HANDOVER_VIEW = "handover_pending"


class OutOfOrder(RuntimeError):
    """An earlier routing event of the case is not applied yet: retry later."""


def _applied(complaint: Complaint) -> int:
    seqs = [e.detail.get("seq") for e in complaint.history if isinstance(e.detail, dict)]
    return max([1, *(s for s in seqs if isinstance(s, int))])


def _case(session: Session, complaint_id: Any, seq: int | None) -> tuple[Complaint, bool]:
    """The case, locked, and whether the event is the next one to apply."""
    complaint = session.get(Complaint, complaint_id, with_for_update=True)
    if complaint is None:
        raise LookupError(f"routing moved unknown complaint {complaint_id}")
    if complaint.responsible_unit_code is None:
        raise OutOfOrder(f"complaint {complaint_id} is not routed yet")
    if seq is None:
        return complaint, True
    applied = _applied(complaint)
    if seq > applied + 1:
        raise OutOfOrder(f"complaint {complaint_id}: routing event {seq} before {applied + 1}")
    return complaint, seq == applied + 1


def _responsible(complaint: Complaint, unit: Unit, at) -> None:
    complaint.responsible_unit_code = unit.code
    complaint.responsible_unit_name = unit.name
    complaint.responsible_tier = unit.tier
    complaint.updated_at = max(complaint.updated_at, at)


def _view(session: Session, complaint: Complaint, unit_code: str, at, reason: str) -> None:
    session.execute(
        insert(CaseViewer)
        .values(complaint_id=complaint.id, unit_code=unit_code, since=at, reason=reason[:40])
        .on_conflict_do_nothing()
    )


def _reclassify(complaint: Complaint, inputs: dict[str, Any]) -> dict[str, Any] | None:
    """Apply routing's reclassification (`inputs.changed`) to the record; the values replaced."""
    changed = inputs.get("changed") if isinstance(inputs, dict) else None
    if not isinstance(changed, dict):
        return None
    replaced: dict[str, Any] = {}
    if changed.get("category"):
        replaced["category"] = complaint.category
        complaint.category = str(changed["category"])[:40]
    if changed.get("claim_amount") is not None:
        try:
            amount = Decimal(str(changed["claim_amount"])).quantize(Decimal("0.01"))
        except InvalidOperation:
            amount = None
        if amount is not None:
            replaced["claim_amount"] = str(complaint.claim_amount) if complaint.claim_amount is not None else None
            complaint.claim_amount = amount
    return replaced or None


def record_escalation(session: Session, event: CaseEscalated) -> bool:
    """Apply an escalation; True when applied (False: already applied)."""
    complaint, fresh = _case(session, event.complaint_id, event.seq)
    if not fresh:
        return False
    if event.seq is None and complaint.responsible_unit_code != event.from_unit.code:
        fresh = False  # an unnumbered event for a unit the case already left: history only
    replaced = None
    if fresh:
        _responsible(complaint, event.to_unit, event.at)
        _view(session, complaint, event.from_unit.code, event.at, f"escalated:{event.trigger}")
        case_status.record_escalated(session, complaint, event.at)
        if event.trigger == "reclassified":
            replaced = _reclassify(complaint, event.inputs)
    detail = {
        "seq": event.seq,
        "from": event.from_unit.model_dump(),
        "to": event.to_unit.model_dump(),
        "trigger": event.trigger,
        "reason": event.reason,
        "actor": event.actor,
        "rule": event.rule,
        "inputs": event.inputs,
    }
    if not fresh:
        detail["superseded"] = True
    if replaced:
        detail["replaced"] = replaced
    session.add(HistoryEntry(complaint_id=complaint.id, at=event.at, step="escalated", detail=detail))
    return fresh


def record_step(session: Session, event: CaseRoutingStep) -> bool:
    """Apply a routing step; True when applied (False: already applied)."""
    complaint, fresh = _case(session, event.complaint_id, event.seq)
    if not fresh:
        return False
    if event.responsible_unit.code != complaint.responsible_unit_code:
        _responsible(complaint, event.responsible_unit, event.at)
    if event.agency_tenant is not None:
        complaint.agency_tenant = event.agency_tenant
    if event.step in AGENCY_RELEASING_STEPS:
        complaint.agency_tenant = None  # lapsed or handed back: the agency no longer sees the case
    replaced = _reclassify(complaint, event.inputs) if event.step == "reclassified" else None
    if event.step == "ended_at_top":
        case_status.record_ended_at_top(session, complaint, event.at)
    if replaced:
        complaint.updated_at = max(complaint.updated_at, event.at)
    if event.step == "handover_requested" and event.target:
        _view(session, complaint, event.target, event.at, HANDOVER_VIEW)
    elif event.step in ("handover_accepted", "authority_decided"):
        released = event.inputs.get("released_viewer") or (event.target if event.step == "handover_accepted" else None)
        if released:
            session.execute(
                delete(CaseViewer).where(
                    CaseViewer.complaint_id == complaint.id,
                    CaseViewer.unit_code == released,
                    CaseViewer.reason == HANDOVER_VIEW,
                )
            )
    detail: dict[str, Any] = {
        "seq": event.seq,
        "unit": event.responsible_unit.model_dump(),
        "rule": event.rule,
        "inputs": event.inputs,
        "actor": event.actor,
    }
    if event.previous_unit is not None:
        detail["from"] = event.previous_unit.model_dump()
    if event.target:
        detail["target"] = event.target
    if event.agency_tenant:
        detail["agency"] = event.agency_tenant
    if event.remedy_routes:
        detail["remedy_routes"] = event.remedy_routes
    if replaced:
        detail["replaced"] = replaced
    session.add(HistoryEntry(complaint_id=complaint.id, at=event.at, step=event.step[:40], detail=detail))
    return True
