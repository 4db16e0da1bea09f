"""Tables mediation owns (schema `mediation`): the mediation case with its parties (copied from
`complaint.accepted.v1`), its journal of transitions, clocks, mediators' roster and assignments,
recusals, sessions with minutes, the agreement and its terms, re-reviews, call-backs, and the audit
log of personal-data reads. Row-level security (migration 5b7d1c2e9a40) scopes every table to the
responsible unit's subtree for staff reads."""

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
    SmallInteger,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from common.clock_watch import OwnCalendar, StoredClock, due_index, held_index
from common.db import schema_base
from common.official_calendar import OfficialCalendarRow
from common.outbox import InboxMixin, OutboxMixin

Base = schema_base("mediation")


class Case(Base):
    """One mediation case per accepted complaint (the complaint id is its key)."""

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_unit", "unit_code", postgresql_ops={"unit_code": "text_pattern_ops"}),
        Index("ix_cases_mediator_state", "mediator", "state"),
    )

    complaint_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tracking_no: Mapped[str] = mapped_column(String(24))
    unit_code: Mapped[str] = mapped_column(String(12))
    unit_name: Mapped[str] = mapped_column(String(100))
    unit_tier: Mapped[str] = mapped_column(String(10))
    category: Mapped[str] = mapped_column(String(40))
    claim_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    # the parties (personal data: the complainant's name and phone)
    complainant_name: Mapped[str] = mapped_column(String(50))
    complainant_phone: Mapped[str] = mapped_column(String(20))
    business_name: Mapped[str] = mapped_column(String(100))
    business_credit_code: Mapped[str | None] = mapped_column(String(18))
    state: Mapped[str] = mapped_column(String(30), index=True)
    # the state before a re-review, to which upholding returns
    previous_state: Mapped[str | None] = mapped_column(String(30))
    round: Mapped[int] = mapped_column(SmallInteger, default=1)
    mediator: Mapped[str | None] = mapped_column(String(64))
    accepted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    accepted_by: Mapped[str] = mapped_column(String(64))
    complainant_consent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    business_consent: Mapped[bool | None] = mapped_column(Boolean)
    business_consent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    consent_detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str | None] = mapped_column(String(30))
    # remedy routes told to the parties on failure or refusal (救济途径)
    remedies: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list)
    end_reason: Mapped[str | None] = mapped_column(Text)
    end_notice_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    end_notice: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    steps: Mapped[list[Step]] = relationship(order_by="Step.id", lazy="selectin")
    clocks: Mapped[list[ClockRow]] = relationship(order_by="ClockRow.kind", lazy="selectin")
    sessions: Mapped[list[MediationSession]] = relationship(order_by="MediationSession.number", lazy="selectin")
    terms: Mapped[list[Term]] = relationship(order_by="Term.n", lazy="selectin")
    recusals: Mapped[list[Recusal]] = relationship(order_by="Recusal.n", lazy="selectin")
    assignments: Mapped[list[Assignment]] = relationship(order_by="Assignment.id", lazy="selectin")
    re_reviews: Mapped[list[ReReview]] = relationship(order_by="ReReview.id", lazy="selectin")
    callbacks: Mapped[list[Callback]] = relationship(order_by="Callback.id", lazy="selectin")
    agreement: Mapped[Agreement | None] = relationship(lazy="selectin")


class CaseViewer(Base):
    """A unit that keeps a read-only view of a mediation case it no longer handles (it passed the
    case up): its own sessions, minutes and outcome stay readable to it, with personal data masked."""

    __tablename__ = "case_viewers"
    __table_args__ = (Index("ix_case_viewers_unit", "unit_code", postgresql_ops={"unit_code": "text_pattern_ops"}),)

    complaint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.complaint_id"), primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(String(40))


class Step(Base):
    """The journal: every transition (action, from, to, who, when, what was recorded)."""

    __tablename__ = "steps"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    complaint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.complaint_id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str] = mapped_column(String(30))
    to_state: Mapped[str] = mapped_column(String(30))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class ClockRow(OwnCalendar, StoredClock, Base):
    """A `common.clocks.Clock` of the case: `mediation` (60 days, Art 22) and
    `mediation_end_notice` (7 working days, Art 23). The expiry timer finds running, unpaused
    mediation clocks past their deadline through the partial index on `deadline`; the watcher finds
    clocks changing colour through `ix_clocks_next_check`."""

    __tablename__ = "clocks"
    __table_args__ = (
        Index(
            "ix_clocks_due",
            "deadline",
            postgresql_where=text("stopped_at IS NULL AND paused_at IS NULL AND kind = 'mediation'"),
        ),
        due_index("clocks"),
        held_index("clocks"),
    )

    complaint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.complaint_id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    # appraisal periods: [{"start", "end", "reason"}]
    pauses: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)


class Mediator(Base):
    """The unit's roster: who may be assigned, with which category skills (empty: any category)."""

    __tablename__ = "mediators"
    __table_args__ = (Index("ix_mediators_unit", "unit_code", postgresql_ops={"unit_code": "text_pattern_ops"}),)

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(12))
    categories: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    source: Mapped[str] = mapped_column(String(10))  # api | acted
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Assignment(Base):
    """Who held the case when, and why the holder changed."""

    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    complaint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.complaint_id"), index=True)
    mediator: Mapped[str] = mapped_column(String(64))
    assigned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    assigned_by: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(20))  # initial | reassigned | recusal | re_review
    picked: Mapped[str] = mapped_column(String(20))  # named | load_and_skill
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Recusal(Base):
    """回避: who asked the mediator to step aside and why, the supervisor's decision, the replacement."""

    __tablename__ = "recusals"

    complaint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.complaint_id"), primary_key=True)
    n: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    mediator: Mapped[str] = mapped_column(String(64))
    requested_by: Mapped[str] = mapped_column(String(20))  # complainant | business | mediator
    reason: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_by: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str | None] = mapped_column(String(10))  # granted | refused
    decision_note: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    replacement: Mapped[str | None] = mapped_column(String(64))


class MediationSession(Base):
    """A session (joint or with one party, 单方调解) and its minutes (调解笔录), confirmed by both."""

    __tablename__ = "sessions"

    complaint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.complaint_id"), primary_key=True)
    number: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    round: Mapped[int] = mapped_column(SmallInteger)
    mode: Mapped[str] = mapped_column(String(15))  # joint | single_party
    party: Mapped[str | None] = mapped_column(String(15))  # single_party: complainant | business
    channel: Mapped[str] = mapped_column(String(15))  # in_person | phone | video
    place: Mapped[str | None] = mapped_column(String(200))
    scheduled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    scheduled_by: Mapped[str] = mapped_column(String(64))
    mediator: Mapped[str] = mapped_column(String(64))
    held_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    minutes: Mapped[str | None] = mapped_column(Text)
    statements: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)  # {"complainant", "business"}
    agreed: Mapped[bool | None] = mapped_column(Boolean)
    minutes_by: Mapped[str | None] = mapped_column(String(64))
    complainant_confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    business_confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Agreement(Base):
    """调解协议: the current draft or the confirmed agreement; its terms are `Term` rows."""

    __tablename__ = "agreements"

    complaint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.complaint_id"), primary_key=True)
    version: Mapped[int] = mapped_column(SmallInteger, default=1)
    summary: Mapped[str] = mapped_column(Text)
    judicial_confirmation: Mapped[bool] = mapped_column(Boolean, default=False)
    drafted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    drafted_by: Mapped[str] = mapped_column(String(64))
    complainant_confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    business_confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Term(Base):
    """One term of the agreement, followed up as performed or breached by its deadline."""

    __tablename__ = "terms"

    complaint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.complaint_id"), primary_key=True)
    n: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # refund | exchange | repair | compensation | apology | other
    description: Mapped[str] = mapped_column(Text)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    deadline: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending | performed | breached
    followed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    followed_by: Mapped[str | None] = mapped_column(String(64))
    recovered_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))  # 挽回经济损失
    note: Mapped[str | None] = mapped_column(Text)


class ReReview(Base):
    """复议 on a party's request, by a mediator who has not held the case."""

    __tablename__ = "re_reviews"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    complaint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.complaint_id"), index=True)
    requested_by: Mapped[str] = mapped_column(String(15))
    reason: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_by: Mapped[str] = mapped_column(String(64))
    from_state: Mapped[str] = mapped_column(String(30))
    previous_mediator: Mapped[str | None] = mapped_column(String(64))
    reviewer: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str | None] = mapped_column(String(10))  # upheld | reopened
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(64))


class Callback(Base):
    """回访: a satisfaction call-back, 1-5."""

    __tablename__ = "callbacks"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    complaint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.complaint_id"), index=True)
    party: Mapped[str] = mapped_column(String(15))
    score: Mapped[int] = mapped_column(SmallInteger)
    comments: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(15))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    by: Mapped[str] = mapped_column(String(64))


class PersonalDataAccess(Base):
    """A read of the mediation case or its documents that showed the complainant's personal data in
    full: written before the data leaves the service (as intake does for the complaint)."""

    __tablename__ = "personal_data_access"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    username: Mapped[str] = mapped_column(String(64))
    tenant: Mapped[str] = mapped_column(String(64))
    complaint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.complaint_id"), index=True)
    fields: Mapped[list[str]] = mapped_column(ARRAY(String(20)))
    endpoint: Mapped[str] = mapped_column(String(80))


class OfficialCalendar(OfficialCalendarRow, Base):
    """This service's copy of the platform's official calendar (from routing's official_calendar.changed.v1)."""

    __tablename__ = "official_calendar"


class Outbox(OutboxMixin, Base):
    __tablename__ = "outbox"


class Inbox(InboxMixin, Base):
    __tablename__ = "inbox"
