"""A failed message is never the end of telling a party (docs/notification.md, "Failed messages"):
the responsible unit's case staff resend it, or record that the party was told another way. Both
are idempotent (a message is followed up once; asking again answers the same result), refused with
409 on a message that did not fail, and announced as `message.handled.v1` for the case history.

A resend is a new message (`resent_from`; the failed one gets `resent_as`) with the same text, sent
to the party's address known now (a contact recorded since through PUT .../contacts counts), on the
failed message's channel, else the other channel the party has; with no address at all it is a 409
saying to record one first. Staff messages (inbox, webhook, docking) go to the same address again.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from common import reference
from common.contracts import MessageHandled
from common.errors import Conflict, Forbidden, InvalidInput, NotFound
from common.tenancy import Scope
from services.notification import rules as R
from services.notification.models import CaseContact, Message

MAX_NOTE_LEN: Final = 500
# where a party's address for each channel is kept (CaseContact)
_PARTY_ADDRESSES: Final = {
    R.COMPLAINANT: {R.SMS: "complainant_phone", R.EMAIL: "complainant_email"},
    R.BUSINESS: {R.SMS: "business_phone", R.EMAIL: "business_email"},
}


def may_follow_up(scope: Scope | None, contact: CaseContact | None) -> bool:
    """The responsible unit's case staff (as for recording a party's contact)."""
    return scope is not None and contact is not None and scope.handles(contact.unit_code)


def actions(m: Message, allowed: bool) -> list[str]:
    if not allowed or m.state != "failed" or m.resent_as is not None or m.told_otherwise is not None:
        return []
    return list(reference.MESSAGE_ACTIONS)


def find(session: Session, scope: Scope | None, complaint_id: uuid.UUID, message_id: str) -> Message:
    """The case's message, locked, if the caller may follow it up (404 / 403 otherwise)."""
    try:
        key = uuid.UUID(str(message_id))
    except ValueError:
        raise NotFound(f"no message {message_id}") from None
    m = session.scalar(select(Message).where(Message.id == key, Message.complaint_id == complaint_id).with_for_update())
    if m is None:
        raise NotFound(f"no message {message_id} on this case")
    if not may_follow_up(scope, session.get(CaseContact, complaint_id)):
        raise Forbidden("only the responsible unit's case staff follow up a failed message")
    return m


def _check_failed(m: Message) -> None:
    if m.state != "failed":
        raise Conflict(f"the message did not fail (it is {m.state}): nothing to follow up")


def _address(session: Session, m: Message) -> tuple[str, str]:
    """(channel, address) to send the copy to: for a party, its address known now."""
    fields = _PARTY_ADDRESSES.get(m.recipient_role)
    if fields is None or m.channel not in fields:
        return m.channel, m.recipient_address
    contact = session.get(CaseContact, m.complaint_id)
    known = {channel: getattr(contact, field, None) for channel, field in fields.items()} if contact else {}
    for channel in (m.channel, *(c for c in fields if c != m.channel)):
        if known.get(channel):
            return channel, known[channel]
    raise Conflict(
        f"no phone or e-mail is known for the {m.recipient_role}: record one first "
        "(PUT /api/v1/complaints/{id}/contacts), or record that the party was told another way"
    )


def resend(session: Session, m: Message, scope: Scope, now: datetime) -> tuple[Message, MessageHandled | None]:
    """The copy (queued now) and the event to announce; the existing copy and no event when the
    message was resent already."""
    if m.resent_as is not None:
        return session.get(Message, m.resent_as), None
    _check_failed(m)
    if m.told_otherwise is not None:
        raise Conflict("the party was already told another way; no need to resend")
    channel, address = _address(session, m)
    copy = Message(
        id=uuid.uuid4(),
        # a resend is its own event: the unique (event, recipient, template, channel) key allows it once
        event_id=uuid.uuid5(m.id, "resend"),
        event_type=m.event_type,
        complaint_id=m.complaint_id,
        unit_code=m.unit_code,
        template=m.template,
        channel=channel,
        recipient_role=m.recipient_role,
        recipient_key=m.recipient_key,
        recipient_address=address,
        subject=m.subject,
        body=m.body,
        payload=m.payload,
        time_critical=True,  # staff asked for it now: not held over quiet hours
        state="queued",
        attempts=0,
        created_at=now,
        next_attempt_at=now,
        resent_from=m.id,
    )
    session.add(copy)
    m.resent_as = copy.id
    return copy, _handled(m, "resent", scope, now, new_message_id=copy.id)


def told_otherwise(
    session: Session, m: Message, scope: Scope, how: Any, note: Any, now: datetime
) -> MessageHandled | None:
    """Record how the party was told; None when it was recorded already (the first record stands)."""
    if m.told_otherwise is not None:
        return None
    _check_failed(m)
    problems = []
    if how not in reference.TOLD_OTHERWISE:
        problems.append({"field": "how", "message": f"one of {', '.join(reference.TOLD_OTHERWISE)}"})
    text = note.strip() if isinstance(note, str) else ""
    if not 1 <= len(text) <= MAX_NOTE_LEN:
        problems.append({"field": "note", "message": f"1 to {MAX_NOTE_LEN} characters: who was told what, when"})
    if problems:
        raise InvalidInput(problems)
    if m.resent_as is not None:
        raise Conflict("the message was resent already; follow up the resent one if it failed too")
    m.told_otherwise = {"how": how, "note": text, "by": scope.user, "at": now.isoformat()}
    return _handled(m, "told_otherwise", scope, now, how=how, note=text)


def _handled(m: Message, action: str, scope: Scope, now: datetime, **extra: Any) -> MessageHandled:
    return MessageHandled(
        message_id=m.id,
        complaint_id=m.complaint_id,
        action=action,
        template=m.template,
        channel=m.channel,
        recipient_role=m.recipient_role,
        actor=scope.user,
        at=now,
        **extra,
    )
