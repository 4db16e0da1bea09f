"""The complaint's record: its statuses, who sees it, what others' events add to it, and how it
shows (filing.py files it). Plain functions over a session, no broker."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from common import contracts, reference
from common.clocks import ClockKind
from common.errors import NotFound
from common.masking import mask_complainant, mask_name, mask_recipient
from common.tenancy import Scope, Viewers, scope_clause
from services.intake import duplicates, lights
from services.intake import evidence as evidence_files
from services.intake.models import CaseViewer, Complaint, HistoryEntry

# the case status and its labels live in common/reference.py (the gateway and reporting share them)
DRAFT = reference.DRAFT  # an e-mail a clerk has not completed yet
RECEIVED = reference.RECEIVED
ROUTED = reference.ROUTED
ACCEPTED = reference.ACCEPTED
REFUSED = reference.REFUSED
ESCALATED = reference.ESCALATED
DUPLICATE = reference.DUPLICATE  # the same facts filed again (Art 35): linked to the first, not handled twice
REPORT_RECEIVED = reference.REPORT_RECEIVED  # the report half of an Art 9 split

COMPLAINT = "complaint"
REPORT = "report"

# the complainant's personal data: shown in full only where `unmasked_fields` says so, and audited
PERSONAL_FIELDS = ("name", "phone", "id_number", "address", "email")


def record_routing(session: Session, event: contracts.ComplaintRouted) -> contracts.SettleFirstOpened | None:
    """Record the unit routing decided; the settle-first lane's opening when the case goes to the
    business first (the caller emits it)."""
    complaint = session.get(Complaint, event.complaint_id, with_for_update=True)
    if complaint is None:
        raise LookupError(f"routing decided for unknown complaint {event.complaint_id}")
    complaint.responsible_unit_code = event.unit.code
    complaint.responsible_unit_name = event.unit.name
    complaint.responsible_tier = event.unit.tier
    first_routing = complaint.status == RECEIVED
    if complaint.status in (RECEIVED, ROUTED):
        complaint.status, complaint.status_at = ROUTED, event.decided_at
    complaint.updated_at = event.decided_at
    if event.clock_policy is not None:
        lights.apply_policy(list(complaint.clocks), event.clock_policy, datetime.now(UTC))
        lights.refresh_deadline(session, complaint.id)
    # its duplicates and its Art 9 report half follow it, while they have no unit of their own
    followers = [Complaint.duplicate_of == complaint.id]
    if complaint.linked_id is not None:
        followers.append(Complaint.id == complaint.linked_id)
    for follows in followers:
        session.execute(
            update(Complaint)
            .where(follows, Complaint.responsible_unit_code.is_(None))
            .values(
                responsible_unit_code=event.unit.code,
                responsible_unit_name=event.unit.name,
                responsible_tier=event.unit.tier,
            )
        )
    session.add(
        HistoryEntry(
            complaint_id=complaint.id,
            at=event.decided_at,
            step="routed",
            detail={"unit": event.unit.model_dump(), "rule": event.rule, "inputs": event.inputs},
        )
    )
    if first_routing:
        from services.intake import settle_first  # it builds on this module's statuses

        return settle_first.open_lane(session, complaint, event.clock_policy, event.decided_at)
    return None


# the delivery states of a message that has left the platform (notification's `message.recorded.v1`)
ACKNOWLEDGED = frozenset({"sent", "delivered"})


def record_message(session: Session, event: contracts.MessageRecorded) -> None:
    if event.template == "acknowledgement" and event.state in ACKNOWLEDGED:
        # the 24-hour commitment is kept when the message went out, not when it was queued (quiet
        # hours may hold it past the deadline: then the acknowledgement is late)
        row = session.get(lights.ClockRow, (event.complaint_id, ClockKind.ACKNOWLEDGEMENT.value), with_for_update=True)
        if row is not None:
            lights.stop(row, event.recorded_at, measured_for=session.get(Complaint, event.complaint_id))
            lights.refresh_deadline(session, event.complaint_id)
    session.add(
        HistoryEntry(
            complaint_id=event.complaint_id,
            at=event.recorded_at,
            step=f"notified:{event.template}",
            detail={"channel": event.channel, "recipient": event.recipient_role, "state": event.state},
        )
    )


def record_message_handled(session: Session, event: contracts.MessageHandled) -> None:
    """A failed message resent, or the party told another way: a step of the case's history."""
    detail: dict[str, Any] = {
        "message_id": str(event.message_id),
        "template": event.template,
        "channel": event.channel,
        "recipient": event.recipient_role,
        "by": event.actor,
    }
    if event.action == "resent":
        step, detail["new_message_id"] = "message_resent", str(event.new_message_id)
    else:
        step = "message_told_otherwise"
        detail.update(how=event.how, note=event.note)
    session.add(HistoryEntry(complaint_id=event.complaint_id, at=event.at, step=step, detail=detail))


def history_row(entry: HistoryEntry, *, with_params: bool = True) -> dict[str, Any]:
    """A history step as the console reads it: a stable `code` (common.reference.HISTORY_STEPS) with
    structured `params`; `step` and `detail` as stored, for older readers. `notified:<template>`
    is the code `notified` with the template in its params."""
    code, _, template = entry.step.partition(":")
    row: dict[str, Any] = {"at": entry.at.isoformat(), "code": code, "step": entry.step}
    if with_params:
        params = dict(entry.detail or {})
        if template:
            params["template"] = template
        row["params"] = params
        row["detail"] = entry.detail
    return row


def in_scope(scope: Scope | None, *, with_viewers: bool = True) -> ColumnElement[bool]:
    """The cases `scope` sees: responsible unit in its subtree, a viewer row in its subtree (read
    only; `with_viewers`), or, for an agency, handed to it or handed over by it (`source_tenant`:
    an agency follows what became of the cases it filed)."""
    viewers = Viewers(unit=CaseViewer.unit_code, correlation=CaseViewer.complaint_id == Complaint.id)
    clause = scope_clause(
        Complaint.responsible_unit_code,
        scope,
        agency_column=Complaint.agency_tenant,
        viewers=viewers if with_viewers else None,
    )
    if scope is not None and scope.valid and scope.is_agency:
        return or_(clause, Complaint.source_tenant == scope.unit)
    return clause


def find_in_scope(session: Session, complaint_id: uuid.UUID, scope: Scope | None) -> Complaint | None:
    return session.scalar(select(Complaint).where(Complaint.id == complaint_id, in_scope(scope)))


def find_visible(session: Session, complaint_id: uuid.UUID, scope: Scope | None, *, asked: object = None) -> Complaint:
    """The complaint if `scope` sees it; otherwise 404, the same as for one that does not exist
    (named as the caller `asked` for it, else by its key)."""
    complaint = find_in_scope(session, complaint_id, scope)
    if complaint is None:
        raise NotFound(f"no complaint {complaint_id if asked is None else asked}")
    return complaint


def tracking_numbers(session: Session, keys: list[uuid.UUID], scope: Scope | None) -> dict[str, str]:
    found = session.execute(select(Complaint.id, Complaint.tracking_no).where(Complaint.id.in_(keys), in_scope(scope)))
    return {str(key): tracking_no for key, tracking_no in found}


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
    masked = mask_complainant(complaint.complainant)
    if masked.get("email"):
        masked["email"] = mask_recipient(masked["email"])
    return masked


def details_view(complaint: Complaint, scope: Scope) -> dict[str, Any]:
    """Product, incident day, request details, and for an e-mail its source; the sender's address
    is personal data: masked unless the caller sees the complainant in full, absent for an agency."""
    details = dict(complaint.details or {})
    source = details.get("email")
    if isinstance(source, dict):
        if scope.is_agency:
            del details["email"]
        elif not unmasked_fields(complaint, scope, single=True) and source.get("from"):
            details["email"] = {**source, "from": mask_recipient(source["from"])}
    return details


def responsible_unit(complaint: Complaint) -> contracts.Unit:
    """The unit responsible for the case, as the events carry it."""
    return contracts.Unit(
        code=complaint.responsible_unit_code or "",
        name=complaint.responsible_unit_name or "",
        tier=complaint.responsible_tier or "",
    )


def view_unit(complaint: Complaint) -> dict[str, Any] | None:
    if not complaint.responsible_unit_code:
        return None
    return {
        "code": complaint.responsible_unit_code,
        "name": complaint.responsible_unit_name,
        "tier": complaint.responsible_tier,
    }


def view(complaint: Complaint, scope: Scope, *, single: bool = True) -> dict[str, Any]:
    """The case as `scope` may see it. `single` is the single-case view (with history); a list
    (`single=False`) is always masked. Personal data in full only per `unmasked_fields`; an agency
    gets a masked name, no contact data, and the history's steps without other units' details."""
    unit = view_unit(complaint)
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
        "kind": complaint.kind,
        "flags": [
            {**flag, "label_zh": duplicates.FLAG_LABELS.get(flag.get("code"), "")} for flag in complaint.flags or []
        ],
        "duplicate_of": str(complaint.duplicate_of) if complaint.duplicate_of else None,
        "status_label": reference.status_label(complaint.status),
        "mediation_state": complaint.mediation_state,
        "escalated": complaint.escalated_at is not None,
    }
    if single:
        data.update(
            {
                "details": details_view(complaint, scope),
                "decision": complaint.decision,
                "linked": str(complaint.linked_id) if complaint.linked_id else None,
                "related_to": str(complaint.related_to) if complaint.related_to else None,
                "received_by": None if scope.is_agency else complaint.received_by,
                "source_tenant": complaint.source_tenant,
                "clocks": lights.views(list(complaint.clocks), datetime.now(UTC), unit),
                "evidence": [evidence_files.view(row) for row in complaint.evidence],
            }
        )
        # an agency reads the steps without other units' details
        data["history"] = [history_row(entry, with_params=not scope.is_agency) for entry in complaint.history]
    return data
