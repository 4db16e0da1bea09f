"""Done-when 3 of issue 19 in chromium on a 390x844 phone: the village turns the settle-first lane on in
the console's 单位设置; a consumer files on the portal against a business whose contact staff
verified; the business, told by SMS, signs in at /business/ with an SMS code, sees the complaint with
the complainant masked and offers; the consumer accepts at /track and the case is 已和解 without any
staff action. A second offer is rejected and the case reaches the village's acceptance decision,
visible in the console's list. No API call moves a case (the API only records the business's contact,
which has no console screen, and reads for waiting)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import suppress
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.helpers import (
    VILLAGE,
    Login,
    assert_fits_the_phone,
    case_row,
    log_in,
    screenshot,
    switch_on_in_settings,
)
from tests.browser.test_console import PNG
from tests.browser.test_portal import assert_tap_targets, file_on_the_portal, sms_codes
from tests.conftest import credit_code, wait_for

with suppress(ImportError):
    from playwright.sync_api import Page, expect

CITY = VILLAGE[:6]
BUSINESS = "枫源先行和解电器行"


@pytest.fixture
def lane_on_in_the_console(page: Page, platform: Any, api: httpx.Client, login: Login) -> Iterator[None]:
    """The village's admin turns the lane on (5 working days) in 单位设置; taken off afterwards."""
    switch_on_in_settings(
        page,
        f"{platform.url}/console/",
        VILLAGE,
        ("经营者先行和解", "settle-first-enabled"),
        ("settle-first-days", "5"),
    )
    lane = api.get(f"/api/v1/tenants/{VILLAGE}", headers=login(VILLAGE)).json()["effective_settings"]["settle_first"]
    assert lane == {"enabled": True, "window_working_days": 5}
    yield
    reset = api.patch(
        f"/api/v1/tenants/{VILLAGE}/settings", json={"settle_first": None, "disclosure": None}, headers=login(CITY)
    )
    assert reset.status_code == 200, reset.text


def staff_case(api: httpx.Client, login: Login, tracking_no: str, *statuses: str) -> dict[str, Any]:
    """The case as the village reads it, once in one of `statuses` (a read, to wait)."""

    def found() -> dict[str, Any] | None:
        rows = api.get("/api/v1/complaints", params={"q": tracking_no}, headers=login(VILLAGE)).json()
        if not rows or rows[0]["status"] not in statuses:
            return None
        return api.get(f"/api/v1/complaints/{rows[0]['id']}", headers=login(VILLAGE)).json()

    return wait_for(found, timeout=20)


def track(phone: Page, platform: Any, sinks: Any, tracking_no: str, mobile: str) -> None:
    """Sign in at /track with the case number and the SMS code sent to the complainant."""
    phone.goto(f"{platform.url}/track")
    phone.evaluate("sessionStorage.clear()")  # signed out of the case looked at before
    phone.reload()
    phone.get_by_label("投诉编号").fill(tracking_no)
    before = len(sms_codes(sinks, mobile))
    phone.get_by_role("button", name="获取验证码").click()
    wait_for(lambda: len(sms_codes(sinks, mobile)) > before, timeout=20)
    phone.get_by_label("验证码").fill(sms_codes(sinks, mobile)[-1])
    phone.get_by_role("button", name="查询", exact=True).click()
    expect(phone.locator("[data-test=status]")).to_be_visible()


def offer(business: Page, tracking_no: str, note: str) -> None:
    """The business answers the complaint with a refund of 399 yuan and an apology."""
    business.get_by_role("button", name="刷新").click()
    card = business.locator(".offer-case", has_text=tracking_no)
    card.get_by_role("button", name="提出和解方案").click()
    popup = business.locator(".van-popup", has_text=f"和解方案：{tracking_no}")
    popup.locator(".van-checkbox", has_text="退款").click()
    popup.locator(".van-checkbox", has_text="赔礼道歉").click()
    popup.get_by_label("金额（元）").fill("399")
    popup.get_by_label("说明").fill(note)
    popup.get_by_role("button", name="提交和解方案").click()
    expect(card.locator(".van-cell", has_text="已答复")).to_contain_text("等待消费者答复")


def test_an_offer_accepted_settles_the_case_and_one_rejected_goes_to_the_unit(
    lane_on_in_the_console: None,
    page: Page,
    phone: Page,
    platform: Any,
    api: httpx.Client,
    login: Login,
    notification_sinks: Any,
    tmp_path: Path,
) -> None:
    code = credit_code(secrets.randbelow(90000) + 10000)
    contact = "1390575" + f"{secrets.randbelow(10**4):04d}"
    # the business's contact, as the village's clerk verified it (no console screen records it)
    recorded = api.put(f"/api/v1/businesses/{code}/contact", json={"phone": contact}, headers=login(VILLAGE))
    assert recorded.status_code == 200, recorded.text
    photo = tmp_path / "receipt.png"
    photo.write_bytes(PNG)

    # 1. the consumer files; the case goes to the business first
    mobile = "1390139" + f"{secrets.randbelow(10**4):04d}"
    first = file_on_the_portal(
        phone, platform, mobile, photo, BUSINESS, code, "电饭煲三天后无法加热，要求退款（先行和解一）"
    )
    staff_case(api, login, first, "settle_first")

    # 2. the business is told by SMS, signs in at /business/ and sees the complaint masked
    texts = lambda: [r.body["text"] for r in notification_sinks.http.requests("/sms", to=contact)]  # noqa: E731
    wait_for(lambda: any(first in t and "和解方案" in t for t in texts()), timeout=20)
    business = phone.context.new_page()  # its own tab: its own sessionStorage, its own sign-in
    business.goto(f"{platform.url}/business/")
    business.get_by_label("信用代码").fill(code)
    business.get_by_role("button", name="获取验证码").click()
    wait_for(lambda: sms_codes(notification_sinks, contact), timeout=20)
    business.get_by_label("验证码").fill(sms_codes(notification_sinks, contact)[-1])
    business.get_by_role("button", name="登录").click()
    card = business.locator(".offer-case", has_text=first)
    expect(card.locator("[data-test=complainant]")).to_contain_text("王*")
    expect(card).to_contain_text("答复期限")
    shown = business.locator("body").inner_text()
    assert "王五" not in shown and mobile not in shown  # masked: 王*, 139****1234
    assert_fits_the_phone(business)
    assert_tap_targets(business)
    screenshot(business, "portal-business-settle-first")
    offer(business, first, "全额退款并赔礼道歉")

    # 3. the consumer accepts at /track: 已和解, then confirms the business did it
    track(phone, platform, notification_sinks, first, mobile)
    lane = phone.locator("[data-test=settle-first]")
    expect(lane).to_contain_text("退款、赔礼道歉")
    expect(lane).to_contain_text("399")
    expect(lane).to_contain_text("全额退款并赔礼道歉")
    assert_fits_the_phone(phone)
    screenshot(phone, "portal-track-settle-first")
    phone.get_by_role("button", name="接受和解方案").click()
    expect(phone.locator("[data-test=status]")).to_contain_text("已和解")
    phone.get_by_role("button", name="经营者已履行").click()
    expect(lane.locator(".van-cell", has_text="履行情况")).to_contain_text("经营者已履行")
    settled = staff_case(api, login, first, "settled")
    assert settled["decision"]["by"] == "complainant" and Decimal(settled["decision"]["terms"]["amount"]) == 399
    steps = [h["step"] for h in settled["history"]]
    assert {"settle_first_opened", "settle_first_offer", "settled", "settlement_performance"} <= set(steps)
    assert not {"accepted", "refused", "reassigned"} & set(steps)  # nobody on staff acted
    assert next(c for c in settled["clocks"] if c["kind"] == "acceptance")["status"] == "met"
    business.get_by_role("button", name="刷新").click()
    expect(card.locator(".van-cell", has_text="已答复")).to_contain_text("消费者已接受，已和解")

    # 4. a second complaint: the offer is rejected, the case reaches the village's acceptance
    other = "1390139" + f"{secrets.randbelow(10**4):04d}"
    second = file_on_the_portal(phone, platform, other, photo, BUSINESS, code, "电水壶漏电跳闸，要求换货（先行和解二）")
    staff_case(api, login, second, "settle_first")
    offer(business, second, "只能维修，不退不换")
    track(phone, platform, notification_sinks, second, other)
    phone.get_by_role("button", name="不接受，交由负责单位处理").click()
    expect(phone.locator("[data-test=status]")).to_contain_text("已分派")
    rejected = staff_case(api, login, second, "routed")
    assert "settle_first_rejected" in [h["step"] for h in rejected["history"]]
    assert next(c for c in rejected["clocks"] if c["kind"] == "acceptance")["status"] == "running"

    log_in(page, f"{platform.url}/console/", VILLAGE)
    page.locator("#case-search").fill(second)
    page.locator("#case-search").press("Enter")
    row = case_row(page, second)
    expect(row).to_contain_text("已分派")
    row.click()
    expect(page.locator('#case-actions [data-action="accept"]')).to_be_visible()
    history = page.locator("body")
    expect(history).to_contain_text(re.compile("经营者提出和解方案"))
    screenshot(page, "desk-settle-first-rejected")
