"""Intake's answers (services/intake/): a filing's receipt, the case as staff see it (list row and
single-case view), decisions, evidence, e-mail drafts, the reference lists."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from common.contracts.answers import Answer, Day, Instant, Money
from common.contracts.answers.clocks import CaseClock, HolderRef, NearestClock
from common.contracts.answers.routing import CaseRouting


class CaseRef(Answer):
    id: str
    tracking_no: str


class Receipt(Answer):
    """A filing's answer (and its retries'), an e-mail draft completed."""

    id: str
    tracking_no: str
    status: str
    acceptance_deadline: Instant | None = None  # when the unit must have decided whether to accept (Art 14)
    duplicate_of: str | None = None  # the first case's tracking number, for a duplicate (Art 35)
    already_filed: bool | None = None  # a retry without a key: the case filed minutes ago (200, not 201)
    report: CaseRef | None = None  # the report half of an Art 9 split
    upload_token: str | None = None  # the public web form: add evidence at POST /api/v1/portal/evidence


class Complainant(Answer):
    """As filed (common.contracts.Complainant), masked unless the caller handles the case; an
    e-mail draft's holds what the message told (perhaps no name)."""

    name: str | None = None
    phone: str | None = None
    id_number: str | None = None
    address: str | None = None
    email: str | None = None
    division_code: str | None = None


class Business(Answer):
    """As filed (common.contracts.Business)."""

    name: str | None = None
    credit_code: str | None = None
    division_code: str | None = None
    registered_division_code: str | None = None
    operating_division_code: str | None = None
    address: str | None = None
    platform_shop: bool | None = None
    platform: str | None = None
    shop_name: str | None = None


class Flag(Answer):
    """Why a case needs a second look (services/intake/duplicates.py)."""

    code: str
    explanation: str
    label_zh: str


class CaseRow(Answer):
    """A case as a list shows it (always masked); the single-case view adds to it."""

    id: str
    tracking_no: str
    status: str
    channel: str
    complainant: Complainant
    business: Business
    incident_division_code: str | None
    category: str | None
    summary: str
    claim_amount: Money | None
    requests: list[str]
    first_receiver: str | None
    responsible_unit: HolderRef | None
    agency: str | None
    received_at: Instant
    updated_at: Instant
    read_only: bool
    kind: str
    flags: list[Flag]
    duplicate_of: str | None
    status_label: str
    mediation_state: str | None
    escalated: bool


class ListedCase(CaseRow):
    light: str | None
    nearest_clock: NearestClock | None


class PrivacyConsent(Answer):
    version: str
    at: Instant


class FieldProblem(Answer):
    field: str
    message: str


class EmailSource(Answer):
    from_: str | None = Field(alias="from")
    subject: str | None
    message_id: str | None
    sent_at: str | None
    refused_attachments: list[FieldProblem]


class SettlementTerms(Answer):
    remedies: list[str]
    amount: Money | None = None
    note: str | None = None


class SettleFirstOffer(SettlementTerms):
    at: Instant


class Performed(Answer):
    performed: bool
    at: Instant


class SettleFirstLane(Answer):
    """The settle-first lane (先行和解, issue 19): the window, the business's offer, the outcome."""

    opened_at: Instant
    window_deadline: Instant
    offer: SettleFirstOffer | None
    outcome: str | None = None
    ended_at: Instant | None = None
    performed: Performed | None = None


class PublicSettleFirstLane(SettleFirstLane):
    can_reply: bool
    can_confirm_performance: bool


class Judicial(Answer):
    """Where the agreement's judicial confirmation stands: no personal data."""

    status: str
    label: str
    court_name: str | None
    at: Instant
    ruling_no: str | None = None


class Details(Answer):
    product: str | None = None
    occurred_on: Day | None = None
    request_details: str | None = None
    privacy_consent: PrivacyConsent | None = None
    email: EmailSource | None = None  # an e-mail complaint's source (absent for an agency)
    settle_first: SettleFirstLane | None = None
    judicial: Judicial | None = None


class Decision(Answer):
    """The acceptance decision (Art 15/16), or the settlement the complainant accepted."""

    decision: str
    at: Instant
    by: str
    unit: str | None = None
    ground: str | None = None
    ground_label: str | None = None
    reason: str | None = None
    other_routes: str | None = None
    terms: SettlementTerms | None = None


class Evidence(Answer):
    id: str
    filename: str
    mime_type: str
    size: int
    sha256: str
    source: str
    uploaded_at: Instant


class EvidenceFile(Evidence):
    """`intake.evidence_file`: one file's bytes, for the gateway to send."""

    extension: str
    content: str = Field(description="base64")


class HistoryStep(Answer):
    """A step of the case's history: a stable `code` (common.reference.HISTORY_STEPS) and its
    parameters, which differ from one step to the next; `step` and `detail` as stored."""

    at: Instant
    code: str
    step: str
    params: dict[str, Any] | None = None  # left out for an agency
    detail: dict[str, Any] | None = None


class LinkedCase(Answer):
    id: str
    tracking_no: str
    status: str
    received_at: Instant
    relation: str | None = None


class Document(Answer):
    code: str
    label_zh: str
    path: str


class Responsibility(Answer):
    """Why the case is where it is: routing's decision, read for the case view."""

    unit: HolderRef
    rule: str
    explanation_zh: str | None
    since: Instant


class Case(CaseRow):
    """The single-case view: intake's, with every clock of the case and routing's record of it."""

    details: Details
    decision: Decision | None
    linked: str | None
    related_to: str | None
    received_by: str | None
    source_tenant: str | None
    clocks: list[CaseClock]
    clocks_unavailable: list[str] | None = None  # the services whose clocks are missing (restarting)
    evidence: list[Evidence]
    history: list[HistoryStep]
    duplicates: list[LinkedCase]
    duplicate_of_case: CaseRef | None
    related: list[LinkedCase]
    documents: list[Document]
    allowed_actions: list[str]
    routing: CaseRouting | None = None
    responsibility: Responsibility | None = None
    routing_unavailable: bool | None = None


class CasePage(Answer):
    """`intake.list_complaints`: the gateway answers `items`, with `total` as X-Total-Count."""

    total: int
    items: list[ListedCase]


class Decided(Answer):
    """An acceptance decision taken."""

    id: str
    tracking_no: str
    status: str
    decision: Decision


class Prefilled(Answer):
    complainant: Complainant
    summary: str


class EmailDraft(Answer):
    """An e-mail taken in as a draft; a retry with the same key answers the receipt and `draft` only."""

    id: str
    tracking_no: str
    status: str
    draft: bool
    prefilled: Prefilled | None = None
    evidence: list[Evidence] | None = None
    refused_attachments: list[FieldProblem] | None = None


class CaseAccess(Answer):
    """`intake.case_ref`: whether the caller sees the case, without its content."""

    id: str
    read_only: bool


class Category(Answer):
    code: str
    name_zh: str
    name_en: str
    safety_related: bool
    agency: str | None
    scope: str | None


class CodeLabel(Answer):
    """An entry of a code list (common/reference.py and intake's lists)."""

    code: str
    label_zh: str | None = None
    name_zh: str | None = None
    name_en: str | None = None
    safety_related: bool | None = None
    agency: str | None = None
    scope: str | None = None
    other_routes_zh: str | None = None
    public: bool | None = None  # a history step the public tracking page shows


class KnownBusiness(Answer):
    name: str
    credit_code: str


class PersonalDataRead(Answer):
    """A read of unmasked personal data (common/audit.py, the log of intake and of mediation)."""

    id: int
    at: Instant
    username: str
    tenant: str
    complaint_id: str
    fields: list[str]
    endpoint: str
    service: str | None = None  # added by the gateway: whose log


class BusinessContact(Answer):
    credit_code: str
    verified_at: Instant


# --- the settle-first lane (先行和解, issue 19; services/intake/settle_first.py) ---------------------


class MaskedName(Answer):
    name: str


class SettleFirstCase(Answer):
    """A case in the business's settle-first lane, as the business sees it (the complainant masked)."""

    tracking_no: str
    status: str
    received_at: Instant
    complainant: MaskedName
    business: Business
    category: str | None
    summary: str
    requests: list[str]
    claim_amount: Money | None
    settle_first: SettleFirstLane


class SettleFirstAnswered(Answer):
    """The complainant's reply to the offer, or its word on the performance."""

    id: str
    tracking_no: str
    status: str
    settle_first: SettleFirstLane


class LightCounts(Answer):
    """How many cases in the caller's scope (received in the period) show each light."""

    red: int
    yellow: int
    green: int
