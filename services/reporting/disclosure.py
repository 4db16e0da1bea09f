"""消费投诉信息公示 (issue 19): the public figures of a unit's subtree over the last 12 months, from
the read model. No person's data: businesses by name and credit code only (a business without a
credit code may be a person trading under their own name, so it is never listed), units by name.
Refused and withdrawn complaints are left out of every figure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

WINDOW = timedelta(days=365)
TOP_CATEGORIES = 3

# one row per complaint of the subtree that counts: not refused, not withdrawn, with its close time
_CASES = """
WITH cases AS (
    SELECT f.complaint_id, f.unit_code, split_part(f.business_key, '|', 1) AS credit_code, f.business_name,
           f.category, f.received_at, f.decision, f.accepted_at, f.settle_first, f.settle_first_on_time,
           f.acceptance_met, f.status,
           CASE WHEN f.settle_first = 'settled' THEN f.closed_at ELSE e.last_end END AS closed_at,
           (f.settle_first = 'settled' OR e.agreed) AS settled_or_agreed,
           CASE WHEN f.settle_first = 'settled' THEN f.closed_at ELSE f.accepted_at END AS taken_at
    FROM reporting.complaint_facts f
    LEFT JOIN LATERAL (
        SELECT max(m.ended_at) AS last_end, bool_or(m.outcome = 'agreement') AS agreed,
               bool_or(m.outcome = 'withdrawn') AS withdrawn
        FROM reporting.mediation_endings m WHERE m.complaint_id = f.complaint_id
    ) e ON true
    WHERE f.unit_code LIKE :prefix
      AND f.received_at >= :since
      AND coalesce(f.decision, '') <> 'refused'
      AND f.status NOT IN ('refused', 'withdrawn')
      AND NOT coalesce(e.withdrawn, false)
)
"""

_BUSINESSES = (
    _CASES
    + """
SELECT credit_code, max(business_name) AS name,
       count(*) FILTER (WHERE taken_at IS NOT NULL) AS accepted,
       count(*) FILTER (WHERE settled_or_agreed) AS settled_or_agreed,
       count(*) FILTER (WHERE settle_first IS NOT NULL) AS settle_first_cases,
       count(*) FILTER (WHERE settle_first_on_time) AS settle_first_on_time,
       avg(extract(epoch FROM closed_at - received_at) / 86400) FILTER (WHERE closed_at IS NOT NULL) AS days,
       array_agg(category) FILTER (WHERE taken_at IS NOT NULL AND category IS NOT NULL) AS categories
FROM cases
WHERE credit_code <> '' AND (:credit_code = '' OR credit_code = :credit_code)
GROUP BY credit_code
HAVING count(*) FILTER (WHERE taken_at IS NOT NULL) >= :minimum
ORDER BY accepted DESC, credit_code
LIMIT 500
"""
)

_UNITS = (
    _CASES
    + """
SELECT c.unit_code AS code, max(u.name) AS name, count(*) AS received,
       count(*) FILTER (WHERE taken_at IS NOT NULL) AS accepted,
       count(*) FILTER (WHERE settled_or_agreed) AS settled_or_agreed,
       count(*) FILTER (WHERE acceptance_met IS NOT NULL) AS decided_clocks,
       count(*) FILTER (WHERE acceptance_met) AS on_time
FROM cases c LEFT JOIN reporting.units u ON u.code = c.unit_code
GROUP BY c.unit_code ORDER BY c.unit_code
"""
)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _top(categories: list[str] | None) -> list[dict[str, Any]]:
    counts: dict[str, int] = {}
    for code in categories or []:
        counts[code] = counts.get(code, 0) + 1
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP_CATEGORIES]
    return [{"category": code, "count": n} for code, n in ranked]


def figures(
    session: Session, unit_code: str, min_accepted: int, credit_code: str | None = None, now: datetime | None = None
) -> dict[str, Any]:
    since = (now or datetime.now(UTC)) - WINDOW
    params = {"prefix": unit_code + "%", "since": since}
    rows = session.execute(
        text(_BUSINESSES), {**params, "minimum": min_accepted, "credit_code": credit_code or ""}
    ).mappings()
    businesses = [
        {
            "name": row["name"],
            "credit_code": row["credit_code"],
            "accepted": row["accepted"],
            "settled_or_agreed": row["settled_or_agreed"],
            "settle_first": {"cases": row["settle_first_cases"], "answered_on_time": row["settle_first_on_time"]},
            "average_days_to_close": round(float(row["days"]), 1) if row["days"] is not None else None,
            "top_categories": _top(row["categories"]),
        }
        for row in rows
    ]
    units = [
        {
            "code": row["code"],
            "name": row["name"],
            "received": row["received"],
            "accepted": row["accepted"],
            "settled_or_agreed": row["settled_or_agreed"],
            "on_time_rate": _rate(row["on_time"], row["decided_clocks"]),
        }
        for row in session.execute(text(_UNITS), params).mappings()
    ]
    return {"since": since.date().isoformat(), "min_accepted": min_accepted, "businesses": businesses, "units": units}
