"""The platform's official calendar: the State Council's holiday notice of a year, as the platform
admin enters it (API, or this CLI), and the notice when next year's is missing.

    python -m services.routing.official_calendar show
    python -m services.routing.official_calendar enter 2027 2027.json
    python -m services.routing.official_calendar withdraw 2027

Routing owns it (`routing.official_calendar`) and announces every change with
`official_calendar.changed.v1` through its outbox; intake and mediation apply it to their own copies
(common/official_calendar.py), and routing's own handler counts on it and recounts its running
clocks, whether it came from the API or the CLI. An entered year takes precedence over the `chinesecalendar` package
and the fallback; tenants' own extra days stay on top (common/workdays.py). From 1 December on, a
next year with no schedule (neither entered nor in the package) sets the gauge
`disputes_official_calendar_missing` and is announced once (`official_calendar.missing.v1`: the
platform admins' inbox). See docs/tenants.md, "The official calendar".
"""

from __future__ import annotations

import argparse
import getpass
import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from common import metrics
from common.contracts import OfficialCalendarChanged, OfficialCalendarMissing
from common.errors import Forbidden, InvalidInput, NotFound
from common.official_calendar import parse, schedule_of, store
from common.tenancy import Role, Scope
from common.workdays import SHANGHAI, package_covers
from services.routing.models import CalendarNotice, OfficialCalendar

MISSING_FROM_MONTH = 12  # next year's notice is due by 1 December
MAX_SOURCE = 500


def authorize(scope: Scope | None) -> str:
    """Only a platform admin changes the official calendar; the actor's name."""
    if scope is None or not scope.valid or Role.PLATFORM_ADMIN not in scope.roles:
        raise Forbidden("only a platform admin enters the official calendar")
    return scope.user or "platform_admin"


def today(now: datetime) -> date:
    return now.astimezone(SHANGHAI).date()


def enter(actor: str, year: Any, schedule: dict[str, Any], now: datetime) -> OfficialCalendarChanged:
    """`year`'s schedule checked (it replaces one entered before): the change to keep and announce."""
    entry = parse(year, schedule, today(now))
    source = schedule.get("source") or ""
    if not isinstance(source, str) or len(source) > MAX_SOURCE:
        raise InvalidInput.one("source", f"the notice it comes from, at most {MAX_SOURCE} characters")
    return OfficialCalendarChanged(
        year=entry.year, schedule=schedule_of(entry, source.strip()), changed_by=actor, changed_at=now
    )


def withdraw(session: Session, year: int, actor: str, now: datetime) -> OfficialCalendarChanged:
    """Withdraw an entered year (it counts on the package, else the fallback, again)."""
    row = session.get(OfficialCalendar, year)
    if row is None or not row.entered:
        raise NotFound(f"no official calendar entered for {year}")
    return OfficialCalendarChanged(year=year, schedule=None, changed_by=actor, changed_at=now)


def years(session: Session, now: datetime) -> dict[str, Any]:
    """The years entered, and for this year and the next where their counting comes from."""
    rows = list(
        session.scalars(select(OfficialCalendar).where(OfficialCalendar.entered).order_by(OfficialCalendar.year))
    )
    entered = {row.year for row in rows}
    current = today(now).year
    return {
        "years": [row.view() for row in rows],
        "counting": {str(y): counting(y, entered) for y in (current, current + 1)},
    }


def year_view(session: Session, year: int) -> dict[str, Any]:
    row = session.get(OfficialCalendar, year)
    if row is None or not row.entered:
        raise NotFound(f"no official calendar entered for {year}")
    return row.view()


def counting(year: int, entered: set[int] | frozenset[int]) -> str:
    """Where the days of `year` come from: `entered`, `package` or `fallback`."""
    if year in entered:
        return "entered"
    return "package" if package_covers(year) else "fallback"


def missing_years(on: date, known: Callable[[int], bool]) -> list[int]:
    """The years counting on the fallback that should not: this year, and from 1 December the next."""
    due = [on.year] + ([on.year + 1] if on.month >= MISSING_FROM_MONTH else [])
    return [y for y in due if not known(y)]


def check(session: Session, now: datetime) -> list[OfficialCalendarMissing]:
    """Set the gauge for this year and the next; the notices of missing years not announced before."""
    on = today(now)
    entered = set(session.scalars(select(OfficialCalendar.year).where(OfficialCalendar.entered)))
    missing = missing_years(on, lambda y: counting(y, entered) != "fallback")
    for year in (on.year, on.year + 1):
        metrics.set_official_calendar_missing(year, year in missing)
    notices = []
    for year in missing:
        said = session.execute(
            insert(CalendarNotice)
            .values(year=year, noticed_at=now)
            .on_conflict_do_nothing(index_elements=[CalendarNotice.year])
            .returning(CalendarNotice.year)
        ).scalar()
        if said is not None:
            notices.append(OfficialCalendarMissing(year=year, noticed_at=now))
    return notices


# --- the command line -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m services.routing.official_calendar")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("show", help="the years entered, and where this year's and next year's days come from")
    ent = sub.add_parser("enter", help="enter (or replace) a year's schedule from a JSON file")
    ent.add_argument("year", type=int)
    ent.add_argument("file", type=Path, help="{statutory_holidays, bridging_days, makeup_workdays, source}")
    wd = sub.add_parser("withdraw", help="withdraw an entered year")
    wd.add_argument("year", type=int)
    args = parser.parse_args()
    print(json.dumps(run(args), ensure_ascii=False, indent=2))


def run(args: argparse.Namespace) -> Any:
    from common.db import make_engine
    from common.errors import DomainError
    from common.outbox import emit
    from services.routing.models import Outbox

    actor, now = f"cli:{getpass.getuser()}", datetime.now(UTC)
    engine = make_engine()
    try:
        with Session(engine) as session, session.begin():
            if args.command == "show":
                return years(session, now)
            if args.command == "enter":
                change = enter(actor, args.year, json.loads(args.file.read_text(encoding="utf-8")), now)
            else:
                change = withdraw(session, args.year, actor, now)
            store(session, OfficialCalendar, change)
            emit(session, Outbox, change)
            return change.model_dump(mode="json")
    except DomainError as exc:
        raise SystemExit(f"{type(exc).__name__}: {exc}") from exc
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
