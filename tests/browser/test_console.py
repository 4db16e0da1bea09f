"""The staff console in a real browser against the running platform."""

from __future__ import annotations

import re
from contextlib import suppress
from typing import Any

import httpx
import pytest

from tests.browser.helpers import VILLAGE, Login, field, file_routed, open_case

with suppress(ImportError):
    from playwright.sync_api import Page, expect

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def village_case(api: httpx.Client, login: Login) -> dict[str, Any]:
    return file_routed(api, login, VILLAGE)


def test_root_redirects_to_the_console(api: httpx.Client, page: Page, platform: Any, console_url: str) -> None:
    response = api.get("/", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "/console/"
    page.goto(f"{platform.url}/")
    expect(page).to_have_url(re.compile(r"/console/#/login"))
    expect(page.locator("#login-view")).to_be_visible()
    expect(page.locator("#nav")).to_have_count(0)


def test_village_opens_its_case(page: Page, console_url: str, village_case: dict[str, Any]) -> None:
    open_case(page, console_url, VILLAGE, village_case)
    expect(page).to_have_url(re.compile(f"#/cases/{village_case['id']}$"))
    expect(field(page, "status")).to_have_text("已分派")
    expect(page.locator("#mediation-panel")).to_be_visible()
