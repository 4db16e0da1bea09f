"""Filing a complaint and keeping its record: plain functions over a session, no broker."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from common.contracts import ComplaintReceived, ComplaintRouted, ComplaintSubmission, MessageRecorded
from common.masking import mask_complainant, mask_name
from common.tenancy import Scope, Viewers, scope_clause
from services.intake.models import CaseViewer, Complaint, HistoryEntry

RECEIVED = "received"
ROUTED = "routed"

# the complainant's personal data: shown in full only where `unmasked_fields` says so, and audited
PERSONAL_FIELDS = ("name", "phone", "id_number", "address")

# no 0/O or 1/I: tracking numbers are read out over the phone
_TRACKING_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def new_tracking_no(now: datetime) -> str:
    return "TS" + now.strftime("%Y%m%d") + "".join(secrets.choice(_TRACKING_ALPHABET) for _ in range(6))


def by_idempotency_key(session: Session, key: str) -> Complaint | None:
    return session.scalar(select(Complaint).where(Complaint.idempotency_key == key))


def file_complaint(
    session: Session, submission: ComplaintSubmission, *, first_receiver: str | None, idempotency_key: str | None
) -> tuple[Complaint, ComplaintReceived]:
    """Store the complaint with its first history step; return it and the event it causes."""
    now = datetime.now(UTC)
    complaint = Complaint(
        id=uuid.uuid4(),
        tracking_no=new_tracking_no(now),
        channel=submission.channel,
        status=RECEIVED,
        complainant=submission.complainant.model_dump(mode="json", exclude_none=True),
        business=submission.business.model_dump(mode="json", exclude_none=True),
        incident_division_code=submission.incident_division_code,
        category=submission.category,
        summary=submission.summary,
        claim_amount=submission.claim_amount,
        requests=list(submission.requests),
        first_receiver_code=first_receiver,
        idempotency_key=idempotency_key,
        received_at=now,
        updated_at=now,
    )
    session.add(complaint)
    session.add(HistoryEntry(complaint_id=complaint.id, at=now, step="received", detail={"channel": complaint.channel}))
    event = ComplaintReceived(
        complaint_id=complaint.id,
        tracking_no=complaint.tracking_no,
        channel=complaint.channel,
        received_at=now,
        category=complaint.category,
        claim_amount=complaint.claim_amount,
        business_division_code=submission.business.division_code,
        incident_division_code=complaint.incident_division_code,
        first_receiver=first_receiver,
        complainant_name=submission.complainant.name,
        complainant_phone=submission.complainant.phone,
    )
    return complaint, event


def record_routing(session: Session, event: ComplaintRouted) -> None:
    complaint = session.get(Complaint, event.complaint_id, with_for_update=True)
    if complaint is None:
        raise LookupError(f"routing decided for unknown complaint {event.complaint_id}")
    complaint.responsible_unit_code = event.unit.code
    complaint.responsible_unit_name = event.unit.name
    complaint.responsible_tier = event.unit.tier
    complaint.status = ROUTED
    complaint.updated_at = event.decided_at
    session.add(
        HistoryEntry(
            complaint_id=complaint.id,
            at=event.decided_at,
            step="routed",
            detail={"unit": event.unit.model_dump(), "rule": event.rule, "inputs": event.inputs},
        )
    )


def record_message(session: Session, event: MessageRecorded) -> None:
    session.add(
        HistoryEntry(
            complaint_id=event.complaint_id,
            at=event.recorded_at,
            step=f"notified:{event.template}",
            detail={"channel": event.channel, "recipient": event.recipient_role, "state": event.state},
        )
    )


def in_scope(scope: Scope | None, *, with_viewers: bool = True) -> ColumnElement[bool]:
    """The cases `scope` sees: responsible unit in its subtree, a viewer row in its subtree (read
    only; `with_viewers`), or, for an agency, handed to it."""
    viewers = Viewers(unit=CaseViewer.unit_code, correlation=CaseViewer.complaint_id == Complaint.id)
    return scope_clause(
        Complaint.responsible_unit_code,
        scope,
        agency_column=Complaint.agency_tenant,
        viewers=viewers if with_viewers else None,
    )


def find_in_scope(session: Session, complaint_id: uuid.UUID, scope: Scope | None) -> Complaint | None:
    return session.scalar(select(Complaint).where(Complaint.id == complaint_id, in_scope(scope)))


def list_in_scope(session: Session, scope: Scope | None, *, status: str | None, limit: int) -> list[Complaint]:
    query = select(Complaint).where(in_scope(scope))
    if status:
        query = query.where(Complaint.status == status)
    return list(session.scalars(query.order_by(Complaint.received_at.desc()).limit(limit)))


def receipt(complaint: Complaint) -> dict[str, Any]:
    return {"id": str(complaint.id), "tracking_no": complaint.tracking_no, "status": complaint.status}


def read_only(complaint: Complaint, scope: Scope) -> bool:
    """Seen only through a viewer row: a unit of the caller's subtree passed the case up."""
    return not scope.is_agency and not scope.sees(complaint.responsible_unit_code)


def unmasked_fields(complaint: Complaint, scope: Scope, *, single: bool) -> list[str]:
    """The personal fields `scope` sees in full: only in the single-case view, only for the
    responsible unit's staff handling cases (intake clerk, mediator, supervisor). Empty: all masked."""
    if not single or not scope.handles(complaint.responsible_unit_code):
        return []
    return [name for name in PERSONAL_FIELDS if complaint.complainant.get(name)]


def complainant_view(complaint: Complaint, scope: Scope, *, single: bool) -> dict[str, Any]:
    if unmasked_fields(complaint, scope, single=single):
        return dict(complaint.complainant)
    if scope.is_agency:
        # an agency needs to know whom the case is about, not how to reach them
        return {"name": mask_name(complaint.complainant.get("name", ""))}
    return mask_complainant(complaint.complainant)


def view(complaint: Complaint, scope: Scope, *, single: bool = True) -> dict[str, Any]:
    """The case as `scope` may see it. `single` is the single-case view (with history); a list
    (`single=False`) is always masked. Personal data in full only per `unmasked_fields`; an agency
    gets a masked name, no contact data, and the history's steps without other units' details."""
    unit = None
    if complaint.responsible_unit_code:
        unit = {
            "code": complaint.responsible_unit_code,
            "name": complaint.responsible_unit_name,
            "tier": complaint.responsible_tier,
        }
    data: dict[str, Any] = {
        **receipt(complaint),
        "channel": complaint.channel,
        "complainant": complainant_view(complaint, scope, single=single),
        "business": complaint.business,
        "incident_division_code": complaint.incident_division_code,
        "category": complaint.category,
        "summary": complaint.summary,
        "claim_amount": str(complaint.claim_amount) if complaint.claim_amount is not None else None,
        "requests": complaint.requests,
        "first_receiver": complaint.first_receiver_code,
        "responsible_unit": unit,
        "agency": complaint.agency_tenant,
        "received_at": complaint.received_at.isoformat(),
        "updated_at": complaint.updated_at.isoformat(),
        "read_only": read_only(complaint, scope),
    }
    if single:
        if scope.is_agency:
            data["history"] = [{"at": entry.at.isoformat(), "step": entry.step} for entry in complaint.history]
        else:
            data["history"] = [
                {"at": entry.at.isoformat(), "step": entry.step, "detail": entry.detail} for entry in complaint.history
            ]
    return data
