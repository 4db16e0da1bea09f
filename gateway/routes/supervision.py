"""Supervision orders (督办): a higher unit orders a lower one to act on a case by a deadline; the unit
ordered answers (what it did, with evidence files of the case); the sender accepts the answer or
sends it back. Routing owns them and decides who may act (services/routing/supervision.py): out of
scope 404, the wrong unit or role 403, the wrong state 409 with the reason. See docs/routing.md."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from common.contracts import (
    DIVISION_CODE,
    SUPERVISION_MAX_ATTACHMENTS,
    SUPERVISION_MAX_TEXT,
    SUPERVISION_MAX_WORKING_DAYS,
)
from common.contracts.answers.supervision import State, SupervisionOrder
from gateway.deps import Rpc, Staff
from gateway.errors import problem
from gateway.rpc import RpcClient

router = APIRouter(tags=["supervision"])
ORDERS = "/api/v1/supervision-orders"
CASE_ORDERS = "/api/v1/complaints/{complaint_id}/supervision-orders"
LIST_LIMIT = 500

WorkingDays = Annotated[int, Field(ge=1, le=SUPERVISION_MAX_WORKING_DAYS, description="working days from now")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Ordering(_Body):
    instruction: str = Field(min_length=1, max_length=SUPERVISION_MAX_TEXT, description="what the unit is to do")
    working_days: WorkingDays | None = Field(default=None, description="by when, in working days (default 5)")
    to_unit: str | None = Field(
        default=None,
        pattern=DIVISION_CODE,
        description="a unit below yours that the case lies under (default: the responsible unit)",
    )


class Answering(_Body):
    answer: str = Field(min_length=1, max_length=SUPERVISION_MAX_TEXT, description="what was done")
    attachments: list[uuid.UUID] = Field(
        default_factory=list,
        max_length=SUPERVISION_MAX_ATTACHMENTS,
        description="evidence files of the case (POST /api/v1/complaints/{id}/evidence first)",
    )


class Accepting(_Body):
    note: str = Field(default="", max_length=SUPERVISION_MAX_TEXT)


class SendingBack(_Body):
    reason: str = Field(min_length=1, max_length=SUPERVISION_MAX_TEXT, description="why; the unit ordered is told")
    working_days: WorkingDays | None = Field(default=None, description="to answer again (default: as first given)")


@router.post(CASE_ORDERS, status_code=201, response_model=SupervisionOrder)
async def send_order(complaint_id: str, body: Ordering, staff: Staff, client: Rpc) -> Any:
    """A supervisor of a unit above the responsible one orders it (or a named unit the case lies
    under) to act within `working_days` working days."""
    return await client.call(
        "routing",
        "supervise",
        complaint_id,
        body.instruction,
        working_days=body.working_days,
        to_unit=body.to_unit,
        context=staff.scope.to_context(),
    )


@router.get(CASE_ORDERS, response_model=list[SupervisionOrder])
async def case_orders(complaint_id: str, staff: Staff, client: Rpc) -> Any:
    """The case's supervision orders the caller's subtree sent or was sent."""
    return await client.call("routing", "case_supervision_orders", complaint_id, context=staff.scope.to_context())


@router.get(ORDERS, response_model=list[SupervisionOrder])
async def orders(
    staff: Staff,
    client: Rpc,
    box: Annotated[Literal["sent", "received"] | None, Query(description="sent by my unit, or to it")] = None,
    overdue: Annotated[bool, Query(description="only those waiting for an answer past the deadline")] = False,
    state: Annotated[State | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=LIST_LIMIT)] = 100,
) -> Any:
    """The supervision orders the caller's subtree sent or was sent, newest first."""
    return await client.call(
        "routing",
        "supervision_orders",
        box=box,
        overdue=overdue,
        state=state,
        limit=limit,
        context=staff.scope.to_context(),
    )


@router.get(ORDERS + "/{order_id}", response_model=SupervisionOrder)
async def order(order_id: str, staff: Staff, client: Rpc) -> Any:
    return await client.call("routing", "supervision_order", order_id, context=staff.scope.to_context())


@router.post(ORDERS + "/{order_id}/answer", response_model=SupervisionOrder)
async def answer(order_id: str, body: Answering, staff: Staff, client: Rpc) -> Any:
    """The unit ordered answers: what was done, with evidence files already uploaded to the case."""
    context = staff.scope.to_context()
    files = [str(f) for f in body.attachments]
    if files:
        unknown = await _not_evidence_of_the_case(client, context, order_id, files)
        if unknown:
            return problem(422, "invalid_input", "; ".join(f"{f['field']}: {f['message']}" for f in unknown), unknown)
    return await client.call("routing", "answer_supervision", order_id, body.answer, files, context=context)


@router.post(ORDERS + "/{order_id}/accept", response_model=SupervisionOrder)
async def accept(order_id: str, staff: Staff, client: Rpc, body: Accepting | None = None) -> Any:
    """The sender accepts the answer: the order is done."""
    note = body.note if body else ""
    return await client.call("routing", "accept_supervision", order_id, note, context=staff.scope.to_context())


@router.post(ORDERS + "/{order_id}/return", response_model=SupervisionOrder)
async def send_back(order_id: str, body: SendingBack, staff: Staff, client: Rpc) -> Any:
    """The sender sends the answer back with its reason; a fresh clock for the next answer."""
    return await client.call(
        "routing",
        "return_supervision",
        order_id,
        body.reason,
        working_days=body.working_days,
        context=staff.scope.to_context(),
    )


async def _not_evidence_of_the_case(
    client: RpcClient, context: dict[str, str], order_id: str, files: list[str]
) -> list[dict[str, str]]:
    """The attachments that are not evidence files of the order's case (intake's evidence store)."""
    found = await client.call("routing", "supervision_order", order_id, context=context)
    known = set(await client.call("intake", "evidence_ids", found["complaint_id"], context=context))
    return [
        {
            "field": f"attachments[{index}]",
            "message": f"not an evidence file of this case; upload it first (POST /api/v1/complaints/"
            f"{found['complaint_id']}/evidence)",
        }
        for index, file_id in enumerate(files)
        if file_id not in known
    ]
