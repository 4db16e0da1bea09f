"""API keys of agency systems: `X-API-Key: dpk_<prefix>_<secret>`.

Only the sha256 of a key is stored (a key carries 256 random bits, so a fast hash is enough); the
key itself is shown once, when it is created or rotated. The prefix is stored in clear so people
can tell keys apart. A key acts as its agency tenant with the role agency_liaison.

Rotation replaces the key at once, or, when asked for a grace of up to a day, keeps the previous
key working until the grace ends (one previous key only: rotating again ends the earlier grace).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta

from sqlalchemy import Connection, and_, func, or_, select
from sqlalchemy.orm import Session

from common.tenancy import Role
from gateway.auth import Staff
from gateway.models import ApiKey

KEY_PREFIX = "dpk"
MAX_KEY_LENGTH = 100
MAX_GRACE_SECONDS = 24 * 3600
PRINCIPAL_PREFIX = "api-key:"


def new_key() -> tuple[str, str]:
    """A fresh key and its public prefix."""
    prefix = secrets.token_hex(4)
    return f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}", prefix


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create(session: Session, tenant: str, name: str, created_by: str) -> tuple[ApiKey, str]:
    key, prefix = new_key()
    row = ApiKey(id=uuid.uuid4(), tenant_code=tenant, name=name, prefix=prefix, key_hash=key_hash(key))
    row.created_by = created_by
    session.add(row)
    session.flush()
    return row, key


def rotate(session: Session, row: ApiKey, grace_seconds: int = 0) -> str:
    key, prefix = new_key()
    if grace_seconds > 0:
        row.previous_hash = row.key_hash
        row.previous_valid_until = func.now() + timedelta(seconds=min(grace_seconds, MAX_GRACE_SECONDS))
    else:
        row.previous_hash = None
        row.previous_valid_until = None
    row.key_hash = key_hash(key)
    row.prefix = prefix
    row.rotated_at = func.now()
    session.flush()
    return key


def revoke(session: Session, row: ApiKey) -> None:
    row.revoked_at = func.now()
    row.previous_hash = None
    row.previous_valid_until = None
    session.flush()


def principal(conn: Connection, key: str) -> Staff | None:
    """The agency principal an API key stands for, or None for an unknown, revoked or retired key."""
    if not key.startswith(f"{KEY_PREFIX}_") or len(key) > MAX_KEY_LENGTH:
        return None
    digest = key_hash(key)
    row = conn.execute(
        select(ApiKey.id, ApiKey.tenant_code).where(
            ApiKey.revoked_at.is_(None),
            or_(
                ApiKey.key_hash == digest,
                and_(ApiKey.previous_hash == digest, ApiKey.previous_valid_until > func.now()),
            ),
        )
    ).first()
    if row is None:
        return None
    return Staff(
        username=f"{PRINCIPAL_PREFIX}{row.id}",
        tenant=row.tenant_code,
        roles=frozenset({Role.AGENCY_LIAISON}),
        kind="api_key",
    )
