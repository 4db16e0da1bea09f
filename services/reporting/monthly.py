"""The monthly statistics report (seed 004: each desk reports monthly), once per (unit, month).

A report is the unit's figures for the calendar month (Asia/Shanghai days), frozen when produced and
"sent up": it carries the parent unit's code, and the parent reads its children's reports beside its
own. Produced by the service's timer for the month just ended, or on demand by a supervisor for any
past month; the unique key (unit, month) makes both idempotent (the first report stands).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from common.errors import InvalidInput
from common.workdays import local_date
from services.reporting import rollups, views
from services.reporting.models import MonthlyReport, UnitName

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
# any constant: the advisory lock one generation (in any process) holds at a time
GENERATE_LOCK = 7_301_449_216


def parse_month(value: str) -> date:
    match = _MONTH.match(str(value or ""))
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise InvalidInput.one("month", f"{value!r} is not a month (YYYY-MM)")
    return date(int(match.group(1)), int(match.group(2)), 1)


def month_end(first: date) -> date:
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)


def current_month(now: datetime | None = None) -> date:
    return local_date(now or datetime.now(UTC)).replace(day=1)


def previous_month(now: datetime | None = None) -> date:
    first = current_month(now)
    return date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)


def require_past(first: date, now: datetime | None = None) -> None:
    if first >= current_month(now):
        raise InvalidInput.one("month", f"{first:%Y-%m} is not over yet: a monthly report is produced once it is")


def known_units(session: Session, under: str | None = None) -> list[str]:
    query = select(UnitName.code).order_by(UnitName.code)
    if under is not None:
        query = query.where(UnitName.code.startswith(under, autoescape=True))
    return list(session.scalars(query))


def generate(session: Session, first: date, units: list[str], generated_by: str) -> list[str]:
    """Reports for `units` for the month starting `first`; returns the units it produced one for
    (a unit that already has its report keeps it)."""
    last = month_end(first)
    # several processes' timers fire together after a month ends: the others wait here for the first
    # one's commit and then find its reports, instead of reading every unit's figures again
    session.execute(select(func.pg_advisory_xact_lock(GENERATE_LOCK)))
    existing = set(
        session.scalars(
            select(MonthlyReport.unit_code).where(MonthlyReport.month == first, MonthlyReport.unit_code.in_(units))
        )
    )
    created = []
    for unit in units:
        if unit in existing:
            continue
        figures = views.read_figures(session, unit, first, last)
        inserted = session.execute(
            insert(MonthlyReport)
            .values(
                unit_code=unit,
                parent_code=rollups.parent_of(unit),
                month=first,
                generated_at=datetime.now(UTC),
                generated_by=generated_by,
                figures=figures,
            )
            .on_conflict_do_nothing(constraint="uq_monthly_reports_unit_month")
            .returning(MonthlyReport.id)
        ).first()
        if inserted is not None:
            created.append(unit)
    return created


def as_dict(report: MonthlyReport) -> dict[str, Any]:
    return {
        "unit": report.unit_code,
        "parent": report.parent_code,
        "month": f"{report.month:%Y-%m}",
        "generated_at": report.generated_at.isoformat(),
        "generated_by": report.generated_by,
        "figures": report.figures,
    }


def provisional(session: Session, unit: str, first: date) -> dict[str, Any]:
    """The month so far, as the report would read if produced now: marked, never stored."""
    return {
        "unit": unit,
        "parent": rollups.parent_of(unit),
        "month": f"{first:%Y-%m}",
        "generated_at": datetime.now(UTC).isoformat(),
        "generated_by": "provisional",
        "provisional": True,
        "figures": views.read_figures(session, unit, first, month_end(first)),
    }


def view(session: Session, unit: str, first: date) -> dict[str, Any]:
    """The unit's own report and its children's, side by side (what was sent up to it); for the
    month under way, each as it stands today (`provisional`)."""
    if first == current_month():
        children_codes = [u for u in known_units(session, under=unit) if u != unit and rollups.parent_of(u) == unit]
        return {
            "month": f"{first:%Y-%m}",
            "unit": unit,
            "provisional": True,
            "report": provisional(session, unit, first),
            "children": [provisional(session, code, first) for code in children_codes],
        }
    own = session.scalar(select(MonthlyReport).where(MonthlyReport.unit_code == unit, MonthlyReport.month == first))
    children = session.scalars(
        select(MonthlyReport)
        .where(MonthlyReport.parent_code == unit, MonthlyReport.month == first)
        .order_by(MonthlyReport.unit_code)
    ).all()
    return {
        "month": f"{first:%Y-%m}",
        "unit": unit,
        "provisional": False,
        "report": as_dict(own) if own else None,
        "children": [as_dict(c) for c in children],
    }
