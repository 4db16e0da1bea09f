"""The figures of a unit's subtree over a period, read from the rollups (docs/reporting.md).

A period is read as days at either end (daily rollups), whole months (monthly) and whole years
(yearly), plus the subtree's rollup deltas not folded yet (a code prefix range), so an all-time
summary reads a few rows per year. `read_figures` runs three small queries (the unit's own rows, its
children's rows for the per-unit figures, the top businesses); `assemble` turns rows into figures
and is pure, so the definitions are tested without a database.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, DateTime, and_, func, or_, select, true, union_all
from sqlalchemy.orm import Session

from common.bounds import window_problem
from common.errors import InvalidInput
from services.reporting import rollups
from services.reporting.models import DailyRollup, MonthlyRollup, RollupDelta, UnitName, YearlyRollup

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
    "decision",
    *(f"clock:{clock}" for clock in CLOCKS),
    *(f"escalated_from:{tier}" for tier in ("village", "township", "city")),
    "supervision",
)
# supervision orders (督办), counted at the unit that acted (docs/reporting.md)
SUPERVISION = ("sent", "received", "answered", "answered_late", "accepted", "returned", "overdue")

Rows = dict[tuple[str, str], tuple[int, Decimal]]


def parse_day(value: str | None, field: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        day = date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput.one(field, f"{value!r} is not a date (YYYY-MM-DD)") from None
    problem = window_problem(day)  # a day past 9999-12-30 has no next day to end the period at
    if problem:
        raise InvalidInput.one(field, problem)
    return day


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


def _year(year: int) -> date:
    return date(year, 1, 1)


def split_months(first: date | None, last: date | None) -> tuple[list[tuple[date | None, date | None]], Any]:
    """A range of whole months (month starts, inclusive; None: open) as month ranges read from the
    monthly rollups and one range of whole years read from the yearly rollups (`None`: no whole year)."""
    y_from = None if first is None else (first if first.month == 1 else _year(first.year + 1))
    y_to = None if last is None else (_year(last.year) if last.month == 12 else _year(last.year - 1))
    if y_from is not None and y_to is not None and y_from > y_to:
        return [(first, last)], None
    months: list[tuple[date | None, date | None]] = []
    if first is not None and y_from is not None and first < y_from:
        months.append((first, date(y_from.year - 1, 12, 1)))
    if last is not None and y_to is not None and last > date(y_to.year, 12, 1):
        months.append((_year(y_to.year + 1), last))
    return months, (y_from, y_to)


def _within(column: Any, lo: date | None, hi: date | None) -> Any:
    bounds = [c for c in (column >= lo if lo else None, column <= hi if hi else None) if c is not None]
    return and_(*bounds) if bounds else true()


def _pieces(first: date | None, last: date | None, business: bool = False) -> list[tuple[Any, Any]]:
    """(rollup table, condition on its period column) for each piece of the period: days at either
    end, then whole months, then whole years. Businesses are counted per month: the period's first
    and last months count whole."""
    if business:
        days: list[tuple[date | None, date | None]] = []
        whole: Any = (rollups.month_start(first) if first else None, rollups.month_start(last) if last else None)
    else:
        days, whole = split_period(first, last)
    pieces = [(DailyRollup, _within(DailyRollup.day, lo, hi)) for lo, hi in days]
    if whole is not None:
        months, years = split_months(*whole)
        pieces += [(MonthlyRollup, _within(MonthlyRollup.month, lo, hi)) for lo, hi in months]
        if years is not None:
            pieces.append((YearlyRollup, _within(YearlyRollup.year, *years)))
    return pieces


def _deltas_in(unit: str, first: date | None, last: date | None, business: bool = False) -> list[Any]:
    """Conditions on the deltas not folded yet of `unit`'s subtree within the period."""
    if business:
        first, last = (rollups.month_start(first) if first else None), (rollups.month_start(last) if last else None)
    metric = RollupDelta.metric == "business" if business else RollupDelta.metric != "business"
    # starts_with, not LIKE: it is leakproof, so under row-level security it can still be the index's
    # range condition (text_pattern_ops)
    return [func.starts_with(RollupDelta.unit_code, unit), metric, _within(RollupDelta.day, first, last)]


def _union(parts: list[Any]):
    return union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()


def _own_rows(unit: str, first: date | None, last: date | None):
    """(metric, key, n, amount) of the unit's subtree over the period: its rollups and the deltas."""
    parts = [
        select(t.metric, t.key, t.n, t.amount).where(t.unit_code == unit, t.metric != "business", period)
        for t, period in _pieces(first, last)
    ]
    d = RollupDelta
    parts.append(select(d.metric, d.key, d.n, d.amount).where(*_deltas_in(unit, first, last)))
    return _union(parts)


def _unit_rows(subtree: str, codes: list[str], first: date | None, last: date | None):
    """(unit_code, metric, key, n, amount) of the subtree of each of `codes` (units within `subtree`),
    the per-unit metrics only."""
    parts = [
        select(t.unit_code, t.metric, t.key, t.n, t.amount).where(
            t.unit_code.in_(codes), t.metric.in_(CHILD_METRICS), period
        )
        for t, period in _pieces(first, last)
    ]
    d = RollupDelta
    for width in sorted({len(code) for code in codes}):
        head = func.left(d.unit_code, width)
        parts.append(
            select(head.label("unit_code"), d.metric, d.key, d.n, d.amount).where(
                *_deltas_in(subtree, first, last),
                head.in_([code for code in codes if len(code) == width]),
                d.metric.in_(CHILD_METRICS),
            )
        )
    return _union(parts)


def _per_unit(session: Session, subtree: str, codes: list[str], first: date | None, last: date | None) -> dict:
    """The per-unit rows of each of `codes` over the period."""
    found: dict[str, Rows] = defaultdict(dict)
    if codes:
        theirs = _unit_rows(subtree, codes, first, last)
        for code, metric, key, n, amount in session.execute(
            select(
                theirs.c.unit_code, theirs.c.metric, theirs.c.key, func.sum(theirs.c.n), func.sum(theirs.c.amount)
            ).group_by(theirs.c.unit_code, theirs.c.metric, theirs.c.key)
        ):
            found[code][(metric, key)] = (int(n), Decimal(amount))
    return dict(found)


def _business_rows(unit: str, first: date | None, last: date | None):
    parts = [
        select(t.key, t.n).where(t.unit_code == unit, t.metric == "business", period)
        for t, period in _pieces(first, last, business=True)
        if t is not DailyRollup
    ]
    parts.append(select(RollupDelta.key, RollupDelta.n).where(*_deltas_in(unit, first, last, business=True)))
    return _union(parts)


def children_of(session: Session, unit: str) -> list[tuple[str, str | None]]:
    return list(session.execute(select(UnitName.code, UnitName.name).where(UnitName.parent_code == unit)).tuples())


def unit_name(session: Session, unit: str) -> str | None:
    return session.scalar(select(UnitName.name).where(UnitName.code == unit))


def read_figures(session: Session, unit: str, first: date | None, last: date | None) -> dict[str, Any]:
    """The figures of `unit`'s subtree between `first` and `last` (days, inclusive; None: open)."""
    mine = _own_rows(unit, first, last)
    own: Rows = {
        (metric, key): (int(n), Decimal(amount))
        for metric, key, n, amount in session.execute(
            select(mine.c.metric, mine.c.key, func.sum(mine.c.n), func.sum(mine.c.amount)).group_by(
                mine.c.metric, mine.c.key
            )
        )
    }
    kids = children_of(session, unit)
    children = _per_unit(session, unit, [code for code, _ in kids], first, last)
    # businesses are counted per month of receipt: a period's first and last months count whole
    rows = _business_rows(unit, first, last)
    count = func.sum(rows.c.n)
    businesses = session.execute(
        select(rows.c.key, count).group_by(rows.c.key).having(count > 0).order_by(count.desc(), rows.c.key).limit(TOP)
    ).all()
    names = dict(kids)
    names[unit] = unit_name(session, unit)
    return assemble(unit, first, last, own, children, names, [(k, int(n)) for k, n in businesses])


# --- from rows to figures (pure) -----------------------------------------------------------------


def settle_first(rows: Rows) -> dict[str, Any]:
    """The settle-first lane (issue 19): how its cases ended, and whether the business answered in time."""
    outcomes = _keys(rows, "settle_first")
    ended = sum(outcomes.values())
    answered = _n(rows, "settle_first_answer", "on_time")
    return {
        "ended": ended,
        "by_outcome": outcomes,
        "settled": outcomes.get("settled", 0),
        "answered_on_time": answered,
        "on_time_rate": _rate(answered, ended),
    }


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


def supervision(rows: Rows) -> dict[str, int]:
    return {key: _n(rows, "supervision", key) for key in SUPERVISION}


def escalation_entry(code: str, rows: Rows) -> dict[str, Any]:
    """The one escalation rate (docs/reporting.md): the cases the unit itself passed up over the
    disputes accepted (受理) in its subtree, the unit's own and its villages'."""
    tier = rollups.tier_of(code)
    escalated = sum(n for (m, _), (n, _) in rows.items() if m == f"escalated_from:{tier}")
    disputes = _n(rows, "decision", "accepted")
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
        "settle_first": settle_first(own),
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
        "supervision": supervision(own),
        "supervision_by_unit": {c: supervision(children[c]) for c in kids},
        "names": {c: names.get(c) for c in kids},
    }


def monthly_trend(session: Session, unit: str, first: date | None, last: date | None) -> list[tuple[str, int, int]]:
    """(YYYY-MM, complaints received, agreements) per month; by default the last twelve months."""
    from services.reporting.monthly import current_month, month_end

    last = last or month_end(current_month())
    if first is None:
        back = last.year * 12 + last.month - 1 - 11
        first = date(back // 12, back % 12 + 1, 1)
    wanted = or_(
        and_(MonthlyRollup.metric == "volume", MonthlyRollup.key == "total"),
        and_(MonthlyRollup.metric == "mediation", MonthlyRollup.key == "agreement"),
    )
    d = RollupDelta
    parts = union_all(
        select(MonthlyRollup.month, MonthlyRollup.metric, MonthlyRollup.n).where(
            MonthlyRollup.unit_code == unit, wanted, _within(MonthlyRollup.month, rollups.month_start(first), last)
        ),
        select(func.date_trunc("month", d.day.cast(DateTime)).cast(Date).label("month"), d.metric, d.n).where(
            func.starts_with(d.unit_code, unit),
            or_(and_(d.metric == "volume", d.key == "total"), and_(d.metric == "mediation", d.key == "agreement")),
            _within(d.day, rollups.month_start(first), last),
        ),
    ).subquery()
    rows = session.execute(
        select(parts.c.month, parts.c.metric, func.sum(parts.c.n)).group_by(parts.c.month, parts.c.metric)
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


def escalation_units(session: Session, subtree: str, codes: list[str]) -> list[dict[str, Any]]:
    """The escalation entries of `codes` (units within `subtree`) over all time."""
    rows = _per_unit(session, subtree, codes, None, None)
    return [escalation_entry(code, rows.get(code, {})) for code in sorted(codes)]
