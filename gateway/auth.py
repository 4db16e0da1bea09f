"""Staff identity: password hashes, bearer tokens, and the scope a token grants.

An access token is a short-lived JWT naming the user and the `token_version` it was issued under;
`gateway.deps.current_staff` re-reads the user on every request (a primary-key lookup), so a disabled user
or a bumped version is refused at once and role changes apply at once."""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, select
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
    version: int = 0  # the user's token_version the credentials were issued under
    kind: str = "user"  # "user" (bearer token) or "api_key"

    @property
    def scope(self) -> Scope:
        return Scope(unit=self.tenant, user=self.username, roles=self.roles)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(session: Session, username: str, password: str) -> Staff:
    """The staff member for a username and password; upgrades an outdated hash in the session."""
    user = session.scalar(select(User).where(User.username == username))
    if not verify_password(user.password_hash if user else _DUMMY_HASH, password):
        raise InvalidCredentials
    if user is None or user.disabled:
        raise InvalidCredentials
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return staff_of(user)


def staff_of(user: User) -> Staff:
    return Staff(
        username=user.username, tenant=user.tenant_code, roles=frozenset(user.roles), version=user.token_version
    )


def current_user(conn: Connection, claimed: Staff) -> Staff:
    """The user a valid token names, as the identity schema knows them now: refused when the user
    is gone, disabled, or the token predates the user's current token version."""
    row = conn.execute(
        select(User.tenant_code, User.roles, User.disabled, User.token_version).where(User.username == claimed.username)
    ).first()
    if row is None or row.disabled or row.token_version != claimed.version:
        raise InvalidToken("the user is unknown or disabled, or the token was revoked")
    return Staff(username=claimed.username, tenant=row.tenant_code, roles=frozenset(row.roles), version=claimed.version)


def issue_token(staff: Staff, secret: str, ttl_seconds: int) -> str:
    now = int(time.time())
    claims = {
        "sub": staff.username,
        "tenant": staff.tenant,
        "roles": sorted(staff.roles),
        "ver": staff.version,
        "typ": "access",
        "iat": now,
        "exp": now + ttl_seconds,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def read_token(token: str, secret: str) -> Staff:
    try:
        claims = jwt.decode(
            token, secret, algorithms=["HS256"], options={"require": ["sub", "tenant", "exp", "ver", "typ"]}
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    if claims["typ"] != "access" or not isinstance(claims["ver"], int):
        raise InvalidToken("not an access token")
    return Staff(
        username=claims["sub"],
        tenant=claims["tenant"],
        roles=frozenset(claims.get("roles", [])),
        version=claims["ver"],
    )
