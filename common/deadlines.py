"""The caller's deadline, carried with an RPC: a service never commits work its caller gave up on.

The gateway waits `RPC_TIMEOUT_SECONDS` for an answer and then tells its client 503. So that the 503
is true ("nothing was filed"), each request carries the instant the gateway gives up, twice:

- as the AMQP per-message `expiration` (gateway/rpc.py): a request still queued at that moment (the
  service is down or has a backlog) is dropped by the broker, never delivered;
- as nameko context data (`nameko.deadline`, epoch seconds): a request delivered in time but worked
  on too long is refused by `UnitOfWork.transaction` (common/db.py) just before its commit, in the
  same transaction, which then rolls back. Context data follows nested RPC calls, so a service called
  on the way honours the same deadline.

The service refuses `COMMIT_ALLOWANCE_SECONDS` before the deadline itself: the commit and the reply
must still reach the gateway while it waits, or the client would be told 503 for a stored complaint.
Only RPC workers have a deadline; event handlers and timers work on whatever they are given.
Clocks: the gateway and the services compare wall-clock time, so their hosts must keep NTP time
(a skew larger than the allowance reopens that window).
"""

from __future__ import annotations

import math
import time
from typing import Any

from common.errors import DeadlinePassed

DEADLINE_CONTEXT = "deadline"  # the context-data key (header `nameko.deadline`)
COMMIT_ALLOWANCE_SECONDS = 1.0  # the time left for the commit and the reply to reach the caller


def deadline_context(timeout: float, now: float | None = None) -> dict[str, str]:
    """The context data telling a service the caller waits `timeout` seconds from `now`."""
    return {DEADLINE_CONTEXT: f"{(time.time() if now is None else now) + timeout:.3f}"}


def deadline_from_context(data: dict[str, Any]) -> float | None:
    """The deadline a request carries (epoch seconds), or None when it carries none (or garbage: an
    unreadable deadline must not make a service refuse everything)."""
    value = data.get(DEADLINE_CONTEXT)
    if value is None:
        return None
    try:
        deadline = float(value)
    except (TypeError, ValueError):
        return None
    return deadline if math.isfinite(deadline) else None


def check(deadline: float | None, now: float | None = None) -> None:
    """Raise DeadlinePassed when too little time is left before `deadline` to commit and answer."""
    if deadline is None:
        return
    left = deadline - (time.time() if now is None else now)
    if left < COMMIT_ALLOWANCE_SECONDS:
        raise DeadlinePassed(
            f"{left:.1f} s were left before the caller's deadline, {COMMIT_ALLOWANCE_SECONDS} s are needed to "
            "commit and answer; nothing was stored"
        )
