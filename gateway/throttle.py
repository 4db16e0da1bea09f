"""Login throttling, shared by every gateway process through the identity schema.

Each attempt is recorded *before* its password is checked and committed at once; the attempt then
counts the other recorded attempts of its username and of its client address in the window. Since
every attempt counts all attempts committed before its own count, at most `limit` attempts can get
through to the password check however many arrive at once, in however many processes. A refused
attempt removes its record (waiting out the lock does not extend it), a failed one keeps it, a
successful login removes every record of its username (the address keeps its count).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine, delete, func, insert, select

from common.config import Settings
from gateway.identity import retry_after
from gateway.models import LoginAttempt


@dataclass(frozen=True)
class Limits:
    window_seconds: int = 900
    per_username: int = 5
    per_ip: int = 20

    @classmethod
    def from_settings(cls, config: Settings) -> Limits:
        return cls(
            window_seconds=config.login_window_seconds,
            per_username=config.login_failures_per_username,
            per_ip=config.login_failures_per_ip,
        )


class Throttled(Exception):
    def __init__(self, retry_after: int, reason: str) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        self.reason = reason


def reserve(engine: Engine, username: str, client_ip: str, limits: Limits) -> int:
    """Record an attempt and return its id, or raise Throttled when too many failed recently."""
    with engine.begin() as conn:
        attempt = conn.execute(
            insert(LoginAttempt).values(username=username, client_ip=client_ip).returning(LoginAttempt.id)
        ).scalar_one()
    with engine.begin() as conn:
        now = conn.execute(select(func.now())).scalar_one()
        since = now - timedelta(seconds=limits.window_seconds)
        others = select(LoginAttempt.at).where(LoginAttempt.at > since, LoginAttempt.id != attempt)
        newest_first = LoginAttempt.at.desc()
        by_username = conn.scalars(
            others.where(LoginAttempt.username == username).order_by(newest_first).limit(limits.per_username)
        ).all()
        by_ip = conn.scalars(
            others.where(LoginAttempt.client_ip == client_ip).order_by(newest_first).limit(limits.per_ip)
        ).all()
        waits = {
            "username": retry_after(by_username, limits.per_username, limits.window_seconds, now),
            "ip": retry_after(by_ip, limits.per_ip, limits.window_seconds, now),
        }
        refused = {reason: wait for reason, wait in waits.items() if wait is not None}
        if refused:
            conn.execute(delete(LoginAttempt).where(LoginAttempt.id == attempt))
    if refused:
        reason = max(refused, key=lambda r: refused[r])
        raise Throttled(refused[reason], reason)
    return attempt


def failed(engine: Engine, limits: Limits) -> None:
    """The attempt's record stays as a failure; prune what has left the window."""
    with engine.begin() as conn:
        since = func.now() - timedelta(seconds=limits.window_seconds)
        conn.execute(delete(LoginAttempt).where(LoginAttempt.at < since))


def succeeded(engine: Engine, username: str) -> None:
    """A successful login resets its username's count."""
    with engine.begin() as conn:
        conn.execute(delete(LoginAttempt).where(LoginAttempt.username == username))
