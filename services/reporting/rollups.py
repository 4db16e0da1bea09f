"""What each complaint contributes to the daily rollups: pure functions, no I/O.

A contribution is (unit, day, metric, key, n, amount). It is added to the unit's row and to the rows
of its township and city (`expand`), so the figures of a subtree are the rows of its root unit.
Handlers write contributions at their own unit only (`net`, as rollup deltas); `folding.fold` does
the expansion in SQL, a batch at a time, so no two handlers update the same city or township row.

Two kinds:

- **fact contributions** (`fact_contributions`) depend on what is known about the complaint as a
  whole (its current unit, status, times of receipt and decision, mediation endings). When an
  event changes that knowledge, the handler takes the contributions before and after and writes
  only the difference (`difference`): a case that moves from a village to its township leaves the
  village's volumes and enters the township's; events arriving in any order give the same rows once
  all have arrived.
- **event contributions** belong to one event and never change (a decision, an ending, an
  escalation, a call-back, a warning, a clock stopped in time or late): the handler adds them once
  (the inbox makes that once).

Metrics and keys are listed in docs/reporting.md.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from common import reference
from common.workdays import local_date

ZERO = Decimal(0)

# duration buckets, upper bounds in hours: percentiles are read to the bucket (docs/reporting.md)
DURATION_BUCKETS_HOURS: tuple[int, ...] = (
    1, 2, 4, 8, 12, 24, 36, 48, 72, 96, 120, 168, 240, 336, 480, 720, 1080, 1440, 2160, 4320,
)  # fmt: skip
OVERFLOW_BUCKET = "inf"

# the clocks whose on-time rate is counted (common/reference.py: intake's case list drills into them)
REPORTED_CLOCKS = reference.REPORTED_CLOCKS


@dataclass(frozen=True)
class Contribution:
    unit: str
    day: date
    metric: str
    key: str = ""
    n: int = 1
    amount: Decimal = ZERO


@dataclass(frozen=True)
class Ending:
    unit: str
    outcome: str
    ended_at: datetime


@dataclass(frozen=True)
class FactState:
    """A snapshot of what is known about one complaint (a `ComplaintFact` row without personal data)."""

    received_at: datetime | None = None
    channel: str | None = None
    category: str | None = None
    claim_amount: Decimal | None = None
    unit_code: str | None = None
    tier: str | None = None
    status: str | None = None
    business_key: str | None = None
    accepted_at: datetime | None = None
    decided_at: datetime | None = None
    decided_unit: str | None = None
    endings: tuple[Ending, ...] = field(default_factory=tuple)


def tier_of(code: str) -> str:
    return {6: "city", 9: "township", 12: "village"}.get(len(code), "unknown")


def ancestors(code: str) -> list[str]:
    """The unit itself and every unit above it within its city: `330681109290` -> city, township, village."""
    return [code[:length] for length in (6, 9, 12) if length <= len(code)]


def parent_of(code: str) -> str | None:
    return code[:-3] if len(code) > 6 else None


def duration_bucket(seconds: float) -> str:
    """The smallest bucket bound (hours) that holds `seconds`, as its key."""
    hours = max(seconds, 0) / 3600
    index = bisect.bisect_left(DURATION_BUCKETS_HOURS, hours)
    return str(DURATION_BUCKETS_HOURS[index]) if index < len(DURATION_BUCKETS_HOURS) else OVERFLOW_BUCKET


def on_time(met: bool) -> str:
    return "met" if met else "missed"


def month_start(day: date) -> date:
    return day.replace(day=1)


def fact_contributions(fact: FactState) -> list[Contribution]:
    out: list[Contribution] = []
    if fact.unit_code and fact.received_at is not None:
        unit, day = fact.unit_code, local_date(fact.received_at)
        out.append(Contribution(unit, day, "volume", "total", 1, fact.claim_amount or ZERO))
        for metric, key in (
            ("channel", fact.channel),
            ("category", fact.category),
            ("status", fact.status),
            ("tier", fact.tier),
        ):
            if key:
                out.append(Contribution(unit, day, metric, key))
        if fact.business_key:
            out.append(Contribution(unit, month_start(day), "business", fact.business_key))
    if fact.decided_at is not None and fact.received_at is not None and fact.decided_unit:
        day = local_date(fact.decided_at)
        seconds = (fact.decided_at - fact.received_at).total_seconds()
        out.append(
            Contribution(fact.decided_unit, day, "duration:decision", duration_bucket(seconds), 1, _seconds(seconds))
        )
    if fact.accepted_at is not None:
        for ending in fact.endings:
            seconds = (ending.ended_at - fact.accepted_at).total_seconds()
            if seconds >= 0:
                out.append(
                    Contribution(
                        ending.unit,
                        local_date(ending.ended_at),
                        "duration:mediation",
                        duration_bucket(seconds),
                        1,
                        _seconds(seconds),
                    )
                )
    return out


def _seconds(seconds: float) -> Decimal:
    return Decimal(round(seconds))


Key = tuple[str, date, str, str]


def expand(contributions: Iterable[Contribution], sign: int = 1) -> dict[Key, tuple[int, Decimal]]:
    """Each contribution added to its unit and the units above it, summed per row."""
    rows: dict[Key, list] = defaultdict(lambda: [0, ZERO])
    for c in contributions:
        for unit in ancestors(c.unit):
            row = rows[(unit, c.day, c.metric, c.key)]
            row[0] += sign * c.n
            row[1] += sign * c.amount
    return {key: (n, amount) for key, (n, amount) in rows.items()}


def net(before: Iterable[Contribution], after: Iterable[Contribution]) -> dict[Key, tuple[int, Decimal]]:
    """`after` minus `before` at each contribution's own unit (not expanded), zero rows left out:
    what a handler appends as rollup deltas. `expand`ing the result gives `difference`."""
    total: dict[Key, list] = defaultdict(lambda: [0, ZERO])
    for contributions, sign in ((before, -1), (after, 1)):
        for c in contributions:
            row = total[(c.unit, c.day, c.metric, c.key)]
            row[0] += sign * c.n
            row[1] += sign * c.amount
    return {key: (n, amount) for key, (n, amount) in total.items() if n or amount}


def expand_rows(rows: dict[Key, tuple[int, Decimal]]) -> dict[Key, tuple[int, Decimal]]:
    """Rows at their own unit added to the unit and the units above it (what `folding.fold` does in
    SQL); zero rows left out."""
    total: dict[Key, list] = defaultdict(lambda: [0, ZERO])
    for (unit, day, metric, key), (n, amount) in rows.items():
        for above in ancestors(unit):
            row = total[(above, day, metric, key)]
            row[0] += n
            row[1] += amount
    return {key: (n, amount) for key, (n, amount) in total.items() if n or amount}


def difference(before: Iterable[Contribution], after: Iterable[Contribution]) -> dict[Key, tuple[int, Decimal]]:
    """The rows to add so that `before`'s rows become `after`'s; unchanged rows are left out."""
    total: dict[Key, list] = defaultdict(lambda: [0, ZERO])
    for rows in (expand(before, -1), expand(after, 1)):
        for key, (n, amount) in rows.items():
            total[key][0] += n
            total[key][1] += amount
    return {key: (n, amount) for key, (n, amount) in total.items() if n or amount}


def percentile(histogram: dict[str, int], share: float) -> float | None:
    """The bucket bound (hours) under which `share` of the durations lie; None without any. The
    overflow bucket answers the largest bound (a lower limit)."""
    total = sum(histogram.values())
    if total <= 0:
        return None
    wanted = share * total
    seen = 0
    for bound in (*map(str, DURATION_BUCKETS_HOURS), OVERFLOW_BUCKET):
        seen += histogram.get(bound, 0)
        if seen >= wanted:
            return float(DURATION_BUCKETS_HOURS[-1] if bound == OVERFLOW_BUCKET else bound)
    return float(DURATION_BUCKETS_HOURS[-1])
