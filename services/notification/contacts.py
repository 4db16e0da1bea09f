"""What notification knows of a case's parties (`notification.cases`): learned from the events
(planning.py says which facts each carries) and from the contacts the responsible unit's case
staff record; where a party's SMS and one-time codes go."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from common.config import NotificationSettings
from common.errors import Conflict, Forbidden, InvalidInput
from common.tenancy import Scope
from services.notification import planning
from services.notification.models import CaseContact

RECORDABLE = frozenset({"business_phone", "business_email", "complainant_email"})


def facts(row: CaseContact) -> planning.CaseFacts:
    return planning.CaseFacts(complaint_id=row.complaint_id, **{k: getattr(row, k) for k in planning.CaseFacts.FIELDS})


def learn(session: Session, event_type: str, event: Any, at: datetime) -> planning.CaseFacts:
    """Keep what the event tells about its case; what is known of the case now."""
    complaint_id = getattr(event, "complaint_id", None)
    if complaint_id is None:
        return planning.CaseFacts()
    # two events of one case may arrive at once (received and routed): the row exists before the lock
    session.execute(insert(CaseContact).values(complaint_id=complaint_id).on_conflict_do_nothing())
    row = session.get(CaseContact, complaint_id, with_for_update=True, populate_existing=True)
    for key, value in planning.learned(event_type, event).items():
        setattr(row, key, value)
    row.updated_at = at
    session.flush()
    return facts(row)


def record(
    session: Session, scope: Scope | None, complaint_id: uuid.UUID, contacts: dict[str, Any], at: datetime
) -> dict[str, bool]:
    """A party's contact recorded by the responsible unit's case staff; which contacts are known now."""
    unknown = set(contacts) - RECORDABLE
    if unknown:
        raise InvalidInput.one(sorted(unknown)[0], "unknown field; known: " + ", ".join(sorted(RECORDABLE)))
    row = session.get(CaseContact, complaint_id, with_for_update=True)
    if row is None or row.unit_code is None:
        raise Conflict("the case is not routed to a unit yet; try again in a moment")
    if scope is None or not scope.handles(row.unit_code):
        raise Forbidden("only the responsible unit's case staff record a party's contact")
    for field, value in contacts.items():
        setattr(row, field, value or None)
    row.updated_at = at
    return {
        "business_phone": bool(row.business_phone),
        "business_email": bool(row.business_email),
        "complainant_email": bool(row.complainant_email),
    }


def party_phone(session: Session, party: str, purpose: str, subject: str) -> tuple[str, uuid.UUID | None] | None:
    """The phone the platform knows for `party` on what `subject` names (sign-in: the tracking
    number, or the business's credit code; confirm: the complaint id), and the case if one."""
    if purpose == "sign_in" and party == "business":
        return business_phone(session, subject)
    if purpose == "sign_in":
        row = session.scalars(select(CaseContact).where(CaseContact.tracking_no == subject)).first()
    else:
        try:
            row = session.get(CaseContact, uuid.UUID(subject))
        except ValueError:
            return None
    if row is None:
        return None
    if party == "business" and not row.business_phone and row.business_credit_code:
        # a phone staff recorded on an earlier case of the same business
        known = business_phone(session, row.business_credit_code)
        return (known[0], row.complaint_id) if known else None
    phone = row.complainant_phone if party == "complainant" else row.business_phone
    return (phone, row.complaint_id) if phone else None


def business_phone(session: Session, credit_code: str) -> tuple[str, None] | None:
    """The business phone staff recorded most recently on any case of this business."""
    phone = session.scalar(
        select(CaseContact.business_phone)
        .where(CaseContact.business_credit_code == credit_code, CaseContact.business_phone.is_not(None))
        .order_by(CaseContact.updated_at.desc().nulls_last())
        .limit(1)
    )
    return (phone, None) if phone else None


def business_cases(session: Session, credit_code: str) -> list[dict[str, str]]:
    """The cases against this business that notification knows of (accepted or filed)."""
    rows = session.execute(
        select(CaseContact.complaint_id, CaseContact.tracking_no).where(CaseContact.business_credit_code == credit_code)
    ).all()
    return [{"complaint_id": str(key), "tracking_no": number} for key, number in rows]


def business_invitation(session: Session, scope: Scope | None, complaint_id: uuid.UUID) -> tuple[str, str]:
    """The phone and the SMS text that invite the business to sign in at the portal (its credit
    code and a code to the phone known for it); only the responsible unit's case staff invite."""
    row = session.get(CaseContact, complaint_id)
    if row is None or row.unit_code is None:
        raise Conflict("the case is not routed to a unit yet; try again in a moment")
    if scope is None or not scope.handles(row.unit_code):
        raise Forbidden("only the responsible unit's case staff invite the business")
    known = party_phone(session, "business", "confirm", str(complaint_id))
    if known is None or not row.business_credit_code:
        raise Conflict("no phone is known for the business: record it first (PUT /api/v1/complaints/{id}/contacts)")
    text = (
        f"【消费纠纷调解】{row.business_name or '贵单位'}：有消费者就一件消费纠纷（编号 {row.tracking_no}）"
        f"向{row.unit_name or '调解组织'}投诉贵单位。请凭统一社会信用代码和短信验证码登录 "
        f"{NotificationSettings().portal_url} 查看并回应。"
    )
    return known[0], text
