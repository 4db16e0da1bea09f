"""Issue 16, done-when flow 1 in the browser only: the village clerk files a walk-in complaint through
the console, accepts it and mediates it to an agreement (business consent, mediator, a 单方 session,
minutes confirmed, two terms confirmed by both parties), follows up one term, gives the end notice
and scores a call-back; the list, the detail and public tracking then say 已达成协议 / agreed. Then
flow 2's second half: the township opens the agreement in a new tab and prints it.

In flow 1 no API call moves the case: the API is only read for the assertions. The other roads
(termination, a breach) start from a case filed (and, for the breach, agreed) through the API."""

from __future__ import annotations

import re
from contextlib import suppress
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from tests.browser.helpers import (
    DESKTOP,
    ENGLISH_CODES,
    PHONE,
    SCREENSHOTS,
    TOWNSHIP,
    VILLAGE,
    Login,
    case_row,
    confirm,
    file_routed,
    log_in,
    open_case,
    screenshot,
    settled,
)
from tests.conftest import DEMO_PASSWORD, wait_for

with suppress(ImportError):
    from playwright.sync_api import Locator, Page, expect

pytestmark = pytest.mark.integration

COMPLAINANT_PHONE = "13900139021"
FIRST_TERM = "经营者退还货款 399 元"
SECOND_TERM = "经营者书面赔礼道歉"


@pytest.fixture(autouse=True)
def patient_expect() -> Any:
    """Each step waits on a service answering over RabbitMQ, on a machine shared by many: allow
    more than Playwright's 5 s default before calling a step missing."""
    expect.set_options(timeout=20_000)
    yield
    expect.set_options(timeout=5_000)


def panel(page: Page) -> Locator:
    return page.locator("#mediation-panel")


def take(page: Page, action: str) -> Locator:
    """Press the panel's button for `action` (shown only when the case allows it); the dialog."""
    panel(page).locator(f'[data-action="{action}"]').first.click()
    return page.locator(".mediation-dialog:visible")


def submit(page: Page, dialog: Locator) -> None:
    dialog.locator("[data-submit]").click()
    expect(dialog).to_have_count(0)


def choose(dialog: Locator, name: str, text: str) -> None:
    dialog.locator(f'[data-field="{name}"]').get_by_text(text, exact=True).click()


def file_walk_in(page: Page) -> str:
    """登记投诉 as the clerk does for a visitor; answers the new case's id."""
    page.locator("#nav").get_by_text("登记投诉").click()
    form = page.locator("#complaint-form")
    form.get_by_text("来访登记", exact=True).click()
    page.locator("#f-name").fill("王小红")
    page.locator("#f-phone").fill(COMPLAINANT_PHONE)
    page.locator("#f-business").fill("枫源村便民电器店")
    page.locator("#f-category").click()
    page.locator(".el-select-dropdown__item:visible", has_text="商品质量").click()
    page.locator("#f-summary").fill("在店里买的电饭煲用了三天就无法加热，店家不同意退货（来访登记）")
    form.get_by_text("退款", exact=True).click()
    page.locator("#f-amount").fill("399")
    form.get_by_role("button", name="提交登记").click()
    confirm(page)
    expect(page).to_have_url(re.compile(r"#/cases/[0-9a-f-]{36}"))
    return page.url.rsplit("/", 1)[-1].split("?")[0]


def until_shown(page: Page, locator: Locator, timeout: float = 30) -> None:
    """The step behind it happens in another service a moment later: reload until it shows."""

    def shown() -> bool:
        if locator.count() and locator.first.is_visible():
            return True
        page.reload()
        page.wait_for_load_state("networkidle")
        return locator.count() > 0 and locator.first.is_visible()

    wait_for(shown, timeout=timeout, interval=0.5)


def test_village_mediates_to_an_agreement_and_the_township_prints_it(
    api: httpx.Client, browser: Any, page: Page, console_url: str, login: Login
) -> None:
    page.set_viewport_size(DESKTOP)
    log_in(page, console_url, VILLAGE)
    complaint_id = file_walk_in(page)

    # routing names the village (the case is the village's once routed), then the clerk accepts (受理)
    accept = page.locator('#case-actions [data-action="accept"]')
    until_shown(page, accept)
    tracking_no = page.locator("#detail-tracking").inner_text()
    accept.click()
    confirm(page)

    # mediation opens once the acceptance reaches it: the business consents (the complainant's is implied)
    expect(panel(page).locator('#mediation-actions [data-action="consent"]')).to_be_visible(timeout=30_000)
    expect(panel(page).locator('#mediation-consent [data-party="complainant"]')).to_contain_text("投诉即视为同意调解")
    dialog = take(page, "consent")
    choose(dialog, "contacted_via", "电话")
    dialog.get_by_role("textbox", name="联系人", exact=True).fill("店主李某")
    submit(page, dialog)
    expect(panel(page).locator('#mediation-consent [data-party="business"]')).to_contain_text("已同意")

    # the clerk names herself (she joined the roster by acting; other tests may add mediators who
    # would win the automatic pick by load)
    dialog = take(page, "assign")
    dialog.locator(".el-select__wrapper").first.click()
    page.locator(".el-select-dropdown__item:visible", has_text=f"{VILLAGE}（").first.click()
    submit(page, dialog)
    expect(panel(page).locator('[data-field="mediator"]')).to_have_text(VILLAGE)

    # a 单方 session with the business, by phone, at a time with its zone
    dialog = take(page, "schedule_session")
    choose(dialog, "mode", "单方调解")
    choose(dialog, "party", "经营者（被申请人）")
    choose(dialog, "channel", "电话")
    dialog.get_by_role("textbox", name="调解时间", exact=True).fill(f"{date.today().isoformat()}T09:30")
    submit(page, dialog)
    session = panel(page).locator('[data-session="1"]')
    expect(session).to_contain_text("单方调解（经营者（被申请人））")

    # minutes: a too-short text is refused by the API, which names the field
    session.locator('[data-action="record_minutes"]').click()
    dialog = page.locator(".mediation-dialog:visible")
    dialog.get_by_role("textbox", name="笔录内容", exact=True).fill("同意")
    dialog.locator("[data-submit]").click()
    expect(dialog.locator(".problem")).to_contain_text("「笔录内容」太短：至少 5 个字")
    expect(dialog.locator('[data-field="minutes"] .el-form-item__error')).to_be_visible()
    dialog.get_by_role("textbox", name="笔录内容", exact=True).fill("电话联系经营者，经营者同意退还货款并书面道歉。")
    dialog.locator('[data-field="agreed"] .el-switch').click()
    submit(page, dialog)
    session.locator('[data-action="confirm_minutes:business"]').click()
    expect(session.locator('[data-confirmed="business"]')).to_contain_text("已确认")

    # the agreement with two terms, confirmed by both parties (as staff record their signatures)
    dialog = take(page, "draft_agreement")
    dialog.get_by_role("textbox", name="纠纷事实及协议内容", exact=True).fill(
        "电饭煲质量问题，双方经调解自愿达成如下协议。"
    )
    dialog.get_by_role("textbox", name="第 1 条内容", exact=True).fill(FIRST_TERM)
    dialog.get_by_role("textbox", name="第 1 条金额", exact=True).fill("399")
    dialog.get_by_role("textbox", name="第 1 条履行期限", exact=True).fill(
        (date.today() + timedelta(days=7)).isoformat()
    )
    dialog.locator("#add-term").click()
    dialog.locator('[data-term="2"] [data-term-field="kind"]').click()
    page.locator(".el-select-dropdown__item:visible", has_text="赔礼道歉").click()
    dialog.get_by_role("textbox", name="第 2 条内容", exact=True).fill(SECOND_TERM)
    dialog.get_by_role("textbox", name="第 2 条履行期限", exact=True).fill(
        (date.today() + timedelta(days=3)).isoformat()
    )
    submit(page, dialog)
    agreement = panel(page).locator("#mediation-agreement")
    expect(agreement.locator("[data-term]")).to_have_count(2)
    agreement.locator('[data-action="confirm_agreement:complainant"]').click()
    expect(agreement.locator('[data-confirmed="complainant"]')).to_contain_text("已确认")
    agreement.locator('[data-action="confirm_agreement:business"]').click()
    expect(panel(page).locator("#mediation-state")).to_have_text("已达成协议")

    # follow-up: the refund was paid
    agreement.locator('[data-term="1"] [data-action="perform_term"]').click()
    dialog = page.locator(".mediation-dialog:visible")
    dialog.get_by_role("textbox", name="说明", exact=True).fill("已通过微信转账退款")
    submit(page, dialog)
    expect(agreement.locator('[data-term="1"]')).to_have_attribute("data-status", "performed")
    expect(agreement.locator('[data-term="2"]')).to_have_attribute("data-status", "pending")
    expect(panel(page).locator('[data-field="recovered"]')).to_contain_text("399.00 元")

    # the parties are told mediation ended (Art 23), and the call-back is scored
    dialog = take(page, "notify_end")
    choose(dialog, "channel", "短信")
    submit(page, dialog)
    expect(panel(page).locator('[data-field="end-notice"]')).to_contain_text("短信告知")
    expect(panel(page).locator('[data-clock="mediation_end_notice"]')).to_contain_text("已停止（按时）")
    dialog = take(page, "callback")
    choose(dialog, "score", "5 很满意")
    dialog.get_by_role("textbox", name="回访意见", exact=True).fill("退款已收到，满意")
    submit(page, dialog)
    expect(panel(page).locator('#mediation-callbacks [data-score="5"]')).to_contain_text("很满意")

    # a refusal (409) reads in Chinese and says how to go on: nobody who never held the case can re-review
    dialog = take(page, "request_re_review")
    dialog.get_by_role("textbox", name="复议理由", exact=True).fill("投诉人认为赔偿不足")
    dialog.locator("[data-submit]").click()
    expect(dialog.locator(".problem")).to_contain_text("没有可承办本案的在册调解员")
    dialog.get_by_role("button", name="取消").click()
    expect(panel(page).locator("#mediation-state")).to_have_text("已达成协议")

    history = panel(page).locator("#mediation-history")
    steps = ("经营者同意调解", "指派调解员", "安排调解", "当事人确认笔录", "当事人确认协议", "协议条款已履行", "回访")
    for step in steps:
        expect(history).to_contain_text(step)
    assert not ENGLISH_CODES.findall(panel(page).inner_text())
    screenshot_panel(page, "console-mediation-desktop")

    # intake learns the agreement from mediation's events: detail, list and tracking say so
    until_shown(page, page.locator('#detail-fields [data-field="status"]', has_text="已达成协议"))
    expect(page.locator("#detail-status")).to_have_text("已达成协议")
    page.locator("#nav").get_by_text("案件列表").click()
    page.locator("#case-search").fill(tracking_no)
    page.locator("#case-search").press("Enter")
    expect(case_row(page, tracking_no)).to_contain_text("已达成协议")
    tracked = api.get(f"/api/v1/track/{tracking_no}", params={"phone_tail": COMPLAINANT_PHONE[-4:]})
    assert tracked.status_code == 200, tracked.text
    assert (tracked.json()["status"], tracked.json()["status_label"]) == ("agreed", "已达成协议")
    case = api.get(f"/api/v1/complaints/{complaint_id}/mediation", headers=login(VILLAGE)).json()
    assert case["state"] == "agreed"
    assert [s["mode"] for s in case["sessions"]] == ["single_party"]
    assert [t["status"] for t in case["agreement"]["terms"]] == ["performed", "pending"]
    assert [c["score"] for c in case["callbacks"]] == [5]

    # the same panel on a phone: no page-wide scroll, tap targets of 44 px
    case_row(page, tracking_no).click()
    page.set_viewport_size(PHONE)
    expect(panel(page).locator("#mediation-state")).to_have_text("已达成协议")
    settled(page)
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"the case page is {width[0]} px wide on a {width[1]} px phone"
    for button in panel(page).locator("button:visible").all():
        box = button.bounding_box()
        assert box is not None and box["height"] >= 44, f"{button.inner_text()!r} is {box} on the phone"
    screenshot_panel(page, "console-mediation-phone")
    # an action's form on the phone: fits the screen, every target 44 px high
    dialog = take(page, "callback")
    choose(dialog, "score", "4 满意")
    settled(page)
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"the call-back form is {width[0]} px wide on a {width[1]} px phone"
    targets = dialog.locator(
        "button:visible, .el-radio-button__inner:visible, .el-input__wrapper:visible, textarea:visible"
    )
    for target in targets.all():
        box = target.bounding_box()
        assert box is not None and box["height"] >= 44 and box["x"] + box["width"] <= PHONE["width"], (
            f"{target.inner_text()!r} is {box} on the phone"
        )
    screenshot(page, "console-mediation-form-phone")
    dialog.get_by_role("button", name="取消").click()

    # flow 2, second half: the township opens the village's agreement in a new tab and prints it
    township = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport=DESKTOP)
    try:
        upper = township.new_page()
        log_in(upper, console_url, TOWNSHIP)
        upper.goto(f"{console_url}#/cases/{complaint_id}")
        # the township reads the village's mediation, masked and without a button to act
        expect(panel(upper).locator("#mediation-state")).to_have_text("已达成协议")
        expect(panel(upper).locator("#mediation-actions")).to_have_count(0)
        document = panel(upper).locator('#mediation-documents [data-document="agreement"]')
        with upper.expect_popup() as opened:
            document.locator("[data-open]").click()
        tab = opened.value
        tab.wait_for_load_state()
        expect(tab.locator("h1")).to_have_text("调解协议书")
        expect(tab.locator("body")).to_contain_text(FIRST_TERM)
        expect(tab.locator("body")).to_contain_text(SECOND_TERM)
        # a function's body: an expression answering a function would be called by evaluate itself
        tab.evaluate("() => { window.printed = 0; window.print = () => { window.printed += 1; }; }")
        tab.locator("#print-document").click()
        assert tab.evaluate("window.printed") == 1
    finally:
        township.close()


def test_village_fails_twice_and_terminates_with_the_remedy_routes(
    api: httpx.Client, page: Page, console_url: str, login: Login
) -> None:
    """The other road: recusal asked and refused, appraisal pausing the 60-day clock, a joint session
    in person that fails, a second one, then termination, confirmed first, with the remedy routes."""
    receipt = file_routed(api, login, VILLAGE)  # filing is not the step under test here
    page.set_viewport_size(DESKTOP)
    open_case(page, console_url, VILLAGE, receipt)
    page.locator('#case-actions [data-action="accept"]').click()
    confirm(page)
    expect(panel(page).locator('#mediation-actions [data-action="consent"]')).to_be_visible(timeout=30_000)
    submit(page, take(page, "consent"))
    submit(page, take(page, "assign"))

    # 回避: the complainant asks, the supervisor refuses (no other mediator could take over anyway)
    dialog = take(page, "request_recusal")
    dialog.get_by_role("textbox", name="回避理由", exact=True).fill("调解员与经营者相识")
    submit(page, dialog)
    expect(panel(page).locator('[data-recusal="1"]')).to_contain_text("待决定")
    dialog = take(page, "decide_recusal")
    dialog.locator('[data-field="granted"] .el-switch').click()
    dialog.get_by_role("textbox", name="说明", exact=True).fill("经核实不存在利害关系")
    submit(page, dialog)
    expect(panel(page).locator('[data-recusal="1"]')).to_contain_text("驳回回避申请")

    # testing pauses the 60-day clock, and its end resumes it
    dialog = take(page, "start_appraisal")
    dialog.get_by_role("textbox", name="检测鉴定事项", exact=True).fill("电饭煲送质检所检测")
    submit(page, dialog)
    clock = panel(page).locator('[data-clock="mediation"]')
    expect(clock).to_contain_text("检测鉴定中，暂停计时")
    submit(page, take(page, "end_appraisal"))
    expect(clock).not_to_contain_text("检测鉴定中")
    expect(clock).to_contain_text("暂停：")

    for round_no in (1, 2):
        dialog = take(page, "schedule_session")
        dialog.get_by_role("textbox", name="地点", exact=True).fill("枫源村调解室")
        dialog.get_by_role("textbox", name="调解时间", exact=True).fill(f"{date.today().isoformat()}T14:00")
        submit(page, dialog)
        session = panel(page).locator(f'[data-session="{round_no}"]')
        expect(session).to_contain_text(f"第 {round_no} 轮")
        session.locator('[data-action="record_minutes"]').click()
        dialog = page.locator(".mediation-dialog:visible")
        minutes = dialog.get_by_role("textbox", name="笔录内容", exact=True)
        minutes.fill("双方各执己见，经营者只同意维修，投诉人坚持退货。")
        submit(page, dialog)
        for party in ("complainant", "business"):
            session.locator(f'[data-action="confirm_minutes:{party}"]').click()
            expect(session.locator(f'[data-confirmed="{party}"]')).to_contain_text("已确认")
        if round_no == 1:
            dialog = take(page, "fail")
            dialog.get_by_role("textbox", name="调解不成的原因", exact=True).fill("双方分歧较大")
            submit(page, dialog)
            expect(panel(page).locator("#mediation-state")).to_have_text("首次调解不成")

    # termination is asked first: cancelled, nothing changes; confirmed, mediation ends
    dialog = take(page, "terminate")
    dialog.get_by_role("textbox", name="终止理由", exact=True).fill("两次调解均未达成一致")
    # the session runs out mid-form: logged in again, the form is back with what was typed
    page.evaluate("['console.access_token', 'console.refresh_token'].forEach((k) => sessionStorage.removeItem(k))")
    page.reload()
    page.get_by_label("用户名").fill(VILLAGE)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(dialog.get_by_role("textbox", name="终止理由", exact=True)).to_have_value("两次调解均未达成一致")
    dialog.locator('[data-field="remedies"]').get_by_text("申请司法确认").click()
    dialog.locator("[data-submit]").click()
    page.locator(".el-message-box").get_by_role("button", name="取消").click()
    expect(panel(page).locator("#mediation-state")).to_have_text("第二次调解已进行")
    dialog.locator("[data-submit]").click()
    confirm(page)
    expect(dialog).to_have_count(0)
    expect(panel(page).locator("#mediation-state")).to_have_text("已终止调解")
    summary = panel(page).locator("#mediation-summary")
    expect(summary).to_contain_text("申请仲裁、向人民法院起诉、支持起诉、申请司法确认")
    expect(summary).to_contain_text("调解不成")
    expect(panel(page).locator('[data-clock="mediation_end_notice"]')).to_be_visible()
    history = panel(page).locator("#mediation-history")
    for step in ("申请回避", "作出回避决定", "检测鉴定开始，暂停计时", "首次调解不成", "终止调解"):
        expect(history).to_contain_text(step)
    assert not ENGLISH_CODES.findall(panel(page).inner_text())

    # routing passes the terminated case up: the village keeps a read-only view that says why
    until_shown(page, panel(page).locator("#mediation-history", has_text="案件转至其他单位"))
    expect(panel(page)).to_contain_text("本单位只能查看")
    # the unit that mediated still calls the consumer back (回访), nothing else
    expect(panel(page).locator("#mediation-actions button")).to_have_count(1)
    expect(panel(page).locator('#mediation-actions [data-action="callback"]')).to_be_visible()
    expect(panel(page).locator("#mediation-history")).to_contain_text(f"由 {VILLAGE} 转至 {TOWNSHIP}；原因：调解不成")
    assert not ENGLISH_CODES.findall(panel(page).inner_text())
    case = api.get(f"/api/v1/complaints/{receipt['id']}/mediation", headers=login(VILLAGE)).json()
    # (routing then passes the terminated case up to the township, where mediation starts anew)
    ended = [step for step in case["history"] if step["action"] == "terminate"]
    assert [(step["from"], step["to"]) for step in ended] == [("second_session_held", "terminated")]
    assert ended[0]["detail"]["remedies"] == ["arbitration", "court", "litigation_support", "judicial_confirmation"]
    assert [r["decision"] for r in case["recusals"]] == ["refused"]
    assert [s["round"] for s in case["sessions"]] == [1, 2]


def agreed_by_api(api: httpx.Client, login: Login) -> dict[str, Any]:
    """A village case brought to an agreement with one term through the API (a fixture: the steps
    up to the agreement are flow 1's, in the browser above)."""
    receipt = file_routed(api, login, VILLAGE)
    headers = login(VILLAGE)
    base = f"/api/v1/complaints/{receipt['id']}"
    assert api.post(f"{base}/accept", headers=headers).status_code == 200
    wait_for(lambda: api.get(f"{base}/mediation", headers=headers).status_code == 200, timeout=20)
    today = date.today().isoformat()
    steps: list[tuple[str, dict[str, Any]]] = [
        ("/consent", {"consent": True}),
        ("/assign", {}),
        ("/sessions", {"channel": "video", "scheduled_at": f"{today}T10:00:00+08:00"}),
        ("/sessions/1/minutes", {"minutes": "视频调解，经营者同意三日内换货。", "agreed": True}),
        ("/sessions/1/minutes/confirm", {"party": "complainant"}),
        ("/sessions/1/minutes/confirm", {"party": "business"}),
        (
            "/agreement",
            {
                "summary": "经营者同意换货。",
                "terms": [{"kind": "exchange", "description": "三日内换货", "deadline": today}],
            },
        ),
        ("/agreement/confirm", {"party": "complainant"}),
        ("/agreement/confirm", {"party": "business"}),
    ]
    for path, body in steps:
        response = api.post(f"{base}/mediation{path}", json=body, headers=headers)
        assert response.status_code == 200, f"{path}: {response.text}"
    assert response.json()["state"] == "agreed"
    return receipt


def test_a_breached_agreement_is_escalated(api: httpx.Client, page: Page, console_url: str, login: Login) -> None:
    """The term is not kept: the breach is recorded and, confirmed first, the case goes up."""
    receipt = agreed_by_api(api, login)
    open_case(page, console_url, VILLAGE, receipt)
    agreement = panel(page).locator("#mediation-agreement")
    agreement.locator('[data-term="1"] [data-action="breach_term"]').click()
    dialog = page.locator(".mediation-dialog:visible")
    dialog.get_by_role("textbox", name="说明", exact=True).fill("经营者到期未换货")
    submit(page, dialog)
    expect(panel(page).locator("#mediation-state")).to_have_text("协议未履行")
    expect(agreement.locator('[data-term="1"]')).to_have_attribute("data-status", "breached")
    dialog = take(page, "escalate")
    dialog.get_by_role("textbox", name="理由", exact=True).fill("经营者拒不履行协议")
    dialog.locator("[data-submit]").click()
    confirm(page)
    expect(dialog).to_have_count(0)
    expect(panel(page).locator("#mediation-state")).to_have_text("已上交上级")
    expect(panel(page).locator('[data-field="outcome"]')).to_have_text("协议未履行")
    expect(panel(page).locator("#mediation-history")).to_contain_text("协议未履行，上交上级")
    case = api.get(f"/api/v1/complaints/{receipt['id']}/mediation", headers=login(VILLAGE)).json()
    assert [(s["action"], s["to"]) for s in case["history"] if s["action"] in ("breach_term", "escalate")] == [
        ("breach_term", "breached"),
        ("escalate", "escalated"),
    ]


def screenshot_panel(page: Page, name: str) -> None:
    """The whole mediation panel (docs/img/<name>.png)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_load_state("networkidle")
    page.evaluate("document.fonts.ready.then(() => true)")  # the Chinese font's slices on screen
    panel(page).screenshot(path=str(SCREENSHOTS / f"{name}.png"))
