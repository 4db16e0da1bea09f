"""Tables routing owns (schema `routing`): the division registry, the tenants (onboarded units and
the agencies attached to them) with their audit trail, and who is responsible for each case and why."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, Index, MetaData, String, Uuid, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from common.outbox import InboxMixin, OutboxMixin


class Base(DeclarativeBase):
    metadata = MetaData(schema="routing")


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


class Outbox(OutboxMixin, Base):
    __tablename__ = "outbox"


class Inbox(InboxMixin, Base):
    __tablename__ = "inbox"
