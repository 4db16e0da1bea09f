from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from common.clocks import (
    DEFAULT_RULES,
    Clock,
    ClockKind,
    ClockRule,
    ClockUnit,
    colour,
    extend,
    pause,
    remaining,
    resume,
    start_clock,
    stop,
    tier_target_rule,
    to_dict,
)
from common.workdays import SHANGHAI, WorkCalendar

H = timedelta(hours=1)
US = timedelta(microseconds=1)


def cst(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


def eod(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 23, 59, 59, 999999, tzinfo=SHANGHAI)


def rule(kind: ClockKind) -> ClockRule:
    return DEFAULT_RULES[kind]


ACK_START = cst(2024, 6, 3, 10)


def ack() -> Clock:
    return start_clock(rule(ClockKind.ACKNOWLEDGEMENT), ACK_START)


# --- rules ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "amount", "unit"),
    [
        (ClockKind.ACKNOWLEDGEMENT, 24, ClockUnit.HOURS),
        (ClockKind.ACCEPTANCE, 7, ClockUnit.WORKING_DAYS),
        (ClockKind.MEDIATION, 60, ClockUnit.CALENDAR_DAYS),
        (ClockKind.MEDIATION_END_NOTICE, 7, ClockUnit.WORKING_DAYS),
        (ClockKind.TIER_TARGET, 10, ClockUnit.WORKING_DAYS),
        (ClockKind.AGENCY_HANDOVER_ACK, 3, ClockUnit.WORKING_DAYS),
        (ClockKind.LEAD_VERIFICATION, 15, ClockUnit.WORKING_DAYS),
    ],
)
def test_default_rules(kind: ClockKind, amount: int, unit: ClockUnit) -> None:
    assert DEFAULT_RULES[kind] == ClockRule(kind, amount, unit)


def test_every_kind_has_a_default_rule() -> None:
    assert set(DEFAULT_RULES) == set(ClockKind)


@pytest.mark.parametrize(
    ("tier", "own", "expected"),
    [("village", None, 10), ("township", None, 15), ("city", None, 30), ("township", 12, 12)],
)
def test_tier_target_rule(tier: str, own: int | None, expected: int) -> None:
    assert tier_target_rule(tier, own) == ClockRule(ClockKind.TIER_TARGET, expected, ClockUnit.WORKING_DAYS)


def test_unknown_tier_is_refused() -> None:
    with pytest.raises(ValueError, match="village, township, city"):
        tier_target_rule("province")


@pytest.mark.parametrize("amount", [-1, 2.5, True])
def test_rule_amount_must_be_a_whole_number(amount: object) -> None:
    with pytest.raises(ValueError, match="whole number"):
        ClockRule(ClockKind.ACCEPTANCE, amount, ClockUnit.WORKING_DAYS)  # type: ignore[arg-type]


# --- deadlines ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("clock_rule", "started_at", "deadline", "why"),
    [
        (
            rule(ClockKind.ACKNOWLEDGEMENT),
            cst(2024, 9, 30, 10),
            cst(2024, 10, 1, 10),
            "24 elapsed hours, holiday or not",
        ),
        (
            rule(ClockKind.ACKNOWLEDGEMENT),
            datetime(2024, 6, 3, 2, tzinfo=UTC),
            cst(2024, 6, 4, 10),
            "given in UTC, returned in Shanghai",
        ),
        (
            rule(ClockKind.ACCEPTANCE),
            cst(2024, 9, 27, 16),
            eod(2024, 10, 12),
            "Friday before National Day 2024, make-up days count",
        ),
        (rule(ClockKind.MEDIATION), cst(2024, 8, 2, 9), eod(2024, 10, 8), "day 60 is Oct 1 -> next working day"),
        (rule(ClockKind.AGENCY_HANDOVER_ACK), cst(2024, 6, 3, 9), eod(2024, 6, 6), "3 days"),
        (rule(ClockKind.TIER_TARGET), cst(2024, 6, 3, 9), eod(2024, 6, 18), "village 10 days over Dragon Boat"),
        (tier_target_rule("township"), cst(2024, 6, 3, 9), eod(2024, 6, 25), "township 15"),
        (rule(ClockKind.LEAD_VERIFICATION), cst(2024, 6, 3, 9), eod(2024, 6, 25), "15 days"),
    ],
)
def test_start_clock(clock_rule: ClockRule, started_at: datetime, deadline: datetime, why: str) -> None:
    clock = start_clock(clock_rule, started_at)
    assert clock.deadline == deadline, why
    assert clock.deadline.utcoffset() == timedelta(hours=8)
    assert (clock.kind, clock.unit, clock.amount) == (
        clock_rule.kind,
        clock_rule.unit,
        clock_rule.amount,
    )
    assert clock.paused_at is None and clock.stopped_at is None
    assert clock.paused_total == timedelta(0)


def test_start_clock_uses_the_tenant_calendar() -> None:
    cal = WorkCalendar(extra_holidays={date(2024, 6, 6)})
    clock = start_clock(rule(ClockKind.AGENCY_HANDOVER_ACK), cst(2024, 6, 3, 9), cal)
    assert clock.deadline == eod(2024, 6, 7)


def test_start_clock_refuses_naive_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        start_clock(rule(ClockKind.ACCEPTANCE), datetime(2024, 6, 3, 9))


# --- pause / resume -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("clock_rule", "started_at", "paused_at", "resumed_at", "deadline", "why"),
    [
        (
            rule(ClockKind.ACKNOWLEDGEMENT),
            ACK_START,
            cst(2024, 6, 3, 12),
            cst(2024, 6, 3, 15, 30),
            cst(2024, 6, 4, 13, 30),
            "hours: pushed by exactly the time paused",
        ),
        (
            rule(ClockKind.MEDIATION),
            cst(2024, 3, 1, 10),
            cst(2024, 3, 10, 9),
            cst(2024, 3, 10, 17),
            eod(2024, 4, 30),
            "a pause within one day moves nothing",
        ),
        (
            rule(ClockKind.MEDIATION),
            cst(2024, 3, 1, 10),
            cst(2024, 3, 10, 15),
            cst(2024, 3, 12, 9),
            eod(2024, 5, 6),
            "2 whole days: day 62 is May 2 (holiday) -> May 6",
        ),
        (
            rule(ClockKind.MEDIATION),
            cst(2024, 8, 2, 9),
            cst(2024, 8, 10, 9),
            cst(2024, 8, 12, 9),
            eod(2024, 10, 8),
            "recomputed: day 62 is Oct 3 -> still Oct 8",
        ),
        (
            rule(ClockKind.ACCEPTANCE),
            cst(2024, 6, 3, 9),
            cst(2024, 6, 5, 10),
            cst(2024, 6, 7, 10),
            eod(2024, 6, 17),
            "Thu and Fri excluded: 9 working days",
        ),
        (
            rule(ClockKind.ACCEPTANCE),
            cst(2024, 6, 3, 9),
            cst(2024, 6, 7, 10),
            cst(2024, 6, 11, 10),
            eod(2024, 6, 14),
            "over weekend + holiday only Tue excluded",
        ),
        (
            rule(ClockKind.ACCEPTANCE),
            cst(2024, 6, 3, 9),
            cst(2024, 6, 7, 10),
            cst(2024, 6, 8, 10),
            eod(2024, 6, 13),
            "pause day counts as used; Sat excludes nothing",
        ),
    ],
)
def test_pause_and_resume_move_the_deadline(
    clock_rule: ClockRule,
    started_at: datetime,
    paused_at: datetime,
    resumed_at: datetime,
    deadline: datetime,
    why: str,
) -> None:
    clock = start_clock(clock_rule, started_at)
    paused = pause(clock, paused_at)
    assert paused.paused and paused.paused_at == paused_at
    assert paused.deadline == clock.deadline, "pausing alone does not move the deadline"
    resumed = resume(paused, resumed_at)
    assert resumed.deadline == deadline, why
    assert not resumed.paused
    assert resumed.paused_total == resumed_at - paused_at


def test_pauses_add_up() -> None:
    clock = ack()
    clock = resume(pause(clock, cst(2024, 6, 3, 11)), cst(2024, 6, 3, 12))
    clock = resume(pause(clock, cst(2024, 6, 3, 13)), cst(2024, 6, 3, 15))
    assert clock.paused_total == 3 * H
    assert clock.deadline == cst(2024, 6, 4, 13)


def test_resume_uses_the_tenant_calendar() -> None:
    cal = WorkCalendar(extra_holidays={date(2024, 6, 17)})
    clock = pause(start_clock(rule(ClockKind.ACCEPTANCE), cst(2024, 6, 3, 9)), cst(2024, 6, 5))
    assert resume(clock, cst(2024, 6, 7, 10), cal).deadline == eod(2024, 6, 18)


def test_extend_lead_verification_once_more() -> None:
    clock = start_clock(rule(ClockKind.LEAD_VERIFICATION), cst(2024, 6, 3, 9))
    assert extend(clock, 15).deadline == eod(2024, 7, 16)


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (lambda: pause(pause(ack(), cst(2024, 6, 3, 11)), cst(2024, 6, 3, 12)), "already paused"),
        (lambda: resume(ack(), cst(2024, 6, 3, 11)), "not paused"),
        (lambda: resume(pause(ack(), cst(2024, 6, 3, 12)), cst(2024, 6, 3, 11)), "before the pause"),
        (lambda: stop(pause(ack(), cst(2024, 6, 3, 11)), cst(2024, 6, 3, 12)), "resume it"),
        (lambda: pause(ack(), cst(2024, 6, 4, 10, 1)), "cannot be paused"),
        (lambda: pause(ack(), cst(2024, 6, 3, 9)), "before the clock started"),
        (lambda: pause(stop(ack(), cst(2024, 6, 3, 11)), cst(2024, 6, 3, 12)), "stopped"),
        (lambda: stop(stop(ack(), cst(2024, 6, 3, 11)), cst(2024, 6, 3, 12)), "already stopped"),
        (lambda: stop(ack(), cst(2024, 6, 3, 9)), "before the clock started"),
        (lambda: extend(stop(ack(), cst(2024, 6, 3, 11)), 1), "stopped"),
        (lambda: extend(ack(), 0), "> 0"),
        (lambda: pause(ack(), datetime(2024, 6, 3, 11)), "timezone-aware"),
    ],
)
def test_invalid_transitions_are_refused(action: Callable[[], Clock], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        action()


def test_operations_do_not_mutate() -> None:
    clock = ack()
    pause(clock, cst(2024, 6, 3, 11))
    stop(clock, cst(2024, 6, 3, 11))
    assert clock == ack()


# --- colour -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "now", "expected", "why"),
    [
        (ack, ACK_START, "green", "just started"),
        (ack, ACK_START + 16 * H - timedelta(seconds=1), "green", "just under two thirds"),
        (ack, ACK_START + 16 * H, "yellow", "two thirds used"),
        (ack, ACK_START + 24 * H, "yellow", "at the deadline, not yet breached"),
        (ack, ACK_START + 24 * H + timedelta(seconds=1), "red", "past the deadline"),
        (lambda: stop(ack(), ACK_START + 20 * H), ACK_START + 48 * H, "green", "met in time"),
        (lambda: stop(ack(), ACK_START + 25 * H), ACK_START + 25 * H, "red", "met late"),
        (
            lambda: pause(ack(), ACK_START + 6 * H),
            ACK_START + 30 * H,
            "green",
            "paused early: frozen, not breached by the pause",
        ),
        (lambda: pause(ack(), ACK_START + 20 * H), ACK_START + 30 * H, "yellow", "paused late: frozen at its share"),
        # Paused 12 h, so the deadline is +36 h; at +26 h only 14 of 24 h were used.
        (
            lambda: resume(pause(ack(), ACK_START + 2 * H), ACK_START + 14 * H),
            ACK_START + 26 * H,
            "green",
            "paused time is not counted as used",
        ),
        (
            lambda: resume(pause(ack(), ACK_START + 2 * H), ACK_START + 14 * H),
            ACK_START + 28 * H,
            "yellow",
            "16 of 24 active hours used",
        ),
        # Acceptance from Fri 2024-09-27 12:00 to Oct 12: 60 h used by Oct 1, 120 h after.
        (
            lambda: start_clock(rule(ClockKind.ACCEPTANCE), cst(2024, 9, 27, 12)),
            cst(2024, 10, 7, 23),
            "green",
            "a long holiday uses no working time",
        ),
        (
            lambda: start_clock(rule(ClockKind.ACCEPTANCE), cst(2024, 9, 27, 12)),
            cst(2024, 10, 10),
            "green",
            "108 of 180 working hours",
        ),
        (
            lambda: start_clock(rule(ClockKind.ACCEPTANCE), cst(2024, 9, 27, 12)),
            cst(2024, 10, 11),
            "yellow",
            "132 of 180 working hours",
        ),
        (
            lambda: start_clock(rule(ClockKind.ACCEPTANCE), cst(2024, 9, 27, 12)),
            cst(2024, 10, 13),
            "red",
            "the make-up Saturday Oct 12 was the last day",
        ),
    ],
)
def test_colour(make: Callable[[], Clock], now: datetime, expected: str, why: str) -> None:
    assert colour(make(), now) == expected, why


@pytest.mark.parametrize(
    ("now", "expected"),
    [(ACK_START + 12 * H - timedelta(seconds=1), "green"), (ACK_START + 12 * H, "yellow")],
)
def test_colour_threshold_is_configurable(now: datetime, expected: str) -> None:
    assert colour(ack(), now, yellow_share=0.5) == expected


@pytest.mark.parametrize("share", [0, -0.1, 1.5])
def test_colour_threshold_must_be_a_share(share: float) -> None:
    with pytest.raises(ValueError, match="yellow_share"):
        colour(ack(), ACK_START, yellow_share=share)


# --- remaining ----------------------------------------------------------------------------------


def close(a: timedelta, b: timedelta) -> bool:
    # Deadlines end at 23:59:59.999999, so day-based amounts are a microsecond short.
    return abs(a - b) <= US


@pytest.mark.parametrize(
    ("make", "now", "expected", "why"),
    [
        (ack, ACK_START + 4 * H, 20 * H, "plain time for hours clocks"),
        (ack, ACK_START + 25 * H, -H, "negative when overdue"),
        (lambda: pause(ack(), ACK_START + 6 * H), ACK_START + 30 * H, 18 * H, "frozen while paused"),
        (lambda: stop(ack(), ACK_START + 5 * H), ACK_START + 30 * H, 19 * H, "frozen once stopped"),
        (
            lambda: start_clock(rule(ClockKind.ACCEPTANCE), cst(2024, 9, 27, 12)),
            cst(2024, 10, 7, 23),
            120 * H,
            "working time: Oct 8-12, not the holiday",
        ),
        (
            lambda: start_clock(rule(ClockKind.ACCEPTANCE), cst(2024, 6, 3, 9)),
            cst(2024, 6, 17, 12),
            -36 * H,
            "overdue working time: Fri 14 + half of Mon 17",
        ),
        (
            lambda: start_clock(rule(ClockKind.MEDIATION), cst(2024, 8, 2, 9)),
            cst(2024, 10, 6),
            72 * H,
            "calendar clocks count holidays as time left",
        ),
    ],
)
def test_remaining(make: Callable[[], Clock], now: datetime, expected: timedelta, why: str) -> None:
    assert close(remaining(make(), now), expected), why


def test_remaining_uses_the_tenant_calendar() -> None:
    clock = start_clock(rule(ClockKind.ACCEPTANCE), cst(2024, 9, 27, 12))
    cal = WorkCalendar(extra_holidays={date(2024, 10, 9)})
    assert close(remaining(clock, cst(2024, 10, 7, 23), cal), 96 * H)


# --- to_dict ------------------------------------------------------------------------------------


def test_to_dict_overdue_on_a_rest_day_is_negative() -> None:
    # the deadline ended Saturday 2024-10-12 (a make-up workday); on Sunday night no working time has
    # passed since, yet the clock is overdue and its sign must say so
    clock = start_clock(rule(ClockKind.ACCEPTANCE), cst(2024, 9, 27, 16))
    data = to_dict(clock, cst(2024, 10, 13, 1))
    assert data["colour"] == "red" and data["remaining_seconds"] < 0


def test_to_dict_running() -> None:
    clock = start_clock(rule(ClockKind.ACCEPTANCE), cst(2024, 9, 27, 16))
    data = to_dict(clock, cst(2024, 10, 11))
    assert data == {
        "kind": "acceptance",
        "started_at": "2024-09-27T16:00:00+08:00",
        "deadline": "2024-10-12T23:59:59.999999+08:00",
        "remaining_seconds": 48 * 3600,
        "colour": "yellow",
        "paused": False,
        "stopped_at": None,
        "met": None,
    }
    assert json.loads(json.dumps(data)) == data


@pytest.mark.parametrize(
    ("make", "now", "expected"),
    [
        (
            lambda: stop(ack(), ACK_START + 5 * H),
            ACK_START + 30 * H,
            {
                "stopped_at": "2024-06-03T15:00:00+08:00",
                "met": True,
                "colour": "green",
                "remaining_seconds": 19 * 3600,
                "paused": False,
            },
        ),
        (
            lambda: stop(ack(), ACK_START + 26 * H),
            ACK_START + 30 * H,
            {
                "stopped_at": "2024-06-04T12:00:00+08:00",
                "met": False,
                "colour": "red",
                "remaining_seconds": -2 * 3600,
                "paused": False,
            },
        ),
        (
            lambda: pause(ack(), ACK_START + 6 * H),
            ACK_START + 7 * H,
            {"stopped_at": None, "met": None, "colour": "green", "remaining_seconds": 18 * 3600, "paused": True},
        ),
        (
            ack,
            ACK_START + 24 * H + timedelta(milliseconds=300),
            {"stopped_at": None, "met": None, "colour": "red", "remaining_seconds": -1, "paused": False},
        ),
    ],
)
def test_to_dict_states(make: Callable[[], Clock], now: datetime, expected: dict[str, object]) -> None:
    data = to_dict(make(), now)
    assert {key: data[key] for key in expected} == expected
    assert data["kind"] == "acknowledgement"
    assert data["deadline"] == "2024-06-04T10:00:00+08:00"
