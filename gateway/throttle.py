"""Login throttling, shared by every gateway process through the identity schema.

Two limits, so that a stranger cannot lock the owner out: failures of one username *from one client
address* cost a growing delay (`identity.growing_delay`), and failures from one address, whatever
the usernames, a lock of the window (`identity.retry_after`). Failures from elsewhere never stop the
owner at their own address.

Each attempt is recorded *before* its password is checked and committed at once; the attempt then
counts the other recorded attempts of its username and address, and of its address, in the window.
Since every attempt counts all attempts committed before its own count, at most `per_username`
attempts (of a pair) can get through to the password check however many arrive at once, in however
many processes. A refused attempt removes its record (waiting does not extend the delay), a failed
one keeps it, a successful login removes the records of its username from its address (the address
keeps its count).

The client address is the TCP peer, or, when the peer is a proxy named in `FORWARDED_ALLOW_IPS`,
the rightmost address in `X-Forwarded-For` that is not such a proxy (`client_address`): entries to
its left were written by the client itself and prove nothing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine, delete, func, insert, select
from starlette.requests import Request

from common.config import GatewaySettings
from gateway.identity import growing_delay, retry_after
from gateway.models import LoginAttempt

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Limits:
    window_seconds: int = 900
    per_username: int = 5  # failures of a username from one address before the delay starts
    per_ip: int = 20
    first_delay_seconds: int = 30

    @classmethod
    def from_settings(cls, config: GatewaySettings) -> Limits:
        return cls(
            window_seconds=config.login_window_seconds,
            per_username=config.login_failures_per_username,
            per_ip=config.login_failures_per_ip,
            first_delay_seconds=config.login_delay_seconds,
        )


def trusted_proxies(setting: str) -> tuple[Network, ...]:
    """`FORWARDED_ALLOW_IPS`: addresses or networks, comma-separated (empty: no proxy)."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in setting.split(",") if part.strip())


def _is_proxy(address: str, proxies: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def forwarded_client(peer: str, forwarded_for: str | None, proxies: Sequence[Network]) -> str:
    """The client's address: the peer, unless it is a trusted proxy; then the rightmost entry of
    X-Forwarded-For that is no trusted proxy (each proxy appends the address it got the request
    from, so everything left of that entry is the client's own word)."""
    if not forwarded_for or not _is_proxy(peer, proxies):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_proxy(hop, proxies):
            return hop[:45]  # an IPv6 address is at most 45 characters; the column is 64
    return hops[0] if hops else peer


def client_address(request: Request) -> str:
    peer = request.client.host if request.client else "unknown"
    return forwarded_client(peer, request.headers.get("x-forwarded-for"), request.app.state.proxies)


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
        from_ip = select(LoginAttempt.at).where(
            LoginAttempt.at > since, LoginAttempt.id != attempt, LoginAttempt.client_ip == client_ip
        )
        by_pair = conn.scalars(from_ip.where(LoginAttempt.username == username)).all()
        by_ip = conn.scalars(from_ip.order_by(LoginAttempt.at.desc()).limit(limits.per_ip)).all()
        waits = {
            "username": growing_delay(
                by_pair, limits.per_username, limits.first_delay_seconds, limits.window_seconds, now
            ),
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


def succeeded(engine: Engine, username: str, client_ip: str) -> None:
    """A successful login resets the count of its username from its address."""
    with engine.begin() as conn:
        conn.execute(delete(LoginAttempt).where(LoginAttempt.username == username, LoginAttempt.client_ip == client_ip))
