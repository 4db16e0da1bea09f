"""What input the platform takes at all, whatever the field: dates a tenant's case can plausibly
carry, and text without control characters. The gateway checks every request with these (its query
and path types, the pydantic input models, and `gateway.plain_text` for every string); services
use the same checks for what they parse themselves.

A date outside the window is no case's date, and some are not even storable: PostgreSQL keeps
`9999-12-31T23:59:59-12:00`, but it is year 10000 in UTC and Python cannot read it back.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

EARLIEST = date(2000, 1, 1)
YEARS_AHEAD = 10

# C0 controls (NUL among them) and DEL, but tab, line feed and carriage return, which free text
# (a summary, minutes) may hold; and lone UTF-16 surrogates, which no UTF-8 text can store
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def latest(today: date | None = None) -> date:
    """The last day the window takes: ten years from today (29 February falls back a day)."""
    today = today or datetime.now(UTC).date()
    try:
        return today.replace(year=today.year + YEARS_AHEAD)
    except ValueError:
        return today.replace(year=today.year + YEARS_AHEAD, day=28)


def window_problem(day: date) -> str | None:
    """Why `day` is no plausible date of a case, or None."""
    last = latest()
    if not EARLIEST <= day <= last:
        return f"must lie between {EARLIEST.isoformat()} and {last.isoformat()}"
    return None


def _check_date(value: date) -> date:
    problem = window_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _check_datetime(value: datetime) -> datetime:
    # the calendar day as written: an offset moves the instant by less than a day, and the window's
    # edges are far from any real case
    problem = window_problem(value.date())
    if problem:
        raise ValueError(problem)
    return value


def _check_month(value: str) -> str:
    """`YYYY-MM` of a month the window touches."""
    try:
        first = date(int(value[:4]), int(value[5:7]), 1)
    except ValueError:
        raise ValueError("is not a month (YYYY-MM)") from None
    if window_problem(first) and window_problem(first.replace(day=28)):
        raise ValueError(f"must lie between {EARLIEST:%Y-%m} and {latest():%Y-%m}")
    return value


PlausibleDate = Annotated[date, AfterValidator(_check_date)]
PlausibleMonth = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}$"), AfterValidator(_check_month)]
PlausibleDatetime = Annotated[datetime, AfterValidator(_check_datetime)]


def control_character(text: str) -> str | None:
    """The first control character in `text` as `U+XXXX`, or None."""
    found = _CONTROL.search(text)
    return f"U+{ord(found.group()):04X}" if found else None


def control_character_problem(text: str) -> str | None:
    found = control_character(text)
    return f"contains a control character ({found}); remove it" if found else None
