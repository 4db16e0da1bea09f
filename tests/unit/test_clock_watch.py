"""When a clock changes colour (common.clocks.next_change) and what the watcher does with a due
clock (common.clock_watch): pure, no database."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest

from common import clock_watch
from common.clocks import DEFAULT_RULES, ClockKind, colour, next_change, pause, resume, start_clock, stop
from common.contracts import Unit
from common.errors import InvalidInput
from common.workdays import DEFAULT_CALENDAR, SHANGHAI, WorkCalendar

SECOND = timedelta(seconds=1)
VILLAGE = Unit(code="321282105201", name="安武村委会", tier="village")


def cst(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


@pytest.mark.parametrize("kind", list(ClockKind))
@pytest.mark.parametrize("share", [0.5, 2 / 3, 0.9])
def test_next_change_is_the_exact_moment_of_yellow_then_of_red(kind: ClockKind, share: float) -> None:
    # the Saturday before National Day 2025: a make-up workday follows, then the holiday week
    start = cst(2025, 9, 27, 16, 30)
    clock = start_clock(DEFAULT_RULES[kind], start)
    yellow_at = next_change(clock, start, share)
    assert yellow_at is not None
    assert colour(clock, yellow_at - SECOND, share) == "green"
    assert colour(clock, yellow_at, share) == "yellow"
    red_at = next_change(clock, yellow_at, share)
    assert red_at == clock.deadline + timedelta(microseconds=1)
    assert colour(clock, red_at, share) == "red"
    assert next_change(clock, red_at, share) is None


def test_a_working_day_clock_does_not_turn_yellow_over_a_holiday() -> None:
    # started on the last workday before National Day 2025 (Sep 30): the week off counts nothing
    clock = start_clock(DEFAULT_RULES[ClockKind.ACCEPTANCE], cst(2025, 9, 30, 9))
    yellow_at = next_change(clock, cst(2025, 9, 30, 9))
    assert yellow_at is not None and yellow_at.date() > datetime(2025, 10, 8).date()
    assert colour(clock, cst(2025, 10, 8, 12)) == "green"


def test_paused_and_stopped_clocks_have_no_next_change_and_a_resumed_one_is_pushed_out() -> None:
    start = cst(2025, 6, 2, 9)  # 60 and 70 days on are working days: no holiday shift either way
    clock = start_clock(DEFAULT_RULES[ClockKind.MEDIATION], start)
    before = next_change(clock, start)
    paused = pause(clock, start + timedelta(days=10))
    assert next_change(paused, start + timedelta(days=12)) is None
    resumed = resume(paused, start + timedelta(days=20))
    after = next_change(resumed, start + timedelta(days=20))
    assert before is not None and after is not None and after - before == timedelta(days=10)
    assert next_change(stop(resumed, start + timedelta(days=21)), start + timedelta(days=21)) is None


def test_after_working_time_inverts_working_time_between() -> None:
    cal = WorkCalendar(extra_holidays=[datetime(2025, 3, 5).date()])
    start = cst(2025, 3, 3, 15, 45)  # a Monday; Wednesday taken off locally
    for hours in (0.5, 8, 8.25, 30, 75, 200):
        at = cal.after_working_time(start, timedelta(hours=hours))
        assert cal.working_time_between(start, at) == timedelta(hours=hours)
    assert DEFAULT_CALENDAR.after_working_time(start, timedelta(0)) == start


def row(kind: ClockKind, start: datetime, **fields) -> SimpleNamespace:
    stored = SimpleNamespace(
        complaint_id=uuid.uuid4(), kind=kind.value, colour="green", yellow_share=2 / 3, next_check_at=None, **fields
    )
    stored.clock = start_clock(DEFAULT_RULES[kind], start)
    return stored


def advance(rows, now, holders=None):
    holders = holders if holders is not None else {r.complaint_id: clock_watch.Holder(VILLAGE, "li") for r in rows}
    return list(clock_watch._advance(rows, lambda r: r.clock, lambda r: None, now, holders))


def test_the_watcher_reports_each_change_once_and_reschedules() -> None:
    start = cst(2025, 3, 3, 9)
    r = row(ClockKind.ACKNOWLEDGEMENT, start)
    clock_watch.schedule(r, r.clock, start)
    assert r.next_check_at == start + timedelta(hours=16)
    [yellow] = advance([r], r.next_check_at)
    assert (yellow.colour, yellow.clock, yellow.handler, yellow.tier) == ("yellow", "acknowledgement", "li", "village")
    assert r.colour == "yellow" and r.next_check_at == r.clock.deadline + timedelta(microseconds=1)
    assert advance([r], r.next_check_at - SECOND) == []  # looked at early: nothing to say, same schedule
    [red] = advance([r], r.next_check_at)
    assert red.colour == "red" and r.next_check_at is None


def test_a_clock_without_a_responsible_unit_keeps_its_colour_silently() -> None:
    start = cst(2025, 3, 3, 9)
    r = row(ClockKind.ACKNOWLEDGEMENT, start)
    assert advance([r], start + timedelta(hours=20), holders={}) == []
    assert r.colour == "yellow"  # not told again once a unit holds it; red will be


def test_schedule_makes_an_unreported_change_due_at_once_and_a_stopped_clock_final() -> None:
    start = cst(2025, 3, 3, 9)
    r = row(ClockKind.ACKNOWLEDGEMENT, start)
    late = start + timedelta(hours=30)
    clock_watch.schedule(r, r.clock, late)
    assert r.next_check_at == late and r.colour == "green"  # the watcher reports red, not schedule
    stopped = stop(r.clock, late)
    clock_watch.schedule(r, stopped, late)
    assert (r.colour, r.next_check_at) == ("red", None)


# --- what a caller may ask of the clocks its units hold (GET /api/v1/clocks) -----------------------------


def test_held_clocks_default_to_the_clocks_near_breach() -> None:
    asked = clock_watch.HeldClocks.parse(None, None, 100)
    assert asked == clock_watch.HeldClocks(colours=("yellow", "red"), kinds=(), limit=100)
    assert clock_watch.HeldClocks.parse(["green"], ["mediation"], 1).colours == ("green",)


def test_held_clocks_name_every_wrong_field_and_what_is_allowed() -> None:
    with pytest.raises(InvalidInput) as wrong:
        clock_watch.HeldClocks.parse(["red", "purple"], ["lunch"], 501)
    fields = {f["field"]: f["message"] for f in wrong.value.fields}
    assert set(fields) == {"colour", "kind", "limit"}
    assert "'purple'" in fields["colour"] and "yellow" in fields["colour"]
    assert "'lunch'" in fields["kind"] and "tier_target" in fields["kind"]
    assert "500" in fields["limit"]


def test_a_held_clock_carries_its_case_holder_and_light() -> None:
    start = cst(2026, 3, 2, 9)
    clock = start_clock(DEFAULT_RULES[ClockKind.ACCEPTANCE], start)
    key = uuid.uuid4()
    shown = clock_watch.held_clock(
        key, clock, clock.deadline - SECOND, unit=VILLAGE, calendar=None, yellow_share=None, tracking_no="T1"
    )
    assert shown["complaint_id"] == str(key) and shown["tracking_no"] == "T1" and shown["handler"] is None
    assert shown["unit"] == {"code": VILLAGE.code, "name": VILLAGE.name, "tier": "village"}
    assert shown["kind"] == "acceptance" and shown["colour"] == "yellow" and shown["remaining_seconds"] == 1
