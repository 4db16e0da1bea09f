"""Figures for the caller's subtree."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from gateway.deps import Rpc, Staff

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])


@router.get("/summary")
async def report_summary(staff: Staff, client: Rpc) -> Any:
    return await client.call("reporting", "summary", context=staff.scope.to_context())
