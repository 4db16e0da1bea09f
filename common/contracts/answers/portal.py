"""The public side (services/intake/tracking.py, the portal's routes in gateway/routes/portal.py):
tracking a case without signing in, and the case as a party signed in by SMS code follows it."""

from __future__ import annotations

from pydantic import Field

from common.contracts.answers import Answer, Instant
from common.contracts.answers.clocks import CaseClock
from common.contracts.answers.complaints import Judicial as JudicialStatus
from common.contracts.answers.complaints import PublicSettleFirstLane
from common.contracts.answers.mediation import BusinessRef, EConfirmation, PartyMediation
from common.contracts.answers.notifications import BusinessCase


class PublicUnit(Answer):
    name: str
    tier: str | None


class PublicStep(Answer):
    at: Instant
    step: str
    label: str


class PublicRefusal(Answer):
    ground: str
    ground_label: str
    other_routes: str | None


class TrackedCase(Answer):
    """What anyone with the tracking number and the phone's last four digits sees: no names,
    phones or addresses, no staff."""

    tracking_no: str
    kind: str
    status: str
    status_label: str
    channel: str
    received_at: Instant
    responsible_unit: PublicUnit | None
    steps: list[PublicStep]
    judicial: JudicialStatus | None = None
    settle_first: PublicSettleFirstLane | None = None
    refusal: PublicRefusal | None = None
    duplicate_of: str | None = None


class Tracking(Answer):
    """`intake.track`: the case for a right pair, `found` null otherwise, `retry_after` when throttled."""

    found: TrackedCase | None = None
    retry_after: int | None = None


class MaskedComplainant(Answer):
    name: str
    phone: str


class IntakePartyCase(TrackedCase):
    """`intake.party_case`: tracking's view with the parties (masked) and intake's clocks."""

    complaint_id: str
    complainant: MaskedComplainant
    business: BusinessRef
    clocks: list[CaseClock]


class PartyCase(IntakePartyCase):
    """The case as the signed-in party follows it, with its mediation (null before acceptance)."""

    mediation: PartyMediation | None
    party: str
    allowed_actions: list[str]
    confirmation: EConfirmation | None = None  # after the party's own action


class CodeSent(Answer):
    sent: bool
    expires_in: int = Field(description="seconds the code is valid")
    resend_after: int = Field(description="seconds before another code may be asked for")
    phone: str | None = None  # masked; a code to confirm an action


class PartyToken(Answer):
    access_token: str
    token_type: str
    expires_in: int
    party: str
    cases: list[BusinessCase]


class PartyMe(Answer):
    party: str
    cases: list[str] = Field(description="the complaint ids the token opens")
    expires_at: int = Field(description="Unix time")
