"""The settle-first lane (先行和解, issue 19): staff record a business's contact; the business sees
the complaints sent to it first and answers with an offer; the complainant accepts or rejects it and
later confirms its performance. Parties act with a party token (gateway/party_seam.py)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, HTTPException, Path
from pydantic import BaseModel, ConfigDict, Field

from common.categories import FILED_REQUESTS
from common.contracts.answers.complaints import BusinessContact, SettleFirstAnswered, SettleFirstCase
from gateway.deps import Rpc, Staff
from gateway.party_seam import BusinessParty, ComplainantParty

router = APIRouter(tags=["settle-first"])

TRACKING_NO = Path(min_length=4, max_length=40)


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid")
    phone: str = Field(min_length=1, max_length=30)


class Offer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    remedies: list[Literal[FILED_REQUESTS]] = Field(min_length=1)  # type: ignore[valid-type]
    amount: str | int | float | None = None
    note: str | None = Field(default=None, max_length=500)


class Reply(BaseModel):
    model_config = ConfigDict(extra="forbid")
    accept: bool
    comment: str | None = Field(default=None, max_length=500)


class Performance(BaseModel):
    model_config = ConfigDict(extra="forbid")
    performed: bool


@router.put(
    "/api/v1/businesses/{credit_code}/contact", response_model=BusinessContact, response_model_exclude_unset=True
)
async def record_contact(credit_code: str, contact: Contact, staff: Staff, client: Rpc) -> Any:
    """Staff (intake_clerk, supervisor) record the phone a business is reached at; complaints
    against it may then go to it first."""
    return await client.call(
        "intake", "record_business_contact", credit_code, contact.phone, context=staff.scope.to_context()
    )


@router.get("/api/v1/business/settle-first", response_model=list[SettleFirstCase], response_model_exclude_unset=True)
async def business_cases(party: BusinessParty, client: Rpc) -> Any:
    """The complaints sent to the signed-in business first (complainant masked), newest first."""
    return await client.call("intake", "settle_first_cases", party.credit_code)


@router.post(
    "/api/v1/business/settle-first/{tracking_no}/offer",
    response_model=SettleFirstCase,
    response_model_exclude_unset=True,
    responses={404: {}, 409: {}, 422: {}},
)
async def make_offer(
    tracking_no: Annotated[str, TRACKING_NO], offer: Annotated[Offer, Body()], party: BusinessParty, client: Rpc
) -> Any:
    """The business's offer, once, within the window."""
    sent = offer.model_dump(exclude_none=True)
    return await client.call("intake", "settle_first_offer", tracking_no, party.credit_code, sent)


@router.post(
    "/api/v1/track/{tracking_no}/settle-first/reply",
    response_model=SettleFirstAnswered,
    response_model_exclude_unset=True,
    responses={404: {}, 409: {}},
)
async def reply(tracking_no: Annotated[str, TRACKING_NO], answer: Reply, party: ComplainantParty, client: Rpc) -> Any:
    """The complainant accepts the offer (the case is settled, 已和解) or rejects it (the case goes on
    to the unit's acceptance decision)."""
    _own_case(party, tracking_no)
    return await client.call("intake", "settle_first_reply", tracking_no, party.phone, answer.accept, answer.comment)


@router.post(
    "/api/v1/track/{tracking_no}/settle-first/performance",
    response_model=SettleFirstAnswered,
    response_model_exclude_unset=True,
    responses={404: {}, 409: {}},
)
async def performance(
    tracking_no: Annotated[str, TRACKING_NO], answer: Performance, party: ComplainantParty, client: Rpc
) -> Any:
    """The complainant confirms whether the business did what the settlement says."""
    _own_case(party, tracking_no)
    return await client.call("intake", "settle_first_performance", tracking_no, party.phone, answer.performed)


def _own_case(party: Any, tracking_no: str) -> None:
    if party.tracking_no != tracking_no:
        raise HTTPException(403, "the party token is for another case")
