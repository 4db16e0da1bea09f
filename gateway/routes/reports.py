"""Figures for the caller's subtree: the summary over a period, monthly reports (own and children's,
side by side), their downloads and charts. Definitions: docs/reporting.md."""

from __future__ import annotations

import base64
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from gateway.deps import Rpc, Staff

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])

MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@router.get("/summary")
async def report_summary(
    staff: Staff,
    client: Rpc,
    start: Annotated[str | None, Query(alias="from", max_length=10, description="YYYY-MM-DD, inclusive")] = None,
    end: Annotated[str | None, Query(alias="to", max_length=10, description="YYYY-MM-DD, inclusive")] = None,
) -> Any:
    """Every figure of the caller's subtree for complaints and events in the period (default: all)."""
    return await client.call("reporting", "summary", start=start, end=end, context=staff.scope.to_context())


@router.get("/monthly")
async def monthly_reports(
    staff: Staff, client: Rpc, month: Annotated[str, Query(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")]
) -> Any:
    """The caller's monthly report and the reports its child units sent up, side by side."""
    return await client.call("reporting", "monthly", month, context=staff.scope.to_context())


@router.post("/monthly/{month}/generate")
async def generate_monthly(month: str, staff: Staff, client: Rpc) -> Any:
    """Produce the reports of a past month for the caller's unit and its subtree (a supervisor);
    a report that exists already stays as it was sent."""
    return await client.call("reporting", "generate_monthly", month, context=staff.scope.to_context())


@router.get("/monthly/{month}.{fmt}", response_class=Response)
async def download_monthly(month: str, fmt: Literal["csv", "xlsx"], staff: Staff, client: Rpc) -> Response:
    answer = await client.call("reporting", "monthly_export", month, fmt, context=staff.scope.to_context())
    content = answer["content"].encode() if fmt == "csv" else base64.b64decode(answer["base64"])
    if fmt == "csv":
        content = b"\xef\xbb\xbf" + content  # a BOM, so spreadsheet programs read the Chinese labels as UTF-8
    return Response(
        content,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{answer["filename"]}"'},
    )


@router.get("/trend")
async def trend(
    staff: Staff,
    client: Rpc,
    start: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=10)] = None,
) -> Any:
    """Complaints received and agreements per month of the caller's subtree (default: the last twelve
    months): the figures of `charts/trend.svg`, as JSON."""
    return await client.call("reporting", "trend", start=start, end=end, context=staff.scope.to_context())


@router.get("/charts/{name}.svg", response_class=Response)
async def chart(
    name: Literal["trend", "categories", "sla"],
    staff: Staff,
    client: Rpc,
    start: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=10)] = None,
) -> Response:
    svg = await client.call("reporting", "chart", name, start=start, end=end, context=staff.scope.to_context())
    return Response(svg, media_type="image/svg+xml")
