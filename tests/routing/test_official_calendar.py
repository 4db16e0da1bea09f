"""The official calendar the platform admin enters: its precedence (entered year > chinesecalendar
package > fallback, tenant days on top), Art 45 counting across the year boundary on it, the checks
of a year's schedule, and when a missing year is said.

The 2027 schedules below are made up for the tests (the State Council's 2027 notice was not found):
元旦 on Friday 1 January 2027, Monday 4 January taken off, Saturday 9 January worked."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import chinese_calendar
import pytest

from common import clocks
from common.clocks import ClockKind, ClockRule, ClockUnit
from common.errors import InvalidInput
from common.official_calendar import parse
from common.workdays import (
    DEFAULT_CALENDAR,
    SHANGHAI,
    OfficialYear,
    WorkCalendar,
    add_calendar_days,
    add_working_days,
    enter_official_year,
    is_workday,
    official_years,
    package_covers,
    schedule_known,
    set_official_years,
)
from services.routing.official_calendar import missing_years

DATA = Path(__file__).resolve().parents[2] / "data" / "official_calendar"
TODAY = date(2026, 12, 4)

NEW_YEAR_2027 = OfficialYear(
    2027,
    statutory_holidays=frozenset({date(2027, 1, 1)}),
    bridging_days=frozenset({date(2027, 1, 4)}),
    makeup_workdays=frozenset({date(2027, 1, 9)}),
)


def cst(y: int, m: int, d: int, hh: int = 0) -> datetime:
    return datetime(y, m, d, hh, tzinfo=SHANGHAI)


def eod(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 23, 59, 59, 999999, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def entered() -> Iterator[None]:
    """Every test starts with no year entered in this process, and leaves none behind."""
    before = official_years().values()
    set_official_years(())
    yield
    set_official_years(before)


@pytest.fixture(scope="module", autouse=True)
def unpublished_2027() -> None:
    if package_covers(2027):
        pytest.skip("chinesecalendar now publishes 2027: these examples assume it counts on the fallback")


# --- precedence ---------------------------------------------------------------------------------------


def test_an_entered_year_replaces_the_fallback() -> None:
    assert is_workday(date(2027, 1, 4)), "the fallback works Monday 4 January"
    assert not is_workday(date(2027, 1, 9)), "the fallback rests on every Saturday"
    enter_official_year(2027, NEW_YEAR_2027)
    assert not is_workday(date(2027, 1, 4)), "a bridging day is off"
    assert is_workday(date(2027, 1, 9)), "a make-up Saturday is worked"
    assert not is_workday(date(2027, 1, 1)), "a statutory holiday is off"
    assert not is_workday(date(2027, 1, 10)), "a Sunday not listed follows the week"
    assert is_workday(date(2027, 1, 5)), "a weekday not listed follows the week"
    # the entered year knows only what the notice lists: a day the fallback takes off is worked
    assert is_workday(date(2027, 10, 1)), "Friday 1 October is not in this notice"
    assert schedule_known(2027)


def test_an_entered_year_takes_precedence_over_the_package() -> None:
    assert package_covers(2026)
    assert is_workday(date(2026, 6, 10)), "the package works Wednesday 10 June 2026"
    assert not is_workday(date(2026, 10, 7)), "and rests on 7 October (National Day 2026)"
    assert is_workday(date(2026, 10, 10)), "and works the make-up Saturday 10 October"
    enter_official_year(
        2026, OfficialYear(2026, frozenset({date(2026, 10, 1)}), frozenset({date(2026, 6, 10)}), frozenset())
    )
    assert not is_workday(date(2026, 6, 10))
    assert is_workday(date(2026, 10, 7)), "not listed: a plain Wednesday"
    assert not is_workday(date(2026, 10, 10)), "not listed: a plain Saturday"


def test_withdrawing_a_year_goes_back_to_the_package_or_the_fallback() -> None:
    enter_official_year(2027, NEW_YEAR_2027)
    enter_official_year(2027, None)
    assert is_workday(date(2027, 1, 4))
    assert not schedule_known(2027)


def test_a_notice_may_begin_in_the_december_before_its_year() -> None:
    # as 元旦 2023 began on Saturday 31 December 2022; here Thursday 31 December 2026 is bridged
    enter_official_year(2027, OfficialYear(2027, frozenset({date(2027, 1, 1)}), frozenset({date(2026, 12, 31)})))
    assert not is_workday(date(2026, 12, 31))
    assert is_workday(date(2026, 12, 30)), "the rest of December 2026 still follows the package"


def test_tenant_days_stay_on_top_of_an_entered_year() -> None:
    enter_official_year(2027, NEW_YEAR_2027)
    cal = WorkCalendar(extra_workdays={date(2027, 1, 4)}, extra_holidays={date(2027, 1, 9)})
    assert cal.is_workday(date(2027, 1, 4)), "the tenant works the bridging day"
    assert not cal.is_workday(date(2027, 1, 9)), "the tenant rests on the make-up Saturday"
    assert not cal.is_workday(date(2027, 1, 1)), "days the tenant did not name follow the entered year"
    assert not DEFAULT_CALENDAR.is_workday(date(2027, 1, 4))


def test_the_2026_notice_as_data_agrees_with_the_package_on_every_day() -> None:
    # the data file transcribes the State Council's 2026 notice; the package has it too
    schedule = json.loads((DATA / "2026.json").read_text(encoding="utf-8"))
    entry = parse(2026, schedule, TODAY)
    assert len(entry.statutory_holidays) == 13
    enter_official_year(2026, entry)
    day = date(2026, 1, 1)
    while day.year == 2026:
        assert is_workday(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


# --- Art 45 across the year boundary ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "n", "fallback", "official", "why"),
    [
        # Dec 25 (1), 28-31 (2-5), Jan 1 off, then Jan 4 (6), 5 (7) on the fallback; entered:
        # Jan 4 is bridged, so Jan 5 (6), 6 (7)
        (cst(2026, 12, 24, 10), 7, eod(2027, 1, 5), eod(2027, 1, 6), "acceptance over 元旦 2027"),
        # Friday 8 January + 1: Monday on the fallback, the make-up Saturday when entered
        (cst(2027, 1, 8, 10), 1, eod(2027, 1, 11), eod(2027, 1, 9), "a make-up Saturday counts"),
        # started on the bridging day itself: the start day never counts either way
        (cst(2027, 1, 4, 10), 1, eod(2027, 1, 5), eod(2027, 1, 5), "started on a bridging day"),
    ],
)
def test_working_days_across_the_year_boundary(
    start: datetime, n: int, fallback: datetime, official: datetime, why: str
) -> None:
    assert add_working_days(start, n) == fallback, why
    enter_official_year(2027, NEW_YEAR_2027)
    assert add_working_days(start, n) == official, why


def test_calendar_days_landing_on_a_bridging_day_move_to_the_next_working_day() -> None:
    # 60 days of mediation from 5 December 2026 end on Wednesday 3 February 2027
    start = cst(2026, 12, 5, 9)
    assert add_calendar_days(start, 60) == eod(2027, 2, 3)
    enter_official_year(2027, OfficialYear(2027, frozenset({date(2027, 1, 1)}), frozenset({date(2027, 2, 3)})))
    assert add_calendar_days(start, 60) == eod(2027, 2, 4)


def test_tenant_days_count_on_top_across_the_boundary() -> None:
    enter_official_year(2027, NEW_YEAR_2027)
    cal = WorkCalendar(extra_holidays={date(2026, 12, 28)})
    # Dec 25 (1), 29-31 (2-4), Jan 5 (5), 6 (6), 7 (7)
    assert cal.add_working_days(cst(2026, 12, 24, 10), 7) == eod(2027, 1, 7)


def test_a_running_clock_is_recounted_on_the_entered_year() -> None:
    rule = ClockRule(ClockKind.ACCEPTANCE, 7, ClockUnit.WORKING_DAYS)
    clock = clocks.start_clock(rule, cst(2026, 12, 24, 10))
    assert clock.deadline == eod(2027, 1, 5)
    enter_official_year(2027, NEW_YEAR_2027)
    assert clocks.recount(clock).deadline == eod(2027, 1, 6)
    # an extension counted before stays counted: 7 + 2 working days from the start
    extended = clocks.extend(clock, 2)
    assert clocks.recount(extended).deadline == eod(2027, 1, 8)
    hours = clocks.start_clock(ClockRule(ClockKind.ACKNOWLEDGEMENT, 24, ClockUnit.HOURS), cst(2027, 1, 3, 10))
    assert clocks.recount(hours) == hours


# --- checking a year's schedule ---------------------------------------------------------------------------


def fields(year: object, **schedule: object) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        parse(year, {"statutory_holidays": ["2027-01-01"], **schedule}, TODAY)
    return [f["field"] for f in caught.value.fields]


def test_a_schedule_parses() -> None:
    entry = parse(
        2027,
        {"statutory_holidays": ["2027-01-01"], "bridging_days": ["2027-01-04"], "makeup_workdays": ["2027-01-09"]},
        TODAY,
    )
    assert entry == NEW_YEAR_2027


@pytest.mark.parametrize(
    ("year", "schedule", "field"),
    [
        (1999, {}, "year"),
        (2029, {}, "year"),  # two years ahead of 2026: no notice comes out that early
        ("2027", {}, "year"),
        (2027, {"makeup_workdays": ["2027-01-08"]}, "makeup_workdays.0"),  # a Friday
        (2027, {"bridging_days": ["2027-01-04", "2027-01-09"]}, "bridging_days.1"),  # a Saturday
        (2027, {"bridging_days": ["2028-01-03"]}, "bridging_days.0"),  # the year after
        (2027, {"bridging_days": ["2026-11-30"]}, "bridging_days.0"),  # before the December before
        (2027, {"bridging_days": ["2027-01-01"]}, "bridging_days.0"),  # already a statutory holiday
        (2027, {"makeup_workdays": ["not a date"]}, "makeup_workdays.0"),
        (2027, {"statutory_holidays": []}, "statutory_holidays"),
        (2027, {"holidays": ["2027-01-01"]}, "holidays"),
    ],
)
def test_a_wrong_schedule_names_the_field(year: object, schedule: dict, field: str) -> None:
    assert field in fields(year, **schedule)


def test_a_schedule_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(InvalidInput, match="body"):
        parse(2027, ["2027-01-01"], TODAY)  # type: ignore[arg-type]


def test_a_make_up_workday_error_says_why() -> None:
    with pytest.raises(InvalidInput, match="not a weekend day"):
        parse(2027, {"statutory_holidays": ["2027-01-01"], "makeup_workdays": ["2027-01-08"]}, TODAY)


# --- when a missing year is said ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("on", "known", "missing"),
    [
        (date(2026, 11, 30), {2026}, []),
        (date(2026, 12, 1), {2026}, [2027]),
        (date(2026, 12, 31), {2026, 2027}, []),
        (date(2027, 1, 2), {2026}, [2027]),  # still missing in its own year
        (date(2027, 6, 1), {2027}, []),
    ],
)
def test_missing_years(on: date, known: set[int], missing: list[int]) -> None:
    assert missing_years(on, known.__contains__) == missing
