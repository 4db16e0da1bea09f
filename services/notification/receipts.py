"""SMS delivery reports: the provider's signed callback saying whether a handset got a message.

The provider POSTs `{"receipts": [{"message_id", "status", "at"?, "error"?}, ...]}` to the gateway
(`POST /api/v1/notification/sms-receipts`), signed like the messages it receives from us (HMAC with
`SMS_SECRET`, channels.py). `message_id` is the id we sent it with the message; `status` is
`delivered` or `failed`; `at` (ISO 8601 with offset) when the handset got it or the provider gave
up; `error` the provider's reason code. What a receipt does to a message depends only on the
message's state (`outcome`), so a provider repeating a report changes nothing.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from common.bounds import window_problem
from common.errors import InvalidInput

DELIVERED, FAILED = "delivered", "failed"
UNCHANGED, IGNORED, UNKNOWN = "unchanged", "ignored", "unknown"
MAX_RECEIPTS = 500
MAX_ERROR_CHARS = 200
CLOCK_SKEW = timedelta(minutes=5)  # a report may not be dated later than this ahead of our clock
FIELDS = ("message_id", "status", "at", "error")


@dataclass(frozen=True)
class Receipt:
    message_id: uuid.UUID
    status: str
    at: datetime | None
    error: str | None


def parse(body: str, now: datetime) -> list[Receipt]:
    """The receipts of a report body, or InvalidInput naming every field that is wrong."""
    try:
        document = json.loads(body)
    except ValueError:
        raise InvalidInput.one("body", "the body is not valid JSON") from None
    items = document.get("receipts") if isinstance(document, dict) else None
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_RECEIPTS:
        raise InvalidInput.one("receipts", f"expected a list of 1 to {MAX_RECEIPTS} receipts")
    problems: list[dict[str, str]] = []
    receipts = []
    for index, item in enumerate(items):
        found = _receipt(item, now)
        if isinstance(found, Receipt):
            receipts.append(found)
        else:
            problems += [
                {"field": f"receipts[{index}]" + (f".{field}" if field else ""), "message": message}
                for field, message in found
            ]
    if problems:
        raise InvalidInput(problems)
    return receipts


def _receipt(item: Any, now: datetime) -> Receipt | list[tuple[str, str]]:
    if not isinstance(item, dict):
        return [("", "expected an object")]
    problems = [(key, "unknown field; known: " + ", ".join(FIELDS)) for key in item if key not in FIELDS]
    try:
        message_id = uuid.UUID(str(item.get("message_id")))
    except ValueError:
        message_id = None
        problems.append(("message_id", "expected the message_id we sent with the message"))
    status = item.get("status")
    if status not in (DELIVERED, FAILED):
        problems.append(("status", f'expected "{DELIVERED}" or "{FAILED}"'))
    at = None
    if item.get("at") is not None:
        try:
            at = datetime.fromisoformat(str(item["at"]))
        except ValueError:
            problems.append(("at", "expected an ISO 8601 time with its offset, e.g. 2026-11-22T09:30:00+08:00"))
        else:
            if at.tzinfo is None:
                problems.append(("at", "give the offset, e.g. +08:00"))
            elif at > now + CLOCK_SKEW:
                problems.append(("at", "lies in the future"))
            elif problem := window_problem(at.date()):  # year 1 is stored, but not read back
                problems.append(("at", problem))
    error = item.get("error")
    if error is not None and not (isinstance(error, str) and len(error) <= MAX_ERROR_CHARS):
        problems.append(("error", f"expected text of at most {MAX_ERROR_CHARS} characters"))
    if problems:
        return problems
    return Receipt(message_id=message_id, status=status, at=at, error=error or None)


def outcome(state: str, status: str) -> str:
    """What a receipt does to a message in `state`: its new state (`delivered` or `failed`),
    `unchanged` when it is in that state already, or `ignored` when it was delivered (final: the
    handset had it). `delivered` also wins over `failed`, which may have been our giving up on an
    answer that timed out while the provider had the message."""
    if state == status:
        return UNCHANGED
    if state == DELIVERED:
        return IGNORED
    return status
