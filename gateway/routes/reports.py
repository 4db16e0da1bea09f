"""Figures for the caller's subtree: the summary over a period, monthly reports (own and children's,
side by side), their downloads and charts. Definitions: docs/reporting.md."""

from __future__ import annotations

import base64
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from common.bounds import PlausibleDate, PlausibleMonth
from common.contracts.answers.reports import AgencyFigures, Figures, MonthlyGenerated, MonthlyReports, TrendMonth
from gateway.deps import Rpc, Staff

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])

MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FILE = {"type": "string", "format": "binary"}
Start = Annotated[PlausibleDate | None, Query(alias="from", description="YYYY-MM-DD, inclusive")]
End = Annotated[PlausibleDate | None, Query(alias="to", description="YYYY-MM-DD, inclusive")]


def _period(start: date | None, end: date | None) -> dict[str, str | None]:
    if start and end and start > end:
        raise RequestValidationError(
            [{"loc": ("query", "to"), "msg": "the period ends before it starts", "type": "value_error"}]
        )
    return {"start": start.isoformat() if start else None, "end": end.isoformat() if end else None}


@router.get("/summary", response_model=Figures | AgencyFigures, response_model_exclude_unset=True)
async def report_summary(
    staff: Staff,
    client: Rpc,
    start: Start = None,
    end: End = None,
) -> Any:
    """Every figure of the caller's subtree for complaints and events in the period (default: all)."""
    return await client.call("reporting", "summary", **_period(start, end), context=staff.scope.to_context())


@router.get("/monthly", response_model=MonthlyReports, response_model_exclude_unset=True)
async def monthly_reports(
    staff: Staff, client: Rpc, month: Annotated[PlausibleMonth, Query(description="YYYY-MM")]
) -> Any:
    """The caller's monthly report and the reports its child units sent up, side by side."""
    return await client.call("reporting", "monthly", month, context=staff.scope.to_context())


@router.post("/monthly/{month}/generate", response_model=MonthlyGenerated, response_model_exclude_unset=True)
async def generate_monthly(month: Annotated[PlausibleMonth, Path()], staff: Staff, client: Rpc) -> Any:
    """Produce the reports of a past month for the caller's unit and its subtree (a supervisor);
    a report that exists already stays as it was sent."""
    return await client.call("reporting", "generate_monthly", month, context=staff.scope.to_context())


@router.get(
    "/monthly/{month}.{fmt}",
    response_class=Response,
    responses={
        200: {"description": "the reports side by side", "content": {t: {"schema": FILE} for t in MEDIA_TYPES.values()}}
    },
)
async def download_monthly(
    month: Annotated[PlausibleMonth, Path()], fmt: Literal["csv", "xlsx"], staff: Staff, client: Rpc
) -> Response:
    answer = await client.call("reporting", "monthly_export", month, fmt, context=staff.scope.to_context())
    content = answer["content"].encode() if fmt == "csv" else base64.b64decode(answer["base64"])
    if fmt == "csv":
        content = b"\xef\xbb\xbf" + content  # a BOM, so spreadsheet programs read the Chinese labels as UTF-8
    return Response(
        content,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{answer["filename"]}"'},
    )


@router.get("/trend", response_model=list[TrendMonth], response_model_exclude_unset=True)
async def trend(
    staff: Staff,
    client: Rpc,
    start: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=10)] = None,
) -> Any:
    """Complaints received and agreements per month of the caller's subtree (default: the last twelve
    months): the figures of `charts/trend.svg`, as JSON."""
    return await client.call("reporting", "trend", start=start, end=end, context=staff.scope.to_context())


@router.get(
    "/charts/{name}.svg",
    response_class=Response,
    responses={200: {"description": "the chart", "content": {"image/svg+xml": {"schema": {"type": "string"}}}}},
)
async def chart(
    name: Literal["trend", "categories", "sla"],
    staff: Staff,
    client: Rpc,
    start: Start = None,
    end: End = None,
) -> Response:
    svg = await client.call("reporting", "chart", name, **_period(start, end), context=staff.scope.to_context())
    return Response(svg, media_type="image/svg+xml")
