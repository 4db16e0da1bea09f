"""The clocks a case carries: their rules, deadlines, pauses and warning colours.

Pure values and functions: a ``Clock`` is immutable and every operation returns a new one.

Units:

- ``hours``: elapsed time, holidays included (the 24-hour acknowledgement).
- ``working_days``: Art 45 counting on the official calendar (see ``common.workdays``).
- ``calendar_days``: natural days, start day not counted, a last day that is a rest day
  moves to the next working day (Art 45).

Pauses (Art 22: time spent on testing or appraisal is not counted):

- ``hours`` clocks are pushed out by exactly the time spent paused.
- Day clocks are pushed out by whole days counted the Art 45 way: the pause day itself is
  not excluded, each day after it up to and including the resume day is (for working-day
  clocks only working days among them). A pause opened and closed on the same day moves
  nothing. The deadline is then recomputed from the start with the longer limit, so a
  holiday shift is applied to the new last day rather than carried over from the old one.
- A clock cannot be paused once its deadline has passed (excluding time afterwards would
  hide a breach), and cannot be stopped while paused (resume it first).

Colours: ``red`` when breached (still running past the deadline, or stopped after it);
``yellow`` when the share of the allowed time used reaches ``yellow_share``; else ``green``.
Time is measured the way the clock counts it: working time for working-day clocks, so a
long holiday does not turn an acceptance clock yellow. A paused or stopped clock is read
as of the moment it was paused or stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Literal

from common.workdays import DEFAULT_CALENDAR, SHANGHAI, WorkCalendar, local_date

__all__ = [
    "DEFAULT_RULES",
    "TIER_TARGET_DEFAULTS",
    "Clock",
    "ClockKind",
    "ClockRule",
    "ClockUnit",
    "Colour",
    "colour",
    "extend",
    "next_change",
    "pause",
    "recount",
    "remaining",
    "resume",
    "start_clock",
    "stop",
    "tier_target_rule",
    "to_dict",
]

Colour = Literal["green", "yellow", "red"]
JsonValue = str | int | bool | None


class ClockKind(StrEnum):
    ACKNOWLEDGEMENT = "acknowledgement"  # seed 003
    ACCEPTANCE = "acceptance"  # Art 15
    MEDIATION = "mediation"  # Art 22
    MEDIATION_END_NOTICE = "mediation_end_notice"  # Art 23
    TIER_TARGET = "tier_target"  # seed 004 practice, set per tenant
    AGENCY_HANDOVER_ACK = "agency_handover_ack"
    AUTHORITY_DISPUTE = "authority_dispute"  # Art 33: then the lowest common higher unit decides
    LEAD_VERIFICATION = "lead_verification"  # Art 27
    SUPERVISION = "supervision"  # 督办: the working days a higher unit gives a lower one to act


class ClockUnit(StrEnum):
    HOURS = "hours"
    WORKING_DAYS = "working_days"
    CALENDAR_DAYS = "calendar_days"


@dataclass(frozen=True, slots=True)
class ClockRule:
    kind: ClockKind
    amount: int
    unit: ClockUnit

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount < 0:
            raise ValueError(f"{self.kind} limit must be a whole number >= 0 of {self.unit}, got {self.amount!r}")


TIER_TARGET_DEFAULTS: dict[str, int] = {"village": 10, "township": 15, "city": 30}
"""Working days a tier works a case before escalating, unless the tenant sets its own."""

DEFAULT_RULES: dict[ClockKind, ClockRule] = {
    rule.kind: rule
    for rule in (
        ClockRule(ClockKind.ACKNOWLEDGEMENT, 24, ClockUnit.HOURS),
        ClockRule(ClockKind.ACCEPTANCE, 7, ClockUnit.WORKING_DAYS),
        ClockRule(ClockKind.MEDIATION, 60, ClockUnit.CALENDAR_DAYS),
        ClockRule(ClockKind.MEDIATION_END_NOTICE, 7, ClockUnit.WORKING_DAYS),
        # The lowest tier's default; use tier_target_rule() for the tier at hand.
        ClockRule(ClockKind.TIER_TARGET, TIER_TARGET_DEFAULTS["village"], ClockUnit.WORKING_DAYS),
        ClockRule(ClockKind.AGENCY_HANDOVER_ACK, 3, ClockUnit.WORKING_DAYS),
        ClockRule(ClockKind.AUTHORITY_DISPUTE, 7, ClockUnit.WORKING_DAYS),
        ClockRule(ClockKind.LEAD_VERIFICATION, 15, ClockUnit.WORKING_DAYS),
        # the sender of a supervision order sets its working days; this many when it does not
        ClockRule(ClockKind.SUPERVISION, 5, ClockUnit.WORKING_DAYS),
    )
}


def tier_target_rule(tier: str, working_days: int | None = None) -> ClockRule:
    """The tier-target rule: the tenant's own number of working days, else the tier default."""
    if working_days is None:
        if tier not in TIER_TARGET_DEFAULTS:
            allowed = ", ".join(TIER_TARGET_DEFAULTS)
            raise ValueError(f"unknown tier {tier!r}; expected one of: {allowed}")
        working_days = TIER_TARGET_DEFAULTS[tier]
    return ClockRule(ClockKind.TIER_TARGET, working_days, ClockUnit.WORKING_DAYS)


@dataclass(frozen=True, slots=True)
class Clock:
    kind: ClockKind
    unit: ClockUnit
    amount: int
    started_at: datetime
    deadline: datetime
    paused_at: datetime | None = None
    # Wall-clock time spent paused, all pauses together.
    paused_total: timedelta = field(default=timedelta(0))
    stopped_at: datetime | None = None
    # Paused time as the clock measures it (working time for working-day clocks), for colour.
    paused_counted: timedelta = field(default=timedelta(0))
    # Units added to ``amount`` by extensions and, for day clocks, by pauses.
    added: int = 0

    @property
    def paused(self) -> bool:
        return self.paused_at is not None

    @property
    def met(self) -> bool | None:
        """True/False once stopped (in time or late), None while still running."""
        if self.stopped_at is None:
            return None
        return self.stopped_at <= self.deadline


def _calendar(calendar: WorkCalendar | None) -> WorkCalendar:
    return DEFAULT_CALENDAR if calendar is None else calendar


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime (got naive {value.isoformat()})")


def _deadline(unit: ClockUnit, start: datetime, amount: int, calendar: WorkCalendar) -> datetime:
    if unit is ClockUnit.HOURS:
        return (start.astimezone(UTC) + timedelta(hours=amount)).astimezone(SHANGHAI)
    if unit is ClockUnit.WORKING_DAYS:
        return calendar.add_working_days(start, amount)
    return calendar.add_calendar_days(start, amount)


def _measure(unit: ClockUnit, a: datetime, b: datetime, calendar: WorkCalendar) -> timedelta:
    if unit is ClockUnit.WORKING_DAYS:
        return calendar.working_time_between(a, b)
    return b.astimezone(UTC) - a.astimezone(UTC)


def _as_of(clock: Clock, now: datetime) -> datetime:
    # A paused or stopped clock does not move on.
    frozen_at = clock.stopped_at if clock.stopped_at is not None else clock.paused_at
    return now if frozen_at is None else min(now, frozen_at)


def start_clock(rule: ClockRule, started_at: datetime, calendar: WorkCalendar | None = None) -> Clock:
    _require_aware(started_at, "started_at")
    return Clock(
        kind=rule.kind,
        unit=rule.unit,
        amount=rule.amount,
        started_at=started_at,
        deadline=_deadline(rule.unit, started_at, rule.amount, _calendar(calendar)),
    )


def pause(clock: Clock, at: datetime) -> Clock:
    _require_aware(at, "at")
    if clock.stopped_at is not None:
        raise ValueError(f"{clock.kind} clock was stopped at {clock.stopped_at.isoformat()}")
    if clock.paused_at is not None:
        raise ValueError(f"{clock.kind} clock is already paused since {clock.paused_at.isoformat()}")
    if at < clock.started_at:
        raise ValueError(f"cannot pause at {at.isoformat()}, before the clock started ({clock.started_at.isoformat()})")
    if at > clock.deadline:
        raise ValueError(
            f"{clock.kind} limit already ran out at {clock.deadline.isoformat()}; a breached clock cannot be paused"
        )
    return replace(clock, paused_at=at)


def resume(clock: Clock, at: datetime, calendar: WorkCalendar | None = None) -> Clock:
    _require_aware(at, "at")
    if clock.paused_at is None:
        raise ValueError(f"{clock.kind} clock is not paused")
    if at < clock.paused_at:
        raise ValueError(f"cannot resume at {at.isoformat()}, before the pause ({clock.paused_at.isoformat()})")
    cal = _calendar(calendar)
    wall = at.astimezone(UTC) - clock.paused_at.astimezone(UTC)
    counted = _measure(clock.unit, clock.paused_at, at, cal)
    if clock.unit is ClockUnit.HOURS:
        deadline = (clock.deadline.astimezone(UTC) + wall).astimezone(SHANGHAI)
        added = clock.added
    else:
        first, last = local_date(clock.paused_at), local_date(at)
        days = (last - first).days
        if clock.unit is ClockUnit.WORKING_DAYS:
            days = sum(1 for k in range(1, days + 1) if cal.is_workday(first + timedelta(days=k)))
        added = clock.added + days
        deadline = _deadline(clock.unit, clock.started_at, clock.amount + added, cal)
    return replace(
        clock,
        deadline=deadline,
        paused_at=None,
        paused_total=clock.paused_total + wall,
        paused_counted=clock.paused_counted + counted,
        added=added,
    )


def stop(clock: Clock, at: datetime) -> Clock:
    """The commitment was met (or given up) at ``at``; ``met`` tells whether in time."""
    _require_aware(at, "at")
    if clock.stopped_at is not None:
        raise ValueError(f"{clock.kind} clock was already stopped at {clock.stopped_at.isoformat()}")
    if clock.paused_at is not None:
        raise ValueError(
            f"{clock.kind} clock is paused since {clock.paused_at.isoformat()}; "
            "resume it before stopping so the pause is credited"
        )
    if at < clock.started_at:
        raise ValueError(f"cannot stop at {at.isoformat()}, before the clock started ({clock.started_at.isoformat()})")
    return replace(clock, stopped_at=at)


def extend(clock: Clock, by: int, calendar: WorkCalendar | None = None) -> Clock:
    """Lengthen the limit by ``by`` units, e.g. Art 27's one further 15 working days."""
    if isinstance(by, bool) or not isinstance(by, int) or by <= 0:
        raise ValueError(f"an extension must be a whole number > 0 of {clock.unit}, got {by!r}")
    if clock.stopped_at is not None:
        raise ValueError(f"{clock.kind} clock was stopped at {clock.stopped_at.isoformat()}")
    added = clock.added + by
    if clock.unit is ClockUnit.HOURS:
        # The deadline already holds the exact pause time, so push it rather than recompute.
        deadline = (clock.deadline.astimezone(UTC) + timedelta(hours=by)).astimezone(SHANGHAI)
    else:
        deadline = _deadline(clock.unit, clock.started_at, clock.amount + added, _calendar(calendar))
    return replace(clock, deadline=deadline, added=added)


def recount(clock: Clock, calendar: WorkCalendar | None = None) -> Clock:
    """The day clock's deadline computed again from its start on ``calendar`` (the official calendar
    changed under it); the days pauses added stay as they were counted. An hours clock is unchanged."""
    if clock.unit is ClockUnit.HOURS:
        return clock
    return replace(
        clock, deadline=_deadline(clock.unit, clock.started_at, clock.amount + clock.added, _calendar(calendar))
    )


def remaining(clock: Clock, now: datetime, calendar: WorkCalendar | None = None) -> timedelta:
    """Time left until the deadline, as the clock counts it; negative when overdue."""
    _require_aware(now, "now")
    return _measure(clock.unit, _as_of(clock, now), clock.deadline, _calendar(calendar))


def colour(
    clock: Clock,
    now: datetime,
    yellow_share: float = 2 / 3,
    calendar: WorkCalendar | None = None,
) -> Colour:
    _require_aware(now, "now")
    if not 0 < yellow_share <= 1:
        raise ValueError(f"yellow_share must be in (0, 1], got {yellow_share!r}")
    if clock.stopped_at is not None:
        return "green" if clock.stopped_at <= clock.deadline else "red"
    as_of = _as_of(clock, now)
    if as_of > clock.deadline:
        return "red"
    cal = _calendar(calendar)
    left = _measure(clock.unit, as_of, clock.deadline, cal)
    used = _measure(clock.unit, clock.started_at, as_of, cal) - clock.paused_counted
    allowed = used + left
    share = 1.0 if allowed <= timedelta(0) else used / allowed
    return "yellow" if share >= yellow_share else "green"


def _after(unit: ClockUnit, start: datetime, amount: timedelta, calendar: WorkCalendar) -> datetime:
    # the inverse of _measure: the moment `amount` of counted time has passed since `start`
    if unit is ClockUnit.WORKING_DAYS:
        return calendar.after_working_time(start, amount)
    return (start.astimezone(UTC) + amount).astimezone(SHANGHAI)


def next_change(
    clock: Clock,
    now: datetime,
    yellow_share: float = 2 / 3,
    calendar: WorkCalendar | None = None,
) -> datetime | None:
    """When the clock's colour next changes if nothing else happens to it: the moment it turns
    yellow, then the moment it turns red; None when it is stopped, paused or already red.

    A watcher keeps this in an indexed column, so finding the clocks to look at costs in
    proportion to the clocks changing colour, not to the clocks running."""
    _require_aware(now, "now")
    if clock.stopped_at is not None or clock.paused_at is not None:
        return None
    current = colour(clock, now, yellow_share, calendar)
    if current == "red":
        return None
    # red once the deadline has passed (strictly), so one microsecond after it
    red_at = clock.deadline + timedelta(microseconds=1)
    if current == "yellow":
        return red_at
    cal = _calendar(calendar)
    allowed = _measure(clock.unit, clock.started_at, clock.deadline, cal) - clock.paused_counted
    yellow_at = _after(clock.unit, clock.started_at, clock.paused_counted + allowed * yellow_share, cal)
    # float rounding can put the computed moment a hair before the true one: round up to the second,
    # and never ask to be woken in the past, or a watcher would spin on the same clock
    if yellow_at.microsecond:
        yellow_at = yellow_at.replace(microsecond=0) + timedelta(seconds=1)
    return min(max(yellow_at, now + timedelta(seconds=1)), red_at)


def to_dict(
    clock: Clock,
    now: datetime,
    calendar: WorkCalendar | None = None,
    yellow_share: float = 2 / 3,
) -> dict[str, JsonValue]:
    left = remaining(clock, now, calendar)
    # Round away from zero so the sign always tells whether the deadline has passed.
    seconds, rest = divmod(left, timedelta(seconds=1))
    if rest and left > timedelta(0):
        seconds += 1
    return {
        "kind": clock.kind.value,
        "started_at": clock.started_at.isoformat(),
        "deadline": clock.deadline.isoformat(),
        "remaining_seconds": seconds,
        "colour": colour(clock, now, yellow_share, calendar),
        "paused": clock.paused,
        "stopped_at": None if clock.stopped_at is None else clock.stopped_at.isoformat(),
        "met": clock.met,
    }
