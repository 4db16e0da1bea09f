"""Filing a complaint and keeping its record: plain functions over a session, no broker."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from common import reference
from common.clocks import ClockKind
from common.contracts import (
    ComplaintReceived,
    ComplaintRouted,
    ComplaintSubmission,
    MessageHandled,
    MessageRecorded,
    SettleFirstOpened,
    Unit,
)
from common.masking import mask_complainant, mask_name, mask_recipient
from common.tenancy import Scope, Viewers, scope_clause
from services.intake import case_clocks, duplicates
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

# no 0/O or 1/I: tracking numbers are read out over the phone
_TRACKING_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def new_tracking_no(now: datetime) -> str:
    return "TS" + now.strftime("%Y%m%d") + "".join(secrets.choice(_TRACKING_ALPHABET) for _ in range(6))


def by_idempotency_key(session: Session, key: str) -> Complaint | None:
    return session.scalar(select(Complaint).where(Complaint.idempotency_key == key))


@dataclass
class Filing:
    """What filing stored: the complaint, its Art 9 report half if any, and the events to emit."""

    complaint: Complaint
    report: Complaint | None = None
    events: list[ComplaintReceived] = field(default_factory=list)

    @property
    def event(self) -> ComplaintReceived | None:
        return self.events[0] if self.events else None


def business_place(business: dict[str, Any]) -> str | None:
    """Where the business is for routing (Art 13): where it operates, else where it is registered."""
    return (
        business.get("operating_division_code")
        or business.get("division_code")
        or business.get("registered_division_code")
    )


def _business_record(submission: ComplaintSubmission) -> dict[str, Any]:
    record = submission.business.model_dump(mode="json", exclude_none=True)
    if not record.get("platform_shop"):
        record.pop("platform_shop", None)
    return record


def _details(submission: ComplaintSubmission) -> dict[str, Any]:
    values = {
        "product": submission.product,
        "occurred_on": submission.occurred_on.isoformat() if submission.occurred_on else None,
        "request_details": submission.request_details,
        # which notice the complainant agreed to, and when the platform received the agreement
        "privacy_consent": {"version": submission.privacy_consent.version, "at": datetime.now(UTC).isoformat()}
        if submission.privacy_consent
        else None,
    }
    return {key: value for key, value in values.items() if value is not None}


def fill(complaint: Complaint, submission: ComplaintSubmission) -> None:
    """Put a checked submission's content on the record (a new one or a draft being completed)."""
    complaint.complainant = submission.complainant.model_dump(mode="json", exclude_none=True)
    complaint.business = _business_record(submission)
    complaint.incident_division_code = submission.incident_division_code
    complaint.category = submission.category
    complaint.summary = submission.summary
    complaint.claim_amount = submission.claim_amount
    complaint.requests = list(submission.requests)
    complaint.details = {**(complaint.details or {}), **_details(submission)}
    complaint.complainant_phone = submission.complainant.phone
    complaint.address_key = duplicates.address_key(submission.complainant.address)
    complaint.business_key = duplicates.business_key(complaint.business)


def received_event(complaint: Complaint) -> ComplaintReceived:
    business, person = complaint.business, complaint.complainant
    return ComplaintReceived(
        complaint_id=complaint.id,
        tracking_no=complaint.tracking_no,
        channel=complaint.channel,
        received_at=complaint.received_at,
        category=complaint.category,
        claim_amount=complaint.claim_amount,
        business_division_code=business_place(business),
        incident_division_code=complaint.incident_division_code,
        first_receiver=complaint.first_receiver_code,
        complainant_name=person["name"],
        complainant_phone=person["phone"],
        business_registered_division_code=business.get("registered_division_code"),
        business_operating_division_code=business.get("operating_division_code") or business.get("division_code"),
        is_platform_shop=bool(business.get("platform_shop")),
        platform=business.get("platform"),
        complainant_division_code=person.get("division_code"),
        business_name=business.get("name"),
        business_credit_code=business.get("credit_code"),
    )


def repeated_filing(
    session: Session, submission: ComplaintSubmission, *, received_by: str | None, source_tenant: str | None
) -> Complaint | None:
    """The complaint this submission already filed minutes ago (a retry without an Idempotency-Key,
    `duplicates.find_retry`), or None. Filings of the phone are serialized from here on."""
    duplicates.lock_complainant(session, submission.complainant.phone)
    candidate = Complaint(channel=submission.channel, received_by=received_by, source_tenant=source_tenant)
    fill(candidate, submission)
    return duplicates.find_retry(session, candidate, datetime.now(UTC))


def file_complaint(
    session: Session,
    submission: ComplaintSubmission,
    *,
    first_receiver: str | None,
    idempotency_key: str | None,
    received_by: str | None = None,
    source_tenant: str | None = None,
    draft: Complaint | None = None,
) -> Filing:
    """Store the complaint with its first history steps, clocks and flags (or link it as a
    duplicate), and the report half of an Art 9 split; return what was stored and the events."""
    now = datetime.now(UTC)
    duplicates.lock_complainant(session, submission.complainant.phone)
    if draft is None:
        complaint = Complaint(
            id=uuid.uuid4(),
            tracking_no=new_tracking_no(now),
            channel=submission.channel,
            kind=COMPLAINT,
            status=RECEIVED,
            first_receiver_code=first_receiver,
            idempotency_key=idempotency_key,
            received_by=received_by,
            source_tenant=source_tenant,
            received_at=now,
            details={},
            flags=[],
        )
        session.add(complaint)
        session.add(
            HistoryEntry(complaint_id=complaint.id, at=now, step="received", detail={"channel": complaint.channel})
        )
    else:
        complaint = draft
        # a draft was visible to its receiving unit only; routing decides from here
        complaint.responsible_unit_code = complaint.responsible_unit_name = complaint.responsible_tier = None
        session.add(HistoryEntry(complaint_id=complaint.id, at=now, step="completed", detail={"by": received_by}))
    fill(complaint, submission)
    complaint.updated_at = now
    session.flush()
    filing = Filing(complaint)

    match = duplicates.find_duplicate(session, complaint)
    if match.duplicate_of is not None:
        first = match.duplicate_of
        complaint.status = DUPLICATE
        complaint.duplicate_of = first.id
        complaint.responsible_unit_code = first.responsible_unit_code
        complaint.responsible_unit_name = first.responsible_unit_name
        complaint.responsible_tier = first.responsible_tier
        session.add(
            HistoryEntry(
                complaint_id=complaint.id,
                at=now,
                step="duplicate",
                detail={"of": first.tracking_no, "rule": "Art 35: same complainant, business and facts"},
            )
        )
        session.add(
            HistoryEntry(
                complaint_id=first.id,
                at=now,
                step="duplicate_filed",
                detail={"tracking_no": complaint.tracking_no, "channel": complaint.channel},
            )
        )
        # the case was filed (again) now: clocks run on the first one only
        for row in complaint.clocks if draft is not None else []:
            case_clocks.stop(row, now)
    else:
        complaint.status = RECEIVED
        if match.related_to is not None:
            earlier = match.related_to
            complaint.related_to = earlier.id
            session.add(
                HistoryEntry(
                    complaint_id=complaint.id,
                    at=now,
                    step="new_facts",
                    detail={"related_to": earlier.tracking_no, "new_facts": match.new_facts},
                )
            )
            session.add(
                HistoryEntry(
                    complaint_id=earlier.id,
                    at=now,
                    step="new_facts_filed",
                    detail={"tracking_no": complaint.tracking_no, "new_facts": match.new_facts},
                )
            )
        complaint.flags = duplicates.abuse_flags(session, complaint, now)
        if complaint.flags:
            session.add(
                HistoryEntry(
                    complaint_id=complaint.id,
                    at=now,
                    step="flagged",
                    detail={"flags": [flag["code"] for flag in complaint.flags], "review": "clerk"},
                )
            )
        for kind in case_clocks.STARTED_AT_RECEIPT:
            if draft is None or case_clocks.find(list(complaint.clocks), kind) is None:
                case_clocks.start(session, complaint.id, kind, complaint.received_at)
        filing.events.append(received_event(complaint))
    case_clocks.refresh_deadline(session, complaint.id)
    if submission.also_report and submission.report_text:
        filing.report = _split_report(session, complaint, submission.report_text, now)
    return filing


def _split_report(session: Session, complaint: Complaint, text: str, now: datetime) -> Complaint:
    """Art 9: the report half of a filing, its own record linked both ways; it follows the
    complaint's responsible unit (set on routing) and gets no acceptance clock."""
    report = Complaint(
        id=uuid.uuid4(),
        tracking_no=new_tracking_no(now),
        channel=complaint.channel,
        kind=REPORT,
        status=REPORT_RECEIVED,
        complainant=dict(complaint.complainant),
        business=dict(complaint.business),
        incident_division_code=complaint.incident_division_code,
        category=complaint.category,
        summary=text,
        requests=[],
        first_receiver_code=complaint.first_receiver_code,
        responsible_unit_code=complaint.responsible_unit_code,
        responsible_unit_name=complaint.responsible_unit_name,
        responsible_tier=complaint.responsible_tier,
        received_by=complaint.received_by,
        source_tenant=complaint.source_tenant,
        complainant_phone=complaint.complainant_phone,
        business_key=complaint.business_key,
        linked_id=complaint.id,
        received_at=now,
        updated_at=now,
        details={},
        flags=[],
    )
    session.add(report)
    complaint.linked_id = report.id
    session.add(
        HistoryEntry(
            complaint_id=report.id,
            at=now,
            step="received",
            detail={"channel": report.channel, "kind": REPORT, "split_from": complaint.tracking_no},
        )
    )
    session.add(
        HistoryEntry(
            complaint_id=complaint.id, at=now, step="split", detail={"report": report.tracking_no, "rule": "Art 9"}
        )
    )
    return report


def new_draft(
    session: Session,
    *,
    first_receiver: str,
    received_by: str,
    idempotency_key: str | None,
    complainant: dict[str, Any],
    summary: str,
    source: dict[str, Any],
) -> Complaint:
    """An e-mail complaint waiting for a clerk: visible to the receiving unit, no event yet. Its
    clocks start now: the law counts from receipt."""
    now = datetime.now(UTC)
    draft = Complaint(
        id=uuid.uuid4(),
        tracking_no=new_tracking_no(now),
        channel="email",
        kind=COMPLAINT,
        status=DRAFT,
        complainant=complainant,
        business={},
        summary=summary,
        requests=[],
        first_receiver_code=first_receiver,
        responsible_unit_code=first_receiver,
        idempotency_key=idempotency_key,
        received_by=received_by,
        received_at=now,
        updated_at=now,
        details={"email": source},
        flags=[],
    )
    session.add(draft)
    session.add(
        HistoryEntry(complaint_id=draft.id, at=now, step="received", detail={"channel": "email", "draft": True})
    )
    for kind in case_clocks.STARTED_AT_RECEIPT:
        case_clocks.start(session, draft.id, kind, now)
    case_clocks.refresh_deadline(session, draft.id)
    return draft


def record_routing(session: Session, event: ComplaintRouted) -> SettleFirstOpened | None:
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
        case_clocks.apply_policy(list(complaint.clocks), event.clock_policy, datetime.now(UTC))
        case_clocks.refresh_deadline(session, complaint.id)
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


def record_message(session: Session, event: MessageRecorded) -> None:
    if event.template == "acknowledgement" and event.state in ACKNOWLEDGED:
        # the 24-hour commitment is kept when the message went out, not when it was queued (quiet
        # hours may hold it past the deadline: then the acknowledgement is late)
        row = session.get(
            case_clocks.ClockRow, (event.complaint_id, ClockKind.ACKNOWLEDGEMENT.value), with_for_update=True
        )
        if row is not None:
            case_clocks.stop(row, event.recorded_at, measured_for=session.get(Complaint, event.complaint_id))
            case_clocks.refresh_deadline(session, event.complaint_id)
    session.add(
        HistoryEntry(
            complaint_id=event.complaint_id,
            at=event.recorded_at,
            step=f"notified:{event.template}",
            detail={"channel": event.channel, "recipient": event.recipient_role, "state": event.state},
        )
    )


def record_message_handled(session: Session, event: MessageHandled) -> None:
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


def tracking_numbers(session: Session, keys: list[uuid.UUID], scope: Scope | None) -> dict[str, str]:
    found = session.execute(select(Complaint.id, Complaint.tracking_no).where(Complaint.id.in_(keys), in_scope(scope)))
    return {str(key): tracking_no for key, tracking_no in found}


def receipt(complaint: Complaint) -> dict[str, Any]:
    return {"id": str(complaint.id), "tracking_no": complaint.tracking_no, "status": complaint.status}


def filing_receipt(session: Session, complaint: Complaint) -> dict[str, Any]:
    """The answer to a filing (and to its retries): the receipt, plus the first case's tracking
    number for a duplicate and the report half of an Art 9 split."""
    answer = receipt(complaint)
    # the law's clock runs from receipt: the receipt names its deadline (the responsible tenant's
    # calendar, applied at routing, may move it; tracking shows the current one)
    acceptance = session.get(case_clocks.ClockRow, (complaint.id, ClockKind.ACCEPTANCE.value))
    if acceptance is not None and acceptance.deadline is not None:
        answer["acceptance_deadline"] = acceptance.deadline.isoformat()
    if complaint.duplicate_of is not None:
        first = session.get(Complaint, complaint.duplicate_of)
        answer["duplicate_of"] = first.tracking_no if first else None
    if complaint.linked_id is not None and complaint.kind == COMPLAINT:
        report = session.get(Complaint, complaint.linked_id)
        if report is not None:
            answer["report"] = {"id": str(report.id), "tracking_no": report.tracking_no}
    return answer


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


def responsible_unit(complaint: Complaint) -> Unit:
    """The unit responsible for the case, as the events carry it."""
    return Unit(
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
                "clocks": case_clocks.views(list(complaint.clocks), datetime.now(UTC), unit),
                "evidence": [evidence_files.view(row) for row in complaint.evidence],
            }
        )
        # an agency reads the steps without other units' details
        data["history"] = [history_row(entry, with_params=not scope.is_agency) for entry in complaint.history]
    return data
