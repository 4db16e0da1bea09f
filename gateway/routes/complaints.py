"""Complaints: public submission, and the staff's view of cases in their scope."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from pydantic import BaseModel

from common.contracts import ComplaintSubmission
from gateway.deps import Rpc, Staff

router = APIRouter(prefix="/api/v1/complaints", tags=["complaints"])


class Receipt(BaseModel):
    id: str
    tracking_no: str
    status: str


@router.post("", status_code=201, response_model=Receipt)
async def submit_complaint(
    submission: ComplaintSubmission,
    client: Rpc,
    idempotency_key: Annotated[str | None, Header(max_length=100)] = None,
) -> Any:
    """File a complaint (public). Answers 201 only once the complaint is durably stored."""
    return await client.call(
        "intake", "submit", submission.model_dump(mode="json", exclude_none=True), idempotency_key=idempotency_key
    )


@router.get("")
async def list_complaints(
    staff: Staff, client: Rpc, status: str | None = None, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> Any:
    return await client.call("intake", "list_complaints", status=status, limit=limit, context=staff.scope.to_context())


@router.get("/{complaint_id}")
async def get_complaint(complaint_id: str, staff: Staff, client: Rpc) -> Any:
    return await client.call("intake", "get_complaint", complaint_id, context=staff.scope.to_context())


@router.get("/{complaint_id}/messages")
async def complaint_messages(complaint_id: str, staff: Staff, client: Rpc) -> Any:
    # the case lookup applies the scope: out of scope answers 404 before any message is read; it
    # returns no personal data, so it is no audited access
    complaint = await client.call("intake", "case_ref", complaint_id, context=staff.scope.to_context())
    return await client.call("notification", "messages_for", complaint["id"], context=staff.scope.to_context())
