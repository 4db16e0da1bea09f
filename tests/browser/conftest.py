"""Playwright fixtures for the web console's browser tests, on the system chromium, against the
console built into web/console/dist (`make console`; `make test` builds it first).

Chromium comes with Debian's chromium package (.ci/run installs it) and Playwright with
requirements-dev.txt; Playwright's own browser downloads are not used. Without either the tests are
skipped on a developer's machine, and fail in CI (`CI` set), where a skipped test would pass
unnoticed."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
CONSOLE_BUILD = Path(__file__).resolve().parents[2] / "web" / "console" / "dist" / "index.html"


def missing_tools() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed (pip install -r requirements-dev.txt)"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    if not CONSOLE_BUILD.exists():
        return f"the console is not built ({CONSOLE_BUILD} is missing): run make console"
    return None


@pytest.fixture(scope="session", autouse=True)
def browser_tools() -> None:
    """Skip (or fail in CI) before the platform is started for nothing."""
    missing = missing_tools()
    if missing is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run in CI: {missing} (see .ci/run)")
    pytest.skip(missing)


# per module, not per session: Playwright's sync API keeps an asyncio loop running in this thread
# while it is open, and later tests that call asyncio.run() (the gateway's RPC client, the overload
# test) cannot while it does
@pytest.fixture(scope="module")
def browser(browser_tools: None) -> Iterator[Browser]:
    from playwright.sync_api import expect, sync_playwright

    # assertions wait as long as actions do: on a loaded two-core machine a login (argon2) or a
    # page's first API answers can take longer than Playwright's 5 s default for `expect`
    expect.set_options(timeout=15_000)

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context per test, desk-sized: its own sessionStorage, so nobody is logged in."""
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1366, "height": 768})
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    """A fresh context on a 390x844 phone screen, touch and all."""
    context = browser.new_context(
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@pytest.fixture(scope="session")
def console_url(platform: Any) -> str:
    return f"{platform.url}/console/"
