"""Clocks as every service shows them (common/clocks.py `to_dict`, common/clock_watch.py
`held_clock`): the case view's, a list's nearest one, and the work list of `GET /api/v1/clocks`."""

from __future__ import annotations

from pydantic import Field

from common.contracts.answers import Answer, Instant, UnitRef


class ClockView(Answer):
    kind: str
    started_at: Instant
    deadline: Instant
    remaining_seconds: int = Field(description="working seconds left; negative once overdue")
    colour: str
    paused: bool
    stopped_at: Instant | None
    met: bool | None


class HolderRef(Answer):
    """The unit holding a clock; intake's clocks name it as the case does (name and tier may be unknown)."""

    code: str
    name: str | None
    tier: str | None


class CaseClock(ClockView):
    """A clock in the case view: intake's (with its `status`), routing's, mediation's."""

    unit: HolderRef | None
    handler: str | None = None
    status: str | None = None  # intake's clocks
    complaint_id: str | None = None
    tracking_no: str | None = None
    order_id: str | None = None  # a supervision order's clock (routing): which order
    sent_by_unit: UnitRef | None = None  # and who sent it


class NearestClock(CaseClock):
    """The nearest of intake's running clocks, on a case list row."""

    service: str


class HeldClock(ClockView):
    """One clock of the work list (`GET /api/v1/clocks`) and of each service's `held_clocks`."""

    complaint_id: str
    tracking_no: str | None
    unit: UnitRef
    handler: str | None
    order_id: str | None = None
    sent_by_unit: UnitRef | None = None
