"""Tables reporting owns (schema `reporting`): a read model built from other services' events."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import DateTime, Index, MetaData, Numeric, String, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from common.outbox import InboxMixin


class Base(DeclarativeBase):
    metadata = MetaData(schema="reporting")


class ComplaintFact(Base):
    """One row per complaint, no personal data: what the figures are counted from."""

    __tablename__ = "complaint_facts"
    __table_args__ = (Index("ix_facts_unit", "unit_code", postgresql_ops={"unit_code": "text_pattern_ops"}),)

    complaint_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    channel: Mapped[str | None] = mapped_column(String(20))
    category: Mapped[str | None] = mapped_column(String(40))
    claim_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    unit_code: Mapped[str | None] = mapped_column(String(12))
    # the agency tenant the case is handed to (`330681-police`), as on intake's case; set by handovers
    agency_tenant: Mapped[str | None] = mapped_column(String(64), index=True)
    tier: Mapped[str | None] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20))
    routed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Inbox(InboxMixin, Base):
    __tablename__ = "inbox"
