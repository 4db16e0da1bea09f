"""The platform's official calendar: the State Council's holiday notice of a year, entered by a
platform admin; it takes precedence over the `chinesecalendar` package and the fallback in every
working-day count, and tenants' own extra days stay on top. Routing owns it
(services/routing/official_calendar.py) and checks the dates (422 naming the field). See
docs/tenants.md, "The official calendar".
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from common.contracts.answers.routing import OfficialYear, OfficialYears
from gateway.deps import Rpc, Staff

router = APIRouter(prefix="/api/v1/calendar/official", tags=["calendar"])

Year = Annotated[int, Path(description="the year of the notice, e.g. 2027")]
Days = Annotated[list[date], Field(max_length=60)]


class OfficialSchedule(BaseModel):
    """A year of the notice: every day in the year (or the December before it, where a notice's
    元旦 may begin)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    statutory_holidays: Days = Field(min_length=1, description="法定节假日, the days the law gives off")
    bridging_days: Days = Field(default_factory=list, description="调休放假: weekdays taken off to bridge them")
    makeup_workdays: Days = Field(default_factory=list, description="调休上班: Saturdays and Sundays worked instead")
    source: str = Field(default="", max_length=500, description="the notice, e.g. 国办发明电〔2026〕x号")


@router.get("", response_model=OfficialYears, response_model_exclude_unset=True)
async def official_years(staff: Staff, client: Rpc) -> Any:
    """The years entered, and for this year and the next where their working days come from
    (`entered`, `package` or `fallback`)."""
    return await client.call("routing", "official_calendar_years", context=staff.scope.to_context())


@router.get("/{year}", response_model=OfficialYear, response_model_exclude_unset=True)
async def official_year(year: Year, staff: Staff, client: Rpc) -> Any:
    return await client.call("routing", "official_calendar_year", year, context=staff.scope.to_context())


@router.put("/{year}", response_model=OfficialYears, response_model_exclude_unset=True)
async def enter_official_year(year: Year, body: OfficialSchedule, staff: Staff, client: Rpc) -> Any:
    """Enter (or replace) a year's schedule (platform_admin). Clocks count on it from now on, and the
    running clocks' deadlines are computed again on it."""
    schedule = body.model_dump(mode="json")
    return await client.call("routing", "enter_official_calendar", year, schedule, context=staff.scope.to_context())


@router.delete("/{year}", response_model=OfficialYears, response_model_exclude_unset=True)
async def withdraw_official_year(year: Year, staff: Staff, client: Rpc) -> Any:
    """Withdraw an entered year (platform_admin): it counts on the package, else the fallback, again."""
    return await client.call("routing", "withdraw_official_calendar", year, context=staff.scope.to_context())
