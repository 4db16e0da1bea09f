"""Tables reporting owns (schema `reporting`): a read model built from other services' events."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Identity,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from common.db import schema_base
from common.outbox import InboxMixin

Base = schema_base("reporting")


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
    # the reporting issue: the status is the latest by event time (events arrive in any order)
    status_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # the business complained about (not personal data): credit code, else `name:<name>`
    business_key: Mapped[str | None] = mapped_column(String(130))
    business_name: Mapped[str | None] = mapped_column(String(100))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # the first acceptance decision (accepted or refused)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_unit: Mapped[str | None] = mapped_column(String(12))
    decision: Mapped[str | None] = mapped_column(String(10))
    refusal_ground: Mapped[str | None] = mapped_column(String(40))
    # issue 19: the settle-first lane's outcome (settled | rejected | expired), whether the business
    # answered within its window, and when a case closed by settlement
    settle_first: Mapped[str | None] = mapped_column(String(10))
    settle_first_on_time: Mapped[bool | None] = mapped_column(Boolean)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acceptance_met: Mapped[bool | None] = mapped_column(Boolean)  # the acceptance clock's verdict


class Escalation(Base):
    """A case passed up (routing's `case.escalated.v1`): per-unit escalation counts, the 10% line."""

    __tablename__ = "escalations"
    __table_args__ = (Index("ix_escalations_from_unit", "from_unit", postgresql_ops={"from_unit": "text_pattern_ops"}),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    complaint_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    from_unit: Mapped[str] = mapped_column(String(12))
    from_tier: Mapped[str] = mapped_column(String(10))
    to_unit: Mapped[str] = mapped_column(String(12))
    trigger: Mapped[str] = mapped_column(String(30))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class EarlyWarningFact(Base):
    """An early warning routing raised (`early_warning.raised.v1`), counted for the township and city."""

    __tablename__ = "early_warnings"

    warning_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    township_code: Mapped[str | None] = mapped_column(String(9))
    city_code: Mapped[str] = mapped_column(String(6), index=True)
    count: Mapped[int] = mapped_column(Integer)
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RollupRow:
    """The columns every rollup shares: per unit, period, metric and key, a count and an amount.
    The period column is each table's (day, month or year), second in the key: `sort_order` keeps
    the columns and the primary key in the order the migrations created them."""

    unit_code: Mapped[str] = mapped_column(String(12), primary_key=True, sort_order=-2)
    metric: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(130), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, server_default="0")
    amount: Mapped[Decimal] = mapped_column(Numeric(20, 2), server_default="0")


class DailyRollup(RollupRow, Base):
    """Per unit and day, the figures of the unit's whole subtree (every contribution is added to the
    unit, its township and its city, by `folding.fold`): a subtree summary reads one unit's rows
    (services/reporting/rollups.py) plus the subtree's deltas not folded yet."""

    __tablename__ = "daily_rollups"
    __table_args__ = (
        # the per-child-unit figures: a few metrics of each child over days, read from the index alone
        Index("ix_daily_rollups_cover", "unit_code", "metric", "day", "key", postgresql_include=["n", "amount"]),
    )

    day: Mapped[date] = mapped_column(Date, primary_key=True, sort_order=-1)


class MonthlyRollup(RollupRow, Base):
    """The daily rollups summed per calendar month: a period's whole months read these."""

    __tablename__ = "monthly_rollups"
    __table_args__ = (
        Index("ix_monthly_rollups_cover", "unit_code", "metric", "month", "key", postgresql_include=["n", "amount"]),
    )

    month: Mapped[date] = mapped_column(Date, primary_key=True, sort_order=-1)


class YearlyRollup(RollupRow, Base):
    """The monthly rollups summed per calendar year (`year` is 1 January): an all-time or multi-year
    summary reads a few rows per year instead of twelve months of them."""

    __tablename__ = "yearly_rollups"

    year: Mapped[date] = mapped_column(Date, primary_key=True, sort_order=-1)


class RollupDelta(Base):
    """What an event adds to the rollups, at its own unit only, appended (never updated): handlers
    share no row. `folding.fold` moves the rows into the daily, monthly and yearly rollups of the unit
    and every unit above it, a batch at a time; reads add the rows not folded yet (prefix range)."""

    __tablename__ = "rollup_deltas"
    __table_args__ = (
        Index("ix_rollup_deltas_unit", "unit_code", "day", postgresql_ops={"unit_code": "text_pattern_ops"}),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(12))
    day: Mapped[date] = mapped_column(Date)  # a business row: the first day of its month
    metric: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(130))
    n: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[Decimal] = mapped_column(Numeric(20, 2))


class MediationEnding(Base):
    """One `mediation.ended.v1`: a complaint may be mediated more than once (escalated, reopened)."""

    __tablename__ = "mediation_endings"

    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    complaint_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    unit_code: Mapped[str] = mapped_column(String(12))
    outcome: Mapped[str] = mapped_column(String(30))
    ended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class EventLogEntry(Base):
    """Every consumed envelope, append-only, personal data stripped: what a rebuild replays."""

    __tablename__ = "event_log"
    __table_args__ = (UniqueConstraint("event_id", "type", name="uq_event_log_event"),)

    seq: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    type: Mapped[str] = mapped_column(String(80))
    envelope: Mapped[dict[str, Any]] = mapped_column(JSONB)
    logged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class MonthlyReport(Base):
    """A unit's monthly statistics report, produced once per (unit, month) and sent up to the parent."""

    __tablename__ = "monthly_reports"
    __table_args__ = (
        UniqueConstraint("unit_code", "month", name="uq_monthly_reports_unit_month"),
        Index("ix_monthly_reports_parent", "parent_code", "month"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(12))
    parent_code: Mapped[str | None] = mapped_column(String(12))
    month: Mapped[date] = mapped_column(Date)
    generated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    generated_by: Mapped[str] = mapped_column(String(20))  # timer | on_demand
    figures: Mapped[dict[str, Any]] = mapped_column(JSONB)


class UnitName(Base):
    """Units the figures know: named by the events that carry them, ancestors by code only."""

    __tablename__ = "units"
    __table_args__ = (Index("ix_units_parent", "parent_code"),)

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(100))
    tier: Mapped[str] = mapped_column(String(10))
    parent_code: Mapped[str | None] = mapped_column(String(12))


class Inbox(InboxMixin, Base):
    __tablename__ = "inbox"
