"""The official calendar the platform admin enters, as every service that counts working days keeps it.

Routing owns the calendar (services/routing/official_calendar.py): it checks a year's schedule
(`parse`), stores it and publishes `official_calendar.changed.v1` through its outbox. Intake and
mediation apply that event to their own copy (a table of this shape, `OfficialCalendarRow`), so no
service reads another's tables. Every process counts on its service's copy
(`common.workdays.set_official_years`): `OfficialCalendarCopy` loads it when the service starts
and looks again every `OFFICIAL_CALENDAR_REFRESH_SECONDS`, so a change applied by another process of
the service (or entered with routing's CLI) reaches this one too.

Clocks already running: a deadline is computed when a clock starts, resumes or is extended, on the
calendar of that moment. When a year changes, `recount` computes again, on the new calendar, the
deadline of every clock still running whose deadline has not passed and falls on or after the
December before that year, and schedules its warning light anew. Clocks already stopped, and running
clocks already past their deadline (a breach that was reported), keep theirs; days a pause added
stay as they were counted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Any

from nameko.extensions import DependencyProvider
from sqlalchemy import Boolean, Date, DateTime, Integer, String, Text, func, select
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from common import clock_watch, clocks
from common.clocks import Clock, ClockUnit
from common.config import ServiceSettings
from common.contracts import OfficialCalendarChanged, OfficialSchedule
from common.errors import InvalidInput
from common.workdays import SHANGHAI, OfficialYear, WorkCalendar, enter_official_year, set_official_years

log = logging.getLogger(__name__)

FIRST_YEAR = 2000
OFFICIAL_CALENDAR_REFRESH_SECONDS = ServiceSettings().official_calendar_refresh_seconds
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
LISTS = ("statutory_holidays", "bridging_days", "makeup_workdays")
MAX_DAYS = 60  # more days in one list than any notice has: a typing error


def year_range(today: date) -> tuple[int, int]:
    """The years a schedule may be entered for: from 2000 up to next year (a notice comes out in
    the autumn before its year)."""
    return FIRST_YEAR, today.year + 1


def parse(year: Any, schedule: dict[str, Any], today: date) -> OfficialYear:
    """A year's schedule as the platform admin gave it; InvalidInput naming every wrong field.

    Every day lies in the year, or in the December before it (where a notice's 元旦 may begin); a
    bridging day is a weekday (a weekend day is off anyway); a make-up workday is a Saturday or a
    Sunday; no day is in two lists; there is at least one statutory holiday."""
    errors: list[dict[str, str]] = []
    first, last = year_range(today)
    if not isinstance(schedule, dict):
        raise InvalidInput.one("body", "must be an object: statutory_holidays, bridging_days, makeup_workdays, source")
    if isinstance(year, bool) or not isinstance(year, int) or not first <= year <= last:
        raise InvalidInput.one("year", f"must be a year from {first} to {last}, got {year!r}")
    unknown = sorted(set(schedule) - set(LISTS) - {"source"})
    errors += [{"field": name, "message": f"unknown field; known: {', '.join((*LISTS, 'source'))}"} for name in unknown]
    earliest, latest = date(year - 1, 12, 1), date(year, 12, 31)
    seen: dict[date, str] = {}
    lists: dict[str, set[date]] = {}
    for name in LISTS:
        given = schedule.get(name) or []
        if not isinstance(given, list | tuple) or len(given) > MAX_DAYS:
            errors.append({"field": name, "message": f"must be a list of at most {MAX_DAYS} dates"})
            continue
        days: set[date] = set()
        for i, raw in enumerate(given):
            field = f"{name}.{i}"  # as the gateway names a list item
            try:
                day = raw if isinstance(raw, date) else date.fromisoformat(str(raw))
            except ValueError:
                errors.append({"field": field, "message": f"not a date (YYYY-MM-DD): {raw!r}"})
                continue
            problem = _problem(name, day, earliest, latest, seen.get(day))
            if problem:
                errors.append({"field": field, "message": problem})
                continue
            if day not in days:
                seen[day] = name
            days.add(day)
        lists[name] = days
    if not errors and not lists["statutory_holidays"]:
        errors.append({"field": "statutory_holidays", "message": "a year has statutory holidays: list them"})
    if errors:
        raise InvalidInput(errors)
    return OfficialYear(
        year,
        frozenset(lists["statutory_holidays"]),
        frozenset(lists["bridging_days"]),
        frozenset(lists["makeup_workdays"]),
    )


def _problem(name: str, day: date, earliest: date, latest: date, listed_in: str | None) -> str | None:
    weekday = WEEKDAYS[day.weekday()]
    if not earliest <= day <= latest:
        return f"{day.isoformat()} is outside {earliest.isoformat()} .. {latest.isoformat()}"
    if listed_in is not None and listed_in != name:
        return f"{day.isoformat()} is already in {listed_in}"
    if name == "makeup_workdays" and day.weekday() < 5:
        return f"{day.isoformat()} is a {weekday}, not a weekend day: a make-up workday is a Saturday or Sunday"
    if name == "bridging_days" and day.weekday() >= 5:
        return f"{day.isoformat()} is a {weekday}: a bridging day is a weekday taken off"
    return None


def schedule_of(entry: OfficialYear, source: str = "") -> OfficialSchedule:
    return OfficialSchedule(
        statutory_holidays=tuple(sorted(entry.statutory_holidays)),
        bridging_days=tuple(sorted(entry.bridging_days)),
        makeup_workdays=tuple(sorted(entry.makeup_workdays)),
        source=source,
    )


def entry_of(year: int, schedule: OfficialSchedule) -> OfficialYear:
    return OfficialYear(
        year,
        frozenset(schedule.statutory_holidays),
        frozenset(schedule.bridging_days),
        frozenset(schedule.makeup_workdays),
    )


# --- a service's copy -------------------------------------------------------------------------------------


class OfficialCalendarRow:
    """One year of the official calendar (a declarative mixin; the service's table names it).
    A withdrawn year keeps its row (`entered` false), so a late copy of an older change is ignored."""

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    entered: Mapped[bool] = mapped_column(Boolean, default=True)
    statutory_holidays: Mapped[list[date]] = mapped_column(ARRAY(Date), default=list)
    bridging_days: Mapped[list[date]] = mapped_column(ARRAY(Date), default=list)
    makeup_workdays: Mapped[list[date]] = mapped_column(ARRAY(Date), default=list)
    source: Mapped[str] = mapped_column(Text, default="")
    changed_by: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    def entry(self) -> OfficialYear:
        return OfficialYear(
            self.year,
            frozenset(self.statutory_holidays or ()),
            frozenset(self.bridging_days or ()),
            frozenset(self.makeup_workdays or ()),
        )

    def view(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "entered": self.entered,
            "statutory_holidays": [d.isoformat() for d in sorted(self.statutory_holidays or ())],
            "bridging_days": [d.isoformat() for d in sorted(self.bridging_days or ())],
            "makeup_workdays": [d.isoformat() for d in sorted(self.makeup_workdays or ())],
            "source": self.source,
            "changed_by": self.changed_by,
            "changed_at": self.changed_at.isoformat(),
        }


def store(session: Session, model: type, change: OfficialCalendarChanged) -> bool:
    """Keep `change` in the service's copy unless a newer change of the year is there; whether it was kept."""
    schedule = change.schedule
    values = {
        "year": change.year,
        "entered": schedule is not None,
        "statutory_holidays": list(schedule.statutory_holidays) if schedule else [],
        "bridging_days": list(schedule.bridging_days) if schedule else [],
        "makeup_workdays": list(schedule.makeup_workdays) if schedule else [],
        "source": schedule.source if schedule else "",
        "changed_by": change.changed_by,
        "changed_at": change.changed_at,
    }
    statement = insert(model).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=[model.year],
        set_={k: statement.excluded[k] for k in values if k != "year"},
        where=model.changed_at < statement.excluded.changed_at,
    ).returning(model.year)
    return session.execute(statement).scalar() is not None


def entered_years(session: Session, model: type) -> list[OfficialYear]:
    return [row.entry() for row in session.scalars(select(model).where(model.entered))]


def fingerprint(session: Session, model: type) -> tuple[int, datetime | None]:
    count, latest = session.execute(select(func.count(), func.max(model.changed_at))).one()
    return count, latest


def is_latest(session: Session, model: type, change: OfficialCalendarChanged) -> bool:
    """Whether `change` is the one the copy keeps (the owner's check before counting on its own event)."""
    row = session.get(model, change.year)
    return row is not None and row.changed_at == change.changed_at


def count_on(change: OfficialCalendarChanged, recount_all: Callable[[date], int]) -> int:
    """Count on `change` in this process and recount the running clocks on it (`recount_all(since)`:
    the service's clock tables); how many deadlines moved.

    The process counts on the change before the transaction commits (the recount needs it): if the
    transaction fails, the caller reloads the copy (`OfficialCalendarCopy.reload`)."""
    entry = entry_of(change.year, change.schedule) if change.schedule is not None else None
    enter_official_year(change.year, entry)
    moved = recount_all(date(change.year - 1, 12, 1))
    log.info(
        "official calendar of %s %s: %s running deadlines moved",
        change.year,
        "entered" if entry else "withdrawn",
        moved,
    )
    return moved


def apply(session: Session, model: type, change: OfficialCalendarChanged, recount_all: Callable[[date], int]) -> int:
    """Apply routing's change to the service's copy, then `count_on` it (unless a newer one is kept)."""
    return count_on(change, recount_all) if store(session, model, change) else 0


def recount(
    session: Session,
    model: type,
    to_clock: Callable[[Any], Clock],
    calendar: Callable[[Any], WorkCalendar | None],
    since: date,
    now: datetime,
) -> int:
    """Compute again the deadlines of `model`'s running day clocks due on or after `since` that have
    not passed, on the calendar of now, and schedule their lights; how many moved."""
    start = datetime.combine(since, time.min, tzinfo=SHANGHAI)
    rows = session.scalars(
        select(model).where(model.stopped_at.is_(None), model.deadline >= start, model.deadline > now).with_for_update()
    )
    moved = 0
    for row in rows:
        clock = to_clock(row)
        if clock.unit is ClockUnit.HOURS:
            continue
        cal = calendar(row)
        counted = clocks.recount(clock, cal)
        if counted.deadline == clock.deadline:
            continue
        row.deadline = counted.deadline
        clock_watch.schedule(row, counted, now, cal)
        moved += 1
    return moved


class OfficialCalendarCopy(DependencyProvider):
    """This process counts on the service's copy (`model`): loaded when the service starts, looked at
    again every `OFFICIAL_CALENDAR_REFRESH_SECONDS` and taken again when it changed (or when it
    could not be read before: until then the process counts on the package and the fallback)."""

    def __init__(self, model: type) -> None:
        self.model = model
        self.seen: tuple[int, datetime | None] | None = None
        self.running = False

    def setup(self) -> None:
        from common.db import container_database_url, make_engine, patch_psycopg

        patch_psycopg()
        self.engine = make_engine(container_database_url(self.container), pool_size=1, max_overflow=1)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def start(self) -> None:
        self.forget()  # the database may be away at start: the watcher takes it on its next pass
        self.running = True
        self.container.spawn_managed_thread(self._watch, identifier="official-calendar")

    def stop(self) -> None:
        self.running = False
        self.engine.dispose()

    def get_dependency(self, worker_ctx) -> OfficialCalendarCopy:
        return self

    def apply_change(
        self, uow: Any, event_id: Any, handler: str, change: OfficialCalendarChanged, clock_models: tuple[type, ...]
    ) -> None:
        """A consumer's handler: apply routing's change to the copy in one transaction with the inbox
        and the recount of `clock_models` (rows that keep their tenant's calendar, `OwnCalendar`)."""
        try:
            with uow.transaction() as session:
                if not uow.first_delivery(session, event_id, handler):
                    return
                now = datetime.now(UTC)

                def recount_all(since: date) -> int:
                    return sum(recount(session, m, m.clock, m.work_calendar, since, now) for m in clock_models)

                apply(session, self.model, change, recount_all)
        except Exception:
            self.forget()  # the process may count on a change that was not kept
            raise

    def reload(self) -> None:
        with self.sessions() as session:
            self.seen = fingerprint(session, self.model)
            set_official_years(entered_years(session, self.model))

    def forget(self) -> None:
        """Take the copy again now if the database answers, else on the watcher's next pass."""
        self.seen = None
        try:
            self.reload()
        except Exception:
            log.warning("could not read the official calendar; trying again shortly", exc_info=True)

    def _watch(self) -> None:
        import eventlet  # the service's green threads (nameko runs on eventlet)

        while self.running:
            eventlet.sleep(OFFICIAL_CALENDAR_REFRESH_SECONDS)
            try:
                with self.sessions() as session:
                    if fingerprint(session, self.model) == self.seen:
                        continue
                self.reload()
            except Exception:  # the database may be restarting: try again on the next pass
                log.warning("could not look at the official calendar; trying again", exc_info=True)
