"""Notification's own per-tenant settings, inherited down the tree, and quiet hours.

Routing's tenant settings (`routing.effective_settings`) have no quiet hours and forbid unknown
keys, and calling routing for every SMS would tie delivery to routing's availability; so
notification keeps its own small settings per tenant (`notification.tenant_settings`), with the
same inheritance: defaults <- city <- township <- village (<- an agency's own).

- `quiet_hours`: `HH:MM-HH:MM` local time (Asia/Shanghai) or `off`; default `SMS_QUIET_HOURS`
  (itself default `21:00-08:00`). SMS waits for the end of the window unless time-critical.
- `webhook_url`: an agency's webhook; default `WEBHOOK_URL` (`{tenant}` is replaced).
- `webhook_secret`: an agency's own signing secret (never shown back); default `WEBHOOK_SECRET`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime, time, timedelta
from typing import Any

from common.config import TenantDefaults
from common.errors import InvalidInput
from common.tenancy import parse_tenant
from services.notification.planning import LOCAL_TZ

QUIET = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
KEYS = ("quiet_hours", "webhook_url", "webhook_secret")
URL = re.compile(r"^https?://[^\s]{3,500}$")


def defaults() -> dict[str, Any]:
    config = TenantDefaults()
    return {
        "quiet_hours": config.sms_quiet_hours or "off",
        "webhook_url": config.webhook_url,
        "webhook_secret": None,
    }


def chain(tenant: str | None) -> list[str]:
    """The tenants whose settings apply to `tenant`, from the top: `330681109290` ->
    [`330681`, `330681109`, `330681109290`]; `330681109-police` -> [`330681`, `330681109`, `330681109-police`].
    Codes of places below a city that are no tenants simply have no rows."""
    if not tenant:
        return []
    parsed = parse_tenant(tenant)
    if parsed is None:
        return []
    unit, agency = parsed
    codes = [unit[:n] for n in (6, 9, 12) if len(unit) >= n]
    return codes + ([tenant] if agency else [])


def effective(rows: Mapping[str, Mapping[str, Any]], tenant: str | None) -> dict[str, Any]:
    merged = defaults()
    for code in chain(tenant):
        merged.update({k: v for k, v in (rows.get(code) or {}).items() if k in KEYS})
    if merged.get("webhook_url") and tenant:
        merged["webhook_url"] = merged["webhook_url"].replace("{tenant}", tenant)
    return merged


def validate(patch: Any) -> dict[str, Any]:
    """A JSON merge patch of a tenant's own settings: values checked, null removes."""
    if not isinstance(patch, dict):
        raise InvalidInput.one("settings", "expected an object")
    problems = []
    for key, value in patch.items():
        if key not in KEYS:
            problems.append({"field": key, "message": "unknown setting; known: " + ", ".join(KEYS)})
        elif value is None:
            continue
        elif key == "quiet_hours" and not (value == "off" or (isinstance(value, str) and QUIET.match(value))):
            problems.append({"field": key, "message": 'expected "HH:MM-HH:MM" (local time) or "off"'})
        elif key == "webhook_url" and not (isinstance(value, str) and URL.match(value)):
            problems.append({"field": key, "message": "expected an http(s) URL"})
        elif key == "webhook_secret" and not (isinstance(value, str) and 16 <= len(value) <= 200):
            problems.append({"field": key, "message": "16 to 200 characters"})
    if problems:
        raise InvalidInput(problems)
    return patch


def merge(own: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    result = dict(own)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def public(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Settings as an API shows them: a secret only as whether one is set."""
    shown = {k: v for k, v in settings.items() if k != "webhook_secret"}
    shown["webhook_secret_set"] = bool(settings.get("webhook_secret"))
    return shown


def quiet_window(value: str | None) -> tuple[time, time] | None:
    match = QUIET.match(value or "")
    if not match:
        return None
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = time(h1, m1), time(h2, m2)
    return None if start == end else (start, end)


def next_allowed(now: datetime, quiet: str | None) -> datetime:
    """`now` when SMS may go out now, else the end of the quiet window (local time)."""
    window = quiet_window(quiet)
    if window is None:
        return now
    start, end = window
    local = now.astimezone(LOCAL_TZ)
    t = local.time()
    inside = (start <= t < end) if start < end else (t >= start or t < end)
    if not inside:
        return now
    end_today = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if end_today <= local:
        end_today += timedelta(days=1)
    return end_today.astimezone(now.tzinfo)


def most_specific(codes: Iterable[str], tenant: str | None) -> str | None:
    """Of the tenants having something, the one nearest to `tenant` up its chain."""
    available = set(codes)
    for code in reversed(chain(tenant)):
        if code in available:
            return code
    return None
