"""Mediation's answers (services/mediation/): the case as staff see it (every action answers it),
the list, the roster, the court's view of an application, and the case as a party follows it."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from common.contracts.answers import Answer, Day, Instant, Money, UnitRef
from common.contracts.answers.clocks import ClockView


class Person(Answer):
    name: str | None
    phone: str | None


class BusinessRef(Answer):
    name: str | None
    credit_code: str | None


class Parties(Answer):
    complainant: Person
    business: BusinessRef


class MediationSummary(Answer):
    """A case of the list: masked, no minutes."""

    complaint_id: str
    tracking_no: str
    state: str
    outcome: str | None
    unit: UnitRef
    category: str | None
    mediator: str | None
    parties: Parties
    accepted_at: Instant
    ended_at: Instant | None
    updated_at: Instant


class ComplainantConsent(Answer):
    consented: bool
    at: Instant
    how: str


class BusinessConsent(Answer):
    consented: bool | None
    at: Instant | None
    via: str | None = None
    contact_person: str | None = None
    note: str | None = None


class Consent(Answer):
    complainant: ComplainantConsent
    business: BusinessConsent


class Pause(Answer):
    """Testing or appraisal (Art 22): the clock paused from `start` to `end`."""

    start: Instant
    end: Instant | None
    reason: str | None = None


class MediationClock(ClockView):
    pauses: list[Pause]


class Assignment(Answer):
    mediator: str
    at: Instant
    by: str | None
    reason: str | None
    picked: str | None
    ended_at: Instant | None


class Recusal(Answer):
    n: int
    mediator: str
    requested_by: str | None
    reason: str | None
    requested_at: Instant
    decision: str | None
    decided_by: str | None
    decided_at: Instant | None
    note: str | None
    replacement: str | None


class Statements(Answer):
    complainant: str | None = None
    business: str | None = None


class Session(Answer):
    n: int
    round: int
    mode: str
    party: str | None
    channel: str | None
    place: str | None
    scheduled_at: Instant | None
    mediator: str | None
    held_at: Instant | None
    minutes: str | None
    statements: Statements | None
    agreed: bool | None
    confirmed_by: dict[str, Instant | None] = Field(description="party -> when it confirmed the minutes")


class Term(Answer):
    n: int
    kind: str
    description: str | None
    amount: Money | None
    deadline: Day
    status: str
    overdue: bool
    followed_at: Instant | None
    recovered_amount: Money | None
    note: str | None


class Agreement(Answer):
    version: int
    summary: str | None
    judicial_confirmation: bool
    drafted_at: Instant
    drafted_by: str | None
    confirmed_by: dict[str, Instant | None] = Field(description="party -> when it confirmed the agreement")
    confirmed_at: Instant | None
    terms: list[Term]


class ReReview(Answer):
    requested_by: str | None
    reason: str | None
    requested_at: Instant
    from_state: str | None
    previous_mediator: str | None
    reviewer: str | None
    decision: str | None
    decided_at: Instant | None


class Callback(Answer):
    party: str
    score: int
    comments: str | None
    channel: str | None
    at: Instant
    by: str | None


class JudicialConfirmation(Answer):
    """The agreement's judicial confirmation (诉调对接) as the journal tells it."""

    status: str | None
    court: str | None
    court_name: str | None
    applied_at: Instant
    applied_by: str | None
    ruling_no: str | None = None
    reason: str | None = None
    decided_at: Instant | None = None
    decided_by: str | None = None


class EndNotice(Answer):
    at: Instant
    channel: str | None
    note: str | None
    by: str | None


class JournalStep(Answer):
    at: Instant
    actor: str | None
    action: str
    from_: str | None = Field(alias="from")
    to: str | None
    detail: dict[str, Any] | None = Field(description="the action's parameters; differ from one action to the next")


class MediationCase(MediationSummary):
    """The case as the caller sees it; every action answers it."""

    claim_amount: Money | None
    round: int
    read_only: bool
    consent: Consent
    clocks: dict[str, MediationClock] = Field(description="by clock kind")
    assignments: list[Assignment]
    recusals: list[Recusal]
    sessions: list[Session]
    agreement: Agreement | None
    recovered_amount: Money
    re_reviews: list[ReReview]
    callbacks: list[Callback]
    judicial: JudicialConfirmation | None
    judicial_deadline: Instant | None
    remedies: list[str]
    end_reason: str | None
    end_notice: EndNotice | None
    allowed_actions: list[str]
    history: list[JournalStep]


class Mediator(Answer):
    username: str
    unit: str
    categories: list[str]
    active: bool
    source: str | None
    open_cases: int
    updated_at: Instant


class CourtAgreement(Answer):
    summary: str | None
    confirmed_at: Instant | None
    terms: list[Term]


class CourtCase(Answer):
    """What the court applied to reads; a list leaves the parties out."""

    complaint_id: str
    tracking_no: str
    unit: UnitRef
    category: str | None
    state: str
    agreement: CourtAgreement | None
    judicial: JudicialConfirmation | None
    parties: Parties | None = None


# --- the parties online (services/mediation/party.py) --------------------------------------------


class PartyConfirmation(Answer):
    at: Instant
    by: str = Field(description="party (e-confirmed online) or staff")
    label: str


class PartySession(Answer):
    n: int
    mode: str
    mode_label: str | None
    channel: str | None
    channel_label: str | None
    place: str | None
    scheduled_at: Instant | None
    held_at: Instant | None
    confirmations: dict[str, PartyConfirmation | None]


class PartyTerm(Term):
    kind_label: str | None


class PartyAgreement(Answer):
    version: int
    summary: str | None
    confirmed_at: Instant | None
    terms: list[PartyTerm]
    confirmations: dict[str, PartyConfirmation | None]


class Remedy(Answer):
    code: str
    label: str


class PartyMayAct(Answer):
    """`mediation.party_may_act`: the action would be done now (a refusal is an error instead)."""

    allowed: bool


class EConfirmation(Answer):
    """A party's e-confirmation as the journal keeps it."""

    party: str
    phone: str | None
    document_sha256: str | None
    at: Instant
    client: str | None
    verification_id: str | None


class PartyMediation(Answer):
    state: str
    state_label: str
    status: str | None
    status_label: str | None
    sessions: list[PartySession]
    agreement: PartyAgreement | None
    outcome: str | None
    remedies: list[Remedy]
    clocks: dict[str, MediationClock] = Field(description="by clock kind")
    allowed_actions: list[str]
    confirmation: EConfirmation | None = None  # after the party's own action
