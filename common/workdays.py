"""China's official working-day calendar and the Art 45 counting rules.

Which days are working days, in this order:

1. Tenant overrides (``extra_workdays`` / ``extra_holidays``) always win.
2. Years the platform admin entered from the State Council's yearly notice (``OfficialYear``:
   statutory holidays, bridging days, make-up workdays; docs/tenants.md, "The official calendar").
   Each service keeps them in its own table and loads them into this process with
   ``set_official_years`` / ``enter_official_year``.
3. Years the ``chinesecalendar`` package publishes (the State Council's yearly notices,
   including the weekend make-up workdays, 调休) are taken from it.
4. Any other year uses a fallback that is only an APPROXIMATION: Saturdays and Sundays off,
   plus the statutory holidays of the 2024 revision of 《全国年节及纪念日放假办法》 (in force
   from 2025): 元旦 Jan 1; 春节 lunar New Year's Eve and lunar 1/1-1/3; 清明 (Apr 4 or 5, by the
   standard solar-term formula); 劳动节 May 1-2; 端午 lunar 5/5; 中秋 lunar 8/15; 国庆 Oct 1-3.
   It knows nothing of the bridging days and make-up workdays the State Council announces
   each year, so it under-counts holidays and misses the make-up Saturdays and Sundays; the
   platform admin enters the year's notice as soon as it is out (or the package is upgraded).

Counting (SAMR Order 121, Art 45): the start day does not count, and a limit whose last day
is a statutory holiday or rest day ends on the next working day instead. A limit ends at the
end of its last day (23:59:59.999999) in Asia/Shanghai, whatever the time zone of the input.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar
from lunardate import LunarDate

__all__ = [
    "DEFAULT_CALENDAR",
    "SHANGHAI",
    "OfficialYear",
    "WorkCalendar",
    "add_calendar_days",
    "add_working_days",
    "end_of_day",
    "enter_official_year",
    "fallback_holidays",
    "fallback_is_workday",
    "is_workday",
    "local_date",
    "official_years",
    "package_covers",
    "qingming",
    "schedule_known",
    "set_official_years",
    "working_time_between",
]

SHANGHAI = ZoneInfo("Asia/Shanghai")

_ONE_DAY = timedelta(days=1)


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{name} must be a timezone-aware datetime (got naive {value.isoformat()}); "
            "attach the zone it was recorded in, e.g. Asia/Shanghai or UTC"
        )


def local_date(moment: datetime) -> date:
    """The calendar day ``moment`` falls on in Asia/Shanghai."""
    _require_aware(moment, "moment")
    return moment.astimezone(SHANGHAI).date()


def end_of_day(day: date) -> datetime:
    """The last representable instant of ``day`` in Asia/Shanghai."""
    return datetime.combine(day, time.max, tzinfo=SHANGHAI)


def _start_of_day_utc(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=SHANGHAI).astimezone(UTC)


def qingming(year: int) -> date:
    """清明 (Apr 4 or 5) by the usual solar-term formula, exact for 1901-2099."""
    y = year % 100
    century_constant = 4.81 if year >= 2000 else 5.59
    return date(year, 4, int(y * 0.2422 + century_constant) - y // 4)


@lru_cache(maxsize=64)
def fallback_holidays(year: int) -> frozenset[date]:
    """Statutory holidays of ``year`` under the 2025 rules (no bridging days, no 调休)."""
    days = {
        date(year, 1, 1),
        qingming(year),
        date(year, 5, 1),
        date(year, 5, 2),
        date(year, 10, 1),
        date(year, 10, 2),
        date(year, 10, 3),
    }
    try:
        new_year = LunarDate(year, 1, 1).to_solar_date()
        days.add(new_year - _ONE_DAY)  # New Year's Eve is 12/29 or 12/30, so derive it
        days.update(new_year + k * _ONE_DAY for k in range(3))
        days.add(LunarDate(year, 5, 5).to_solar_date())
        days.add(LunarDate(year, 8, 15).to_solar_date())
    except ValueError:
        # lunardate covers 1900-2099 only; beyond that keep the solar holidays.
        pass
    return frozenset(d for d in days if d.year == year)


def fallback_is_workday(day: date) -> bool:
    """Approximate rule for years ``chinesecalendar`` does not publish."""
    return day.weekday() < 5 and day not in fallback_holidays(day.year)


@dataclass(frozen=True, slots=True)
class OfficialYear:
    """The State Council's schedule of one year (国务院办公厅关于某年部分节假日安排的通知): the
    statutory holidays (法定节假日), the weekdays taken off to bridge them (调休放假), and the
    Saturdays and Sundays worked instead (调休上班). Days not listed follow the week. A notice may
    begin in the December before its year (元旦 2023 began on 31 December 2022)."""

    year: int
    statutory_holidays: frozenset[date]
    bridging_days: frozenset[date] = frozenset()
    makeup_workdays: frozenset[date] = frozenset()

    def is_workday(self, day: date) -> bool | None:
        """What the notice says of ``day``: None when it does not list it."""
        if day in self.makeup_workdays:
            return True
        if day in self.statutory_holidays or day in self.bridging_days:
            return False
        return None


# the years entered in this process (each service loads its own copy at start and applies changes)
_official: dict[int, OfficialYear] = {}


def set_official_years(years: Iterable[OfficialYear]) -> None:
    """Replace every official year this process counts on (a service loading its copy)."""
    global _official
    _official = {entry.year: entry for entry in years}


def enter_official_year(year: int, entry: OfficialYear | None) -> None:
    """Count on ``entry`` for ``year`` from now on; None withdraws the year (back to the package or
    the fallback)."""
    global _official
    changed = {y: e for y, e in _official.items() if y != year}
    if entry is not None:
        changed[year] = entry
    _official = changed  # one assignment: a reader sees the old mapping or the new one


def official_years() -> dict[int, OfficialYear]:
    return dict(_official)


def _official_is_workday(day: date) -> bool | None:
    entered = _official
    for notice in (entered.get(day.year), entered.get(day.year + 1)):  # the next notice's December days
        said = notice.is_workday(day) if notice is not None else None
        if said is not None:
            return said
    if day.year in entered:
        return day.weekday() < 5
    return None


@lru_cache(maxsize=8192)
def _package_is_workday(day: date) -> bool:
    """The installed package's word on `day`, else the fallback; it never changes in a process (every
    clock asks for each day it spans, and the package validates each date it is asked about)."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return fallback_is_workday(day)


@lru_cache(maxsize=256)
def package_covers(year: int) -> bool:
    """Whether the installed ``chinesecalendar`` publishes ``year``."""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def schedule_known(year: int) -> bool:
    """Whether ``year`` counts on a published schedule (entered, or in the package), not the fallback."""
    return year in _official or package_covers(year)


class WorkCalendar:
    """Working days for one tenant: the tenant's overrides on top of the official calendar
    (entered years, else the package, else the fallback)."""

    __slots__ = ("extra_holidays", "extra_workdays")

    def __init__(
        self,
        extra_workdays: Iterable[date] = (),
        extra_holidays: Iterable[date] = (),
    ) -> None:
        workdays = frozenset(extra_workdays)
        holidays = frozenset(extra_holidays)
        for name, days in (("extra_workdays", workdays), ("extra_holidays", holidays)):
            wrong = [d for d in days if isinstance(d, datetime) or not isinstance(d, date)]
            if wrong:
                raise TypeError(f"{name} must hold dates, not {wrong[0]!r}")
        both = sorted(workdays & holidays)
        if both:
            listed = ", ".join(d.isoformat() for d in both)
            raise ValueError(f"a day cannot be both an extra workday and an extra holiday: {listed}")
        self.extra_workdays: frozenset[date] = workdays
        self.extra_holidays: frozenset[date] = holidays

    def __repr__(self) -> str:
        return (
            f"WorkCalendar(extra_workdays={sorted(self.extra_workdays)!r}, "
            f"extra_holidays={sorted(self.extra_holidays)!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WorkCalendar):
            return NotImplemented
        return (self.extra_workdays, self.extra_holidays) == (
            other.extra_workdays,
            other.extra_holidays,
        )

    def __hash__(self) -> int:
        return hash((self.extra_workdays, self.extra_holidays))

    def is_workday(self, day: date) -> bool:
        # A datetime would silently miss the override sets (datetime != date), so refuse it.
        if isinstance(day, datetime):
            raise TypeError(
                f"is_workday takes a date, not a datetime ({day.isoformat()}); "
                "use local_date() to get the Asia/Shanghai day"
            )
        if day in self.extra_workdays:
            return True
        if day in self.extra_holidays:
            return False
        official = _official_is_workday(day)
        if official is not None:
            return official
        return _package_is_workday(day)

    def next_workday(self, day: date) -> date:
        """``day`` itself if it is a working day, else the first working day after it."""
        while not self.is_workday(day):
            day += _ONE_DAY
        return day

    def add_working_days(self, start: datetime, n: int) -> datetime:
        """End of the n-th working day after the day of ``start`` (Art 45).

        ``n == 0`` gives the end of the start day itself.
        """
        _require_aware(start, "start")
        _require_count(n)
        day = local_date(start)
        counted = 0
        while counted < n:
            day += _ONE_DAY
            if self.is_workday(day):
                counted += 1
        return end_of_day(day)

    def add_calendar_days(self, start: datetime, n: int) -> datetime:
        """End of day start+n, moved to the next working day if that is a rest day (Art 45)."""
        _require_aware(start, "start")
        _require_count(n)
        return end_of_day(self.next_workday(local_date(start) + n * _ONE_DAY))

    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Time from ``a`` to ``b`` that falls on working days; negative when ``b < a``."""
        _require_aware(a, "a")
        _require_aware(b, "b")
        if b < a:
            return -self.working_time_between(b, a)
        # UTC arithmetic so the result is right even for zones with DST.
        a_utc, b_utc = a.astimezone(UTC), b.astimezone(UTC)
        total = timedelta(0)
        day, last = local_date(a), local_date(b)
        while day <= last:
            if self.is_workday(day):
                lo = max(a_utc, _start_of_day_utc(day))
                hi = min(b_utc, _start_of_day_utc(day + _ONE_DAY))
                if hi > lo:
                    total += hi - lo
            day += _ONE_DAY
        return total

    def after_working_time(self, start: datetime, amount: timedelta) -> datetime:
        """The moment when ``amount`` of working time has passed since ``start``: the inverse of
        ``working_time_between`` (``start`` itself when ``amount`` is not positive)."""
        _require_aware(start, "start")
        left = amount
        at = start.astimezone(UTC)
        day = local_date(start)
        while left > timedelta(0):
            if self.is_workday(day):
                lo = max(at, _start_of_day_utc(day))
                span = _start_of_day_utc(day + _ONE_DAY) - lo
                if left <= span:
                    return (lo + left).astimezone(SHANGHAI)
                left -= span
            day += _ONE_DAY
        return start


def _require_count(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"the number of days must be a whole number >= 0, got {n!r}")


DEFAULT_CALENDAR = WorkCalendar()
"""The official calendar with no tenant overrides."""


def _resolve(calendar: WorkCalendar | None) -> WorkCalendar:
    return DEFAULT_CALENDAR if calendar is None else calendar


def is_workday(day: date, calendar: WorkCalendar | None = None) -> bool:
    return _resolve(calendar).is_workday(day)


def add_working_days(start: datetime, n: int, calendar: WorkCalendar | None = None) -> datetime:
    return _resolve(calendar).add_working_days(start, n)


def add_calendar_days(start: datetime, n: int, calendar: WorkCalendar | None = None) -> datetime:
    return _resolve(calendar).add_calendar_days(start, n)


def working_time_between(a: datetime, b: datetime, calendar: WorkCalendar | None = None) -> timedelta:
    return _resolve(calendar).working_time_between(a, b)
