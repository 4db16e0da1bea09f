"""Integration events: the only thing services share. Versioned here, in one place.

Each event travels as an envelope `{"event_id", "type", "occurred_at", "data"}` on the exchange
`<source>.events` with the routing key `type` (which carries the version, e.g.
`complaint.received.v1`). A change that breaks consumers gets a new type (`...v2`) published
beside the old one until every consumer has moved.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from common import reference
from common.bounds import PlausibleDate
from common.categories import FILED_REQUESTS


class PoisonMessage(Exception):
    """A message that can never be handled (malformed, unknown version): dead-letter at once."""


class Contract(BaseModel):
    model_config = ConfigDict(frozen=True)

    source: ClassVar[str]
    type: ClassVar[str]

    @classmethod
    def parse(cls, envelope: Any) -> tuple[uuid.UUID, Self]:
        """The event id and the data of an envelope; PoisonMessage when it is not this contract."""
        try:
            if envelope["type"] != cls.type:
                raise PoisonMessage(f"expected {cls.type}, got {envelope['type']!r}")
            return uuid.UUID(str(envelope["event_id"])), cls.model_validate(envelope["data"])
        except ValidationError as exc:
            # without the input values (nor the error carrying them as cause): an event holds personal
            # data, and this message is logged and kept in the dead-letter headers
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'data'}: {e['msg']}" for e in exc.errors(include_input=False)
            )
            raise PoisonMessage(f"not a valid {cls.type} envelope: {problems}") from None
        except (KeyError, TypeError, ValueError) as exc:
            raise PoisonMessage(f"not a valid {cls.type} envelope: {exc}") from exc

    def envelope(self, event_id: uuid.UUID | None = None) -> dict[str, Any]:
        return {
            "event_id": str(event_id or uuid.uuid4()),
            "type": self.type,
            "occurred_at": datetime.now(UTC).isoformat(),
            "data": self.model_dump(mode="json"),
        }


class Unit(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    name: str
    tier: str


class ComplaintReceived(Contract):
    """Intake stored a complaint. Carries only what consumers act on; the complainant's contact is
    here because the acknowledgement must reach them."""

    source = "intake"
    type = "complaint.received.v1"

    complaint_id: uuid.UUID
    tracking_no: str
    channel: str
    received_at: datetime
    category: str
    claim_amount: Decimal | None = None
    business_division_code: str | None = None
    incident_division_code: str
    first_receiver: str | None = None
    complainant_name: str
    complainant_phone: str
    # added by intake issue 4, optional so older consumers and envelopes keep working;
    # business_division_code above stays "the operating place, else the registered place"
    business_registered_division_code: str | None = None
    business_operating_division_code: str | None = None
    is_platform_shop: bool = False
    platform: str | None = None
    complainant_division_code: str | None = None
    business_name: str | None = None
    business_credit_code: str | None = None
    # where the e-commerce platform of a platform shop is registered (routing's platform rule); intake
    # does not know it yet, so it is not sent today
    platform_division_code: str | None = None


class WorkingDays(BaseModel):
    """A tenant's corrections to the official working-day calendar (`common.workdays`): days worked
    or taken off locally. Empty: the official calendar."""

    model_config = ConfigDict(frozen=True)

    extra_workdays: tuple[date, ...] = ()
    extra_holidays: tuple[date, ...] = ()


class ClockPolicy(BaseModel):
    """The responsible unit's tenant settings for the clocks other services run: limits a tenant may
    set stricter than the defaults, the share of time used that turns a clock yellow, and the
    tenant's working-day calendar."""

    model_config = ConfigDict(frozen=True)

    acknowledgement_hours: int = Field(24, ge=1)
    acceptance_working_days: int = Field(7, ge=1)
    yellow_share: float = Field(2 / 3, gt=0, le=1)
    working_days: WorkingDays = WorkingDays()
    # the settle-first lane's window in working days (issue 19); None: the lane is off
    settle_first_working_days: int | None = Field(None, ge=1)


class ComplaintRouted(Contract):
    """Routing decided which unit is responsible, and why."""

    source = "routing"
    type = "complaint.routed.v1"

    complaint_id: uuid.UUID
    unit: Unit
    rule: str
    inputs: dict[str, Any] = Field(default_factory=dict)
    decided_at: datetime
    # added by issue 7, optional so older envelopes keep working (the defaults then apply)
    clock_policy: ClockPolicy | None = None


class MessageRecorded(Contract):
    """Notification recorded a case's acknowledgement to the complainant, with its delivery state:
    when it settled, and when it waits (quiet hours, a retry). Other messages are not announced;
    notification answers for them (`messages_for`)."""

    source = "notification"
    type = "message.recorded.v1"

    message_id: uuid.UUID
    complaint_id: uuid.UUID
    template: str
    channel: str
    recipient_role: str
    state: str
    recorded_at: datetime


class MessageHandled(Contract):
    """Staff dealt with a failed message: resent it (`resent`, `new_message_id`) or told the party
    another way (`told_otherwise`, `how`, `note`). Intake writes it into the case history."""

    source = "notification"
    type = "message.handled.v1"

    message_id: uuid.UUID
    complaint_id: uuid.UUID
    action: Literal["resent", "told_otherwise"]
    template: str
    channel: str
    recipient_role: str
    actor: str
    at: datetime
    new_message_id: uuid.UUID | None = None
    how: str | None = None
    note: str | None = None


class CaseReassigned(Contract):
    """Routing moved a case from one unit to another (so far: its unit was offboarded), and who did."""

    source = "routing"
    type = "case.reassigned.v1"

    complaint_id: uuid.UUID
    from_unit: Unit
    to_unit: Unit
    reason: str
    actor: str
    at: datetime


class ComplaintAccepted(Contract):
    """The responsible unit accepted the complaint (受理, Art 15): mediation can start."""

    source = "intake"
    type = "complaint.accepted.v1"

    complaint_id: uuid.UUID
    tracking_no: str
    unit: Unit
    accepted_at: datetime
    accepted_by: str
    category: str
    claim_amount: Decimal | None = None
    business_name: str
    business_credit_code: str | None = None
    complainant_name: str
    complainant_phone: str
    # the responsible tenant's yellow share and calendar for the clocks mediation runs (issue 7)
    yellow_share: float = Field(2 / 3, gt=0, le=1)
    working_days: WorkingDays = WorkingDays()


class SettleFirstOpened(Contract):
    """A new complaint went to the business first (先行和解, issue 19): the business is told by SMS,
    at the contact staff verified, that it waits for its answer until `window_deadline`."""

    source = "intake"
    type = "settle_first.opened.v1"

    complaint_id: uuid.UUID
    tracking_no: str
    unit: Unit
    window_deadline: datetime
    business_name: str | None = None
    business_credit_code: str
    business_phone: str  # the verified contact (services/intake/settle_first.py), where the SMS goes
    # the instant the lane opened (the routing decision's); absent from events published before it
    # was added, which then leave reporting's case status as it was
    opened_at: datetime | None = None


class SettleFirstEnded(Contract):
    """The settle-first lane (先行和解, issue 19) of a complaint ended: `settled` (the consumer
    accepted the business's offer; the case is closed as 和解), `rejected` or `expired` (the case goes
    on to the unit's acceptance decision). No personal data."""

    source = "intake"
    type = "settle_first.ended.v1"

    complaint_id: uuid.UUID
    tracking_no: str
    unit: Unit
    outcome: str  # settled | rejected | expired
    opened_at: datetime
    window_deadline: datetime
    ended_at: datetime
    answered_at: datetime | None = None  # when the business made its offer, if it did
    answered_on_time: bool = False
    terms: dict[str, Any] | None = None  # the offer: remedies, amount, note
    category: str | None = None
    business_name: str | None = None
    business_credit_code: str | None = None


class ComplaintRefused(Contract):
    """The responsible unit refused the complaint on a legal ground of Art 16."""

    source = "intake"
    type = "complaint.refused.v1"

    complaint_id: uuid.UUID
    tracking_no: str
    unit: Unit
    ground: str
    reason: str
    other_routes: str
    refused_at: datetime
    refused_by: str
    complainant_phone: str


class CaseEscalated(Contract):
    """A case went up a tier (上交): the lower unit keeps a read-only view."""

    source = "routing"
    type = "case.escalated.v1"

    complaint_id: uuid.UUID
    from_unit: Unit
    to_unit: Unit
    trigger: str  # tier_target_expired | mediation_failed | party_request | staff_request | reclassified | take_over
    reason: str = ""
    actor: str
    at: datetime
    # routing's step number of the case (order of its events) and the rule with its inputs
    seq: int | None = None
    rule: str = ""
    inputs: dict[str, Any] = Field(default_factory=dict)


class CaseRoutingStep(Contract):
    """A routing step of a case other than escalation (services/routing/moves.py): a handover asked
    for, accepted, contested or decided; a return to routing; an agency handover and its
    acknowledgement; a take-over request; the end at the top tier with the remedy routes.
    `responsible_unit` is the unit responsible after the step; `seq` orders a case's events."""

    source = "routing"
    type = "case.routing_step.v1"

    complaint_id: uuid.UUID
    seq: int
    step: str
    responsible_unit: Unit
    previous_unit: Unit | None = None
    target: str | None = None  # the unit code or agency id the step concerns
    agency_tenant: str | None = None
    rule: str = ""
    inputs: dict[str, Any] = Field(default_factory=dict)
    remedy_routes: list[str] = Field(default_factory=list)
    actor: str
    at: datetime


class EarlyWarningRaised(Contract):
    """Complaints against one business, or in one category within one township, reached the
    tenant-set number within the window (排查预警): raised to the township and the city."""

    source = "routing"
    type = "early_warning.raised.v1"

    warning_id: uuid.UUID
    kind: str  # business | category
    key: str  # the credit code, or the category code
    township_code: str | None = None
    city_code: str
    count: int
    threshold: int
    window_days: int
    raised_at: datetime


class MediationEnded(Contract):
    """A mediation case ended; routing escalates on failure when a tier above exists."""

    source = "mediation"
    type = "mediation.ended.v1"

    complaint_id: uuid.UUID
    unit: Unit
    outcome: str  # agreement | failed | consent_refused | withdrawn | expired | agreement_breached
    recovered_amount: Decimal | None = None
    ended_at: datetime
    escalate: bool = False
    # the remedy routes the parties were told of (救济途径, the mediator's choice; issue 17)
    remedies: list[str] = Field(default_factory=list)


class MediationTransitioned(Contract):
    """Every transition of a mediation case (docs/mediation.md): notification tells the parties,
    reporting counts, the SLA watch reads the clocks. `detail` carries no personal data; a
    self-transition (from_state == to_state) records something without moving the case on."""

    source = "mediation"
    type = "mediation.transitioned.v1"

    complaint_id: uuid.UUID
    unit: Unit
    action: str
    from_state: str
    to_state: str
    actor: str
    mediator: str | None = None
    at: datetime
    detail: dict[str, Any] = Field(default_factory=dict)
    # added by issue 19, optional: the court agency of a judicial confirmation (诉调对接), so
    # notification delivers the application to it like an agency handover (webhook, docking queue)
    agency_tenant: str | None = None


class ClockColourChanged(Contract):
    """A case clock turned yellow (most of its time used) or red (breached). Any service that runs
    clocks publishes it under the shared source `clocks` (exchange `clocks.events`), so consumers bind
    one exchange whoever runs the clock. Notification tells the handler (else the unit's inbox)."""

    source = "clocks"
    type = "clock.colour_changed.v1"

    complaint_id: uuid.UUID
    clock: str  # acknowledgement | acceptance | tier_target | mediation | mediation_end_notice | ...
    colour: str  # green | yellow | red
    unit: Unit
    handler: str | None = None  # the username holding the case (a mediator), when there is one
    tier: str
    # added by issue 18, optional: a clock a case may hold several of (a supervision order) names
    # itself, and a supervision order's clock names the unit that sent it, told of its red light too
    ref: str | None = None
    supervisor: Unit | None = None
    at: datetime | None = None  # when the watcher saw it change (issue 18: reporting dates overdue orders)


class ClockStopped(Contract):
    """A case clock stopped: `met` when in time, else late. The service that runs the clock says so,
    counted on the limits and working days it ran on (the responsible tenant's), so reporting's
    on-time rates are the clocks' own verdicts. `unit_code` is the unit answering for the clock when
    it stopped (for an acknowledgement before routing, where the case happened), `tier` its tier
    (`none` for the platform's own acknowledgement). Published under the shared source `clocks`."""

    source = "clocks"
    type = "clock.stopped.v1"

    complaint_id: uuid.UUID
    clock: str
    unit_code: str
    tier: str
    started_at: datetime
    deadline: datetime
    stopped_at: datetime
    met: bool
    ref: str | None = None  # issue 18: which of the case's clocks of this kind (a supervision order)


class _Supervision(Contract):
    """A supervision order (督办, services/routing/supervision.py): `from_unit` sent it, `to_unit` is
    the unit ordered to act (now), `order_id` names it among the case's orders."""

    source = "routing"

    order_id: uuid.UUID
    complaint_id: uuid.UUID
    from_unit: Unit
    to_unit: Unit
    actor: str
    at: datetime


class SupervisionOrdered(_Supervision):
    """A higher unit ordered a lower one to act on a case by a deadline (working days)."""

    type = "supervision.ordered.v1"

    instruction: str
    working_days: int
    deadline: datetime


class SupervisionAnswered(_Supervision):
    """The unit ordered answered (what was done, with `attachments` evidence files); `in_time`
    when before the deadline."""

    type = "supervision.answered.v1"

    in_time: bool
    attachments: int = 0


class SupervisionAccepted(_Supervision):
    """The sender accepted the answer: the order is done."""

    type = "supervision.accepted.v1"


class SupervisionReturned(_Supervision):
    """The sender sent the answer back with its reason; the unit ordered answers again by `deadline`."""

    type = "supervision.returned.v1"

    reason: str
    deadline: datetime


class SupervisionMoved(_Supervision):
    """The case moved (escalation, take-over, handover, decision on authority, offboarding) and the
    order follows it: `to_unit` holds it now, `previous_unit` held it; `step` names the move."""

    type = "supervision.moved.v1"

    previous_unit: Unit
    step: str
    deadline: datetime


class OfficialSchedule(BaseModel):
    """A year of the State Council's holiday notice as the platform admin entered it (checked by
    `common.official_calendar.parse`): statutory holidays, bridging weekdays taken off, make-up
    Saturdays and Sundays worked; `source` cites the notice."""

    model_config = ConfigDict(frozen=True)

    statutory_holidays: tuple[date, ...]
    bridging_days: tuple[date, ...] = ()
    makeup_workdays: tuple[date, ...] = ()
    source: str = ""


class OfficialCalendarChanged(Contract):
    """The platform admin entered a year's official calendar, or withdrew it (`schedule` None: the
    year counts on the `chinesecalendar` package, else the fallback, again). Every service that
    counts working days applies it to its own copy; a change older than the one kept is ignored."""

    source = "routing"
    type = "official_calendar.changed.v1"

    year: int
    schedule: OfficialSchedule | None
    changed_by: str
    changed_at: datetime


class OfficialCalendarMissing(Contract):
    """On 1 December (or later) next year's official schedule is neither entered nor in the package:
    the clocks count that year on the fallback. Said once per year; notification tells the platform
    admins."""

    source = "routing"
    type = "official_calendar.missing.v1"

    year: int
    noticed_at: datetime


ALL_CONTRACTS: tuple[type[Contract], ...] = (
    ComplaintReceived,
    ComplaintRouted,
    MessageRecorded,
    MessageHandled,
    CaseReassigned,
    ComplaintAccepted,
    ComplaintRefused,
    SettleFirstOpened,
    SettleFirstEnded,
    CaseEscalated,
    MediationEnded,
    MediationTransitioned,
    CaseRoutingStep,
    EarlyWarningRaised,
    ClockColourChanged,
    ClockStopped,
    OfficialCalendarChanged,
    OfficialCalendarMissing,
    SupervisionOrdered,
    SupervisionAnswered,
    SupervisionAccepted,
    SupervisionReturned,
    SupervisionMoved,
)


# --- RPC contracts: what callers send to services ---------------------------------------------

CHANNELS: tuple[str, ...] = tuple(reference.CHANNELS)
DIVISION_CODE = r"^\d{6}(\d{3}(\d{3})?)?$"
# a supervision order's limits (the gateway's request models and services/routing/supervision.py)
SUPERVISION_MAX_WORKING_DAYS = 60
SUPERVISION_MAX_TEXT = 2000
SUPERVISION_MAX_ATTACHMENTS = 20


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class Complainant(_Input):
    name: str = Field(min_length=1, max_length=50)
    phone: str = Field(min_length=5, max_length=20)
    id_number: str | None = Field(default=None, max_length=18)
    address: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    division_code: str | None = Field(default=None, pattern=DIVISION_CODE)  # where the consumer lives


class Business(_Input):
    name: str = Field(min_length=1, max_length=100)
    credit_code: str | None = Field(default=None, min_length=18, max_length=18)
    # the business's place when only one is known (read as its operating place)
    division_code: str | None = Field(default=None, pattern=DIVISION_CODE)
    registered_division_code: str | None = Field(default=None, pattern=DIVISION_CODE)
    operating_division_code: str | None = Field(default=None, pattern=DIVISION_CODE)
    address: str | None = Field(default=None, max_length=200)
    platform_shop: bool = False  # a seller on an e-commerce platform (Art 13)
    platform: str | None = Field(default=None, min_length=1, max_length=100)  # which platform
    shop_name: str | None = Field(default=None, min_length=1, max_length=100)  # the shop's name there


class PrivacyConsent(_Input):
    """The complainant's consent to the privacy notice (隐私告知) of the version the form showed."""

    version: str = Field(min_length=1, max_length=20)


class ComplaintSubmission(_Input):
    """A complaint as filed through any channel (`POST /api/v1/complaints`, `intake.submit`)."""

    channel: Literal[CHANNELS]  # type: ignore[valid-type]
    complainant: Complainant
    business: Business
    incident_division_code: str = Field(pattern=DIVISION_CODE)
    category: str = Field(min_length=1, max_length=40)
    summary: str = Field(min_length=5, max_length=2000)
    claim_amount: Decimal | None = Field(default=None, ge=0, le=Decimal("10000000"), decimal_places=2)
    requests: list[Literal[FILED_REQUESTS]] = Field(  # type: ignore[valid-type]
        default_factory=list, max_length=5
    )
    # added by intake issue 4 (all optional)
    product: str | None = Field(default=None, min_length=1, max_length=200)  # the goods or service concerned
    occurred_on: PlausibleDate | None = None  # when it happened (purchase or incident day)
    request_details: str | None = Field(default=None, min_length=1, max_length=500)  # what exactly is asked
    also_report: bool = False  # also a report of an offence (Art 9): split into two linked records
    report_text: str | None = Field(default=None, min_length=5, max_length=2000)
    # the public web form must carry it (the gateway refuses a filing without); staff channels
    # record the complainant's consent on paper
    privacy_consent: PrivacyConsent | None = None
