"""Tables notification owns (schema `notification`): every message and its delivery state, what
notification learned about each case from earlier events (it never reads other services' tables),
tenant overrides of templates and settings, and agency handovers awaiting acknowledgement."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from common.db import schema_base
from common.outbox import InboxMixin, OutboxMixin

Base = schema_base("notification")


class Message(Base):
    """One message to one recipient on one channel. `recipient_key` names the recipient without an
    address (`complainant`, `business`, `tenant:330681109`, `user:li.ming`, `agency:330681-police`);
    the same event never produces the same message twice (the unique key)."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("event_id", "recipient_key", "template", "channel", name="uq_messages_event_recipient"),
        # the dispatcher's due messages: only queued rows are in the index
        Index("ix_messages_due", "next_attempt_at", postgresql_where=text("state = 'queued'")),
        # a staff inbox: its items newest first
        Index("ix_messages_inbox", "recipient_address", "created_at", postgresql_where=text("channel = 'inbox'")),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    event_type: Mapped[str] = mapped_column(String(80), default="")
    complaint_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    unit_code: Mapped[str | None] = mapped_column(String(64))  # the tenant whose templates and settings apply
    template: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20))
    recipient_role: Mapped[str] = mapped_column(String(20))
    recipient_key: Mapped[str] = mapped_column(String(120))
    recipient_address: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONB)  # structured content (webhook, docking queue)
    time_critical: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(12))  # queued | sent | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # a failed message followed up by staff (services/notification/follow_up.py): resent as another
    # message, or the party told another way ({"how", "note", "by", "at"})
    resent_from: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    resent_as: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    told_otherwise: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class InboxRead(Base):
    """A person read an inbox item. Per person: an item to a unit that one colleague read stays
    unread for the others."""

    __tablename__ = "inbox_reads"

    message_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("notification.messages.id", ondelete="CASCADE"), primary_key=True
    )
    reader: Mapped[str] = mapped_column(String(64), primary_key=True)
    read_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CaseContact(Base):
    """What notification learned about a case from earlier events (and from staff recording a
    party's contact): who to tell and how. Personal data: never shown by an API."""

    __tablename__ = "cases"

    complaint_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tracking_no: Mapped[str | None] = mapped_column(String(40))
    category: Mapped[str | None] = mapped_column(String(40))
    division_code: Mapped[str | None] = mapped_column(String(12))  # where it happened (before a unit is known)
    complainant_name: Mapped[str | None] = mapped_column(String(50))
    complainant_phone: Mapped[str | None] = mapped_column(String(20))
    complainant_email: Mapped[str | None] = mapped_column(String(254))
    business_name: Mapped[str | None] = mapped_column(String(100))
    business_credit_code: Mapped[str | None] = mapped_column(String(18), index=True)  # the business's sign-in
    business_phone: Mapped[str | None] = mapped_column(String(20))
    business_email: Mapped[str | None] = mapped_column(String(254))
    unit_code: Mapped[str | None] = mapped_column(String(12))
    unit_name: Mapped[str | None] = mapped_column(String(100))
    unit_tier: Mapped[str | None] = mapped_column(String(12))
    mediator: Mapped[str | None] = mapped_column(String(64))
    agency_tenant: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class TenantSetting(Base):
    """A tenant's own notification settings (`quiet_hours`, `webhook_url` for an agency); the
    effective settings inherit down the tree (city <- township <- village), see settings.py."""

    __tablename__ = "tenant_settings"

    tenant_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TemplateOverride(Base):
    """A tenant's own text of a template; the most specific tenant up the tree wins."""

    __tablename__ = "template_overrides"

    tenant_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    template: Mapped[str] = mapped_column(String(40), primary_key=True)
    subject: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AgencyHandover(Base):
    """A case handed to an agency and not acknowledged yet: reminders go out until it is."""

    __tablename__ = "agency_handovers"
    __table_args__ = (
        Index("ix_agency_handovers_due", "next_reminder_at", postgresql_where=text("acknowledged_at IS NULL")),
    )

    complaint_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    agency_tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reminders: Mapped[int] = mapped_column(Integer, default=0)
    next_reminder_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Outbox(OutboxMixin, Base):
    __tablename__ = "outbox"


class Inbox(InboxMixin, Base):
    __tablename__ = "inbox"


class OneTimeCode(Base):
    """An SMS one-time code a party proves control of a phone with (docs/parties.md): only a
    salted sha256 of the code and of the phone are kept, never either in clear."""

    __tablename__ = "one_time_codes"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    party: Mapped[str] = mapped_column(String(20))  # complainant | business
    purpose: Mapped[str] = mapped_column(String(40))  # sign_in | confirm:<action>
    subject: Mapped[str] = mapped_column(String(80))  # what the code is for: a tracking number, a case
    complaint_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    phone_digest: Mapped[str] = mapped_column(String(64))
    code_digest: Mapped[str] = mapped_column(String(64))
    client: Mapped[str] = mapped_column(String(64))
    tries: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_one_time_codes_subject", "party", "purpose", "subject", "created_at"),
        Index("ix_one_time_codes_phone", "phone_digest", "created_at"),
        Index("ix_one_time_codes_client", "client", "created_at"),
    )
