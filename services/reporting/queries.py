"""The figures of a unit's subtree over a period, read from the daily rollups (docs/reporting.md).

`read_figures` runs three small queries (the unit's own rows, its children's rows for the per-unit
figures, the top businesses); `assemble` turns rows into figures and is pure, so the definitions
are tested without a database.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, false, func, literal, or_, select, true, union_all
from sqlalchemy.orm import Session

from common.errors import InvalidInput
from services.reporting import rollups
from services.reporting.models import DailyRollup, MonthlyRollup, UnitName

ESCALATION_LINE = 0.10  # townships are rewarded when escalations stay at or under this share (seed 004)
CLOCKS = ("acknowledgement", "acceptance", "mediation", "end_notice", "tier_target")
DURATIONS = ("decision", "mediation")
# mediation endings that count in the success rate's denominator: the ones where mediation was tried
# and could have reached an agreement (consent refused and withdrawn are not: docs/reporting.md)
MEDIATED_OUTCOMES = ("agreement", "failed", "expired", "agreement_breached")
TOP = 10
# what the per-unit figures read of each child unit (a list, so the index finds them)
CHILD_METRICS = (
    "volume",
    "arrived",
    *(f"clock:{clock}" for clock in CLOCKS),
    *(f"escalated_from:{tier}" for tier in ("village", "township", "city")),
)

Rows = dict[tuple[str, str], tuple[int, Decimal]]


def parse_day(value: str | None, field: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput.one(field, f"{value!r} is not a date (YYYY-MM-DD)") from None


def parse_period(start: str | None, end: str | None) -> tuple[date | None, date | None]:
    first, last = parse_day(start, "from"), parse_day(end, "to")
    if first and last and first > last:
        raise InvalidInput.one("to", "the period ends before it starts")
    return first, last


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def split_period(first: date | None, last: date | None) -> tuple[list[tuple[date | None, date | None]], Any]:
    """The period as day ranges read from the daily rollups and one range of whole months read from
    the monthly rollups (`None`: no whole month; a bound of None is open)."""
    m_from = None if first is None else (first if first.day == 1 else _next_month(first))
    m_to = None
    if last is not None:
        m_to = rollups.month_start(last) if _next_month(last) == last + timedelta(days=1) else None
        if m_to is None:  # the month before last's
            start = rollups.month_start(last)
            m_to = date(start.year - (start.month == 1), (start.month - 2) % 12 + 1, 1)
    if m_from is not None and m_to is not None and m_from > m_to:
        return [(first, last)], None
    days: list[tuple[date | None, date | None]] = []
    if first is not None and m_from is not None and first < m_from:
        days.append((first, m_from - timedelta(days=1)))
    if last is not None and m_to is not None and last >= _next_month(m_to):
        days.append((_next_month(m_to), last))
    return days, (m_from, m_to)


def _rows(columns: tuple[str, ...], where: list[Any], first: date | None, last: date | None):
    """A subquery of (columns..., n, amount) over the period from both rollup tables."""
    days, months = split_period(first, last)
    parts = []
    for table, day in ((DailyRollup, DailyRollup.day), (MonthlyRollup, MonthlyRollup.month)):
        ranges: list[Any] = []
        if table is DailyRollup:
            for lo, hi in days:
                bounds = [c for c in (day >= lo if lo else None, day <= hi if hi else None) if c is not None]
                ranges.append(and_(*bounds) if bounds else true())
        elif months is not None:
            lo, hi = months
            bounds = [c for c in (day >= lo if lo else None, day <= hi if hi else None) if c is not None]
            ranges.append(and_(*bounds) if bounds else true())
        if not ranges:
            continue
        conditions = [condition(table) for condition in where]
        parts.append(
            select(*(getattr(table, c) for c in columns), table.n, table.amount).where(*conditions, or_(*ranges))
        )
    if not parts:
        parts.append(select(*(literal(None).label(c) for c in columns), literal(0).label("n"),
                            literal(0).label("amount")).where(false()))  # fmt: skip
    return union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()


def children_of(session: Session, unit: str) -> list[tuple[str, str | None]]:
    return list(session.execute(select(UnitName.code, UnitName.name).where(UnitName.parent_code == unit)).tuples())


def unit_name(session: Session, unit: str) -> str | None:
    return session.scalar(select(UnitName.name).where(UnitName.code == unit))


def read_figures(session: Session, unit: str, first: date | None, last: date | None) -> dict[str, Any]:
    """The figures of `unit`'s subtree between `first` and `last` (days, inclusive; None: open)."""
    mine = _rows(("metric", "key"), [lambda t: t.unit_code == unit, lambda t: t.metric != "business"], first, last)
    own: Rows = {
        (metric, key): (int(n), Decimal(amount))
        for metric, key, n, amount in session.execute(
            select(mine.c.metric, mine.c.key, func.sum(mine.c.n), func.sum(mine.c.amount)).group_by(
                mine.c.metric, mine.c.key
            )
        )
    }
    kids = children_of(session, unit)
    children: dict[str, Rows] = defaultdict(dict)
    if kids:
        codes = [code for code, _ in kids]
        theirs = _rows(
            ("unit_code", "metric", "key"),
            [
                lambda t: t.unit_code.in_(codes),
                lambda t: t.metric.in_(CHILD_METRICS),
            ],
            first,
            last,
        )  # fmt: skip
        for code, metric, key, n, amount in session.execute(
            select(
                theirs.c.unit_code, theirs.c.metric, theirs.c.key, func.sum(theirs.c.n), func.sum(theirs.c.amount)
            ).group_by(theirs.c.unit_code, theirs.c.metric, theirs.c.key)
        ):
            children[code][(metric, key)] = (int(n), Decimal(amount))
    # businesses are counted per month of receipt: a period's first and last months count whole
    months = [MonthlyRollup.unit_code == unit, MonthlyRollup.metric == "business"]
    if first is not None:
        months.append(MonthlyRollup.month >= rollups.month_start(first))
    if last is not None:
        months.append(MonthlyRollup.month <= last)
    count = func.sum(MonthlyRollup.n)
    businesses = session.execute(
        select(MonthlyRollup.key, count)
        .where(*months)
        .group_by(MonthlyRollup.key)
        .having(count > 0)
        .order_by(count.desc(), MonthlyRollup.key)
        .limit(TOP)
    ).all()
    names = dict(kids)
    names[unit] = unit_name(session, unit)
    return assemble(unit, first, last, own, dict(children), names, [(k, int(n)) for k, n in businesses])


# --- from rows to figures (pure) -----------------------------------------------------------------


def _keys(rows: Rows, metric: str) -> dict[str, int]:
    return {key: n for (m, key), (n, _) in sorted(rows.items()) if m == metric and n}


def _n(rows: Rows, metric: str, key: str) -> int:
    return rows.get((metric, key), (0, Decimal(0)))[0]


def _amount(rows: Rows, metric: str, key: str) -> Decimal:
    return rows.get((metric, key), (0, Decimal(0)))[1]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def on_time(rows: Rows) -> dict[str, dict[str, Any]]:
    result = {}
    for clock in CLOCKS:
        met, missed = _n(rows, f"clock:{clock}", "met"), _n(rows, f"clock:{clock}", "missed")
        result[clock] = {"met": met, "missed": missed, "rate": _rate(met, met + missed)}
    return result


def escalation_entry(code: str, rows: Rows) -> dict[str, Any]:
    tier = rollups.tier_of(code)
    escalated = sum(n for (m, _), (n, _) in rows.items() if m == f"escalated_from:{tier}")
    disputes = sum(n for (m, _), (n, _) in rows.items() if m == "arrived")
    rate = _rate(escalated, disputes)
    entry: dict[str, Any] = {"unit": code, "tier": tier, "escalated": escalated, "disputes": disputes, "rate": rate}
    if tier == "township":
        entry["within_line"] = (rate or 0.0) <= ESCALATION_LINE
    return entry


def assemble(
    unit: str,
    first: date | None,
    last: date | None,
    own: Rows,
    children: dict[str, Rows],
    names: dict[str, str | None],
    businesses: list[tuple[str, int]],
) -> dict[str, Any]:
    decided_accepted, decided_refused = _n(own, "decision", "accepted"), _n(own, "decision", "refused")
    outcomes = _keys(own, "mediation")
    counted = sum(outcomes.get(o, 0) for o in MEDIATED_OUTCOMES)
    durations = {}
    for name in DURATIONS:
        histogram = _keys(own, f"duration:{name}")
        total = sum(histogram.values())
        seconds = sum((a for (m, _), (_, a) in own.items() if m == f"duration:{name}"), Decimal(0))
        durations[name] = {
            "count": total,
            "average_hours": round(float(seconds) / total / 3600, 2) if total else None,
            "p50_hours": rollups.percentile(histogram, 0.5),
            "p90_hours": rollups.percentile(histogram, 0.9),
            "p95_hours": rollups.percentile(histogram, 0.95),
        }
    scores = _keys(own, "satisfaction")
    responses = sum(scores.values())
    score_sum = sum((a for (m, _), (_, a) in own.items() if m == "satisfaction"), Decimal(0))
    by_category = _keys(own, "category")
    kids = sorted(children)
    tier = rollups.tier_of(unit)
    escalation_units = [escalation_entry(c, children[c]) for c in kids] if tier == "city" else []
    escalation_units.insert(0, escalation_entry(unit, own))
    return {
        "unit": unit,
        "name": names.get(unit),
        "period": {"from": first.isoformat() if first else None, "to": last.isoformat() if last else None},
        "total": _n(own, "volume", "total"),
        "claim_amount": _money(_amount(own, "volume", "total")),
        "by_status": _keys(own, "status"),
        "by_channel": _keys(own, "channel"),
        "by_category": by_category,
        "by_tier": _keys(own, "tier"),
        "by_unit": {c: n for c in kids if (n := _n(children[c], "volume", "total"))},
        "acceptance": {
            "decided": decided_accepted + decided_refused,
            "accepted": decided_accepted,
            "refused": decided_refused,
            "rate": _rate(decided_accepted, decided_accepted + decided_refused),
            "refusals_by_ground": _keys(own, "refusal"),
        },
        "mediation": {
            "ended": sum(outcomes.values()),
            "by_outcome": outcomes,
            "mediated": counted,
            "agreements": outcomes.get("agreement", 0),
            "success_rate": _rate(outcomes.get("agreement", 0), counted),
        },
        "money_recovered": {
            "agreed": _money(_amount(own, "recovered", "agreed")),
            "performed": _money(_amount(own, "recovered", "performed")),
        },
        "on_time": on_time(own),
        "on_time_by_unit": {c: on_time(children[c]) for c in kids},
        "durations": durations,
        "satisfaction": {
            "responses": responses,
            "average": round(float(score_sum) / responses, 2) if responses else None,
            "by_score": scores,
        },
        "escalation": {"line": ESCALATION_LINE, "units": escalation_units},
        "top_categories": [
            {"category": k, "complaints": n} for k, n in sorted(by_category.items(), key=lambda kv: (-kv[1], kv[0]))
        ][:TOP],
        "top_businesses": [
            {"credit_code": key.partition("|")[0] or None, "name": key.partition("|")[2] or None, "complaints": n}
            for key, n in businesses
        ],
        "early_warnings": {"raised": sum(_keys(own, "warning").values()), "by_kind": _keys(own, "warning")},
        "names": {c: names.get(c) for c in kids},
    }


def monthly_trend(session: Session, unit: str, first: date | None, last: date | None) -> list[tuple[str, int, int]]:
    """(YYYY-MM, complaints received, agreements) per month; by default the last twelve months."""
    from services.reporting.monthly import current_month, month_end

    last = last or month_end(current_month())
    if first is None:
        back = last.year * 12 + last.month - 1 - 11
        first = date(back // 12, back % 12 + 1, 1)
    rows = session.execute(
        select(MonthlyRollup.month, MonthlyRollup.metric, func.sum(MonthlyRollup.n))
        .where(
            MonthlyRollup.unit_code == unit,
            or_(
                (MonthlyRollup.metric == "volume") & (MonthlyRollup.key == "total"),
                (MonthlyRollup.metric == "mediation") & (MonthlyRollup.key == "agreement"),
            ),
            MonthlyRollup.month >= rollups.month_start(first),
            MonthlyRollup.month <= last,
        )
        .group_by(MonthlyRollup.month, MonthlyRollup.metric)
    ).all()
    counts: dict[str, list[int]] = {}
    cursor = rollups.month_start(first)
    while cursor <= last:
        counts[f"{cursor:%Y-%m}"] = [0, 0]
        cursor = date(cursor.year + cursor.month // 12, cursor.month % 12 + 1, 1)
    for when, metric, n in rows:
        slot = counts.setdefault(f"{when:%Y-%m}", [0, 0])
        slot[0 if metric == "volume" else 1] += int(n)
    return [(m, c, a) for m, (c, a) in sorted(counts.items())]
