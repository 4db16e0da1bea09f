"""Tables the gateway owns (schema `identity`): staff accounts, login attempts (throttling),
refresh tokens, agency API keys and the audit trail of changes to accounts and keys."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ARRAY, BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Uuid, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from common.db import schema_base

# a tenant is a unit's division code (`330681109`) or an agency attached to a unit
# (`330681-police`, `330681109290-labour_arbitration`)
TENANT_LENGTH = 64


Base = schema_base("identity")


class User(Base):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    tenant_code: Mapped[str] = mapped_column(String(TENANT_LENGTH), index=True)
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(30)))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    demo: Mapped[bool] = mapped_column(Boolean, default=False)
    # every access and refresh token carries the version it was issued under; bumping it (disable,
    # password change, "log out everywhere") invalidates them all at once
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class LoginAttempt(Base):
    """A login attempt that has not succeeded: a failure, or one in flight. Rows older than the
    throttling window are pruned; a successful login deletes its username's rows."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_username_at", "username", "at"),
        Index("ix_login_attempts_client_ip_at", "client_ip", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64))
    client_ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)


class RefreshToken(Base):
    """One refresh token (only its sha256 is stored). Tokens rotated from one login form a family;
    presenting a rotated token again revokes the whole family."""

    __tablename__ = "refresh_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    family_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    username: Mapped[str] = mapped_column(
        String(64), ForeignKey("identity.users.username", ondelete="CASCADE"), index=True
    )
    token_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    rotated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ApiKey(Base):
    """An agency system's key (only its sha256 is stored). After a rotation the previous key may
    stay valid until `previous_valid_until` (the grace the rotation asked for)."""

    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    tenant_code: Mapped[str] = mapped_column(String(TENANT_LENGTH), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    previous_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    previous_valid_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    rotated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class IdentityAudit(Base):
    """Who changed which account or key of which tenant, and how (never a password or a key)."""

    __tablename__ = "audit"
    __table_args__ = (Index("ix_identity_audit_tenant", "tenant", postgresql_ops={"tenant": "text_pattern_ops"}),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40))
    tenant: Mapped[str] = mapped_column(String(TENANT_LENGTH))
    subject: Mapped[str] = mapped_column(String(64))  # the username or the key's id
    detail: Mapped[dict] = mapped_column(JSONB, default=dict)
