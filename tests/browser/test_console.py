"""The staff web console in a real browser against the running platform: logging in, the case list
and its scope, a case's clocks and history, accepting and refusing through the buttons, the inbox."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import suppress
from typing import Any

import httpx
import pytest

from tests.conftest import DEMO_PASSWORD, complaint, credit_code, wait_for
from tests.integration.test_clock_lights import age, stored

# without playwright, conftest.browser_tools skips these tests (or fails them in CI), saying why
with suppress(ImportError):
    from playwright.sync_api import Locator, Page, expect

VILLAGE = "330681109290"  # 枫源村, 枫桥镇, 诸暨市
SIBLING_VILLAGE = "330681109291"
# markup in a complaint's text must show as text, never become elements
MARKUP = "<b>加粗</b><img src=x onerror=alert(1)>"

pytestmark = pytest.mark.integration

Login = Callable[[str], dict[str, str]]


def file_routed(api: httpx.Client, login: Login, unit: str, **overrides: Any) -> dict[str, Any]:
    """File a complaint through the API and wait until it is routed to `unit` and acknowledged."""
    response = api.post("/api/v1/complaints", json=complaint(**overrides))
    assert response.status_code == 201, response.text
    receipt = response.json()

    def ready() -> bool:
        case = api.get(f"/api/v1/complaints/{receipt['id']}", headers=login(unit))
        if case.status_code != 200 or case.json()["status"] != "routed":
            return False
        messages = api.get(f"/api/v1/complaints/{receipt['id']}/messages", headers=login(unit)).json()
        return any(m["template"] == "acknowledgement" for m in messages)

    wait_for(ready, timeout=20)
    return receipt


@pytest.fixture(scope="module")
def village_case(api: httpx.Client, login: Login) -> dict[str, Any]:
    summary = f"电饭煲无法加热，商家拒绝退货 {MARKUP}（订单号 900001）"
    return file_routed(api, login, VILLAGE, summary=summary)


@pytest.fixture(scope="module")
def case_to_accept(api: httpx.Client, login: Login) -> dict[str, Any]:
    return file_routed(api, login, VILLAGE)


@pytest.fixture(scope="module")
def case_to_refuse(api: httpx.Client, login: Login) -> dict[str, Any]:
    return file_routed(api, login, VILLAGE)


@pytest.fixture(scope="module")
def sibling_case(api: httpx.Client, login: Login) -> dict[str, Any]:
    business = {"name": "某某超市", "credit_code": credit_code(1), "division_code": SIBLING_VILLAGE}
    return file_routed(api, login, SIBLING_VILLAGE, business=business, incident_division_code=SIBLING_VILLAGE)


@pytest.fixture(scope="module")
def late_case(api: httpx.Client, login: Login, db: Any) -> dict[str, Any]:
    """A case whose acceptance decision is overdue (its clock aged past the deadline)."""
    receipt = file_routed(api, login, VILLAGE)
    age(db, "intake", receipt["id"], "acceptance", started="10 days", deadline="-1 hour")
    wait_for(lambda: stored(db, "intake", receipt["id"], "acceptance")[0] == "red", timeout=20)
    return receipt


def log_in(page: Page, console_url: str, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto(console_url)
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录", exact=True).click()


def case_row(page: Page, tracking_no: str) -> Locator:
    return page.locator("#case-table tbody tr", has_text=tracking_no)


def open_case(page: Page, console_url: str, username: str, receipt: dict[str, Any]) -> None:
    log_in(page, console_url, username)
    case_row(page, receipt["tracking_no"]).click()
    expect(page.locator("#detail-tracking")).to_have_text(receipt["tracking_no"])


def field(page: Page, name: str) -> Locator:
    return page.locator(f'#detail-fields dd[data-field="{name}"]')


def test_root_redirects_to_the_console(api: httpx.Client, page: Page, platform: Any, console_url: str) -> None:
    response = api.get("/", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "/console/"
    page.goto(f"{platform.url}/")
    expect(page).to_have_url(console_url)
    expect(page.locator("#login-view")).to_be_visible()
    expect(page.locator("#nav")).to_be_hidden()


def test_wrong_password_shows_the_api_error(page: Page, console_url: str) -> None:
    log_in(page, console_url, VILLAGE, "not-the-password")
    expect(page.locator("#error")).to_have_text("登录失败：wrong username or password")
    expect(page.locator("#login-view")).to_be_visible()
    expect(page.locator("#nav")).to_be_hidden()
    assert page.evaluate("sessionStorage.getItem('console.access_token')") is None


def test_village_staff_see_the_case_with_clocks_and_history(
    page: Page, console_url: str, api: httpx.Client, login: Login, village_case: dict[str, Any]
) -> None:
    log_in(page, console_url, VILLAGE)
    expect(page.locator("#who")).to_have_text(f"{VILLAGE} · 枫源村委会")
    row = case_row(page, village_case["tracking_no"])
    for text in ("商品质量", "已分派", "枫源村委会"):
        expect(row).to_contain_text(text)

    row.click()
    expect(page).to_have_url(re.compile(f"#/cases/{village_case['id']}$"))
    expect(field(page, "status")).to_have_text("已分派")
    expect(field(page, "unit")).to_have_text(f"枫源村委会（{VILLAGE}）")
    expect(field(page, "summary")).to_contain_text(MARKUP)
    expect(page.locator("#detail-fields b, #detail-fields img")).to_have_count(0)

    clocks = api.get(f"/api/v1/complaints/{village_case['id']}", headers=login(VILLAGE)).json()["clocks"]
    assert clocks
    badges = page.locator("#clock-table .badge")
    expect(badges).to_have_count(len(clocks))
    for badge, clock in zip(badges.all(), clocks, strict=True):
        assert clock["colour"] in {"green", "yellow", "red"}
        expect(badge).to_have_attribute("data-colour", clock["colour"])
        expect(badge).to_have_class(f"badge {clock['colour']}")
    expect(page.locator("#clock-table")).to_contain_text("受理时限")
    expect(page.locator("#clock-table tr", has_text="层级办理时限")).to_contain_text(f"枫源村委会（{VILLAGE}）")

    history = page.locator("#history-table tbody tr")
    expect(history.first).to_contain_text("received")
    expect(page.locator("#history-table")).to_contain_text("routed")
    expect(page.locator("#message-table")).to_contain_text("acknowledgement")
    expect(page.get_by_role("button", name="受理", exact=True)).to_be_visible()


def test_status_filter(page: Page, console_url: str, village_case: dict[str, Any]) -> None:
    log_in(page, console_url, VILLAGE)
    row = case_row(page, village_case["tracking_no"])
    expect(row).to_have_count(1)
    table = page.locator("#case-table")
    page.locator("#status-filter").select_option("refused")
    expect(table).to_have_attribute("aria-busy", "false")
    expect(row).to_have_count(0)
    page.locator("#status-filter").select_option("routed")
    expect(table).to_have_attribute("aria-busy", "false")
    expect(row).to_have_count(1)


def test_accept_through_the_button(
    page: Page, console_url: str, api: httpx.Client, login: Login, case_to_accept: dict[str, Any]
) -> None:
    open_case(page, console_url, VILLAGE, case_to_accept)
    page.get_by_role("button", name="受理", exact=True).click()
    expect(field(page, "status")).to_have_text("已受理")
    expect(page.locator("#decision")).to_be_hidden()
    expect(page.locator("#history-table")).to_contain_text("accepted")
    expect(page.locator("#error")).to_be_hidden()
    case = api.get(f"/api/v1/complaints/{case_to_accept['id']}", headers=login(VILLAGE)).json()
    assert case["status"] == "accepted"


def test_refusal_shows_the_api_error_then_refuses(
    page: Page, console_url: str, api: httpx.Client, login: Login, case_to_refuse: dict[str, Any]
) -> None:
    open_case(page, console_url, VILLAGE, case_to_refuse)
    form = page.locator("#refuse-form")
    form.locator("select").select_option("not_within_remit")
    form.locator("textarea").fill("短")
    form.get_by_role("button", name="不予受理", exact=True).click()
    expect(page.locator("#error")).to_contain_text("reason: too short: at least 2 characters")
    expect(field(page, "status")).to_have_text("已分派")

    reason = "投诉事项不属于本村调处范围"
    form.locator("textarea").fill(reason)
    form.get_by_role("button", name="不予受理", exact=True).click()
    expect(field(page, "status")).to_have_text("不予受理")
    expect(field(page, "decision")).to_contain_text(reason)
    expect(page.locator("#error")).to_be_hidden()
    case = api.get(f"/api/v1/complaints/{case_to_refuse['id']}", headers=login(VILLAGE)).json()
    assert case["status"] == "refused"
    assert case["decision"]["reason"] == reason


def test_inbox_unread_count_and_mark_read(
    page: Page, console_url: str, api: httpx.Client, login: Login, village_case: dict[str, Any]
) -> None:
    def assignment() -> dict[str, Any] | None:
        items = api.get("/api/v1/inbox", params={"unread_only": True, "limit": 200}, headers=login(VILLAGE)).json()
        return next((i for i in items["items"] if i["complaint_id"] == village_case["id"]), None)

    item = wait_for(assignment)
    unread = api.get("/api/v1/inbox", headers=login(VILLAGE)).json()["unread"]
    log_in(page, console_url, VILLAGE)
    count = page.locator("#unread-count")
    expect(count).to_have_text(str(unread))

    page.locator("#inbox-link").click()
    entry = page.locator(f'#inbox-list li[data-id="{item["id"]}"]')
    expect(entry).to_have_class("unread")
    entry.get_by_role("button", name="标为已读").click()
    expect(count).to_have_text(str(unread - 1))
    expect(entry).to_have_class("read")
    expect(entry).to_contain_text("已读")
    assert api.get("/api/v1/inbox", headers=login(VILLAGE)).json()["unread"] == unread - 1


def test_sibling_village_does_not_see_the_case_and_logs_out(
    page: Page, console_url: str, village_case: dict[str, Any], sibling_case: dict[str, Any]
) -> None:
    log_in(page, console_url, SIBLING_VILLAGE)
    expect(page.locator("#who")).to_contain_text(SIBLING_VILLAGE)
    expect(case_row(page, sibling_case["tracking_no"])).to_have_count(1)
    expect(case_row(page, village_case["tracking_no"])).to_have_count(0)

    page.get_by_role("button", name="退出登录").click()
    expect(page.locator("#login-view")).to_be_visible()
    expect(page.locator("#nav")).to_be_hidden()
    assert page.evaluate("sessionStorage.getItem('console.access_token')") is None


def test_the_clocks_near_breach_list_leads_to_the_case(
    page: Page, console_url: str, late_case: dict[str, Any], village_case: dict[str, Any]
) -> None:
    log_in(page, console_url, VILLAGE)
    page.get_by_role("link", name="时限预警").click()
    expect(page).to_have_url(re.compile("#/clocks$"))
    late = page.locator("#held-table tbody tr", has_text=late_case["tracking_no"])
    expect(late).to_have_count(1)
    for text in ("受理时限", "枫源村委会", "已超时", "红灯"):
        expect(late).to_contain_text(text)
    # a case whose clocks are all green is not near breach
    expect(page.locator("#held-table tbody tr", has_text=village_case["tracking_no"])).to_have_count(0)

    page.locator("#colour-filter").select_option(label="黄灯")
    expect(late).to_have_count(0)
    page.locator("#colour-filter").select_option(label="红灯")
    expect(late).to_have_count(1)
    late.click()
    expect(page.locator("#detail-tracking")).to_have_text(late_case["tracking_no"])
    expect(page.locator("#clock-table tr", has_text="受理时限").locator(".badge")).to_have_attribute(
        "data-colour", "red"
    )
