"""The settle-first lane (先行和解, issue 19): a new complaint against a business with a known contact
goes to the business first when the responsible tenant turned the lane on (`settle_first` setting,
carried by `complaint.routed.v1`'s clock policy). The business answers with an offer, the consumer
accepts (the case closes as `settled`, 已和解) or rejects it; a rejection or the window passing sends
the case on to the unit's acceptance decision. The acceptance clock runs throughout: the law's clock
does not stop for the lane, so the window ends before the acceptance deadline.

The lane's state lives in the case's `details.settle_first`; every step is a history entry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from common import reference
from common.categories import FILED_REQUESTS
from common.clocks import ClockKind
from common.contracts import ClockPolicy, SettleFirstEnded, SettleFirstOpened
from common.errors import Conflict, InvalidInput, NotFound
from common.masking import mask_complainant
from common.workdays import WorkCalendar
from services.intake import lights, validation
from services.intake.complaints import ROUTED, responsible_unit
from services.intake.models import BusinessContact, Complaint, HistoryEntry

SETTLE_FIRST = reference.SETTLE_FIRST  # the case is with the business (a status)
SETTLED = reference.SETTLED  # closed as 和解 by the parties (a status)
REMEDIES = FILED_REQUESTS  # what the business offers: what a complaint may ask
MAX_NOTE_LEN = 500
# the window ends at least this long before the acceptance deadline, so the unit can still decide
DECISION_MARGIN = timedelta(days=1)
CHECK_SECONDS = 5  # how often a passed window is looked for


def record_contact(session: Session, credit_code: Any, phone: Any, by: str) -> dict[str, Any]:
    """A business's contact phone, as staff (or the business's own sign-in) confirmed it."""
    problems = []
    try:
        code = validation.credit_code(credit_code, "credit_code")
    except validation.InvalidField as exc:
        problems.append({"field": exc.field, "message": exc.message})
    try:
        number = validation.phone(phone, "phone")
    except validation.InvalidField as exc:
        problems.append({"field": exc.field, "message": exc.message})
    if problems:
        raise InvalidInput(problems)
    now = datetime.now(UTC)
    row = session.get(BusinessContact, code, with_for_update=True)
    if row is None:
        row = BusinessContact(credit_code=code)
        session.add(row)
    row.phone, row.verified_at, row.verified_by = number, now, by
    return {"credit_code": code, "verified_at": now.isoformat()}


def open_lane(
    session: Session, complaint: Complaint, policy: ClockPolicy | None, now: datetime
) -> SettleFirstOpened | None:
    """Called when a complaint is first routed: send it to the business first if the lane applies;
    the event tells notification to let the business know (SMS to the verified contact)."""
    if policy is None or policy.settle_first_working_days is None or complaint.status != ROUTED:
        return None
    code = complaint.business.get("credit_code")
    contact = session.get(BusinessContact, code) if code else None
    if contact is None:
        return None
    calendar = WorkCalendar(policy.working_days.extra_workdays, policy.working_days.extra_holidays)
    deadline = calendar.add_working_days(now, policy.settle_first_working_days)
    acceptance = lights.find(list(complaint.clocks), ClockKind.ACCEPTANCE)
    if acceptance is not None:
        deadline = min(deadline, acceptance.deadline - DECISION_MARGIN)
    if deadline <= now:
        return None
    deadline = deadline.astimezone(UTC)  # stored as UTC text, compared as text by expire_due
    complaint.status, complaint.status_at = SETTLE_FIRST, now
    complaint.details = {
        **complaint.details,
        "settle_first": {"opened_at": now.isoformat(), "window_deadline": deadline.isoformat(), "offer": None},
    }
    session.add(
        HistoryEntry(
            complaint_id=complaint.id,
            at=now,
            step="settle_first_opened",
            detail={"window_deadline": deadline.isoformat(), "business": complaint.business.get("name")},
        )
    )
    return SettleFirstOpened(
        complaint_id=complaint.id,
        tracking_no=complaint.tracking_no,
        unit=responsible_unit(complaint),
        window_deadline=deadline,
        business_name=complaint.business.get("name"),
        business_credit_code=code,
        business_phone=contact.phone,
        opened_at=now,
    )


def _lane(complaint: Complaint) -> dict[str, Any]:
    return dict(complaint.details.get("settle_first") or {})


def _open_case(session: Session, tracking_no: str) -> Complaint:
    complaint = session.scalar(select(Complaint).where(Complaint.tracking_no == tracking_no).with_for_update())
    if complaint is None or not complaint.details.get("settle_first"):
        raise NotFound(f"no settle-first case {tracking_no}")
    return complaint


def _check_open(complaint: Complaint, now: datetime) -> dict[str, Any]:
    lane = _lane(complaint)
    if complaint.status != SETTLE_FIRST:
        raise Conflict(f"the settle-first lane of this case has ended ({lane.get('outcome', complaint.status)})")
    if datetime.fromisoformat(lane["window_deadline"]) <= now:
        raise Conflict("the settle-first window has passed; the case goes to the unit's acceptance decision")
    return lane


def business_view(complaint: Complaint) -> dict[str, Any]:
    """What the business sees of a case in its lane: the complainant masked."""
    return {
        "tracking_no": complaint.tracking_no,
        "status": complaint.status,
        "received_at": complaint.received_at.isoformat(),
        "complainant": mask_complainant({"name": complaint.complainant.get("name", "")}),
        "business": {"name": complaint.business.get("name"), "credit_code": complaint.business.get("credit_code")},
        "category": complaint.category,
        "summary": complaint.summary,
        "requests": list(complaint.requests),
        "claim_amount": str(complaint.claim_amount) if complaint.claim_amount is not None else None,
        "settle_first": _lane(complaint),
    }


def business_cases(session: Session, credit_code: str) -> list[dict[str, Any]]:
    found = session.scalars(
        select(Complaint)
        .where(Complaint.business["credit_code"].astext == credit_code, Complaint.details.has_key("settle_first"))
        .order_by(Complaint.received_at.desc())
        .limit(100)
    )
    return [business_view(c) for c in found]


def parse_offer(offer: Any) -> dict[str, Any]:
    if not isinstance(offer, dict):
        raise InvalidInput.one("offer", "expected an object with remedies, amount, note")
    problems: list[dict[str, str]] = []
    remedies = offer.get("remedies")
    if (
        not isinstance(remedies, list)
        or not remedies
        or any(r not in REMEDIES for r in remedies)
        or len(set(remedies)) != len(remedies)
    ):
        problems.append({"field": "remedies", "message": f"a non-empty list of distinct: {', '.join(REMEDIES)}"})
    parsed: dict[str, Any] = {"remedies": remedies}
    if offer.get("amount") is not None:
        try:
            parsed["amount"] = str(validation.amount(offer["amount"], "amount"))
        except validation.InvalidField as exc:
            problems.append({"field": exc.field, "message": exc.message})
    if offer.get("note") is not None:
        try:
            parsed["note"] = validation.text(offer["note"], "note", max_len=MAX_NOTE_LEN)
        except validation.InvalidField as exc:
            problems.append({"field": exc.field, "message": exc.message})
    unknown = set(offer) - {"remedies", "amount", "note"}
    problems += [{"field": name, "message": "unknown field; remove it"} for name in sorted(unknown)]
    if problems:
        raise InvalidInput(problems)
    return parsed


def make_offer(session: Session, tracking_no: str, credit_code: str, offer: Any, now: datetime) -> Complaint:
    """The business answers with its offer: once, while the window is open."""
    terms = parse_offer(offer)
    complaint = _open_case(session, tracking_no)
    if complaint.business.get("credit_code") != credit_code:
        raise NotFound(f"no settle-first case {tracking_no}")  # another business's case: as if absent
    lane = _check_open(complaint, now)
    if lane.get("offer") is not None:
        raise Conflict("the business already made its offer; the consumer answers it")
    lane["offer"] = {**terms, "at": now.isoformat()}
    complaint.details = {**complaint.details, "settle_first": lane}
    complaint.updated_at = now
    session.add(HistoryEntry(complaint_id=complaint.id, at=now, step="settle_first_offer", detail=terms))
    return complaint


def _ended(complaint: Complaint, lane: dict[str, Any], outcome: str, now: datetime) -> SettleFirstEnded:
    offer = lane.get("offer")
    answered_at = datetime.fromisoformat(offer["at"]) if offer else None
    deadline = datetime.fromisoformat(lane["window_deadline"])
    return SettleFirstEnded(
        complaint_id=complaint.id,
        tracking_no=complaint.tracking_no,
        unit=responsible_unit(complaint),
        outcome=outcome,
        opened_at=datetime.fromisoformat(lane["opened_at"]),
        window_deadline=deadline,
        ended_at=now,
        answered_at=answered_at,
        answered_on_time=answered_at is not None and answered_at <= deadline,
        terms={k: v for k, v in offer.items() if k != "at"} if offer else None,
        category=complaint.category,
        business_name=complaint.business.get("name"),
        business_credit_code=complaint.business.get("credit_code"),
    )


def _end(session: Session, complaint: Complaint, lane: dict[str, Any], outcome: str, now: datetime) -> SettleFirstEnded:
    lane.update(outcome=outcome, ended_at=now.isoformat())
    complaint.details = {**complaint.details, "settle_first": lane}
    complaint.updated_at = now
    return _ended(complaint, lane, outcome, now)


def reply(
    session: Session, tracking_no: str, phone: str | None, accept: Any, comment: Any, now: datetime
) -> tuple[Complaint, SettleFirstEnded]:
    """The consumer accepts the offer (the case is settled, its acceptance clock stopped) or rejects
    it (the case goes on to the unit's acceptance decision)."""
    if not isinstance(accept, bool):
        raise InvalidInput.one("accept", "true to accept the offer, false to reject it")
    note = None
    if comment is not None:
        try:
            note = validation.text(comment, "comment", max_len=MAX_NOTE_LEN)
        except validation.InvalidField as exc:
            raise InvalidInput.one(exc.field, exc.message) from None
    complaint = _open_case(session, tracking_no)
    if phone is not None and complaint.complainant_phone != phone:
        raise NotFound(f"no settle-first case {tracking_no}")
    lane = _check_open(complaint, now)
    if lane.get("offer") is None:
        raise Conflict("the business has not made an offer yet")
    detail = {"comment": note} if note else {}
    if accept:
        event = _end(session, complaint, lane, SETTLED, now)
        complaint.status, complaint.status_at = SETTLED, now
        complaint.decision = {"decision": SETTLED, "at": now.isoformat(), "by": "complainant", "terms": event.terms}
        acceptance = lights.find(list(complaint.clocks), ClockKind.ACCEPTANCE)
        if acceptance is not None:
            lights.stop(acceptance, now, measured_for=complaint)
        session.add(HistoryEntry(complaint_id=complaint.id, at=now, step="settled", detail={**detail, **event.terms}))
    else:
        event = _end(session, complaint, lane, "rejected", now)
        complaint.status, complaint.status_at = ROUTED, now
        session.add(HistoryEntry(complaint_id=complaint.id, at=now, step="settle_first_rejected", detail=detail))
    return complaint, event


def confirm_performance(
    session: Session, tracking_no: str, phone: str | None, performed: Any, now: datetime
) -> Complaint:
    """The consumer says whether the business did what the settlement says (履行)."""
    if not isinstance(performed, bool):
        raise InvalidInput.one("performed", "true when the business did what it offered, else false")
    complaint = _open_case(session, tracking_no)
    if phone is not None and complaint.complainant_phone != phone:
        raise NotFound(f"no settle-first case {tracking_no}")
    if complaint.status != SETTLED:
        raise Conflict("only a settled case's performance is confirmed")
    lane = _lane(complaint)
    lane["performed"] = {"performed": performed, "at": now.isoformat()}
    complaint.details = {**complaint.details, "settle_first": lane}
    complaint.updated_at = now
    session.add(
        HistoryEntry(complaint_id=complaint.id, at=now, step="settlement_performance", detail={"performed": performed})
    )
    return complaint


def expire_due(session: Session, now: datetime, limit: int = 100) -> list[SettleFirstEnded]:
    """Cases whose window passed without a settlement go on to the unit's acceptance decision."""
    due = session.scalars(
        select(Complaint)
        .where(
            Complaint.status == SETTLE_FIRST,
            Complaint.details["settle_first"]["window_deadline"].astext <= now.isoformat(),
        )
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    events = []
    for complaint in due:
        lane = _lane(complaint)
        events.append(_end(session, complaint, lane, "expired", now))
        complaint.status, complaint.status_at = ROUTED, now
        session.add(HistoryEntry(complaint_id=complaint.id, at=now, step="settle_first_expired", detail={}))
    return events
