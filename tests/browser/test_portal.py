"""The public portal (web/portal/, docs/portal.md) in chromium on a 390x844 phone: every page opens at
its own path, fits the screen, has tap targets of 44 px and speaks Chinese; the filing form names
each wrong field in Chinese and sends nothing; the footer leads staff to the console."""

from __future__ import annotations

import re
from contextlib import suppress
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.helpers import (
    VILLAGE,
    Login,
    act,
    assert_fits_the_phone,
    confirm,
    open_case,
    screenshot,
    status,
)
from tests.browser.test_console import PNG
from tests.conftest import wait_for

with suppress(ImportError):
    from playwright.sync_api import Page, expect

PAGES = {"/": "我要投诉", "/track": "进度查询", "/business/": "经营者专区", "/disclosure": "消费投诉信息公示"}
# what can be tapped: buttons, links, fields, check boxes, tabs, clickable cells
TAPPABLE = (
    "button, a, input:not([type=file]), textarea, [role=checkbox], [role=radio], .van-tabbar-item, .van-cell--clickable"
)


def assert_tap_targets(page: Page) -> None:
    small = page.evaluate(
        """selector => [...document.querySelectorAll(selector)]
        .map(e => [e, e.closest('.van-cell, .van-field, .van-checkbox, .van-radio, .van-button') || e])
        .filter(([e]) => e.offsetParent !== null)
        .map(([e, target]) => [e.outerHTML.slice(0, 80), target.getBoundingClientRect().height])
        .filter(([, height]) => height < 44)""",
        TAPPABLE,
    )
    assert not small, f"{page.url}: tap targets under 44 px: {small}"


def assert_chinese(page: Page) -> None:
    """Nothing English a person reads: the visible text has no Latin word (codes and numbers aside)."""
    text = page.locator("body").inner_text()
    words = [w for w in re.findall(r"[A-Za-z]{3,}", text) if w not in ("PDF", "TS")]
    assert not words, f"{page.url}: English on screen: {sorted(set(words))}"


@pytest.mark.parametrize("path", list(PAGES))
def test_each_page_opens_at_its_path_and_fits_the_phone(phone: Page, platform: Any, path: str) -> None:
    phone.goto(f"{platform.url}{path}")
    expect(phone.locator(".van-nav-bar__title")).to_have_text(PAGES[path])
    assert_fits_the_phone(phone)
    assert_tap_targets(phone)
    assert_chinese(phone)
    screenshot(phone, "portal-" + (path.strip("/") or "file"))


def test_root_is_the_portal_and_the_footer_leads_staff_to_the_console(
    api: httpx.Client, phone: Page, platform: Any
) -> None:
    response = api.get("/", follow_redirects=False)
    assert response.status_code == 200
    assert "消费纠纷在线服务" in response.text
    assert api.get("/api/v1/no-such-thing").headers["content-type"].startswith("application/json")
    phone.goto(f"{platform.url}/")
    phone.get_by_role("link", name="工作人员入口").click()
    expect(phone).to_have_url(re.compile(r"/console/#/login"))


def test_the_filing_form_names_each_missing_field_in_chinese_and_sends_nothing(phone: Page, platform: Any) -> None:
    sent: list[str] = []
    phone.on("request", lambda request: sent.append(request.url) if request.method == "POST" else None)
    phone.goto(f"{platform.url}/")
    phone.get_by_label("手机号码").fill("12345")
    phone.get_by_role("button", name="提交投诉").click()
    expect(phone.get_by_role("alert")).to_have_text("填写有误，请按红字提示修改")
    errors = phone.locator(".van-field__error-message")
    for message in (
        "请填写您的姓名",
        "请填写 11 位手机号码",
        "请选择发生地点（到村、社区）",
        "请填写或选择经营者",
        "请选择投诉类别",
        "请描述经过，至少 5 个字",
        "请阅读并同意隐私告知",
    ):
        expect(errors.filter(has_text=message)).to_have_count(1)
    assert_fits_the_phone(phone)
    screenshot(phone, "portal-file-errors")
    assert sent == []


def test_an_upload_that_is_not_an_image_or_pdf_is_refused_in_chinese(phone: Page, platform: Any, tmp_path: Any) -> None:
    phone.goto(f"{platform.url}/")
    notes = tmp_path / "notes.txt"
    notes.write_text("not evidence")
    phone.locator(".van-uploader input[type=file]").set_input_files(str(notes))
    expect(phone.locator(".van-field__error-message", has_text="不是图片或 PDF 文件")).to_be_visible()
    expect(phone.locator(".van-uploader__preview")).to_have_count(0)


def test_tracking_and_the_business_sign_in_check_their_input_in_chinese(phone: Page, platform: Any) -> None:
    phone.goto(f"{platform.url}/track")
    phone.get_by_role("button", name="查询", exact=True).click()
    expect(phone.get_by_role("alert")).to_have_text("请输入 6 位短信验证码")
    phone.goto(f"{platform.url}/business/")
    phone.get_by_label("信用代码").fill("123")
    phone.get_by_role("button", name="获取验证码").click()
    expect(phone.get_by_role("alert")).to_have_text("统一社会信用代码为 18 位数字或大写字母")


def sms_codes(sinks: Any, phone: str) -> list[str]:
    """The one-time codes the SMS provider received for `phone`, oldest first."""
    texts = [r.body["text"] for r in sinks.http.requests("/sms", to=phone)]
    return [m.group(1) for t in texts if (m := re.search(r"验证码 (\d{6})", t))]


def file_on_the_portal(
    phone: Page,
    platform: Any,
    mobile: str,
    photo: Path,
    business: str = "枫桥家电商行",
    credit_code: str | None = None,
    summary: str = "新买的电饭煲三天后无法加热，商家拒绝退货（门户投诉）",
) -> str:
    """Fill 我要投诉 like a consumer, with a photo; the receipt's case number (the receipt names the
    acceptance deadline)."""
    phone.goto(f"{platform.url}/")
    phone.get_by_label("姓名").fill("王五")
    phone.get_by_label("手机号码").fill(mobile)
    phone.get_by_label("发生地点").click()
    for place in ("诸暨市", "枫桥镇", "枫源村"):
        phone.locator(".van-cascader__option", has_text=place).first.click()
    expect(phone.get_by_label("发生地点")).to_have_value(re.compile("枫源村"))
    phone.get_by_label("经营者").fill(business)
    if credit_code:
        phone.get_by_label("信用代码").fill(credit_code)
    phone.get_by_label("投诉类别").click()
    phone.locator(".van-picker-column__item", has_text="商品质量").first.click()
    phone.get_by_role("button", name="确定").click()
    phone.locator(".van-checkbox", has_text="退款").first.click()
    phone.get_by_label("涉及金额").fill("399")
    phone.get_by_label("投诉内容").fill(summary)
    phone.locator(".van-uploader input[type=file]").set_input_files(str(photo))
    expect(phone.locator(".van-uploader__preview")).to_have_count(1)
    phone.locator(".van-checkbox", has_text="我已阅读并同意隐私告知").click()
    phone.get_by_role("button", name="提交投诉").click()
    phone.locator(".van-dialog").get_by_role("button", name="提交").click()
    expect(phone.locator("[data-test=tracking-no]")).to_be_visible(timeout=20_000)
    expect(phone.locator(".van-cell", has_text="证据材料")).to_contain_text("已上传 1 个文件")
    deadline = re.compile(r"受理时限：\d{4}/\d{1,2}/\d{1,2}")
    expect(phone.locator(".van-cell", has_text="受理决定")).to_contain_text(deadline)
    assert_fits_the_phone(phone)
    screenshot(phone, "portal-receipt")
    return phone.locator("[data-test=tracking-no]").inner_text().strip()


def test_the_consumer_files_tracks_by_sms_code_and_sees_the_acceptance(
    phone: Page, page: Page, platform: Any, api: httpx.Client, login: Login, notification_sinks: Any, tmp_path: Path
) -> None:
    """Done-when 1: filed on / with a photo, tracked with the SMS code, 已受理 after the village accepts."""
    mobile = "13900139077"
    photo = tmp_path / "broken-cooker.png"
    photo.write_bytes(PNG)
    tracking_no = file_on_the_portal(phone, platform, mobile, photo)

    def routed() -> bool:
        found = api.get("/api/v1/complaints", params={"q": tracking_no}, headers=login(VILLAGE)).json()
        return bool(found) and found[0]["status"] == "routed"

    wait_for(routed, timeout=20)
    open_case(page, f"{platform.url}/console/", VILLAGE, {"tracking_no": tracking_no})
    expect(page.locator("#evidence-card .evidence-file")).to_contain_text("broken-cooker.png")

    phone.goto(f"{platform.url}/track")
    phone.get_by_label("投诉编号").fill(tracking_no)
    phone.get_by_role("button", name="获取验证码").click()
    expect(phone.locator(".hint", has_text="验证码已发送")).to_be_visible()
    wait_for(lambda: bool(sms_codes(notification_sinks, mobile)), timeout=20)
    phone.get_by_label("验证码").fill(sms_codes(notification_sinks, mobile)[-1])
    phone.get_by_role("button", name="查询", exact=True).click()
    expect(phone.locator("[data-test=status]")).to_contain_text("已分派")
    expect(phone.locator("[data-test=clock]", has_text="受理时限")).to_contain_text("还剩")

    # the village accepts in the console; the consumer's page shows it
    act(page, "accept")
    confirm(page)
    expect(status(page)).to_have_text("已受理")
    phone.get_by_role("button", name="刷新").click()
    expect(phone.locator("[data-test=status]")).to_contain_text("已受理")
    expect(phone.locator(".van-step", has_text="受理")).not_to_have_count(0)
    assert_fits_the_phone(phone)
    assert_tap_targets(phone)
    screenshot(phone, "portal-track")
