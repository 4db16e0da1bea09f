"""Tables intake owns (schema `intake`): the complaint as filed, its history, who may view it
read-only, and the audit log of personal-data reads."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Numeric,
    String,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from common.clock_watch import OwnCalendar, StoredClock, due_index, held_index
from common.db import schema_base
from common.official_calendar import OfficialCalendarRow
from common.outbox import InboxMixin, OutboxMixin

Base = schema_base("intake")


class Complaint(Base):
    __tablename__ = "complaints"
    __table_args__ = (
        # scope queries are prefix matches on the unit code
        Index(
            "ix_complaints_unit", "responsible_unit_code", postgresql_ops={"responsible_unit_code": "text_pattern_ops"}
        ),
        # the case list (docs/intake.md, "The case list"): its two sort orders and its searches
        Index("ix_complaints_received_at", "received_at"),
        Index("ix_complaints_next_deadline", "next_deadline"),
        Index("ix_complaints_tracking_prefix", "tracking_no", postgresql_ops={"tracking_no": "text_pattern_ops"}),
        Index("ix_complaints_phone_tail", func.right(text("complainant_phone"), 4)),
        Index(
            "ix_complaints_credit_code",
            text("(business ->> 'credit_code') text_pattern_ops"),
        ),
        # the case list's credit-code search as the scoped role: starts_with on a column is leakproof
        Index("ix_complaints_business_key_prefix", "business_key", postgresql_ops={"business_key": "text_pattern_ops"}),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tracking_no: Mapped[str] = mapped_column(String(24), unique=True)
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    complainant: Mapped[dict[str, Any]] = mapped_column(JSONB)
    business: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # empty only on an e-mail draft a clerk has not completed yet
    incident_division_code: Mapped[str | None] = mapped_column(String(12))
    category: Mapped[str | None] = mapped_column(String(40))
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
    # issue 4: what the record is, how it came in, and its links
    kind: Mapped[str] = mapped_column(String(10), server_default="complaint")  # complaint | report (Art 9)
    received_by: Mapped[str | None] = mapped_column(String(64))  # the clerk or agency principal who filed it
    source_tenant: Mapped[str | None] = mapped_column(
        String(64), index=True
    )  # the tenant it was filed by (agency handover)
    complainant_phone: Mapped[str | None] = mapped_column(String(20), index=True)  # normalized, for Art 35/17
    address_key: Mapped[str | None] = mapped_column(String(200), index=True)  # normalized address, for Art 17
    business_key: Mapped[str | None] = mapped_column(String(120), index=True)  # credit code, else name
    duplicate_of: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("complaints.id"), index=True)
    linked_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # the other half of an Art 9 split
    related_to: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)  # an earlier case, new facts
    flags: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    decision: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # issue 16: the case status follows the case (common/reference.py); the event time that set it,
    # so a late event never overwrites a newer status
    status_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    mediation_state: Mapped[str | None] = mapped_column(String(30))  # mediation's own state, as last told
    mediation_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # first passed up
    # the nearest deadline of intake's running clocks (lights.refresh_deadline), for sorting
    next_deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    # loaded when read: most work on a complaint (its events, the duplicate and abuse checks over
    # many) reads none of them; a list that shows them loads them for all its rows (case_list.py)
    history: Mapped[list[HistoryEntry]] = relationship(order_by="HistoryEntry.id")
    clocks: Mapped[list[ClockRow]] = relationship(order_by="ClockRow.started_at")
    evidence: Mapped[list[Evidence]] = relationship(order_by="Evidence.uploaded_at")


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


class ClockRow(OwnCalendar, StoredClock, Base):
    """A clock of a case (common.clocks.Clock, stored). The watcher finds those changing colour through
    `ix_clocks_next_check`; (status, deadline) serves reading by state. The held index also holds
    the case, so the light counts and the case list's light filter read the running yellow and red
    clocks without the table (migration a3c5e7f9b1d4)."""

    __tablename__ = "clocks"
    __table_args__ = (
        Index("ix_clocks_status_deadline", "status", "deadline"),
        due_index("clocks"),
        held_index("clocks", include=["complaint_id"]),
    )

    complaint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("complaints.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    status: Mapped[str] = mapped_column(String(10))  # running | paused | met | late


class Evidence(Base):
    """An evidence file's record; the bytes live in the evidence store (services/intake/evidence.py),
    never in the database."""

    __tablename__ = "evidence"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    complaint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("complaints.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))  # as uploaded, for display only
    mime_type: Mapped[str] = mapped_column(String(60))  # judged by content
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(20))  # upload | email
    uploaded_by: Mapped[str | None] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CaseLight(Base):
    """A yellow or red light of a clock another service runs (routing's, mediation's), as told by
    `clock.colour_changed.v1`, until `clock.stopped.v1` says it stopped: the case list filters on it."""

    __tablename__ = "case_lights"
    __table_args__ = (Index("ix_case_lights_colour", "colour", "complaint_id"),)

    complaint_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    clock: Mapped[str] = mapped_column(String(30), primary_key=True)
    colour: Mapped[str] = mapped_column(String(10))
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ClockVerdict(Base):
    """A reported clock's verdict (`clock.stopped.v1`, common/reference.py REPORTED_CLOCKS): in time
    or late, at the unit answering for it, on the day (China) it stopped; what reporting's on-time
    rates count, so the case list can open the cases behind a rate."""

    __tablename__ = "clock_verdicts"
    __table_args__ = (Index("ix_clock_verdicts_figure_day", "figure", "stopped_on"),)

    complaint_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    figure: Mapped[str] = mapped_column(String(30), primary_key=True)
    stopped_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    stopped_on: Mapped[date] = mapped_column(Date)
    unit_code: Mapped[str] = mapped_column(String(40))
    met: Mapped[bool] = mapped_column(Boolean)


class TrackingAttempt(Base):
    """A failed (or in-flight) public tracking lookup, for throttling guesses."""

    __tablename__ = "tracking_attempts"
    __table_args__ = (
        Index("ix_tracking_attempts_client_at", "client", "at"),
        Index("ix_tracking_attempts_number_at", "tracking_no", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    client: Mapped[str] = mapped_column(String(64))
    tracking_no: Mapped[str] = mapped_column(String(40))


class BusinessContact(Base):
    """A business's contact phone the platform knows (from staff, or the business's own sign-in):
    a complaint against it may go to it first (settle-first lane, services/intake/settle_first.py)."""

    __tablename__ = "business_contacts"

    credit_code: Mapped[str] = mapped_column(String(18), primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))
    verified_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    verified_by: Mapped[str] = mapped_column(String(64))


class OfficialCalendar(OfficialCalendarRow, Base):
    """This service's copy of the platform's official calendar (from routing's official_calendar.changed.v1)."""

    __tablename__ = "official_calendar"


class Outbox(OutboxMixin, Base):
    __tablename__ = "outbox"


class Inbox(InboxMixin, Base):
    __tablename__ = "inbox"
