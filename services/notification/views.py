"""What the gateway shows of notification: a case's messages and their states (never an address),
the staff inbox, a tenant's template texts and settings."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from common import reference
from common.tenancy import Role, Scope
from services.notification import planning, tenants
from services.notification import rules as R
from services.notification import settings as tenant_settings
from services.notification.models import InboxRead, Message
from services.notification.templates import TEMPLATES, placeholders


def message(m: Message) -> dict[str, Any]:
    return {
        "id": str(m.id),
        "template": m.template,
        "channel": m.channel,
        "recipient_role": m.recipient_role,
        "state": m.state,
        "attempts": m.attempts,
        "time_critical": m.time_critical,
        "reason": m.last_error if m.state in ("failed", "queued") else None,
        "created_at": m.created_at.isoformat(),
        "next_attempt_at": m.next_attempt_at.isoformat() if m.next_attempt_at and m.state == "queued" else None,
        "sent_at": m.sent_at.isoformat() if m.sent_at else None,
        "delivered_at": m.delivered_at.isoformat() if m.delivered_at else None,
        "failed_at": m.failed_at.isoformat() if m.failed_at else None,
        # issue 16: failed deliveries marked, and how staff followed them up (follow_up.py)
        "state_label": reference.MESSAGE_STATES.get(m.state, m.state),
        "failed": m.state == "failed",
        "resent_from": str(m.resent_from) if m.resent_from else None,
        "resent_as": str(m.resent_as) if m.resent_as else None,
        "told_otherwise": m.told_otherwise,
    }


# --- the staff inbox ---------------------------------------------------------------------------------


def _inbox_keys(scope: Scope | None) -> list[str]:
    if scope is None or not scope.valid:
        return []
    keys = [planning.inbox_key(scope.unit)]
    if scope.user:
        keys.append(planning.user_key(scope.user))
    if Role.PLATFORM_ADMIN in scope.roles:
        keys.append(planning.role_key(Role.PLATFORM_ADMIN))
    return keys


def mine(scope: Scope | None) -> ColumnElement[bool]:
    """Inbox items to the caller or the caller's tenant."""
    return (
        (Message.channel == R.INBOX)
        & Message.recipient_address.in_(_inbox_keys(scope))
        & (Message.state == "delivered")
    )


def _read_by(reader: str) -> ColumnElement[bool]:
    return (InboxRead.message_id == Message.id) & (InboxRead.reader == reader)


def inbox(session: Session, scope: Scope | None, unread_only: bool, limit: int) -> dict[str, Any]:
    """Items to the user and to the user's tenant, newest first, with the count of those the user
    has not read (each person reads a unit's items for themself)."""
    to_me, reader = mine(scope), scope.user if scope else ""
    unread_by_me = ~select(InboxRead.message_id).where(_read_by(reader)).exists()
    unread = session.scalar(select(func.count()).where(to_me, unread_by_me)) or 0
    query = select(Message).where(to_me)
    if unread_only:
        query = query.where(unread_by_me)
    rows = session.scalars(query.order_by(Message.created_at.desc()).limit(max(1, min(limit, 200)))).all()
    return {"unread": unread, "items": inbox_items(session, rows, reader)}


def inbox_items(session: Session, rows: Sequence[Message], reader: str) -> list[dict[str, Any]]:
    """Items as the caller sees them: `read_at` is the caller's, `read_by` who has read it so far."""
    readers: dict[uuid.UUID, list[InboxRead]] = {}
    if rows:
        reads = session.scalars(
            select(InboxRead).where(InboxRead.message_id.in_([m.id for m in rows])).order_by(InboxRead.read_at)
        )
        for read in reads:
            readers.setdefault(read.message_id, []).append(read)
    views = []
    for m in rows:
        read_at = next((r.read_at for r in readers.get(m.id, []) if r.reader == reader), None)
        views.append(
            {
                "id": str(m.id),
                "template": m.template,
                "subject": m.subject,
                "body": m.body,
                "complaint_id": str(m.complaint_id) if m.complaint_id else None,
                "to": m.recipient_address,
                "time_critical": m.time_critical,
                "created_at": m.created_at.isoformat(),
                "read_at": read_at.isoformat() if read_at else None,
                "read_by": [r.reader for r in readers.get(m.id, [])],
            }
        )
    return views


# --- a tenant's texts and settings ---------------------------------------------------------------------


def templates(session: Session, tenant: str | None) -> list[dict[str, Any]]:
    """Every template with the text that applies to `tenant` and where it comes from."""
    overrides = tenants.overrides(session, tenant)
    result = []
    for name, template in TEMPLATES.items():
        own = overrides.get(name)
        result.append(
            {
                "name": name,
                "description": template.description,
                "subject": own.subject or template.subject if own else template.subject,
                "text": own.text if own else template.text,
                "source": own.tenant_code if own else "default",
                "default": {"subject": template.subject, "text": template.text},
                "placeholders": placeholders(template),
            }
        )
    return result


def settings(session: Session, tenant: str) -> dict[str, Any]:
    rows = tenants.settings_rows(session)
    own = rows.get(tenant) or {}
    return {
        "tenant": tenant,
        "own": tenant_settings.public(own),
        "effective": tenant_settings.public(tenant_settings.effective(rows, tenant)),
    }
