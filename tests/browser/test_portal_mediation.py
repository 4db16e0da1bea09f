"""Issue 19, done-when 2 in the browser only: the village clerk (desktop console) accepts a case and
invites the business by SMS; the business signs in at /business/ on a 390x844 phone and consents
online; the clerk names a mediator, schedules a joint session and records its minutes; the
consumer (tracking on another phone) and the business each confirm the minutes and then the agreement
with an SMS code; tracking shows the terms, and the agreement document shows both 已电子确认 with
their times. (The consumer's consent is implied by filing: she has no 同意调解 to press.)

No API call moves the case: the complaint is filed through the API as a fixture (with the business's
credit code, which the portal's form may leave out), and nothing else is sent to the API by the test."""

from __future__ import annotations

import re
from contextlib import suppress
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from tests.browser.helpers import (
    PHONE,
    VILLAGE,
    Login,
    act,
    assert_fits_the_phone,
    confirm,
    file_routed,
    open_case,
    screenshot,
    status,
)
from tests.browser.test_console_mediation import choose as choose_radio
from tests.browser.test_console_mediation import panel, patient_expect, submit, take  # noqa: F401
from tests.browser.test_portal import assert_tap_targets, sms_codes
from tests.conftest import credit_code, wait_for

with suppress(ImportError):
    from playwright.sync_api import Page, expect

pytestmark = pytest.mark.integration

CONSUMER_PHONE = "13900139031"
BUSINESS_PHONE = "13800138031"
TERM = "经营者退还货款 399 元"


def new_code(sinks: Any, mobile: str, before: int) -> str:
    """The code that arrived for `mobile` after `before` codes had."""
    wait_for(lambda: len(sms_codes(sinks, mobile)) > before, timeout=20)
    return sms_codes(sinks, mobile)[-1]


def code_action(phone: Page, sinks: Any, mobile: str, button: str) -> None:
    """Press the party action `button`, ask its SMS code, type it and confirm."""
    phone.locator(".actions .van-button", has_text=button).first.click()
    popup = phone.locator(".van-popup:visible")
    before = len(sms_codes(sinks, mobile))
    popup.get_by_role("button", name="获取验证码").click()
    expect(popup.locator(".hint", has_text="验证码已发送")).to_be_visible()
    popup.get_by_label("短信验证码").fill(new_code(sinks, mobile, before))
    popup.get_by_role("button", name="确认", exact=True).click()
    expect(popup).to_have_count(0)


def test_both_parties_consent_and_e_confirm_the_minutes_and_the_agreement_online(
    api: httpx.Client, browser: Any, page: Page, phone: Page, platform: Any, login: Login, notification_sinks: Any
) -> None:
    credit = credit_code(31031)
    receipt = file_routed(
        api,
        login,
        VILLAGE,
        complainant={"name": "王五", "phone": CONSUMER_PHONE},
        business={"name": "枫桥家电商行", "credit_code": credit, "division_code": VILLAGE},
    )
    tracking_no = receipt["tracking_no"]

    # the clerk accepts and invites the business by SMS, recording its phone
    open_case(page, f"{platform.url}/console/", VILLAGE, receipt)
    act(page, "accept")
    confirm(page)
    expect(status(page)).to_have_text("已受理")
    page.locator("#invite-business").click()
    invite = page.locator(".el-dialog:visible")
    invite.get_by_role("textbox").first.fill(BUSINESS_PHONE)
    invite.get_by_role("button", name="发送邀请").click()
    expect(invite).to_have_count(0)
    wait_for(
        lambda: any(
            tracking_no in r.body["text"] and "统一社会信用代码" in r.body["text"]
            for r in notification_sinks.http.requests("/sms", to=BUSINESS_PHONE)
        ),
        timeout=20,
    )

    # the business signs in at /business/ on its phone and consents, confirmed by an SMS code
    business = browser.new_context(
        locale="zh-CN", timezone_id="Asia/Shanghai", viewport=PHONE, is_mobile=True, has_touch=True
    )
    business.set_default_timeout(20_000)
    shop = business.new_page()
    shop.goto(f"{platform.url}/business/")
    shop.get_by_label("信用代码").fill(credit)
    before = len(sms_codes(notification_sinks, BUSINESS_PHONE))
    shop.get_by_role("button", name="获取验证码").click()
    shop.get_by_label("验证码").fill(new_code(notification_sinks, BUSINESS_PHONE, before))
    shop.get_by_role("button", name="登录", exact=True).click()
    expect(shop.locator(".van-cell", has_text=tracking_no).first).to_be_visible()
    expect(shop.locator(".van-cell", has_text="投诉人").first).to_contain_text("王*")
    expect(shop.locator("body")).not_to_contain_text(CONSUMER_PHONE)
    assert_fits_the_phone(shop)
    assert_tap_targets(shop)
    screenshot(shop, "portal-business-consent")
    code_action(shop, notification_sinks, BUSINESS_PHONE, "同意调解")
    expect(shop.locator("[data-test=mediation-state]")).to_contain_text("等待指派调解员")

    # the clerk sees the consent, names a mediator, schedules a joint session, records minutes
    page.reload()
    expect(panel(page).locator('#mediation-consent [data-party="business"]')).to_contain_text("已同意")
    dialog = take(page, "assign")
    dialog.locator(".el-select__wrapper").first.click()
    page.locator(".el-select-dropdown__item:visible").first.click()  # any mediator on the roster
    submit(page, dialog)
    dialog = take(page, "schedule_session")
    choose_radio(dialog, "mode", "双方共同调解")
    choose_radio(dialog, "channel", "电话")
    dialog.get_by_role("textbox", name="调解时间", exact=True).fill(f"{date.today().isoformat()}T09:30")
    submit(page, dialog)
    session = panel(page).locator('[data-session="1"]')
    session.locator('[data-action="record_minutes"]').click()
    dialog = page.locator(".mediation-dialog:visible")
    dialog.get_by_role("textbox", name="笔录内容", exact=True).fill("电话联合调解，经营者同意退还货款，投诉人同意。")
    dialog.locator('[data-field="agreed"] .el-switch').click()
    submit(page, dialog)

    # the consumer tracks her case on her phone and confirms the minutes; so does the business
    phone.goto(f"{platform.url}/track")
    phone.get_by_label("投诉编号").fill(tracking_no)
    before = len(sms_codes(notification_sinks, CONSUMER_PHONE))
    phone.get_by_role("button", name="获取验证码").click()
    phone.get_by_label("验证码").fill(new_code(notification_sinks, CONSUMER_PHONE, before))
    phone.get_by_role("button", name="查询", exact=True).click()
    expect(phone.locator("[data-test=status]")).to_contain_text("调解中")
    assert not phone.locator(".actions .van-button", has_text="同意调解").count()  # consented by filing
    code_action(phone, notification_sinks, CONSUMER_PHONE, "确认调解笔录")
    expect(phone.locator(".van-cell", has_text="第 1 次调解")).to_contain_text("投诉人已电子确认")
    shop.get_by_role("button", name="刷新").click()
    code_action(shop, notification_sinks, BUSINESS_PHONE, "确认调解笔录")
    page.reload()
    expect(session.locator('[data-confirmed="business"]')).to_contain_text("已确认")
    expect(session.locator('[data-confirmed="complainant"]')).to_contain_text("已确认")

    # the clerk records the agreement; both parties sign it online
    dialog = take(page, "draft_agreement")
    dialog.get_by_role("textbox", name="纠纷事实及协议内容", exact=True).fill(
        "电饭煲质量问题，双方经调解自愿达成如下协议。"
    )
    dialog.get_by_role("textbox", name="第 1 条内容", exact=True).fill(TERM)
    dialog.get_by_role("textbox", name="第 1 条金额", exact=True).fill("399")
    dialog.get_by_role("textbox", name="第 1 条履行期限", exact=True).fill(
        (date.today() + timedelta(days=7)).isoformat()
    )
    submit(page, dialog)
    phone.get_by_role("button", name="刷新").click()
    code_action(phone, notification_sinks, CONSUMER_PHONE, "确认（签署）调解协议")
    shop.get_by_role("button", name="刷新").click()
    code_action(shop, notification_sinks, BUSINESS_PHONE, "确认（签署）调解协议")
    expect(shop.locator(".van-cell", has_text="协议第 1 项")).to_contain_text(TERM)

    # tracking shows the agreed terms and both e-confirmations
    phone.get_by_role("button", name="刷新").click()
    expect(phone.locator("[data-test=status]")).to_contain_text("已达成协议")
    expect(phone.locator("[data-test=term]")).to_contain_text(TERM)
    signed = phone.locator("[data-test=agreement-confirmations]")
    expect(signed).to_contain_text("投诉人已电子确认")
    expect(signed).to_contain_text("经营者已电子确认")
    assert_fits_the_phone(phone)
    assert_tap_targets(phone)
    screenshot(phone, "portal-track-agreement")

    # the agreement as the clerk opens it: both e-confirmations, with their times
    page.reload()
    expect(panel(page).locator("#mediation-state")).to_have_text("已达成协议")
    with page.expect_popup() as opened:
        panel(page).locator('#mediation-documents [data-document="agreement"] [data-open]').click()
    document = opened.value
    document.wait_for_load_state()
    expect(document.locator("h1")).to_have_text("调解协议书")
    text = document.locator("body").inner_text()
    assert len(re.findall(r"\d{2}:\d{2}\s*已电子确认", text)) == 2, text
    assert "工作人员代为记录" not in text and TERM in text
    screenshot(document, "portal-agreement-e-confirmed")
    document.close()
    business.close()
