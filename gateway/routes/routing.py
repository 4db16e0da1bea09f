"""Routing: who is responsible for a case and why, moving it (handover, return, contest and the
decision on authority, escalation, take-over and declining a request for it; the agency's
acknowledgement, answer and hand-back), early warnings and the escalation figures. The routing
service decides who may act (services/routing/moves.py, agencies.py): out of scope 404, a read-only
viewer or the wrong role 403, the wrong state 409 with the reason. See docs/routing.md."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator

from common.contracts import DIVISION_CODE
from common.contracts.answers.reports import EscalationRates
from common.contracts.answers.routing import AgencyHandoverRow, CaseRouting, EarlyWarning, HandedBack
from common.reference import AGENCY_ANSWER_MAX_TEXT, AGENCY_OUTCOMES, AGENCY_REASON_MAX_TEXT
from gateway.deps import Rpc, Staff

router = APIRouter(tags=["routing"])
CASE = "/api/v1/complaints/{complaint_id}"
# every move answers the case's routing record as the caller sees it now
ROUTING: dict[str, Any] = {"response_model": CaseRouting, "response_model_exclude_unset": True}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Reason(_Body):
    reason: str = Field(default="", max_length=500)


class Declining(_Body):
    reason: str = Field(min_length=1, max_length=500, description="why; the unit that asked is told")


class Escalation(_Body):
    trigger: Literal["party_request", "staff_request"]
    reason: str = Field(default="", max_length=500)


class Decision(_Body):
    unit: str = Field(pattern=DIVISION_CODE, description="the unit that is responsible from now on")
    reason: str = Field(default="", max_length=500)


class Reclassification(_Body):
    claim_amount: Decimal | None = Field(default=None, ge=0, le=Decimal("10000000"), decimal_places=2)
    category: str | None = Field(default=None, min_length=1, max_length=40)
    reason: str = Field(default="", max_length=500)


class AgencyAnswer(_Body):
    answer: str = Field(min_length=1, max_length=AGENCY_ANSWER_MAX_TEXT, description="what the agency did")
    outcome: str | None = Field(
        default=None, description=f"its outcome, one of {', '.join(AGENCY_OUTCOMES)} (common/reference.py)"
    )

    @field_validator("outcome")
    @classmethod
    def _known_outcome(cls, value: str | None) -> str | None:
        if value is not None and value not in AGENCY_OUTCOMES:
            raise ValueError(f"one of {', '.join(AGENCY_OUTCOMES)}")
        return value


class HandingBack(_Body):
    reason: str = Field(min_length=1, max_length=AGENCY_REASON_MAX_TEXT, description="why; the unit is told")


def _reason(body: Reason | None) -> str:
    return body.reason if body else ""


@router.get(CASE + "/routing", **ROUTING)
async def case_routing(complaint_id: str, staff: Staff, client: Rpc) -> Any:
    """Who is responsible, the rule and inputs that decided it, open handovers, the tier clock and
    every routing step (`read_only` for a unit that passed the case up)."""
    return await client.call("routing", "case_routing", complaint_id, context=staff.scope.to_context())


@router.post(CASE + "/handover/accept", **ROUTING)
async def accept_handover(complaint_id: str, staff: Staff, client: Rpc) -> Any:
    """The unit a case is handed to accepts it (supervisor or intake clerk): it is responsible now."""
    return await client.call("routing", "accept_handover", complaint_id, context=staff.scope.to_context())


@router.post(CASE + "/handover/acknowledge", **ROUTING)
async def acknowledge_handover(complaint_id: str, staff: Staff, client: Rpc) -> Any:
    """The agency a case is handed to acknowledges it (谁主管，谁负责)."""
    return await client.call("routing", "acknowledge_handover", complaint_id, context=staff.scope.to_context())


@router.post(CASE + "/handover/answer", **ROUTING)
async def answer_handover(complaint_id: str, body: AgencyAnswer, staff: Staff, client: Rpc) -> Any:
    """The agency a case is handed to answers what it did (acknowledging it, if not yet); the unit
    that handed it over stays responsible and is told."""
    return await client.call(
        "routing", "answer_handover", complaint_id, body.answer, body.outcome, context=staff.scope.to_context()
    )


@router.post(CASE + "/handover/hand-back", response_model=HandedBack)
async def hand_back(complaint_id: str, body: HandingBack, staff: Staff, client: Rpc) -> Any:
    """The agency hands the case back, with its reason: the unit that handed it over works it again
    and is told; the agency no longer sees the case."""
    return await client.call("routing", "hand_back", complaint_id, body.reason, context=staff.scope.to_context())


@router.get("/api/v1/agency/handovers", response_model=list[AgencyHandoverRow])
async def agency_handovers(staff: Staff, client: Rpc, limit: Annotated[int, Query(ge=1, le=500)] = 100) -> Any:
    """The cases handed to the caller's agency, newest first: the handover's state, the unit that
    handed it over, the agency's answer or reason for handing back."""
    return await client.call("routing", "agency_handovers", limit=limit, context=staff.scope.to_context())


@router.post(CASE + "/return", **ROUTING)
async def return_case(complaint_id: str, staff: Staff, client: Rpc, body: Reason | None = None) -> Any:
    """A unit without authority returns the case to routing (never sideways to another unit, Art 41)."""
    return await client.call("routing", "return_case", complaint_id, _reason(body), context=staff.scope.to_context())


@router.post(CASE + "/contest", **ROUTING)
async def contest(complaint_id: str, staff: Staff, client: Rpc, body: Reason | None = None) -> Any:
    """The unit a case is handed to disputes its authority: 7 working days, then the common higher unit decides."""
    return await client.call("routing", "contest", complaint_id, _reason(body), context=staff.scope.to_context())


@router.post(CASE + "/decide-authority", **ROUTING)
async def decide_authority(complaint_id: str, body: Decision, staff: Staff, client: Rpc) -> Any:
    """The lowest common higher unit decides a contested case (Art 33)."""
    return await client.call(
        "routing", "decide_authority", complaint_id, body.unit, body.reason, context=staff.scope.to_context()
    )


@router.post(CASE + "/escalate", **ROUTING)
async def escalate(complaint_id: str, body: Escalation, staff: Staff, client: Rpc) -> Any:
    """Pass the case up (上交) on a party's request or the staff's (提请上一级)."""
    return await client.call(
        "routing", "escalate", complaint_id, body.trigger, body.reason, context=staff.scope.to_context()
    )


@router.post(CASE + "/reclassify", **ROUTING)
async def reclassify(complaint_id: str, body: Reclassification, staff: Staff, client: Rpc) -> Any:
    """New claim amount or category; the case goes up when its tier no longer fits (`escalated`)."""
    return await client.call(
        "routing",
        "reclassify",
        complaint_id,
        claim_amount=str(body.claim_amount) if body.claim_amount is not None else None,
        category=body.category,
        reason=body.reason,
        context=staff.scope.to_context(),
    )


@router.post(CASE + "/take-over", **ROUTING)
async def take_over(complaint_id: str, staff: Staff, client: Rpc, body: Reason | None = None) -> Any:
    """A higher unit takes the case over from a unit below it."""
    return await client.call("routing", "take_over", complaint_id, _reason(body), context=staff.scope.to_context())


@router.post(CASE + "/request-takeover", **ROUTING)
async def request_takeover(complaint_id: str, staff: Staff, client: Rpc, body: Reason | None = None) -> Any:
    """The responsible unit asks the unit above to take the case over."""
    return await client.call(
        "routing", "request_takeover", complaint_id, _reason(body), context=staff.scope.to_context()
    )


@router.post(CASE + "/decline-takeover", **ROUTING)
async def decline_takeover(complaint_id: str, body: Declining, staff: Staff, client: Rpc) -> Any:
    """The unit asked to take a case over declines, with its reason; the unit that asked stays
    responsible and is told."""
    return await client.call("routing", "decline_takeover", complaint_id, body.reason, context=staff.scope.to_context())


@router.get("/api/v1/warnings", response_model=list[EarlyWarning], response_model_exclude_unset=True)
async def warnings(staff: Staff, client: Rpc, limit: Annotated[int, Query(ge=1, le=500)] = 100) -> Any:
    """Early warnings raised to the caller's township or city, newest first."""
    return await client.call("routing", "warnings", limit=limit, context=staff.scope.to_context())


@router.get("/api/v1/reports/escalations", response_model=EscalationRates, response_model_exclude_unset=True)
async def escalation_figures(staff: Staff, client: Rpc) -> Any:
    """Escalations per unit of the caller's subtree, townships against the 10% line."""
    return await client.call("reporting", "escalations", context=staff.scope.to_context())
