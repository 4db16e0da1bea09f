"""Reporting's answers (services/reporting/): the figures of a subtree over a period, monthly
reports, the trend, escalation rates, the public disclosure. Definitions: docs/reporting.md."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from common.contracts.answers import Answer, Day, Instant, Money, Number

Counts = dict[str, int]  # by code (status, channel, category, outcome...): how many


class Period(Answer):
    from_: Day | None = Field(alias="from")
    to: Day | None


class Acceptance(Answer):
    decided: int
    accepted: int
    refused: int
    rate: Number | None
    refusals_by_ground: Counts


class MediationFigures(Answer):
    ended: int
    by_outcome: Counts
    mediated: int
    agreements: int
    success_rate: Number | None


class MoneyRecovered(Answer):
    agreed: Money
    performed: Money


class SettleFirstFigures(Answer):
    ended: int
    by_outcome: Counts
    settled: int
    answered_on_time: int
    on_time_rate: Number | None


class OnTime(Answer):
    met: int
    missed: int
    rate: Number | None


class Duration(Answer):
    count: int
    average_hours: Number | None
    p50_hours: Number | None
    p90_hours: Number | None
    p95_hours: Number | None


class Satisfaction(Answer):
    responses: int
    average: Number | None
    by_score: Counts


class EscalationEntry(Answer):
    """The cases a unit itself passed up over the disputes accepted in its subtree."""

    unit: str
    tier: str
    escalated: int
    disputes: int
    rate: Number | None
    within_line: bool | None = None  # a township's: against the 10% line


class EscalationFigures(Answer):
    line: Number
    units: list[EscalationEntry]


class TopCategory(Answer):
    category: str
    complaints: int


class TopBusiness(Answer):
    credit_code: str | None
    name: str | None
    complaints: int


class EarlyWarnings(Answer):
    raised: int
    by_kind: Counts


class Figures(Answer):
    """Every figure of a unit's subtree over a period (`GET /api/v1/reports/summary`, a monthly report)."""

    unit: str
    name: str | None
    period: Period
    total: int
    claim_amount: Money
    by_status: Counts
    by_channel: Counts
    by_category: Counts
    by_tier: Counts
    by_unit: Counts
    acceptance: Acceptance
    mediation: MediationFigures
    money_recovered: MoneyRecovered
    settle_first: SettleFirstFigures
    on_time: dict[str, OnTime] = Field(description="by clock kind")
    on_time_by_unit: dict[str, dict[str, OnTime]] = Field(description="by child unit, then clock kind")
    durations: dict[str, Duration]
    satisfaction: Satisfaction
    escalation: EscalationFigures
    top_categories: list[TopCategory]
    top_businesses: list[TopBusiness]
    early_warnings: EarlyWarnings
    supervision: Counts
    supervision_by_unit: dict[str, Counts]
    names: dict[str, str | None] = Field(description="the child units' names")


class AgencyFigures(Answer):
    """An agency's summary: the volumes of the cases handed to it."""

    unit: str | None
    total: int
    by_status: Counts
    by_channel: Counts
    by_category: Counts
    by_tier: Counts


class MonthlyReport(Answer):
    unit: str
    parent: str | None
    month: str
    generated_at: Instant
    generated_by: str | None
    provisional: bool | None = None  # the month under way, as of now
    figures: dict[str, Any] = Field(description="the figures (as the summary's) when the report was made")


class MonthlyReports(Answer):
    month: str
    unit: str
    provisional: bool
    report: MonthlyReport | None
    children: list[MonthlyReport]


class MonthlyGenerated(Answer):
    month: str
    unit: str
    created: list[str] = Field(description="the units a report was produced for (one that existed stays)")


class MonthlyExport(Answer):
    """`reporting.monthly_export`: a CSV (`content`) or an XLSX (`base64`)."""

    filename: str
    content: str | None = None
    base64: str | None = None


class TrendMonth(Answer):
    month: str
    complaints: int
    agreements: int


class EscalationRates(Answer):
    unit: str | None
    line: Number
    units: list[EscalationEntry]
    warnings: int


class DisclosedSettleFirst(Answer):
    cases: int
    answered_on_time: int


class DisclosedCategory(Answer):
    category: str
    count: int


class DisclosedBusiness(Answer):
    name: str | None
    credit_code: str
    accepted: int
    settled_or_agreed: int
    settle_first: DisclosedSettleFirst
    average_days_to_close: Number | None
    top_categories: list[DisclosedCategory]


class DisclosedUnit(Answer):
    code: str
    name: str | None
    received: int
    accepted: int
    settled_or_agreed: int
    on_time_rate: Number | None


class UnitName(Answer):
    code: str
    name: str


class Disclosure(Answer):
    """消费投诉信息公示: a unit's public figures; `business` for one business's page."""

    since: Day
    min_accepted: int
    businesses: list[DisclosedBusiness]
    units: list[DisclosedUnit]
    unit: UnitName | None = None  # added by the gateway
    business: DisclosedBusiness | None = None
