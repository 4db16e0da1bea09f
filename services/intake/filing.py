"""Filing a complaint (issue 4): checking a submission, storing it with its first history steps,
clocks and flags (or linking it as a duplicate), e-mail drafts and their completion, and the
receipt the filer gets. Plain functions; the entrypoints are in service.py.

Who files what (the caller's scope comes from the context data the gateway sends):

| caller | channel | first receiver |
|---|---|---|
| nobody signed in (public web form) | `web` | none (routing decides) |
| unit staff with `intake_clerk` | `hotline`, `walk_in`; `email` through `receive_email` | the clerk's unit |
| an agency principal (API key or `agency_liaison` token) | `agency` | the unit the agency is attached to |
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from common.clocks import ClockKind
from common.contracts import ComplaintReceived, ComplaintSubmission
from common.db import UnitOfWork
from common.errors import Conflict, Forbidden, InvalidInput
from common.tenancy import Role, Scope
from services.intake import complaints, duplicates, email_intake, lights, validation
from services.intake import evidence as evidence_files
from services.intake.checks import check_submission
from services.intake.complaints import COMPLAINT, DRAFT, DUPLICATE, RECEIVED, REPORT, REPORT_RECEIVED, receipt
from services.intake.models import Complaint, Evidence, HistoryEntry

# codes that are unknown or outside every onboarded unit (the service asks routing)
Unserved = Callable[[list[str]], set[str]]

STAFF_CHANNELS = ("hotline", "walk_in")


def field_errors(exc: ValidationError, prefix: str = "") -> InvalidInput:
    return InvalidInput(
        [
            {"field": prefix + (".".join(map(str, e["loc"])) or "body"), "message": e["msg"]}
            for e in exc.errors(include_input=False)
        ]
    )


def idempotency_scope_key(scope: Scope | None, key: str | None) -> str | None:
    """Keys are per caller: the same key from two callers names two different requests."""
    if not key:
        return None
    owner = f"{scope.tenant}|{scope.user}" if scope is not None else "public"
    return hashlib.sha256(f"{owner}\n{key}".encode()).hexdigest()


def check_channel(channel: str, scope: Scope | None) -> None:
    """Which caller may file through which channel (403 for a wrong role, 422 for a wrong channel)."""
    if channel == "email":
        raise InvalidInput.one(
            "channel", "e-mail complaints come in as the raw message: POST /api/v1/complaints/email (a clerk)"
        )
    if scope is None:
        if channel != "web":
            raise InvalidInput.one(
                "channel",
                f"{channel} complaints are recorded by signed-in staff (hotline, walk_in: an intake clerk; "
                "agency: an agency); the public form files web complaints",
            )
        return
    if scope.is_agency:
        if channel != "agency":
            raise InvalidInput.one("channel", "an agency hands cases over with channel agency")
        if Role.AGENCY_LIAISON not in scope.roles:
            raise Forbidden("handing a case over needs the role agency_liaison (or the agency's API key)")
        return
    if channel not in STAFF_CHANNELS:
        raise InvalidInput.one(
            "channel", "unit staff record hotline or walk_in complaints; the web form is the public one"
        )
    if Role.INTAKE_CLERK not in scope.roles:
        raise Forbidden("recording a complaint needs the role intake_clerk")


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
    filing = Filing(complaint)

    # the checks read earlier complaints only: the new one is written once, whole, when it commits
    # (flushed first, it was inserted, updated and updated again: each time a row version with
    # every index of the table)
    with session.no_autoflush:
        match = duplicates.find_duplicate(session, complaint)
        flags = duplicates.abuse_flags(session, complaint, now) if match.duplicate_of is None else []
    started: list[lights.ClockRow] = []
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
            lights.stop(row, now)
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
        complaint.flags = flags
        if complaint.flags:
            session.add(
                HistoryEntry(
                    complaint_id=complaint.id,
                    at=now,
                    step="flagged",
                    detail={"flags": [flag["code"] for flag in complaint.flags], "review": "clerk"},
                )
            )
        for kind in lights.STARTED_AT_RECEIPT:
            if draft is None or lights.find(list(complaint.clocks), kind) is None:
                started.append(lights.start(session, complaint.id, kind, complaint.received_at))
        filing.events.append(received_event(complaint))
    if draft is None:  # its clocks are the ones just started (a duplicate's: none)
        complaint.next_deadline = min((row.deadline for row in started), default=None)
    else:
        lights.refresh_deadline(session, complaint.id)
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
    for kind in lights.STARTED_AT_RECEIPT:
        lights.start(session, draft.id, kind, now)
    lights.refresh_deadline(session, draft.id)
    return draft


def filing_receipt(session: Session, complaint: Complaint) -> dict[str, Any]:
    """The answer to a filing (and to its retries): the receipt, plus the first case's tracking
    number for a duplicate and the report half of an Art 9 split."""
    answer = receipt(complaint)
    # the law's clock runs from receipt: the receipt names its deadline (the responsible tenant's
    # calendar, applied at routing, may move it; tracking shows the current one)
    acceptance = session.get(lights.ClockRow, (complaint.id, ClockKind.ACCEPTANCE.value))
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


# --- the filings -------------------------------------------------------------------------------------


def file_submission(
    db: UnitOfWork, scope: Scope | None, submission: dict[str, Any], idempotency_key: str | None, unserved: Unserved
) -> dict[str, Any]:
    """File a complaint by any channel but e-mail; the receipt (an earlier one for a retry)."""
    try:
        parsed = ComplaintSubmission.model_validate(submission)
    except ValidationError as exc:
        raise field_errors(exc) from exc
    check_channel(parsed.channel, scope)
    parsed = check_submission(parsed, unserved)
    key = idempotency_scope_key(scope, idempotency_key)
    first_receiver = scope.home_unit if scope is not None else None
    received_by = scope.user if scope is not None else None
    source_tenant = scope.tenant if scope is not None else None
    try:
        with db.transaction() as session:
            if key and (earlier := by_idempotency_key(session, key)):
                return filing_receipt(session, earlier)
            # without a key, the same filing minutes ago by the same caller is taken for a retry
            if not key and (
                earlier := repeated_filing(session, parsed, received_by=received_by, source_tenant=source_tenant)
            ):
                return {**filing_receipt(session, earlier), "already_filed": True}
            filing = file_complaint(
                session,
                parsed,
                first_receiver=first_receiver,
                idempotency_key=key,
                received_by=received_by,
                source_tenant=source_tenant,
            )
            for event in filing.events:
                db.emit(session, event)
            return filing_receipt(session, filing.complaint)
    except IntegrityError:
        if not key:
            raise
        # the same key raced in from a retry: the first one won, answer with it
        with db.transaction() as session:
            earlier = by_idempotency_key(session, key)
            if earlier is None:
                raise
            return filing_receipt(session, earlier)


def require_clerk(scope: Scope | None) -> Scope:
    if scope is None or scope.is_agency or Role.INTAKE_CLERK not in scope.roles:
        raise Forbidden("e-mail complaints are taken in by unit staff with the role intake_clerk")
    return scope


def file_email(
    db: UnitOfWork,
    scope: Scope,
    raw: bytes,
    idempotency_key: str | None,
    store: evidence_files.FilesystemStore,
) -> dict[str, Any]:
    """A raw RFC 5322 message becomes a draft complaint of the clerk's unit; its attachments
    become evidence when their content is an allowed type."""
    try:
        parsed = email_intake.parse(raw)
    except validation.InvalidField as exc:
        raise InvalidInput.one(exc.field, exc.message) from None
    kinds, refused = [], []
    for index, (name, content) in enumerate(parsed.attachments):
        try:
            kinds.append((name, content, validation.evidence_file(name, content, field=f"attachments[{index}]")))
        except validation.InvalidField as exc:
            refused.append({"field": exc.field, "message": exc.message})
    key = idempotency_scope_key(scope, idempotency_key)
    stored: list[Evidence] = []
    try:
        with db.transaction() as session:
            if key and (earlier := by_idempotency_key(session, key)):
                return {**receipt(earlier), "draft": earlier.status == DRAFT}
            complainant = {"name": parsed.sender_name, "email": parsed.sender_address}
            if parsed.phone:
                complainant["phone"] = parsed.phone
            draft = new_draft(
                session,
                first_receiver=scope.unit,
                received_by=scope.user,
                idempotency_key=key,
                complainant={k: v for k, v in complainant.items() if v},
                summary=email_intake.draft_summary(parsed),
                source={**parsed.source(), "refused_attachments": refused},
            )
            session.flush()
            now = datetime.now(UTC)
            for name, content, kind in kinds:
                stored.append(
                    evidence_files.store(
                        session,
                        store,
                        draft.id,
                        name,
                        content,
                        kind=kind,
                        source="email",
                        uploaded_by=scope.user,
                        now=now,
                    )
                )
            answer = {**receipt(draft), "draft": True}
    except BaseException:
        for row in stored:
            store.delete(row.storage_key)
        raise
    return {
        **answer,
        "prefilled": {"complainant": draft.complainant, "summary": draft.summary},
        "evidence": [evidence_files.view(row) for row in stored],
        "refused_attachments": refused,
    }


def complete_draft(
    db: UnitOfWork, scope: Scope, key: uuid.UUID, submission: dict[str, Any], unserved: Unserved
) -> dict[str, Any]:
    """A clerk of the receiving unit completes an e-mail draft: checked like any filing, then
    stored, deduplicated and announced."""
    if not isinstance(submission, dict):
        raise InvalidInput.one("body", "a JSON object with the complaint's fields")
    body = {**submission, "channel": "email"}
    try:
        parsed = ComplaintSubmission.model_validate(body)
    except ValidationError as exc:
        raise field_errors(exc) from exc
    with db.scoped(scope) as session:
        receiving = complaints.find_visible(session, key, scope).first_receiver_code
    if receiving != scope.unit:
        raise Forbidden(f"only the receiving unit ({receiving}) completes its e-mail drafts")
    parsed = check_submission(parsed, unserved)
    with db.transaction() as session:
        draft = session.get(Complaint, key, with_for_update=True)
        if draft is None or draft.status != DRAFT:
            raise Conflict("the complaint is no draft (any more): it was completed already")
        filing = file_complaint(
            session,
            parsed,
            first_receiver=draft.first_receiver_code,
            idempotency_key=draft.idempotency_key,
            received_by=scope.user,
            source_tenant=scope.tenant,
            draft=draft,
        )
        for event in filing.events:
            db.emit(session, event)
        return filing_receipt(session, filing.complaint)
