"""Refresh tokens: opaque random strings, stored as their sha256, rotated on every use.

A login starts a family; each refresh marks the presented token rotated and issues the next one in
the same family. A rotated token presented again means someone kept a copy: the whole family is
revoked, so both the thief and the owner have to log in again. Each token also carries the user's
token version, so disabling a user or changing a password ends every family at once.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.orm import Session

from gateway.auth import Staff, staff_of
from gateway.models import RefreshToken, User


class RefreshRefused(Exception):
    pass


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(session: Session, staff: Staff, ttl_seconds: int, family_id: uuid.UUID | None = None) -> str:
    """A new refresh token for `staff` (a new family unless one is given); flushed, not committed."""
    token = secrets.token_urlsafe(32)
    session.add(
        RefreshToken(
            token_hash=token_hash(token),
            family_id=family_id or uuid.uuid4(),
            username=staff.username,
            token_version=staff.version,
            expires_at=func.now() + timedelta(seconds=ttl_seconds),
        )
    )
    if family_id is None:
        # a login is a good moment to forget this user's long-expired tokens
        session.execute(
            delete(RefreshToken).where(
                RefreshToken.username == staff.username, RefreshToken.expires_at < func.now() - timedelta(days=1)
            )
        )
    session.flush()
    return token


def rotate(engine: Engine, token: str, ttl_seconds: int) -> tuple[Staff, str]:
    """Exchange a refresh token for the user and the next token of its family, or RefreshRefused."""
    with Session(engine) as session:
        try:
            with session.begin():
                return _rotate(session, token, ttl_seconds)
        except _Refused as refused:
            if refused.family_id is not None:
                # the refusal itself must stick: revoke in a transaction of its own
                with session.begin():
                    _revoke_family(session, refused.family_id)
            raise RefreshRefused(str(refused)) from None


class _Refused(Exception):
    def __init__(self, message: str, family_id: uuid.UUID | None = None) -> None:
        super().__init__(message)
        self.family_id = family_id


def _rotate(session: Session, token: str, ttl_seconds: int) -> tuple[Staff, str]:
    row = session.scalar(select(RefreshToken).where(RefreshToken.token_hash == token_hash(token)).with_for_update())
    if row is None:
        raise _Refused("the refresh token is unknown")
    if row.revoked_at is not None:
        raise _Refused("the refresh token was revoked")
    if row.rotated_at is not None:
        raise _Refused("the refresh token was already used; its session is revoked for safety", row.family_id)
    now = session.scalar(select(func.now()))
    if row.expires_at <= now:
        raise _Refused("the refresh token has expired")
    user = session.get(User, row.username)
    if user is None or user.disabled or user.token_version != row.token_version:
        raise _Refused("the session was revoked", row.family_id)
    row.rotated_at = now
    staff = staff_of(user)
    return staff, issue(session, staff, ttl_seconds, family_id=row.family_id)


def logout(engine: Engine, token: str, *, everywhere: bool = False) -> None:
    """Revoke the session (family) of a refresh token; with `everywhere` and a token still usable,
    every session of its user. An unknown token is not an error: the caller is logged out anyway."""
    with Session(engine) as session, session.begin():
        row = session.scalar(select(RefreshToken).where(RefreshToken.token_hash == token_hash(token)))
        if row is None:
            return
        now = session.scalar(select(func.now()))
        usable = row.revoked_at is None and row.rotated_at is None and row.expires_at > now
        username, family_id = row.username, row.family_id
        _revoke_family(session, family_id)
        if everywhere and usable:
            revoke_user(session, username)


def revoke_user(session: Session, username: str) -> None:
    """End every session of a user: bump the token version (access tokens) and revoke every
    refresh token. Part of the caller's transaction."""
    session.execute(update(User).where(User.username == username).values(token_version=User.token_version + 1))
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.username == username, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )


def _revoke_family(session: Session, family_id: uuid.UUID) -> None:
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )
