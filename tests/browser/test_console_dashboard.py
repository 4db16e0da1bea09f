"""Issue 18's gaps on the dashboard, in the browser: the period selector drives the figures (each the
API's number for that period) and stays in the address through a reload and a drill-down; units
read by their Chinese names, never a division code. Cases are filed through the public API."""

from __future__ import annotations

import re
from contextlib import suppress
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from common import reference
from tests.browser.helpers import TOWNSHIP, VILLAGE, Login, choose, file_routed, log_in, screenshot
from tests.conftest import wait_for

with suppress(ImportError):
    from playwright.sync_api import Page, expect

pytestmark = pytest.mark.integration
OPEN = reference.OPEN_STATUSES
CODE = re.compile(r"\d{9,12}")  # a township's or a village's division code


@pytest.fixture(autouse=True)
def patient_expect() -> Any:
    expect.set_options(timeout=20_000)
    yield
    expect.set_options(timeout=5_000)


def open_cases(api: httpx.Client, login: Login, **period: str) -> int:
    """The dashboard's 在办案件 as the API counts it for the period."""
    params = {"from": period["start"], "to": period["end"]} if period else {}
    summary = api.get("/api/v1/reports/summary", params=params, headers=login(TOWNSHIP)).json()
    return sum(summary["by_status"].get(status, 0) for status in OPEN)


def test_the_period_drives_the_figures_and_stays_in_the_address(
    page: Page, console_url: str, api: httpx.Client, login: Login
) -> None:
    file_routed(api, login, VILLAGE)  # at least one open case today
    china_today = datetime.now(ZoneInfo("Asia/Shanghai")).date()  # the figures count days in China
    today = china_today.isoformat()
    wait_for(lambda: open_cases(api, login, start=today, end=today) >= 1, timeout=30)  # reporting caught up
    log_in(page, console_url, TOWNSHIP, to="/dashboard")
    expect(page.locator('[data-figure="open"] .n')).to_have_text(str(open_cases(api, login)))

    # a custom range long ago has none; today's has what the API counts today
    page.goto(f"{console_url}#/dashboard?period=custom&from=2001-01-01&to=2001-01-31")
    expect(page.locator("#period-dates")).to_have_text("2001-01-01 至 2001-01-31")
    expect(page.locator('[data-figure="open"] .n')).to_have_text("0")
    page.goto(f"{console_url}#/dashboard?period=custom&from={today}&to={today}")
    expected = open_cases(api, login, start=today, end=today)
    expect(page.locator('[data-figure="open"] .n')).to_have_text(str(expected))
    page.reload()
    expect(page.locator("#period-dates")).to_have_text(f"{today} 至 {today}")
    expect(page.locator('[data-figure="open"] .n')).to_have_text(str(expected))

    # a named period from the selector: this month's first to last day, the API's number for it
    choose(page, page.locator("#period-select"), "本月")
    expect(page).to_have_url(re.compile(r"period=month"))
    first = china_today.replace(day=1).isoformat()
    expect(page.locator("#period-dates")).to_contain_text(first)
    end = page.locator("#period-dates").inner_text().split(" 至 ")[1]
    expect(page.locator('[data-figure="open"] .n')).to_have_text(str(open_cases(api, login, start=first, end=end)))
    screenshot(page, "dashboard-period")

    # the drill-down keeps the period: the case list of the month's open cases, as many as the figure
    figure = page.locator('[data-figure="open"] .n').inner_text()
    page.locator('[data-figure="open"]').click()
    expect(page).to_have_url(re.compile(rf"#/cases\?.*from={first}"))
    expect(page.locator(".el-pagination__total")).to_contain_text(figure)
    page.go_back()
    expect(page).to_have_url(re.compile(r"period=month"))


def test_units_read_by_their_names_on_the_dashboard(page: Page, console_url: str, api: httpx.Client, login: Login):
    file_routed(api, login, VILLAGE)  # the village has a case: it is a bar of the township's chart
    summary = api.get("/api/v1/reports/summary", headers=login(TOWNSHIP)).json()
    assert VILLAGE in summary["by_unit"]
    village_name = api.get(f"/api/v1/tenants/{VILLAGE}", headers=login(TOWNSHIP)).json()["name"]
    township_name = api.get(f"/api/v1/tenants/{TOWNSHIP}", headers=login(TOWNSHIP)).json()["name"]

    log_in(page, console_url, TOWNSHIP, to="/dashboard")
    chart = page.locator("#units-chart")
    expect(chart).to_have_attribute("aria-label", re.compile(village_name))
    assert not CODE.search(chart.get_attribute("aria-label") or "")
    table = page.locator("#escalation-table")
    expect(table).to_contain_text(township_name)  # the township's own row, by name
    assert not CODE.search(table.inner_text())
    screenshot(page, "dashboard-units")


def test_an_on_time_rate_opens_exactly_the_cases_behind_it(
    page: Page, console_url: str, api: httpx.Client, login: Login
) -> None:
    file_routed(api, login, VILLAGE)  # its receipt went out: an acknowledgement clock stopped today
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    period = {"from": today, "to": today}

    def counted() -> dict[str, int]:
        summary = api.get("/api/v1/reports/summary", params=period, headers=login(TOWNSHIP)).json()
        return summary["on_time"]["acknowledgement"]

    def listed() -> int:
        behind = api.get(
            "/api/v1/complaints",
            params={"on_time": "acknowledgement", "on_time_from": today, "on_time_to": today, "limit": 1},
            headers=login(TOWNSHIP),
        )
        return int(behind.headers["X-Total-Count"])

    def settled() -> tuple[dict[str, int], int] | None:
        """The rate and the list's count once both read models have every stop (intake records its
        own at once, reporting folds them a moment later): the list's count is the rate's."""
        figure = counted()
        total = figure["met"] + figure["missed"]
        return (figure, total) if total >= 1 and listed() == total else None

    figure, total = wait_for(settled, timeout=30)

    log_in(page, console_url, TOWNSHIP, to=f"/dashboard?period=custom&from={today}&to={today}")
    figure_button = page.locator('[data-on-time="acknowledgement"]')
    expect(figure_button).to_contain_text(f"{figure['met']}/{total}")
    figure_button.click()
    expect(page).to_have_url(re.compile(rf"#/cases\?.*on_time=acknowledgement.*on_time_from={today}"))
    expect(page.locator("#on-time-filter")).to_contain_text("告知时限")
    expect(page.locator(".el-pagination__total")).to_have_text(re.compile(rf"共\s*{total}\s*条"))
    screenshot(page, "dashboard-on-time-cases")
