"""Every page of the console on a 390x844 phone (no page-wide horizontal scroll, tap targets of at
least 44 px, no English code on screen) and at 1366x768, with the screenshots docs/console.md shows
(docs/img/). And /docs: Swagger UI served entirely by the gateway, nothing fetched elsewhere."""

from __future__ import annotations

from contextlib import suppress
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.browser.helpers import VILLAGE, Login, assert_fits_the_phone, file_routed, log_in, screenshot

with suppress(ImportError):
    from playwright.sync_api import Page, Route, expect

pytestmark = pytest.mark.integration

# each page of the console: its route and what shows it is there
PAGES = {
    "cases": ("#/cases", "#cases-view"),
    "case": ("#/cases/{id}", "#detail-tracking"),
    "new-case": ("#/cases/new", "#complaint-form"),
    "clocks": ("#/clocks?colour=all", "#clocks-view"),
    "inbox": ("#/inbox", "#inbox-view"),
}
MIN_TAP = 44
TAPPED = ("button", "a", ".el-select__wrapper", ".el-pager li", ".el-radio-button__inner", ".el-checkbox", ".el-radio")
TAP_TARGETS = ", ".join(f"#app {target}" for target in TAPPED)


@pytest.fixture(scope="module")
def shown_case(api: httpx.Client, login: Login) -> dict[str, Any]:
    return file_routed(api, login, VILLAGE, claim_amount=2680, requests=["refund", "repair"], product="滚筒洗衣机")


def small_targets(page: Page) -> list[str]:
    """Visible buttons and links of the page's own content smaller than a fingertip."""
    return page.evaluate(
        """([min, TARGETS]) => [...document.querySelectorAll(TARGETS)]
            .filter((el) => el.offsetParent !== null && !el.closest('.el-table'))
            .map((el) => [el, el.getBoundingClientRect()])
            .filter(([, box]) => box.width > 0 && box.height < min)
            .map(([el, box]) => `${el.tagName} "${el.innerText.trim().slice(0, 20)}" ${Math.round(box.height)}px`)""",
        [MIN_TAP, TAP_TARGETS],
    )


def visit(page: Page, console_url: str, name: str, case: dict[str, Any]) -> None:
    route, marker = PAGES[name]
    page.goto(console_url + route.format(id=case["id"]))
    expect(page.locator(marker)).to_be_visible()
    page.wait_for_load_state("networkidle")


def test_every_page_fits_a_phone(phone: Page, console_url: str, shown_case: dict[str, Any]) -> None:
    phone.goto(console_url)
    assert_fits_the_phone(phone)
    screenshot(phone, "phone-login")
    log_in(phone, console_url, VILLAGE)
    for name in PAGES:
        visit(phone, console_url, name, shown_case)
        assert_fits_the_phone(phone)
        assert small_targets(phone) == [], name
        screenshot(phone, f"phone-{name}")
    # the menu folds away on a phone and opens with one tap
    phone.get_by_role("button", name="菜单").click()
    expect(phone.locator("#nav")).to_be_visible()
    screenshot(phone, "phone-menu")
    # what opens on a page fits too: the list's filters, an action's dialog
    visit(phone, console_url, "cases", shown_case)
    phone.get_by_role("button", name="筛选").click()
    expect(phone.locator("#case-filters")).to_be_visible()
    assert_fits_the_phone(phone)
    screenshot(phone, "phone-filters")
    visit(phone, console_url, "case", shown_case)
    phone.locator('#case-actions [data-action="refuse"]').click()
    expect(phone.locator(".form-dialog:visible")).to_be_visible()
    assert_fits_the_phone(phone)
    screenshot(phone, "phone-refuse-dialog")


def test_desk_screens(page: Page, console_url: str, shown_case: dict[str, Any]) -> None:
    page.goto(console_url)
    screenshot(page, "desk-login")
    log_in(page, console_url, VILLAGE)
    for name in PAGES:
        visit(page, console_url, name, shown_case)
        assert_fits_the_phone(page)  # no English codes on the desk either
        screenshot(page, f"desk-{name}")
    page.goto(console_url + f"#/cases/{shown_case['id']}")
    page.locator('#case-actions [data-action="refuse"]').click()
    expect(page.locator(".form-dialog:visible")).to_be_visible()
    screenshot(page, "desk-refuse-dialog")


def test_api_docs_load_nothing_from_elsewhere(page: Page, platform: Any) -> None:
    outside: list[str] = []

    def guard(route: Route) -> None:
        if urlsplit(route.request.url).hostname in ("127.0.0.1", None):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    page.goto(f"{platform.url}/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Consumer disputes platform")
    expect(page.locator(".swagger-ui .opblock-summary-path", has_text="/api/v1/complaints").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert outside == []
    assert page.evaluate("typeof SwaggerUIBundle") == "function"
