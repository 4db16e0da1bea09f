"""Routing's answers (services/routing/): a case's routing record, which every move answers, the
early warnings, the official calendar. Tenants: tenants.py; supervision orders: supervision.py."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from common.contracts.answers import Answer, Day, Instant, UnitRef
from common.contracts.answers.clocks import ClockView


class RoutedClock(ClockView):
    """A clock routing runs (the tier target, a handover's), with the unit it counts for."""

    unit: str
    tier: str


class TierClock(RoutedClock):
    working_days: int


class AgencyHandling(Answer):
    tenant: str
    state: str | None


class Handover(Answer):
    kind: str
    from_: str | None = Field(alias="from")
    to: str | None
    state: str
    rule: str | None
    requested_at: Instant
    requested_by: str | None
    resolved_at: Instant | None
    contested_by: str | None
    contest_reason: str | None
    decider: str | None
    contest_deadline: Instant | None
    contest_expired: bool | None
    decline_reason: str | None
    clock: RoutedClock | None


class RoutingStep(Answer):
    seq: int
    step: str
    unit: str | None
    from_: str | None = Field(alias="from")
    to: str | None
    rule: str | None
    inputs: dict[str, Any] | None = Field(description="what the rule was given; differs from one rule to the next")
    actor: str | None
    at: Instant


class CaseRouting(Answer):
    """Who is responsible for a case and why, open handovers, the tier clock and every step, with
    what the caller may do now (`allowed_actions`). Every move answers it."""

    complaint_id: str
    responsible_unit: UnitRef
    state: str
    rule: str
    inputs: dict[str, Any] | None = Field(description="what the rule was given; differs from one rule to the next")
    decided_at: Instant
    first_receiver: str | None
    agency: AgencyHandling | None
    read_only: bool
    seen_as: str | None
    handovers: list[Handover]
    tier_clock: TierClock | None
    steps: list[RoutingStep]
    remedy_routes: list[str] | None = None  # once routing ended: the consumer's other remedies
    allowed_actions: list[str]
    explanation_zh: str | None
    escalated: bool | None = None  # a reclassification: whether the case went up


class EarlyWarning(Answer):
    """An early warning raised to a township or city (services/routing/cases.py)."""

    id: str
    kind: str
    key: str
    township_code: str | None
    city_code: str | None
    count: int
    threshold: int
    window_days: int
    raised_at: Instant
    complaint_ids: list[str]


class OfficialYear(Answer):
    year: int
    entered: bool
    statutory_holidays: list[Day]
    bridging_days: list[Day]
    makeup_workdays: list[Day]
    source: str | None
    changed_by: str | None
    changed_at: Instant


class OfficialYears(Answer):
    years: list[OfficialYear]
    counting: dict[str, Literal["entered", "package", "fallback"]] = Field(
        description="this year and the next: where their working days come from"
    )


class ServedUnit(Answer):
    """A unit the portal offers (served by an onboarded unit)."""

    code: str
    name: str
    tier: str
    has_children: bool


class Court(Answer):
    code: str
    name: str
    parent: str
    parent_name: str


class DisclosurePolicy(Answer):
    code: str
    name: str
    enabled: bool
    min_accepted: int


class HandedBack(Answer):
    """What an agency that handed a case back is answered: only where the case is now."""

    complaint_id: str
    state: str
    responsible_unit: UnitRef
    agency: None = None
    handed_back: Literal[True]


class AgencyHandoverRow(Answer):
    """A case handed to the caller's agency (its list): the handover's state, the unit that handed
    it over, the agency's answer or its reason for handing back."""

    complaint_id: str
    state: str
    requested_at: Instant
    from_unit: UnitRef
    outcome: str | None
    answer: str | None
    reason: str | None
    at: Instant | None
