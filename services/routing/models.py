"""Tables routing owns (schema `routing`): the division registry, the tenants (onboarded units and
the agencies attached to them) with their audit trail, who is responsible for each case and why, and
the platform's official calendar."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from common.clock_watch import StoredClock, WatchedClock, due_index, held_index
from common.clocks import Clock, ClockKind, ClockUnit
from common.db import schema_base
from common.official_calendar import OfficialCalendarRow
from common.outbox import InboxMixin, OutboxMixin

Base = schema_base("routing")


class Division(Base):
    """The official division table, every level (province 2 digits ... village 12)."""

    __tablename__ = "divisions"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    parent_code: Mapped[str | None] = mapped_column(String(12), index=True)


class Unit(Base):
    """An onboarded administrative unit: a tenant of the platform. `settings` holds only the unit's
    own overrides (services/routing/settings.py)."""

    __tablename__ = "units"
    # subtree listings are prefix matches on the code
    __table_args__ = (Index("ix_units_code_prefix", "code", postgresql_ops={"code": "text_pattern_ops"}),)

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    tier: Mapped[str] = mapped_column(String(10))
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    onboarded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Agency(Base):
    """An agency attached to an onboarded unit (its police station, court, ...): a tenant too, with
    the id `<unit code>-<agency type>`, so the unit's subtree (a prefix test) covers it."""

    __tablename__ = "agencies"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # a unit cannot be deleted while an agency is attached to it
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code", ondelete="RESTRICT"), index=True)
    agency_type: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(100))
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    onboarded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class TenantAudit(Base):
    """Who onboarded, offboarded or changed which tenant, and which cases moved because of it."""

    __tablename__ = "tenant_audit"
    __table_args__ = (Index("ix_tenant_audit_tenant", "tenant", postgresql_ops={"tenant": "text_pattern_ops"}),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(30))
    tenant: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class Assignment(Base):
    """The unit responsible for a case, the rule that decided it and the inputs it used."""

    __tablename__ = "assignments"

    complaint_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(12), index=True)
    tier: Mapped[str] = mapped_column(String(10))
    rule: Mapped[str] = mapped_column(String(40))
    inputs: Mapped[dict[str, Any]] = mapped_column(JSONB)
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # active | handover_pending | contested | with_agency | ended (services/routing/moves.py)
    state: Mapped[str] = mapped_column(String(20), default="active", server_default="active")
    # the number of the case's last routing event (ComplaintRouted is 1): consumers apply them in order
    seq: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # what the decision read from the complaint (rules.Facts), to decide again on return or reclassification
    facts: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))
    first_receiver: Mapped[str | None] = mapped_column(String(12))
    agency_tenant: Mapped[str | None] = mapped_column(String(40))
    agency_state: Mapped[str | None] = mapped_column(String(20))  # pending | acknowledged | answered


class Handover(Base):
    """A case on its way to another unit or an agency, or a lower unit's request that the unit above
    take it over. `kind`: unit | agency | takeover; `state`: pending | accepted | acknowledged |
    contested | decided | lapsed | declined | cancelled | answered | handed_back. An agency handover
    runs the agency's acknowledgement clock (3 working days; `lapsed` when it ran out); then the
    agency answers or hands the case back (services/routing/agencies.py); a contested handover runs the
    Art 33 clock (`contest_deadline`, 7 working days), then `decider`, the lowest common higher unit,
    decides. The clocks are `CaseClock` rows."""

    __tablename__ = "handovers"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    complaint_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    kind: Mapped[str] = mapped_column(String(10))
    from_unit: Mapped[str] = mapped_column(String(12))
    to_tenant: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(20))
    rule: Mapped[str] = mapped_column(String(40))
    inputs: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    requested_by: Mapped[str] = mapped_column(String(64))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    contested_by: Mapped[str | None] = mapped_column(String(12))
    contest_reason: Mapped[str | None] = mapped_column(Text)
    contest_deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    contest_expired: Mapped[bool] = mapped_column(default=False, server_default="false")
    decider: Mapped[str | None] = mapped_column(String(12))
    # why a take-over request was declined (state `declined`)
    decline_reason: Mapped[str | None] = mapped_column(Text)


class TierClock(WatchedClock, Base):
    """The responsible unit's own time target (seed 004), with its warning light: the clock watcher
    (services/routing/lights.py) finds the clocks changing colour through `ix_tier_clocks_next_check`;
    when one turns red the case is escalated in the same transaction."""

    __tablename__ = "tier_clocks"
    __table_args__ = (due_index("tier_clocks"), held_index("tier_clocks"))

    complaint_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(12))
    tier: Mapped[str] = mapped_column(String(10))
    working_days: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deadline: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    def clock(self) -> Clock:
        return Clock(
            kind=ClockKind.TIER_TARGET,
            unit=ClockUnit.WORKING_DAYS,
            amount=self.working_days,
            started_at=self.started_at,
            deadline=self.deadline,
            stopped_at=self.stopped_at,
        )


class CaseClock(StoredClock, Base):
    """A handover's clock, one row per case and kind (restarted by the next handover of that kind):
    `agency_handover_ack` (the agency acknowledges within 3 working days) and `authority_dispute`
    (Art 33). `unit_code`/`tier`: the unit told of its colours, whose calendar counts it (the
    handing unit; the deciding unit)."""

    __tablename__ = "case_clocks"
    __table_args__ = (due_index("case_clocks"), held_index("case_clocks"))

    complaint_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    handover_id: Mapped[int | None] = mapped_column(BigInteger)
    unit_code: Mapped[str] = mapped_column(String(12))
    tier: Mapped[str] = mapped_column(String(10))


class CaseStep(Base):
    """Every routing step of a case with the rule and inputs that explain it (GET .../routing)."""

    __tablename__ = "case_steps"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    complaint_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    seq: Mapped[int] = mapped_column(Integer)
    step: Mapped[str] = mapped_column(String(40))
    unit_code: Mapped[str] = mapped_column(String(12))  # responsible after the step
    from_unit: Mapped[str | None] = mapped_column(String(12))
    to_tenant: Mapped[str | None] = mapped_column(String(40))
    rule: Mapped[str] = mapped_column(String(40))
    inputs: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Signal(Base):
    """What early warning and the collective rule count: one row per complaint, no personal data
    (the complainant only as a keyed hash of the phone, to count distinct complainants)."""

    __tablename__ = "signals"
    __table_args__ = (
        Index("ix_signals_business", "credit_code", "received_at"),
        Index("ix_signals_category", "township_code", "category", "received_at"),
    )

    complaint_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    credit_code: Mapped[str | None] = mapped_column(String(18))
    category: Mapped[str] = mapped_column(String(40))
    township_code: Mapped[str | None] = mapped_column(String(9))
    city_code: Mapped[str] = mapped_column(String(6))
    complainant_key: Mapped[str] = mapped_column(String(32))


class RaisedWarning(Base):
    """An early warning raised to a township and its city (kind business: key is the credit code;
    kind category: key is the category code)."""

    __tablename__ = "warnings"
    __table_args__ = (Index("ix_warnings_key", "kind", "key", "township_code", "raised_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    key: Mapped[str] = mapped_column(String(40))
    township_code: Mapped[str | None] = mapped_column(String(9), index=True)
    city_code: Mapped[str] = mapped_column(String(6), index=True)
    count: Mapped[int] = mapped_column(Integer)
    threshold: Mapped[int] = mapped_column(Integer)
    window_days: Mapped[int] = mapped_column(Integer)
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    complaint_ids: Mapped[list[str]] = mapped_column(JSONB, default=list)


class OfficialCalendar(OfficialCalendarRow, Base):
    """The official calendar the platform admin entered, a year per row (services/routing/official_calendar.py)."""

    __tablename__ = "official_calendar"


class CalendarNotice(Base):
    """A year whose official schedule was missing on 1 December, said once (official_calendar.missing.v1)."""

    __tablename__ = "official_calendar_notices"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    noticed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SupervisionOrder(StoredClock, Base):
    """A supervision order (督办, services/routing/supervision.py): `from_unit` ordered `unit_code`
    (the responsible unit, or a named unit above it) to act on a case by a deadline, a working-day
    clock on the ordered unit's calendar whose colours go to it (red to the sender too). `state`:
    open | answered | returned | accepted | withdrawn. `follows_case`: addressed to whoever is
    responsible, so it moves with the case; a named unit keeps it while the case stays below it."""

    __tablename__ = "supervision_orders"
    __table_args__ = (
        due_index("supervision_orders"),
        held_index("supervision_orders"),
        Index("ix_supervision_orders_from", "from_unit", postgresql_ops={"from_unit": "text_pattern_ops"}),
        Index("ix_supervision_orders_unit", "unit_code", postgresql_ops={"unit_code": "text_pattern_ops"}),
    )

    kind: ClassVar[str] = ClockKind.SUPERVISION.value  # one kind: StoredClock.clock() reads it

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    complaint_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    from_unit: Mapped[str] = mapped_column(String(12))
    sent_by: Mapped[str] = mapped_column(String(64))
    unit_code: Mapped[str] = mapped_column(String(12))
    tier: Mapped[str] = mapped_column(String(10))
    follows_case: Mapped[bool] = mapped_column(default=True)
    instruction: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10))
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    answer: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list[str]] = mapped_column(JSONB, default=list)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answered_by: Mapped[str | None] = mapped_column(String(64))
    return_reason: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # when its deadline first passed without an answer (the red light)
    overdue_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SupervisionStep(Base):
    """Each step of a supervision order: ordered, answered, returned, accepted, overdue, moved (the
    order followed the case), withdrawn; `unit_code` holds the order after the step."""

    __tablename__ = "supervision_steps"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    order_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    step: Mapped[str] = mapped_column(String(20))
    unit_code: Mapped[str] = mapped_column(String(12))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Outbox(OutboxMixin, Base):
    __tablename__ = "outbox"


class Inbox(InboxMixin, Base):
    __tablename__ = "inbox"
