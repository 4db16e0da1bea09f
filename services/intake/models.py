"""Tables intake owns (schema `intake`): the complaint as filed, its history, who may view it
read-only, and the audit log of personal-data reads."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ARRAY, BigInteger, DateTime, ForeignKey, Identity, Index, MetaData, Numeric, String, Text, Uuid
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from common.outbox import InboxMixin, OutboxMixin


class Base(DeclarativeBase):
    metadata = MetaData(schema="intake")


class Complaint(Base):
    __tablename__ = "complaints"
    __table_args__ = (
        # scope queries are prefix matches on the unit code
        Index(
            "ix_complaints_unit", "responsible_unit_code", postgresql_ops={"responsible_unit_code": "text_pattern_ops"}
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tracking_no: Mapped[str] = mapped_column(String(24), unique=True)
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    complainant: Mapped[dict[str, Any]] = mapped_column(JSONB)
    business: Mapped[dict[str, Any]] = mapped_column(JSONB)
    incident_division_code: Mapped[str] = mapped_column(String(12))
    category: Mapped[str] = mapped_column(String(40))
    summary: Mapped[str] = mapped_column(Text)
    claim_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    requests: Mapped[list[str]] = mapped_column(ARRAY(String(20)))
    first_receiver_code: Mapped[str | None] = mapped_column(String(12))
    responsible_unit_code: Mapped[str | None] = mapped_column(String(12))
    responsible_unit_name: Mapped[str | None] = mapped_column(String(100))
    responsible_tier: Mapped[str | None] = mapped_column(String(10))
    # the agency tenant (`330681-police`) the case is handed to; set by routing handovers
    agency_tenant: Mapped[str | None] = mapped_column(String(64), index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    history: Mapped[list[HistoryEntry]] = relationship(order_by="HistoryEntry.id", lazy="selectin")


class HistoryEntry(Base):
    """One dated step of the case, as the staff and the complainant see it."""

    __tablename__ = "history"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    complaint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("complaints.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    step: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class CaseViewer(Base):
    """A unit that keeps a read-only view of a case it no longer handles (it passed the case up)."""

    __tablename__ = "case_viewers"
    __table_args__ = (Index("ix_case_viewers_unit", "unit_code", postgresql_ops={"unit_code": "text_pattern_ops"}),)

    complaint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("complaints.id"), primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(String(40))


class PersonalDataAccess(Base):
    """One read that returned a complainant's personal data unmasked: who, when, which case, which
    fields, through which entrypoint. Written before the data leaves the service."""

    __tablename__ = "personal_data_access"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    username: Mapped[str] = mapped_column(String(64))
    tenant: Mapped[str] = mapped_column(String(64))
    complaint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("complaints.id"), index=True)
    fields: Mapped[list[str]] = mapped_column(ARRAY(String(20)))
    endpoint: Mapped[str] = mapped_column(String(80))


class Outbox(OutboxMixin, Base):
    __tablename__ = "outbox"


class Inbox(InboxMixin, Base):
    __tablename__ = "inbox"
