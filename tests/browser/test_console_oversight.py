"""Issue 18, done-when 1-3 in the browser: 督办 sent, seen, answered and accepted, an overdue order
red on the city's dashboard; the township's dashboard (escalation rate against the line, an early
warning by the business's name, a figure opening its cases) agreeing with the API and the monthly
XLSX; the city's monthly downloads. Cases are filed through the public API (fixtures); no API call
moves a case or an order: the API is read for the assertions, and the overdue order's stored
deadline is moved in the test database as tests/integration/test_supervision.py does."""

from __future__ import annotations

import io
import re
import uuid
from contextlib import suppress
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.browser.helpers import (
    CITY,
    TOWNSHIP,
    VILLAGE,
    Login,
    assert_fits_the_phone,
    choose,
    file_routed,
    log_in,
    screenshot,
)
from tests.conftest import complaint, credit_code, wait_for

with suppress(ImportError):
    from playwright.sync_api import Page, expect

pytestmark = pytest.mark.integration
ORDERS = "/api/v1/supervision-orders"


@pytest.fixture(autouse=True)
def patient_expect() -> Any:
    """Each step waits on services over RabbitMQ on a shared machine: more than the 5 s default."""
    expect.set_options(timeout=20_000)
    yield
    expect.set_options(timeout=5_000)


def pct(rate: float | None) -> str:
    """As the dashboard writes a rate."""
    return "—" if rate is None else f"{rate * 100:.1f}%"


def send_order(page: Page, instruction: str, working_days: str) -> None:
    card = page.locator("#supervision")
    card.locator('[data-action="supervise"]').click()
    dialog = page.locator(".form-dialog:visible")
    dialog.get_by_label("督办事项").fill(instruction)
    dialog.get_by_label("办理期限（工作日，默认5）").fill(working_days)
    dialog.get_by_role("button", name="下达督办").click()
    expect(dialog).to_have_count(0)
    expect(card.locator(".order", has_text=instruction)).to_be_visible()


def press(page: Page, order_id: str, action: str, field: str, value: str) -> None:
    """An order's button (shown only when the server allows it), its dialog filled and sent."""
    page.locator(f'[data-order="{order_id}"] [data-order-action="{action}"]').click()
    dialog = page.locator(".form-dialog:visible")
    dialog.get_by_label(field).fill(value)
    dialog.locator(".el-dialog__footer .el-button--primary").click()
    expect(dialog).to_have_count(0)


def only_order(api: httpx.Client, login: Login, cid: str, instruction: str) -> dict[str, Any]:
    orders = api.get(f"/api/v1/complaints/{cid}/supervision-orders", headers=login(CITY)).json()
    [order] = [o for o in orders if o["instruction"] == instruction]
    return order


def test_a_supervision_order_from_the_city_to_the_village_and_one_overdue(
    page: Page, phone: Page, console_url: str, api: httpx.Client, login: Login, db: Any
) -> None:
    receipt = file_routed(api, login, VILLAGE)
    cid = receipt["id"]

    # the city sends a 督办 with a deadline on the village's case
    log_in(page, console_url, CITY, to=f"/cases/{cid}")
    first = "三个工作日内联系经营者，核实退款情况并答复"
    send_order(page, first, "3")
    order = only_order(api, login, cid, first)
    assert (order["to_unit"]["code"], order["working_days"], order["state"]) == (VILLAGE, 3, "open")
    item = page.locator(f'[data-order="{order["id"]}"]')
    expect(item.locator("[data-light]")).to_have_text("绿灯")
    expect(item.locator("[data-order-action]")).to_have_count(0)  # the sender waits for the answer
    screenshot(page, "supervision-case")

    # the township sees it on the case, without a button; the village in what it received
    log_in(page, console_url, TOWNSHIP, to=f"/cases/{cid}")
    expect(page.locator(f'#supervision [data-order="{order["id"]}"]')).to_be_visible()
    expect(page.locator("#supervision [data-order-action]")).to_have_count(0)
    log_in(page, console_url, VILLAGE, to="/supervision")
    expect(page.locator(f'#supervision-list [data-order="{order["id"]}"]')).to_be_visible()
    screenshot(page, "supervision-list")
    press(page, order["id"], "answer", "办理情况", "已约谈经营者，货款 399 元已退还")
    expect(page.locator(f'[data-order="{order["id"]}"]')).to_have_attribute("data-state", "answered")

    # the city accepts the answer from what it sent
    log_in(page, console_url, CITY, to="/supervision?box=sent")
    page.locator('[data-box="sent"]').click()
    press(page, order["id"], "accept", "审核意见（可不填）", "处理到位")
    expect(page.locator(f'[data-order="{order["id"]}"]')).to_have_attribute("data-state", "accepted")
    assert api.get(f"{ORDERS}/{order['id']}", headers=login(CITY)).json()["state"] == "accepted"

    # a second order passes its deadline: red on the order, counted overdue on the city's dashboard
    page.goto(f"{console_url}#/cases/{cid}")
    second = "一个工作日内上门回访消费者"
    send_order(page, second, "1")
    late = only_order(api, login, cid, second)
    with db.begin() as conn:
        conn.execute(
            text(
                "UPDATE routing.supervision_orders SET started_at = now() - interval '5 days', "
                "deadline = now() - interval '2 days 3 hours 10 minutes', next_check_at = now() WHERE id = :id"
            ),
            {"id": uuid.UUID(late["id"])},
        )
    wait_for(lambda: api.get(f"{ORDERS}/{late['id']}", headers=login(CITY)).json()["overdue_at"], timeout=30)
    overdue = api.get(ORDERS, params={"overdue": "true", "limit": 500}, headers=login(CITY)).json()
    assert late["id"] in [o["id"] for o in overdue]
    page.goto(f"{console_url}#/dashboard")
    expect(page.locator("#overdue-orders")).to_have_text(str(len(overdue)))
    screenshot(page, "dashboard-city")
    page.locator('[data-figure="overdue-orders"]').click()
    late_item = page.locator(f'#supervision-list [data-order="{late["id"]}"]')
    expect(late_item.locator("[data-light]")).to_have_text("红灯")
    expect(late_item.locator("[data-overdue]")).to_have_text("已逾期")
    # how late, in calendar days and hours (not the working time left, nil over a night: 0小时0分)
    expect(late_item.locator("[data-time-left]")).to_have_text("已超期 2 天 3 小时")
    # units by their names, never a division code
    expect(late_item.locator("[data-units]")).to_contain_text("→")
    assert not re.search(r"\d{6,12}", late_item.locator("[data-units]").inner_text())
    screenshot(page, "supervision-overdue")
    page.goto(f"{console_url}#/cases/{cid}")
    on_case = page.locator(f'#supervision [data-order="{late["id"]}"] [data-time-left]')
    expect(on_case).to_have_text("已超期 2 天 3 小时")

    # every screen on a phone: nothing wider than the screen, no English code
    log_in(phone, console_url, CITY, to="/dashboard")
    expect(phone.locator("#overdue-orders")).to_have_text(str(len(overdue)))
    assert_fits_the_phone(phone)
    screenshot(phone, "dashboard-city-phone")
    for path, name in (
        (f"/cases/{cid}", "supervision-case-phone"),
        ("/supervision?box=overdue", "supervision-list-phone"),
    ):
        phone.goto(f"{console_url}#{path}")
        expect(phone.locator("[data-order]").first).to_be_visible()
        assert_fits_the_phone(phone)
        screenshot(phone, name)


def test_the_township_dashboard_agrees_with_the_api_and_the_monthly_xlsx(
    page: Page, phone: Page, console_url: str, api: httpx.Client, login: Login
) -> None:
    from openpyxl import load_workbook

    # five complaints against one business at the township's village raise its early warning
    credit = credit_code(uuid.uuid4().int % 100_000)  # a business of its own, whatever ran before
    business = f"枫桥预警测试商店{credit[-4:]}"
    for _ in range(5):
        body = complaint(business={"name": business, "credit_code": credit, "division_code": VILLAGE})
        assert api.post("/api/v1/complaints", json=body).status_code == 201
    township = login(TOWNSHIP)
    wait_for(lambda: any(w["key"] == credit for w in api.get("/api/v1/warnings", headers=township).json()), timeout=30)
    summary = api.get("/api/v1/reports/summary", headers=township).json()
    [own] = [u for u in summary["escalation"]["units"] if u["unit"] == TOWNSHIP]
    escalations = api.get("/api/v1/reports/escalations", headers=township).json()["units"]
    listed = next((u for u in escalations if u["unit"] == TOWNSHIP), own)  # listed once it passed a case up
    assert listed["rate"] == own["rate"]  # one definition: the summary and the escalation list agree

    log_in(page, console_url, TOWNSHIP, to="/dashboard")
    expect(page.locator(f'[data-escalation="{TOWNSHIP}"]')).to_have_text(pct(own["rate"]))
    expect(page.locator(f'[data-line="{TOWNSHIP}"]')).to_have_text("未超红线" if own["within_line"] else "超过红线")
    warning = page.locator('[data-warning="business"]', has_text=business)
    expect(warning.locator("[data-warning-name]")).to_have_text(business)
    screenshot(page, "dashboard-township")

    # the monthly report as of today: the same escalation rate and volume as this month's summary
    month = date.today().strftime("%Y-%m")
    first_day = f"{month}-01"
    this_month = api.get("/api/v1/reports/summary", params={"from": first_day}, headers=township).json()
    xlsx = api.get(f"/api/v1/reports/monthly/{month}.xlsx", headers=township)
    assert xlsx.status_code == 200, xlsx.text
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    lines = {row[0]: row[1] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert lines["投诉总量 complaints"] == this_month["total"]
    [own_month] = [u for u in this_month["escalation"]["units"] if u["unit"] == TOWNSHIP]
    assert lines["上交率 escalation rate"] == own_month["rate"]

    # a figure opens the cases behind it: the warning's five
    warning.get_by_role("button", name="查看案件").click()
    behind = api.get("/api/v1/complaints", params={"q": credit, "limit": 1}, headers=township)
    assert int(behind.headers["X-Total-Count"]) == 5
    expect(page.locator(".el-pagination__total")).to_contain_text("5")

    log_in(phone, console_url, TOWNSHIP, to="/dashboard")
    expect(phone.locator('[data-warning="business"]', has_text=business)).to_be_visible()
    assert_fits_the_phone(phone)
    screenshot(phone, "dashboard-township-phone")


def test_the_city_downloads_this_months_provisional_report_and_last_months_xlsx(
    page: Page, phone: Page, console_url: str
) -> None:
    log_in(page, console_url, CITY, to="/reports")
    expect(page.locator("#provisional")).to_be_visible()
    with page.expect_download() as provisional:
        page.locator('[data-download="csv"]').click()
    assert "临时" in provisional.value.suggested_filename
    assert "投诉总量" in provisional.value.path().read_text(encoding="utf-8-sig")
    screenshot(page, "reports")

    today = date.today()
    last = date(today.year - (today.month == 1), (today.month - 2) % 12 + 1, 1).strftime("%Y-%m")
    choose(page, page.locator("#report-month"), last)
    expect(page.locator("#provisional")).to_have_count(0)
    ready = page.locator('#generate, [data-download="xlsx"]')
    expect(ready.first).to_be_visible()
    if page.locator("#generate").count():  # not produced yet: on demand
        page.locator("#generate").click()
    with page.expect_download() as report:
        page.locator('[data-download="xlsx"]').click()
    from openpyxl import load_workbook

    assert report.value.suggested_filename.endswith(f"{last}.xlsx")
    sheet = load_workbook(io.BytesIO(report.value.path().read_bytes())).active
    assert str(sheet.cell(1, 2).value).startswith(CITY)  # the city's column first

    log_in(phone, console_url, CITY, to="/reports")
    expect(phone.locator("#provisional")).to_be_visible()
    assert_fits_the_phone(phone)
    screenshot(phone, "reports-phone")
