"""Staff identity: password hashes, bearer tokens, and the scope a token grants."""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from common.tenancy import Scope
from gateway.models import User

_hasher = PasswordHasher()
# verifying against this keeps an unknown username as slow as a wrong password
_DUMMY_HASH = _hasher.hash("no such user")


class InvalidCredentials(Exception):
    pass


class InvalidToken(Exception):
    pass


@dataclass(frozen=True)
class Staff:
    username: str
    tenant: str
    roles: frozenset[str]

    @property
    def scope(self) -> Scope:
        return Scope(unit=self.tenant, user=self.username, roles=self.roles)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def authenticate(session: Session, username: str, password: str) -> Staff:
    user = session.scalar(select(User).where(User.username == username))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError) as exc:
        raise InvalidCredentials from exc
    if user is None or user.disabled:
        raise InvalidCredentials
    return Staff(username=user.username, tenant=user.tenant_code, roles=frozenset(user.roles))


def issue_token(staff: Staff, secret: str, ttl_seconds: int) -> str:
    now = int(time.time())
    claims = {
        "sub": staff.username,
        "tenant": staff.tenant,
        "roles": sorted(staff.roles),
        "iat": now,
        "exp": now + ttl_seconds,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def read_token(token: str, secret: str) -> Staff:
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["sub", "tenant", "exp"]})
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    return Staff(username=claims["sub"], tenant=claims["tenant"], roles=frozenset(claims.get("roles", [])))
