from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from common.workdays import (
    DEFAULT_CALENDAR,
    SHANGHAI,
    WorkCalendar,
    add_calendar_days,
    add_working_days,
    fallback_holidays,
    fallback_is_workday,
    is_workday,
    qingming,
    working_time_between,
)


def cst(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


def eod(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 23, 59, 59, 999999, tzinfo=SHANGHAI)


def published(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


# --- the official calendar, published years -------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected", "why"),
    [
        # Spring Festival 2024: Feb 10-17 off, Sundays Feb 4 and Feb 18 made up.
        (date(2024, 2, 4), True, "make-up Sunday before Spring Festival 2024"),
        (date(2024, 2, 9), True, "New Year's Eve 2024 was not a statutory day off"),
        (date(2024, 2, 10), False, "Spring Festival 2024, first day"),
        (date(2024, 2, 12), False, "Spring Festival 2024 on a Monday"),
        (date(2024, 2, 17), False, "Spring Festival 2024, last day"),
        (date(2024, 2, 18), True, "make-up Sunday after Spring Festival 2024"),
        (date(2024, 2, 19), True, "plain Monday after the holiday"),
        # National Day 2024: Oct 1-7 off, Sunday Sep 29 and Saturday Oct 12 made up.
        (date(2024, 9, 28), False, "plain Saturday"),
        (date(2024, 9, 29), True, "make-up Sunday before National Day 2024"),
        (date(2024, 10, 1), False, "National Day"),
        (date(2024, 10, 4), False, "National Day holiday on a Friday"),
        (date(2024, 10, 7), False, "National Day holiday, last day"),
        (date(2024, 10, 8), True, "first day back"),
        (date(2024, 10, 12), True, "make-up Saturday after National Day 2024"),
        (date(2024, 10, 13), False, "plain Sunday"),
        # Spring Festival 2025 (first year of the 4-day rule): Jan 28 - Feb 4 off.
        (date(2025, 1, 26), True, "make-up Sunday before Spring Festival 2025"),
        (date(2025, 1, 27), True, "Monday before New Year's Eve"),
        (date(2025, 1, 28), False, "New Year's Eve 2025"),
        (date(2025, 2, 3), False, "Spring Festival 2025 on a Monday"),
        (date(2025, 2, 4), False, "Spring Festival 2025, last day"),
        (date(2025, 2, 5), True, "first day back"),
        (date(2025, 2, 8), True, "make-up Saturday after Spring Festival 2025"),
        (date(2024, 6, 10), False, "Dragon Boat Festival 2024, a Monday"),
        (date(2024, 6, 12), True, "plain Wednesday"),
    ],
)
def test_official_calendar(day: date, expected: bool, why: str) -> None:
    assert is_workday(day) is expected, why


def test_is_workday_refuses_datetime() -> None:
    with pytest.raises(TypeError, match="date, not a datetime"):
        DEFAULT_CALENDAR.is_workday(cst(2024, 10, 1))


# --- Art 45: working-day limits ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "n", "deadline", "why"),
    [
        (cst(2024, 6, 3, 9), 1, eod(2024, 6, 4), "start day not counted"),
        (cst(2024, 6, 3, 0, 0), 1, eod(2024, 6, 4), "even when started at midnight"),
        (cst(2024, 6, 3, 23, 59), 1, eod(2024, 6, 4), "or a minute before the day ends"),
        (cst(2024, 6, 3, 9), 0, eod(2024, 6, 3), "zero days: end of the start day"),
        (cst(2024, 6, 7, 9), 1, eod(2024, 6, 11), "Friday + weekend + Dragon Boat Monday"),
        (cst(2024, 6, 8, 9), 1, eod(2024, 6, 11), "started on a rest day"),
        # Friday before National Day 2024: Sun 29 (1), Mon 30 (2), Oct 8-11 (3-6), Sat 12 (7).
        (cst(2024, 9, 27, 16), 7, eod(2024, 10, 12), "7 days across National Day 2024"),
        # Friday before Spring Festival 2024: Sun 4 (1), Feb 5-9 (2-6), Sun 18 (7).
        (cst(2024, 2, 2, 10), 7, eod(2024, 2, 18), "7 days across Spring Festival 2024"),
        (cst(2025, 1, 24, 10), 2, eod(2025, 1, 27), "Sun 26 and Mon 27 count, Sat 25 not"),
        (cst(2025, 1, 24, 10), 3, eod(2025, 2, 5), "then Jan 28 - Feb 4 are skipped"),
        (cst(2025, 1, 24, 10), 7, eod(2025, 2, 10), "Jan 26, 27, Feb 5, 6, 7, 8, 10"),
        (cst(2024, 6, 3, 9), 15, eod(2024, 6, 25), "15 working days skip the Dragon Boat day"),
    ],
)
def test_add_working_days(start: datetime, n: int, deadline: datetime, why: str) -> None:
    assert add_working_days(start, n) == deadline, why


def test_working_days_are_judged_in_shanghai() -> None:
    # 17:00 UTC on Monday is 01:00 Tuesday in Shanghai, so Tuesday is the uncounted start day.
    start = datetime(2024, 6, 3, 17, 0, tzinfo=UTC)
    assert add_working_days(start, 1) == eod(2024, 6, 5)
    # 23:00 on Friday in New York is already Saturday in Shanghai.
    friday_ny = datetime(2024, 9, 27, 23, 0, tzinfo=ZoneInfo("America/New_York"))
    assert add_working_days(friday_ny, 1) == eod(2024, 9, 29)


def test_deadline_is_aware_and_in_shanghai() -> None:
    deadline = add_working_days(datetime(2024, 6, 3, 1, tzinfo=UTC), 1)
    assert deadline.utcoffset() == timedelta(hours=8)
    assert deadline.isoformat() == "2024-06-04T23:59:59.999999+08:00"


@pytest.mark.parametrize(
    "call",
    [
        lambda: add_working_days(datetime(2024, 6, 3, 9), 1),
        lambda: add_calendar_days(datetime(2024, 6, 3, 9), 1),
        lambda: working_time_between(datetime(2024, 6, 3), cst(2024, 6, 4)),
    ],
)
def test_naive_datetimes_are_refused(call: object) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        call()  # type: ignore[operator]


@pytest.mark.parametrize("n", [-1, 1.5, True])
def test_bad_day_counts_are_refused(n: object) -> None:
    with pytest.raises(ValueError, match=">= 0"):
        add_working_days(cst(2024, 6, 3), n)  # type: ignore[arg-type]


# --- Art 45: calendar-day limits ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "n", "deadline", "why"),
    [
        (cst(2024, 6, 3, 9), 2, eod(2024, 6, 5), "plain: start + n, start day not counted"),
        (cst(2024, 9, 1, 9), 30, eod(2024, 10, 8), "lands on National Day -> Oct 8"),
        (cst(2024, 8, 2, 9), 60, eod(2024, 10, 8), "60 days of mediation ending Oct 1"),
        (cst(2024, 6, 1, 9), 14, eod(2024, 6, 17), "lands on a plain Saturday -> Monday"),
        (cst(2024, 5, 31, 9), 10, eod(2024, 6, 11), "lands on Dragon Boat Monday -> Tuesday"),
        (cst(2024, 10, 2, 9), 10, eod(2024, 10, 12), "lands on a make-up Saturday: stays"),
        (cst(2024, 12, 28, 9), 30, eod(2025, 1, 27), "lands on a plain Monday: stays"),
        (cst(2024, 12, 29, 9), 30, eod(2025, 2, 5), "lands on New Year's Eve 2025 -> Feb 5"),
        (cst(2024, 12, 30, 9), 30, eod(2025, 2, 5), "lands on lunar New Year 2025 -> Feb 5"),
    ],
)
def test_add_calendar_days(start: datetime, n: int, deadline: datetime, why: str) -> None:
    assert add_calendar_days(start, n) == deadline, why


# --- working time -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected", "why"),
    [
        (cst(2024, 6, 3, 9), cst(2024, 6, 3, 17), timedelta(hours=8), "same working day"),
        (cst(2024, 6, 8, 9), cst(2024, 6, 8, 17), timedelta(0), "same Saturday"),
        (cst(2024, 6, 7, 18), cst(2024, 6, 11, 6), timedelta(hours=12), "weekend + holiday"),
        (cst(2024, 9, 27, 12), cst(2024, 9, 30, 12), timedelta(hours=48), "make-up Sunday"),
        (cst(2024, 9, 30, 12), cst(2024, 9, 27, 12), -timedelta(hours=48), "reversed"),
        (cst(2024, 9, 30, 18), cst(2024, 10, 8, 6), timedelta(hours=12), "National Day"),
        (
            datetime(2024, 6, 3, 16, tzinfo=UTC),  # 00:00 Tuesday in Shanghai
            datetime(2024, 6, 4, 16, tzinfo=UTC),
            timedelta(hours=24),
            "UTC inputs, Shanghai days",
        ),
    ],
)
def test_working_time_between(a: datetime, b: datetime, expected: timedelta, why: str) -> None:
    assert working_time_between(a, b) == expected, why


# --- fallback for years the package does not publish -----------------------------------------


@pytest.mark.parametrize(
    ("day", "expected", "why"),
    [
        (date(2031, 1, 1), False, "元旦, a Wednesday"),
        (date(2031, 1, 8), True, "plain Wednesday"),
        (date(2031, 3, 12), True, "plain Wednesday"),
        (date(2031, 3, 15), False, "plain Saturday"),
        (date(2031, 1, 22), False, "lunar New Year's Eve 2031 (Wednesday)"),
        (date(2031, 1, 23), False, "lunar 1/1 2031"),
        (date(2031, 1, 24), False, "lunar 1/2 2031"),
        (date(2031, 1, 27), True, "lunar 1/5, a Monday: no bridging in the fallback"),
        (date(2031, 4, 4), True, "not 清明 in 2031 (a Friday)"),
        (date(2031, 5, 1), False, "劳动节"),
        (date(2031, 5, 2), False, "劳动节, second day"),
        (date(2031, 5, 6), True, "plain Tuesday after May Day"),
        (date(2031, 6, 24), False, "端午 (lunar 5/5), a Tuesday"),
        (date(2031, 10, 1), False, "国庆 and 中秋 on the same day"),
        (date(2031, 10, 3), False, "国庆, third day"),
        (date(2031, 10, 6), True, "Monday after National Day: no bridging"),
        (date(2031, 10, 11), False, "Saturday: no make-up days in the fallback"),
    ],
)
def test_fallback_rule(day: date, expected: bool, why: str) -> None:
    assert fallback_is_workday(day) is expected, why


def test_fallback_used_for_unpublished_year() -> None:
    if published(2031):
        pytest.skip("chinesecalendar now publishes 2031; the fallback is no longer used")
    assert not is_workday(date(2031, 1, 1))
    assert is_workday(date(2031, 1, 8))
    assert not is_workday(date(2031, 10, 1))
    # Art 45 on top of the fallback: the limit counts over 元旦 2031 (a Wednesday).
    assert add_working_days(cst(2030, 12, 31, 10), 1) == eod(2031, 1, 2)


@pytest.mark.parametrize(
    ("year", "expected"),
    [
        (2008, date(2008, 4, 4)),
        (2015, date(2015, 4, 5)),
        (2024, date(2024, 4, 4)),
        (2025, date(2025, 4, 4)),
        (2026, date(2026, 4, 5)),
        (2031, date(2031, 4, 5)),
    ],
)
def test_qingming(year: int, expected: date) -> None:
    assert qingming(year) == expected


@pytest.mark.parametrize("year", [2025, 2026])
def test_fallback_matches_published_years_under_the_2025_rules(year: int) -> None:
    # Every statutory day the fallback knows is a day off in the published calendar.
    days = fallback_holidays(year)
    assert len(days) == 13
    assert all(not chinese_calendar.is_workday(d) for d in days), sorted(days)


def test_fallback_outside_lunardate_range_keeps_solar_holidays() -> None:
    days = fallback_holidays(2100)
    assert date(2100, 1, 1) in days
    assert date(2100, 10, 1) in days
    assert len(days) == 7


# --- tenant overrides ---------------------------------------------------------------------------


def test_overrides_win_over_the_published_calendar() -> None:
    cal = WorkCalendar(
        extra_workdays={date(2024, 10, 7)},  # a holiday the tenant works
        extra_holidays={date(2024, 6, 12), date(2024, 10, 12)},  # a plain and a make-up day
    )
    assert cal.is_workday(date(2024, 10, 7))
    assert not cal.is_workday(date(2024, 6, 12))
    assert not cal.is_workday(date(2024, 10, 12))
    assert cal.is_workday(date(2024, 6, 11)), "days not overridden follow the calendar"
    # The default calendar is untouched.
    assert not DEFAULT_CALENDAR.is_workday(date(2024, 10, 7))


def test_overrides_correct_the_fallback() -> None:
    # As a tenant would enter the State Council's notice for a year not yet published.
    cal = WorkCalendar(
        extra_workdays={date(2031, 10, 11)},
        extra_holidays={date(2031, 10, 6), date(2031, 10, 7)},
    )
    assert cal.is_workday(date(2031, 10, 11))
    assert not cal.is_workday(date(2031, 10, 6))
    # Friday Oct 3 + 1 working day: Oct 4-5 weekend, 6-7 tenant holidays -> Wednesday Oct 8.
    assert cal.add_working_days(cst(2031, 10, 3, 9), 1) == eod(2031, 10, 8)
    assert DEFAULT_CALENDAR.add_working_days(cst(2031, 10, 3, 9), 1) == eod(2031, 10, 6)


def test_overrides_move_calendar_day_limits() -> None:
    cal = WorkCalendar(extra_holidays={date(2024, 6, 5)})
    assert cal.add_calendar_days(cst(2024, 6, 3, 9), 2) == eod(2024, 6, 6)
    assert cal.working_time_between(cst(2024, 6, 4), cst(2024, 6, 6)) == timedelta(hours=24)


def test_overrides_cannot_contradict_each_other() -> None:
    with pytest.raises(ValueError, match="2024-06-05"):
        WorkCalendar(extra_workdays=[date(2024, 6, 5)], extra_holidays=[date(2024, 6, 5)])


def test_overrides_must_be_dates() -> None:
    with pytest.raises(TypeError, match="extra_holidays"):
        WorkCalendar(extra_holidays=[cst(2024, 6, 5)])


def test_module_functions_take_a_calendar() -> None:
    cal = WorkCalendar(extra_holidays={date(2024, 6, 4)})
    assert not is_workday(date(2024, 6, 4), cal)
    assert add_working_days(cst(2024, 6, 3), 1, cal) == eod(2024, 6, 5)
    assert add_calendar_days(cst(2024, 6, 3), 1, cal) == eod(2024, 6, 5)
    assert working_time_between(cst(2024, 6, 4), cst(2024, 6, 5), cal) == timedelta(0)
