"""Judicial confirmation (诉调对接) in the console: on an agreed mediation the village's staff press
申请司法确认, choose the city's court and send the application; the court answers with its API key;
the case detail then shows 法院已确认 with the ruling number, and the application opens like the
other documents. The steps up to the agreement are test_console_mediation's (through the API)."""

from __future__ import annotations

from contextlib import suppress

import httpx
import pytest

from tests.browser.helpers import CITY, VILLAGE, Login, choose, confirm, open_case
from tests.browser.test_console_mediation import (  # noqa: F401 (patient_expect: autouse)
    agreed_by_api,
    panel,
    patient_expect,
    screenshot_panel,
    take,
)
from tests.conftest import onboard_agency

with suppress(ImportError):
    from playwright.sync_api import Page, expect

pytestmark = pytest.mark.integration

COURT = f"{CITY}-court"


def test_an_agreement_goes_to_the_court_and_its_confirmation_shows(
    api: httpx.Client, page: Page, console_url: str, login: Login, db
) -> None:
    onboard_agency(db, COURT)
    receipt = agreed_by_api(api, login)
    open_case(page, console_url, VILLAGE, receipt)
    expect(panel(page).locator("#mediation-judicial-deadline")).to_contain_text("共同申请司法确认")

    dialog = take(page, "apply_judicial_confirmation")
    choose(page, dialog.locator('[data-field="court"]'), f"{CITY} court")
    dialog.locator("[data-submit]").click()
    confirm(page)
    expect(dialog).to_have_count(0)
    judicial = panel(page).locator("#mediation-judicial")
    expect(judicial).to_have_attribute("data-judicial", "applied")
    expect(judicial).to_contain_text("已申请司法确认，等待法院答复")
    expect(panel(page).locator('#mediation-actions [data-action="apply_judicial_confirmation"]')).to_have_count(0)
    expect(panel(page).locator('[data-document="judicial_application"]')).to_be_visible()

    key = api.post("/api/v1/api-keys", json={"tenant": COURT, "name": "法院系统"}, headers=login(CITY))
    assert key.status_code == 201, key.text
    answered = api.post(
        f"/api/v1/complaints/{receipt['id']}/mediation/judicial-confirmation/decision",
        json={"decision": "confirmed", "ruling_no": "（2026）浙0681民特9号"},
        headers={"X-API-Key": key.json()["key"]},
    )
    assert answered.status_code == 200, answered.text

    page.reload()
    expect(judicial).to_have_attribute("data-judicial", "confirmed")
    expect(judicial).to_contain_text("法院已确认")
    expect(judicial).to_contain_text("（2026）浙0681民特9号")
    expect(panel(page).locator("#mediation-history")).to_contain_text("法院答复司法确认")
    screenshot_panel(page, "console-judicial-confirmation")
