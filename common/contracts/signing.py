"""How the platform signs what it posts to agencies' systems and SMS providers, and how a receiver
checks it: a contract between notification (which signs), the gateway (which names the headers in
its answers and reads them on delivery reports) and every receiver.

`X-Disputes-Timestamp` (unix seconds) and `X-Disputes-Signature: sha256=<hex HMAC-SHA256(secret,
timestamp + "." + body)>`; a receiver recomputes it and refuses a timestamp outside its replay window
(`verify_signature`). `X-Disputes-Message-Id` lets it drop a retried delivery it already has.
"""

from __future__ import annotations

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "X-Disputes-Timestamp"
SIGNATURE_HEADER = "X-Disputes-Signature"
MESSAGE_ID_HEADER = "X-Disputes-Message-Id"
REPLAY_WINDOW_SECONDS = 300


def sign(secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(
    secret: str,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    *,
    now: float | None = None,
    window: int = REPLAY_WINDOW_SECONDS,
) -> bool:
    """What a receiver checks: a fresh timestamp (within `window` seconds either way) and the HMAC."""
    if not timestamp or not signature or not timestamp.isdigit():
        return False
    current = now if now is not None else time.time()
    if abs(current - int(timestamp)) > window:
        return False
    return hmac.compare_digest(sign(secret, body, int(timestamp)), signature)
