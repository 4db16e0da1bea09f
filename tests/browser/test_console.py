"""The staff console in a real browser against the running platform: logging in and the session,
the case list and its scope, filing a walk-in complaint, a case's facts, clocks, history and
messages, accepting, refusing, escalating up to the city and taking over through the buttons, the
clocks near breach and the inbox. Nothing moves a case by an API call; fixtures only file
complaints (as the public web form or a citizen would)."""

from __future__ import annotations

import base64
import re
from contextlib import suppress
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.helpers import (
    CITY,
    SIBLING_VILLAGE,
    TOWNSHIP,
    VILLAGE,
    Login,
    act,
    case_row,
    choose,
    confirm,
    dialog,
    field,
    file_routed,
    log_in,
    open_case,
    status,
)
from tests.conftest import DEMO_PASSWORD, credit_code, wait_for
from tests.integration.test_clock_lights import age, stored

with suppress(ImportError):
    from playwright.sync_api import Page, expect

pytestmark = pytest.mark.integration

# markup in a complaint's text must show as text, never become elements
MARKUP = "<b>加粗</b><img src=x onerror=alert(1)>"
# a 1x1 PNG: evidence the walk-in form uploads
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


@pytest.fixture(scope="module")
def village_case(api: httpx.Client, login: Login) -> dict[str, Any]:
    summary = f"电饭煲无法加热，商家拒绝退货 {MARKUP}（订单号 900001）"
    return file_routed(api, login, VILLAGE, summary=summary, claim_amount=1288.5, requests=["refund", "compensation"])


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


def file_walk_in(page: Page, tmp_path: Path, business: str, summary: str, phone: str = "13900139001") -> str | None:
    """Fill 登记投诉 as the village clerk, with a photo as evidence, and submit; returns the new
    case's number (None when the form stays, refused)."""
    page.locator("#nav").get_by_role("link", name="登记投诉").click()
    form = page.locator("#complaint-form")
    expect(form.get_by_role("radio", name="来访登记")).to_be_checked()
    page.get_by_label("姓名").fill("王五")
    page.get_by_label("联系电话").fill(phone)
    page.get_by_label("经营者名称").fill(business)
    page.get_by_label("统一社会信用代码").fill(credit_code(7))
    choose(page, page.locator("#f-category"), "商品质量")
    page.get_by_label("投诉内容").fill(summary)
    form.locator(".el-checkbox", has_text="退款").click()
    page.get_by_label("涉及金额（元）").fill("560")
    photo = tmp_path / "receipt.png"
    photo.write_bytes(PNG)
    page.locator("#f-files").set_input_files(str(photo))
    form.get_by_role("button", name="提交登记").click()
    confirm(page)
    tracking, refused = page.locator("#detail-tracking"), page.locator("#form-error")
    expect(tracking.or_(refused)).to_be_visible()
    return tracking.inner_text() if tracking.is_visible() else None


def test_wrong_password_says_so_in_chinese(page: Page, console_url: str) -> None:
    page.goto(console_url)
    page.get_by_label("用户名").fill(VILLAGE)
    page.get_by_label("密码").fill("not-the-password")
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.locator("#error")).to_contain_text("用户名或密码错误")
    expect(page.locator("#login-view")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('console.access_token')") is None


def test_village_staff_see_what_the_decision_needs(
    page: Page, console_url: str, api: httpx.Client, login: Login, village_case: dict[str, Any]
) -> None:
    log_in(page, console_url, VILLAGE)
    expect(page.locator("#who")).to_have_text(f"{VILLAGE} · 枫源村委会")
    row = case_row(page, village_case["tracking_no"])
    for text in ("已分派", "商品质量", "网上投诉", "枫源村委会", "1,288.50 元"):
        expect(row).to_contain_text(text)
    expect(row.locator(".clock-cell")).to_have_attribute("data-colour", "green")

    row.click()
    expect(page).to_have_url(re.compile(f"#/cases/{village_case['id']}$"))
    expect(field(page, "status")).to_have_text("已分派")
    expect(field(page, "channel")).to_have_text("网上投诉")
    expect(field(page, "amount")).to_have_text("1,288.50 元")
    expect(field(page, "requests")).to_have_text("退款、赔偿")
    expect(field(page, "credit_code")).to_have_text(credit_code())
    expect(field(page, "summary")).to_contain_text(MARKUP)
    expect(page.locator("#detail-fields b, #detail-fields img")).to_have_count(0)
    expect(page.locator("#responsibility-card [data-field=unit]")).to_contain_text("枫源村委会")
    expect(page.locator("#responsibility-card [data-field=unit]")).not_to_contain_text(VILLAGE)  # no division code
    expect(page.locator("#responsibility-why")).not_to_be_empty()

    case = api.get(f"/api/v1/complaints/{village_case['id']}", headers=login(VILLAGE)).json()
    badges = page.locator("#clock-table .badge")
    expect(badges).to_have_count(len(case["clocks"]))
    for badge, clock in zip(badges.all(), case["clocks"], strict=True):
        expect(badge).to_have_attribute("data-colour", clock["colour"])
    expect(page.locator("#clock-table")).to_contain_text("受理时限")
    expect(page.locator("#history")).to_contain_text("收到投诉")
    expect(page.locator("#history")).to_contain_text("分派责任单位")
    expect(page.locator("#message-table")).to_contain_text("收件回执")
    # the buttons are exactly the actions the server allows this caller
    # add_evidence is on the evidence card, supervise (督办) on the supervision card
    offered = [a for a in case["allowed_actions"] if a not in ("add_evidence", "supervise")]
    expect(page.locator("#case-actions [data-action]")).to_have_count(len(offered))
    expect(page.locator('#case-actions [data-action="accept"]')).to_have_text("受理")


def test_search_and_filters_run_on_the_server(page: Page, console_url: str, village_case: dict[str, Any]) -> None:
    log_in(page, console_url, VILLAGE)
    row = case_row(page, village_case["tracking_no"])
    table = page.locator("#case-table")
    choose(page, page.locator("#status-filter"), "不予受理")
    page.keyboard.press("Escape")
    expect(table).to_have_attribute("aria-busy", "false")
    expect(row).to_have_count(0)
    expect(page).to_have_url(re.compile(r"status=refused"))
    page.locator("#clear-filters").first.click()
    expect(row).to_have_count(1)
    # the complainant's phone tail finds it, another tail does not
    page.locator("#case-search").fill("8000")
    page.locator("#case-search").press("Enter")
    expect(table).to_have_attribute("aria-busy", "false")
    expect(row).to_have_count(1)
    page.locator("#case-search").fill("1234")
    page.locator("#case-search").press("Enter")
    expect(row).to_have_count(0)
    expect(page.locator("#case-table .el-empty")).to_contain_text("清除搜索和筛选条件")


def test_the_city_filters_by_unit_and_light(
    page: Page, console_url: str, village_case: dict[str, Any], sibling_case: dict[str, Any], late_case: dict[str, Any]
) -> None:
    log_in(page, console_url, CITY)
    table = page.locator("#case-table")
    page.goto(f"{console_url}#/cases?unit={SIBLING_VILLAGE}")
    expect(table).to_have_attribute("aria-busy", "false")
    expect(case_row(page, sibling_case["tracking_no"])).to_have_count(1)
    expect(case_row(page, village_case["tracking_no"])).to_have_count(0)
    page.goto(f"{console_url}#/cases?light=red&unit={VILLAGE}")
    expect(table).to_have_attribute("aria-busy", "false")
    expect(case_row(page, late_case["tracking_no"])).to_have_count(1)
    expect(case_row(page, village_case["tracking_no"])).to_have_count(0)


def test_walk_in_filed_by_the_clerk_then_accepted(page: Page, console_url: str, tmp_path: Path) -> None:
    log_in(page, console_url, VILLAGE)
    # a missing field is marked before anything is sent
    page.locator("#nav").get_by_role("link", name="登记投诉").click()
    form = page.locator("#complaint-form")
    form.get_by_role("button", name="提交登记").click()
    expect(page.locator("#form-error")).to_contain_text("必填项")
    expect(form.locator(".el-form-item.is-error", has_text="经营者名称")).to_contain_text("必填")

    # a number the API refuses is named, in Chinese, next to its field, with what is allowed
    tracking = file_walk_in(page, tmp_path, "枫桥五金店", "新买的电水壶漏水，店家不肯换（来访登记）", phone="12345")
    assert tracking is None
    expect(page.locator("#form-error")).to_contain_text("「投诉人电话」不是有效的电话号码")
    expect(form.locator(".el-form-item.is-error", has_text="联系电话")).to_contain_text("11 位手机号")
    page.get_by_label("联系电话").fill("13900139001")
    form.get_by_role("button", name="提交登记").click()
    confirm(page)
    expect(page.locator("#detail-tracking")).to_be_visible()
    tracking = page.locator("#detail-tracking").inner_text()
    expect(field(page, "channel")).to_have_text("来访登记")
    expect(page.locator("#evidence-card .evidence-file")).to_contain_text("receipt.png")
    expect(page.locator("#evidence-card img.thumb")).to_be_visible()
    expect(status(page)).to_have_text("已分派", timeout=20_000)  # routed while we look
    page.reload()
    act(page, "accept")
    confirm(page)
    expect(status(page)).to_have_text("已受理")
    expect(page.locator('#case-actions [data-action="accept"]')).to_have_count(0)
    expect(page.locator("#history")).to_contain_text("受理")
    # the notice opens in a new tab, fetched with the token (a bare link would answer 401)
    notice = page.locator('#documents-card [data-document="acceptance_notice"]')
    with page.context.expect_page() as opened:
        notice.get_by_role("button", name="打开").click()
    tab = opened.value
    expect(tab).to_have_url(re.compile("^blob:"))
    expect(tab.locator("body")).to_contain_text("受理告知书")
    expect(tab.locator("body")).to_contain_text(tracking)
    tab.close()
    # the draft was filed: the form is empty again
    page.locator("#nav").get_by_role("link", name="登记投诉").click()
    expect(page.get_by_label("经营者名称")).to_have_value("")


def test_an_email_draft_is_completed_in_the_form(page: Page, console_url: str, api: httpx.Client, login: Login) -> None:
    mail = EmailMessage()
    mail["From"] = Address("钱七", addr_spec="qianqi@example.com")
    mail["To"] = "tousu@fengyuan.example"
    mail["Subject"] = "投诉某某眼镜店"
    mail.set_content("配的眼镜度数不对，店家不给重配。")
    headers = {**login(VILLAGE), "Content-Type": "message/rfc822"}
    response = api.post("/api/v1/complaints/email", content=mail.as_bytes(policy=SMTP), headers=headers)
    assert response.status_code == 201, response.text
    draft = response.json()

    open_case(page, console_url, VILLAGE, draft)
    expect(status(page)).to_have_text("待补全")
    act(page, "complete_draft")
    expect(page.locator("#new-case-view h1")).to_contain_text(draft["tracking_no"])
    expect(page.get_by_label("姓名")).to_have_value("钱七")
    expect(page.get_by_label("电子邮箱")).to_have_value("qianqi@example.com")
    expect(page.get_by_label("投诉内容")).to_have_value(re.compile("度数不对"))
    page.get_by_label("联系电话").fill("13600136006")
    page.get_by_label("经营者名称").fill("某某眼镜店")
    choose(page, page.locator("#f-category"), "商品质量")
    page.locator("#complaint-form").get_by_role("button", name="提交登记").click()
    confirm(page)
    expect(page.locator("#detail-tracking")).to_have_text(draft["tracking_no"])
    expect(field(page, "channel")).to_have_text("电子邮件")
    expect(status(page)).not_to_have_text("待补全")
    expect(page.locator('#case-actions [data-action="complete_draft"]')).to_have_count(0)


def test_refusal_names_the_field_then_refuses_on_a_ground(
    page: Page, console_url: str, api: httpx.Client, login: Login, case_to_refuse: dict[str, Any]
) -> None:
    open_case(page, console_url, VILLAGE, case_to_refuse)
    act(page, "refuse")
    form = dialog(page)
    choose(page, form.locator(".el-select"), "不属于本部门职责范围")
    expect(form.locator("textarea").nth(1)).not_to_be_empty()  # the ground's standard other routes
    form.locator("textarea").first.fill("短")
    form.get_by_role("button", name="不予受理").click()
    confirm(page)
    expect(form.locator(".dialog-error")).to_contain_text("「理由」太短：至少 2 个字符")
    expect(status(page)).to_have_text("已分派")

    reason = "投诉事项不属于本村调处范围"
    form.locator("textarea").first.fill(reason)
    form.get_by_role("button", name="不予受理").click()
    confirm(page)
    expect(status(page)).to_have_text("不予受理")
    expect(field(page, "decision")).to_contain_text(reason)
    expect(page.locator("#documents-card")).to_contain_text("不予受理告知书")
    case = api.get(f"/api/v1/complaints/{case_to_refuse['id']}", headers=login(VILLAGE)).json()
    assert case["status"] == "refused"
    assert case["decision"]["ground"] == "not_within_remit"
    assert not {"accept", "refuse"} & set(case["allowed_actions"])
    for action in ("accept", "refuse"):
        expect(page.locator(f'#case-actions [data-action="{action}"]')).to_have_count(0)


def test_escalated_village_township_city_and_taken_over(
    page: Page, console_url: str, api: httpx.Client, login: Login, tmp_path: Path
) -> None:
    log_in(page, console_url, VILLAGE)
    tracking = file_walk_in(page, tmp_path, "枫桥家电城", "空调安装后不制冷，商家多次推诿（需上级协调）")
    assert tracking
    expect(status(page)).to_have_text("已分派", timeout=20_000)
    page.reload()
    act(page, "escalate")
    form = dialog(page)
    form.get_by_text("当事人请求").click()
    form.locator("textarea").fill("投诉人要求由镇里处理")
    form.get_by_role("button", name="上交上级").click()
    confirm(page)
    expect(status(page)).to_have_text("已上交")
    expect(page.locator("#history")).to_contain_text("上交上级单位")
    expect(page.get_by_text("只读：本案已上交")).to_be_visible()
    expect(page.locator("#case-actions [data-action]")).to_have_count(0)
    case_id = page.url.rsplit("/", 1)[1]

    page.get_by_role("button", name="退出登录").click()
    open_case(page, console_url, TOWNSHIP, {"tracking_no": tracking})
    expect(page.locator("#responsibility-card [data-field=unit]")).to_contain_text("枫桥镇")
    act(page, "request_takeover")
    dialog(page).locator("textarea").fill("涉及多个村，请市里提级办理")
    dialog(page).get_by_role("button", name="提请上级提级").click()
    expect(dialog(page)).to_have_count(0)

    # routing's step reaches the case's history as an event, a moment later
    def requested() -> bool:
        case = api.get(f"/api/v1/complaints/{case_id}", headers=login(TOWNSHIP)).json()
        return any(h.get("code") == "takeover_requested" for h in case["history"])

    wait_for(requested, timeout=20)
    page.reload()
    expect(page.locator("#history")).to_contain_text("提请上级提级办理")

    page.get_by_role("button", name="退出登录").click()
    open_case(page, console_url, CITY, {"tracking_no": tracking})
    act(page, "take_over")
    dialog(page).locator("textarea").fill("市消费纠纷调处中心提级办理")
    dialog(page).get_by_role("button", name="提级办理").click()
    confirm(page)
    expect(page.locator("#responsibility-card [data-field=unit]")).to_contain_text("诸暨市")
    expect(page.locator("#history")).to_contain_text("上级提级办理")
    case = api.get(f"/api/v1/complaints/{case_id}", headers=login(CITY)).json()
    assert case["responsible_unit"]["code"] == CITY


def test_session_renews_itself_and_a_relogin_returns_with_the_draft(
    page: Page, console_url: str, village_case: dict[str, Any]
) -> None:
    open_case(page, console_url, VILLAGE, village_case)
    # the access token is about to run out: it is renewed before the next call, not after a 401
    before = page.evaluate("sessionStorage.getItem('console.access_token')")
    page.evaluate("sessionStorage.setItem('console.access_expires_at', String(Date.now() + 5000))")
    page.reload()
    expect(page.locator("#detail-tracking")).to_have_text(village_case["tracking_no"])
    assert page.evaluate("sessionStorage.getItem('console.access_token')") != before
    # the access token is refused (as after its 15 minutes): the refresh token renews it unseen
    page.evaluate("sessionStorage.setItem('console.access_token', 'expired')")
    page.reload()
    expect(page.locator("#detail-tracking")).to_have_text(village_case["tracking_no"])
    assert page.evaluate("sessionStorage.getItem('console.access_token')") != "expired"

    act(page, "refuse")
    typed = "商家已自行退款，投诉人撤回"
    dialog(page).locator("textarea").first.fill(typed)
    # the whole session ends (both tokens refused): log in again, back at the case with the text
    page.evaluate("sessionStorage.setItem('console.access_token', 'x')")
    page.evaluate("sessionStorage.setItem('console.refresh_token', 'y')")
    page.reload()
    expect(page.locator("#login-view")).to_be_visible()
    expect(page.locator("#login-view .el-alert")).to_contain_text("登录已过期")
    page.get_by_label("用户名").fill(VILLAGE)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).to_have_url(re.compile(f"#/cases/{village_case['id']}$"))
    act(page, "refuse")
    expect(dialog(page).locator("textarea").first).to_have_value(typed)


def test_inbox_unread_count_and_mark_read(
    page: Page, console_url: str, api: httpx.Client, login: Login, village_case: dict[str, Any]
) -> None:
    def assignment() -> dict[str, Any] | None:
        items = api.get("/api/v1/inbox", params={"unread_only": True, "limit": 200}, headers=login(VILLAGE)).json()
        return next((i for i in items["items"] if i["complaint_id"] == village_case["id"]), None)

    item = wait_for(assignment)
    unread = api.get("/api/v1/inbox", headers=login(VILLAGE)).json()["unread"]
    log_in(page, console_url, VILLAGE)
    count = page.locator("#unread-count sup")
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
    expect(case_row(page, sibling_case["tracking_no"])).to_have_count(1)
    expect(case_row(page, village_case["tracking_no"])).to_have_count(0)

    page.get_by_role("button", name="退出登录").click()
    expect(page.locator("#login-view")).to_be_visible()
    expect(page.locator("#nav")).to_have_count(0)
    assert page.evaluate("sessionStorage.getItem('console.access_token')") is None


def test_the_clocks_near_breach_list_leads_to_the_case(
    page: Page, console_url: str, late_case: dict[str, Any], village_case: dict[str, Any]
) -> None:
    log_in(page, console_url, VILLAGE)
    page.locator("#nav").get_by_role("link", name="时限预警").click()
    expect(page).to_have_url(re.compile("#/clocks"))
    late = page.locator("#held-table .held-row", has_text=late_case["tracking_no"])
    expect(late).to_have_count(1)
    for text in ("受理时限", "枫源村委会", "红灯"):
        expect(late).to_contain_text(text)
    # past its deadline: since when, in the calendar's days and hours (the working time overdue
    # stands still overnight)
    expect(late).to_contain_text(re.compile(r"已超期 \d+ 天 \d+ 小时"))
    # a case whose clocks are all green is not near breach
    expect(page.locator("#held-table .held-row", has_text=village_case["tracking_no"])).to_have_count(0)

    page.locator("#colour-filter").get_by_text("黄灯", exact=True).click()
    expect(late).to_have_count(0)
    page.locator("#colour-filter").get_by_text("红灯", exact=True).click()
    expect(late).to_have_count(1)
    late.click()
    expect(page.locator("#detail-tracking")).to_have_text(late_case["tracking_no"])
    expect(page.locator('#clock-table [data-kind="acceptance"] .badge')).to_have_attribute("data-colour", "red")


def test_failed_messages_are_red_and_can_be_resent_or_told_another_way(
    page: Page, console_url: str, api: httpx.Client, login: Login, notification_sinks: Any
) -> None:
    phone = "13700137077"
    notification_sinks.http.fail(phone, times=None)  # the SMS gateway refuses every text to this number
    receipt = file_routed(api, login, VILLAGE, complainant={"name": "赵六", "phone": phone})

    def failed() -> list[dict[str, Any]]:
        messages = api.get(f"/api/v1/complaints/{receipt['id']}/messages", headers=login(VILLAGE)).json()
        return [m for m in messages if m["state"] == "failed" and m["channel"] == "sms"]

    wait_for(lambda: len(failed()) >= 2, timeout=30)
    open_case(page, console_url, VILLAGE, receipt)
    card = page.locator("#messages-card")
    expect(card.locator(".failed-count")).to_contain_text("2 条发送失败")
    rows = card.locator(".failed-row")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("发送失败")

    rows.first.get_by_role("button", name="已以其他方式告知").click()
    form = dialog(page)
    form.get_by_text("电话告知").click()
    form.locator("textarea").fill("已电话告知投诉人受理编号")
    form.get_by_role("button", name="记录").click()
    expect(card).to_contain_text("已电话告知：已电话告知投诉人受理编号")
    expect(page.locator("#history")).to_contain_text("已以其他方式告知")

    card.locator(".failed-row").get_by_role("button", name="重新发送").first.click()
    confirm(page)
    expect(page.locator("#history")).to_contain_text("重发失败消息")
    expect(card).to_contain_text("已重新发送")
    notification_sinks.http.fail(phone, times=0)
