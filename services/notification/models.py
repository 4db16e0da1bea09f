"""Tables notification owns (schema `notification`): every message and its delivery state."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, Integer, MetaData, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from common.outbox import InboxMixin, OutboxMixin


class Base(DeclarativeBase):
    metadata = MetaData(schema="notification")


class Message(Base):
    __tablename__ = "messages"
    # one event never produces the same message twice
    __table_args__ = (UniqueConstraint("event_id", "template", "recipient_role"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    complaint_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    template: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20))
    recipient_role: Mapped[str] = mapped_column(String(20))
    recipient_address: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Outbox(OutboxMixin, Base):
    __tablename__ = "outbox"


class Inbox(InboxMixin, Base):
    __tablename__ = "inbox"
