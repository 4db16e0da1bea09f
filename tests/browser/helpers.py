"""What the console's browser tests share: logging in, opening a case, filing through the API for
fixtures, and the phone checks (no page-wide scroll, no English code on screen)."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import DEMO_PASSWORD, complaint, wait_for

with suppress(ImportError):
    from playwright.sync_api import Locator, Page, expect

VILLAGE = "330681109290"  # 枫源村委会, under 枫桥镇 (330681109), under 诸暨市 (330681)
SIBLING_VILLAGE = "330681109291"
TOWNSHIP = "330681109"
CITY = "330681"
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "img"

Login = Callable[[str], dict[str, str]]

# the API's status, step, template, channel and delivery codes: none may reach the screen
ENGLISH_CODES = re.compile(
    r"\b(received|routed|accepted|refused|mediating|agreed|terminated|escalated|closed|queued|"
    r"delivered|failed|walk_in|hotline|acknowledgement|notified:\w+|green|yellow|red|"
    r"product_quality|invalid_input)\b"
)


def log_in(page: Page, console_url: str, username: str, password: str = DEMO_PASSWORD, to: str = "/cases") -> None:
    """Log in on the way to `to` (the console lands on the dashboard when no view was asked for)."""
    page.goto(f"{console_url}#{to}")
    if page.evaluate("sessionStorage.length"):  # someone else is logged in on this page: a fresh start
        page.evaluate("sessionStorage.clear()")
        page.reload()
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.locator("#who")).to_contain_text(username)
    if not page.url.endswith(f"#{to}"):  # after a fresh start the console may land on its dashboard
        page.goto(f"{console_url}#{to}")


def switch_on_in_settings(
    page: Page, console_url: str, username: str, switch: tuple[str, str], number: tuple[str, str]
) -> None:
    """As `username`, the unit's admin, in 单位设置: turn on the switch `switch` = (label, input id),
    fill the number field `number` = (id, value), save."""
    log_in(page, console_url, username, to="/admin")
    page.locator("#admin-tabs .el-tabs__item", has_text="单位设置").click()
    label, switch_id = switch
    toggle = page.get_by_role("switch", name=re.compile(label))
    if not toggle.is_checked():  # the drawn switch, over its input
        page.locator(".el-switch", has=page.locator(f"#{switch_id}")).click()
    expect(toggle).to_be_checked()
    page.locator(f"#{number[0]}").fill(number[1])
    page.locator("#settings-save").click()
    expect(page.locator(".saved")).to_have_text("已保存，记入操作记录")


def case_row(page: Page, tracking_no: str) -> Locator:
    return page.locator("#case-table .case-row", has_text=tracking_no)


def open_case(page: Page, console_url: str, username: str, receipt: dict[str, Any]) -> None:
    """Log in and open the case from the list, by searching its number."""
    log_in(page, console_url, username)
    page.locator("#case-search").fill(receipt["tracking_no"])
    page.locator("#case-search").press("Enter")
    case_row(page, receipt["tracking_no"]).click()
    expect(page.locator("#detail-tracking")).to_have_text(receipt["tracking_no"])


def field(page: Page, name: str) -> Locator:
    return page.locator(f'#detail-fields [data-field="{name}"]')


def file_routed(api: httpx.Client, login: Login, unit: str, **overrides: Any) -> dict[str, Any]:
    """File a complaint through the API (a fixture, not the step under test) and wait until it is
    routed to `unit` and acknowledged."""
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


def assert_fits_the_phone(page: Page) -> None:
    """No page-wide horizontal scroll, and no English code in the visible text."""
    page.wait_for_load_state("networkidle")
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{page.url}: the page is {width[0]} px wide on a {width[1]} px screen"
    text = page.locator("body").inner_text()
    codes = ENGLISH_CODES.findall(text)
    assert not codes, f"{page.url}: English codes on screen: {sorted(set(codes))}"


def settled(page: Page) -> None:
    """Wait for running CSS transitions and animations to end: sizes read during one are neither
    the old nor the new (Element Plus buttons ease their height over 0.1 s when the screen narrows); spinners, which
    never end, are not waited for."""
    page.wait_for_function(
        "document.getAnimations().every(a => a.playState !== 'running' || a.effect.getTiming().iterations === Infinity)"
    )


def screenshot(page: Page, name: str) -> None:
    """Save the screen for docs/console.md (docs/img/<name>.png)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_load_state("networkidle")
    # the Chinese font comes in slices loaded as characters appear: wait for those on screen
    page.evaluate("document.fonts.ready.then(() => true)")
    expect(page.locator(".el-loading-mask")).to_have_count(0)
    # finished transitions: a tag just shown is otherwise caught mid zoom-in, blank
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), animations="disabled")


def choose(page: Page, select: Locator, option: str) -> None:
    """Pick an option of an Element Plus select, given the select or anything inside it (its
    dropdown is appended to the body)."""
    wrapper = select.locator("xpath=ancestor-or-self::div[contains(@class, 'el-select__wrapper')]")
    if not wrapper.count():
        wrapper = select.locator(".el-select__wrapper")
    wrapper.first.click()
    page.locator(".el-select-dropdown__item:visible", has_text=option).first.click()


def confirm(page: Page) -> None:
    """Answer 确定 in the confirmation box an irreversible action asks."""
    box = page.locator(".el-message-box")
    expect(box).to_be_visible()
    box.get_by_role("button", name="确定").click()
    expect(box).to_be_hidden()


def act(page: Page, action: str) -> None:
    """Press a case action button (its code in data-action: only what allowed_actions offers)."""
    page.locator(f'#case-actions [data-action="{action}"]').click()


def dialog(page: Page) -> Locator:
    return page.locator(".form-dialog:visible")


def status(page: Page) -> Locator:
    return page.locator("#detail-status")
