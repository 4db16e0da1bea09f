"""Public, without a token: tracking a case by its number and the phone's last four digits, and the
reference lists (categories, requests, refusal grounds) a form needs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from common import reference as reference_data
from common.contracts.answers.complaints import CodeLabel
from common.contracts.answers.portal import TrackedCase
from gateway.deps import Rpc
from gateway.errors import problem
from gateway.throttle import client_address

router = APIRouter(tags=["public"])

NOT_FOUND = "no case with this tracking number and phone tail"


@router.get(
    "/api/v1/track/{tracking_no}",
    response_model=TrackedCase,
    response_model_exclude_unset=True,
    responses={404: {}, 429: {}},
)
async def track(
    request: Request,
    client: Rpc,
    tracking_no: Annotated[str, Path(min_length=4, max_length=40)],
    phone_tail: Annotated[str, Query(pattern=r"^\d{4}$", description="the last four digits of the phone")],
) -> Any:
    """Status, responsible unit and dated steps of a case, without personal data. An unknown number
    and a wrong tail answer the same 404; after 5 failed lookups of one number, or 20 from one
    address, within 15 minutes the answer is 429 with Retry-After."""
    answer = await client.call("intake", "track", tracking_no, phone_tail, client_address(request))
    if "retry_after" in answer:
        response = problem(429, "too_many_attempts", "too many failed lookups; try again later")
        response.headers["Retry-After"] = str(answer["retry_after"])
        return response
    if answer.get("found") is None:
        return problem(404, "not_found", NOT_FOUND)
    return JSONResponse(answer["found"])


_INTAKE_LISTS = ("categories", "requests", "refusal-grounds")
_SHARED_LISTS = (*reference_data.REFERENCE_LISTS, "history-steps")


@router.get("/api/v1/reference/{name}", response_model=list[CodeLabel], response_model_exclude_unset=True)
async def reference(
    name: Annotated[str, Path(pattern=rf"^({'|'.join((*_INTAKE_LISTS, *_SHARED_LISTS))})$")], client: Rpc
) -> Any:
    """The code lists with their Chinese labels: those intake accepts (`categories`, `requests`,
    `refusal-grounds`) and the platform's shared ones (common/reference.py: `case-statuses`,
    `history-steps`, `actions`, `message-states`, `message-actions`, `told-otherwise`,
    `escalation-triggers`, `lights`, `channels`, `tiers`, `mediation-states`, `agency-types`,
    `remedy-routes`)."""
    if name == "history-steps":
        return reference_data.history_step_list()
    if name in reference_data.REFERENCE_LISTS:
        return reference_data.code_list(reference_data.REFERENCE_LISTS[name])
    return await client.call("intake", "reference", name)
