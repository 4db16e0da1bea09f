"""What staff and parties send for each mediation action: plain pydantic models, no nameko, no
database. A contract between the gateway and the mediation service.

The gateway uses them as request bodies (422 naming the field before any RPC) and the service
validates again with the same models (`parse`), so the RPC cannot be fed a wrong shape either.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from common import reference
from common.bounds import PlausibleDate, PlausibleDatetime
from common.categories import REQUEST_CODES
from common.contracts import DIVISION_CODE
from common.errors import InvalidInput

Party = Literal["complainant", "business"]
# 救济途径: where the parties can go when mediation does not settle the dispute
Remedy = Literal[tuple(reference.REMEDY_ROUTES)]  # type: ignore[valid-type]
DEFAULT_REMEDIES: tuple[str, ...] = reference.DEFAULT_REMEDY_ROUTES
# a case's state, as `GET /api/v1/mediations?state=` filters by it
CaseState = Literal[tuple(reference.MEDIATION_STATES)]  # type: ignore[valid-type]
# an agreement term: what the business does, one of the consumer's requests
TermKind = Literal[REQUEST_CODES]  # type: ignore[valid-type]


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError("give a time zone, e.g. 2026-05-01T09:30:00+08:00")
    return value


AwareDatetime = Annotated[PlausibleDatetime, AfterValidator(_aware)]
Text = Annotated[str, Field(min_length=2, max_length=2000)]
Note = Annotated[str | None, Field(default=None, max_length=2000)]
Money = Annotated[Decimal, Field(ge=0, le=Decimal("10000000"), decimal_places=2)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class ConsentInput(_Input):
    """The business's answer to the request for mediation (Art 18); the complainant consented by filing."""

    consent: bool
    contacted_via: Literal["phone", "visit", "letter", "sms", "other"] = "phone"
    contact_person: str | None = Field(default=None, max_length=50)
    note: Note = None
    remedies: list[Remedy] = Field(default_factory=list, max_length=4, description="on refusal; default: all routes")


class AssignInput(_Input):
    mediator: str | None = Field(default=None, max_length=64, description="a roster username; empty: by load and skill")


class RecusalRequest(_Input):
    requested_by: Literal["complainant", "business", "mediator"]
    reason: Text


class RecusalDecision(_Input):
    granted: bool
    note: Note = None
    replacement: str | None = Field(default=None, max_length=64, description="empty: by load and skill")


class SessionInput(_Input):
    mode: Literal["joint", "single_party"] = "joint"
    party: Party | None = Field(default=None, description="with single_party: whom the session is with")
    channel: Literal["in_person", "phone", "video"] = "in_person"
    place: str | None = Field(default=None, max_length=200, description="required in person")
    scheduled_at: AwareDatetime

    @model_validator(mode="after")
    def _consistent(self) -> SessionInput:
        if self.mode == "single_party" and self.party is None:
            raise ValueError("a single-party session (单方调解) names the party: complainant or business")
        if self.mode == "joint" and self.party is not None:
            raise ValueError("a joint session has both parties; leave party empty")
        if self.channel == "in_person" and not self.place:
            raise ValueError("an in-person session needs a place")
        return self


class MinutesInput(_Input):
    minutes: Annotated[str, Field(min_length=5, max_length=20000)]
    held_at: AwareDatetime | None = None
    complainant_statement: Note = None
    business_statement: Note = None
    agreed: bool = Field(description="whether the parties reached agreement in this session")


class PartyInput(_Input):
    party: Party


class TermInput(_Input):
    kind: TermKind
    description: Annotated[str, Field(min_length=2, max_length=1000)]
    amount: Money | None = None
    deadline: PlausibleDate


class AgreementInput(_Input):
    summary: Text
    terms: list[TermInput] = Field(min_length=1, max_length=20)
    judicial_confirmation: bool = Field(default=False, description="ask the court liaison for 司法确认")


class ReasonInput(_Input):
    reason: Text


class TerminateInput(_Input):
    reason: Text
    remedies: list[Remedy] = Field(default_factory=lambda: list(DEFAULT_REMEDIES), min_length=1, max_length=4)
    escalate: bool = Field(default=False, description="ask routing to pass the case up a tier")


class AppraisalInput(_Input):
    reason: Note = None
    at: AwareDatetime | None = Field(default=None, description="when it started or ended, if not now")


class PerformedInput(_Input):
    recovered_amount: Money | None = Field(default=None, description="挽回经济损失; default the term's amount")
    note: Note = None


class NoteInput(_Input):
    note: Note = None


class ReReviewInput(_Input):
    requested_by: Party
    reason: Text


class CallbackInput(_Input):
    party: Party = "complainant"
    score: int = Field(ge=1, le=5, description="satisfaction, 1 (very unsatisfied) to 5 (very satisfied)")
    comments: Note = None
    channel: Literal["phone", "sms", "visit", "online"] = "phone"


class EndNoticeInput(_Input):
    channel: Literal["phone", "sms", "letter", "in_person", "online"] = "phone"
    note: Note = None


class MediatorInput(_Input):
    unit: str = Field(pattern=DIVISION_CODE)
    categories: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(default_factory=list, max_length=40)
    active: bool = True


class EmptyInput(_Input):
    pass


COURT_TENANT = r"^\d{6}(\d{3}(\d{3})?)?-court$"


class JudicialApplicationInput(_Input):
    """申请司法确认: the court agency (`<unit code>-court`) the parties apply to."""

    court: str = Field(pattern=COURT_TENANT, description="the court agency's tenant id, e.g. 330681-court")
    note: Note = None


class JudicialApplicationRecord(JudicialApplicationInput):
    """What the gateway passes on once it checked the court is onboarded in the case's city."""

    court_name: str = Field(min_length=1, max_length=100)


class JudicialDecisionInput(_Input):
    """The court's answer: confirmed (the agreement is enforceable) or refused, with its ruling number."""

    decision: Literal["confirmed", "refused"]
    ruling_no: str = Field(min_length=2, max_length=60, description="the court's ruling number (裁定书文号)")
    reason: Note = None

    @model_validator(mode="after")
    def _refusal_reason(self) -> JudicialDecisionInput:
        if self.decision == "refused" and not (self.reason or "").strip():
            raise ValueError("reason: a refusal gives the court's reason")
        return self


# the body each action takes
# what a party does online (party.py), each confirmed by an SMS code (shared with the gateway)
PARTY_ACTIONS = (
    "consent",
    "decline",
    "confirm_minutes",
    "confirm_agreement",
    "withdraw",
    "callback",
    "re_review",
    "report_performance",
)

INPUTS: dict[str, type[_Input]] = {
    "consent": ConsentInput,
    "refuse_consent": ConsentInput,
    "assign": AssignInput,
    "request_recusal": RecusalRequest,
    "decide_recusal": RecusalDecision,
    "schedule_session": SessionInput,
    "record_minutes": MinutesInput,
    "confirm_minutes": PartyInput,
    "draft_agreement": AgreementInput,
    "confirm_agreement": PartyInput,
    "fail": ReasonInput,
    "terminate": TerminateInput,
    "withdraw": ReasonInput,
    "start_appraisal": AppraisalInput,
    "end_appraisal": AppraisalInput,
    "perform_term": PerformedInput,
    "breach_term": NoteInput,
    "reopen": ReasonInput,
    "escalate": ReasonInput,
    "request_re_review": ReReviewInput,
    "uphold": NoteInput,
    "callback": CallbackInput,
    "notify_end": EndNoticeInput,
    "apply_judicial_confirmation": JudicialApplicationRecord,
    "record_judicial_decision": JudicialDecisionInput,
}


def parse(model: type[_Input], payload: Any) -> Any:
    try:
        return model.model_validate(payload or {})
    except ValidationError as exc:
        raise InvalidInput(
            [
                {"field": ".".join(map(str, e["loc"])) or "body", "message": e["msg"]}
                for e in exc.errors(include_input=False)
            ]
        ) from None
