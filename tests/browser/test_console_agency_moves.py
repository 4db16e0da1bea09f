"""An agency's moves in the console (issue 18, 对接), in the browser only: the police station's
liaison signs in, acknowledges (签收) and answers (答复) one public-order case handed to it and hands
another back (退回); the village then reads the answer in the first case's history and works the
second again. The cases are filed and the station onboarded through the API (fixtures, not the
steps under test). Screenshots for docs/console.md."""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Iterator
from contextlib import suppress
from typing import Any

import pytest

from tests.browser.helpers import (
    CITY,
    TOWNSHIP,
    VILLAGE,
    act,
    assert_fits_the_phone,
    choose,
    confirm,
    dialog,
    log_in,
    open_case,
    screenshot,
)
from tests.conftest import complaint, wait_for

with suppress(ImportError):
    from playwright.sync_api import Page, expect

pytestmark = pytest.mark.integration

STATION = f"{TOWNSHIP}-police"
PASSWORD = "station-moves-pass-1"
ANSWER = "已出警到场调解，经营者当面道歉并退还货款，双方和解"
REASON = "经核实属商品质量纠纷，不属治安案件，请村调处站办理"
_serial = itertools.count(1)


@pytest.fixture(autouse=True)
def patient_expect() -> None:
    expect.set_options(timeout=20_000)


@pytest.fixture
def station(api, login, db) -> Iterator[str]:
    """The township's police station, onboarded by the city, and a liaison's account; gone after."""
    from sqlalchemy.orm import Session

    from gateway.auth import hash_password
    from gateway.models import User

    onboarded = api.post(
        "/api/v1/tenants",
        json={"code": TOWNSHIP, "kind": "agency", "agency_type": "police", "name": "枫桥派出所"},
        headers=login(CITY),
    )
    assert onboarded.status_code in (201, 409), onboarded.text
    username = f"fq.liaison.{uuid.uuid4().hex[:6]}"
    with Session(db) as session, session.begin():
        password_hash = hash_password(PASSWORD)
        session.add(User(username=username, password_hash=password_hash, tenant_code=STATION, roles=["agency_liaison"]))
    yield username
    api.delete(f"/api/v1/tenants/{STATION}", headers=login(CITY))


def handed_to_the_station(api, login) -> dict[str, Any]:
    """A public-order complaint at the village, handed to the station; its receipt."""
    serial = next(_serial)
    body = complaint(
        complainant={"name": "张三", "phone": f"1391109{serial:04d}"},  # each its own complainant: no retry
        category="public_order",
        claim_amount=150.0,
        summary=f"在店内与店主争执，店主推搡本人并扣下手机，要求处理（第{serial}次登记）",
    )
    response = api.post("/api/v1/complaints", json=body)
    assert response.status_code == 201, response.text
    receipt = response.json()

    def pending() -> bool:
        """Routing has the handover pending and intake, whose list the station's page reads, knows."""
        routing = api.get(f"/api/v1/complaints/{receipt['id']}/routing", headers=login(VILLAGE))
        case = api.get(f"/api/v1/complaints/{receipt['id']}", headers=login(VILLAGE))
        return (
            routing.status_code == 200
            and routing.json()["agency"] == {"tenant": STATION, "state": "pending"}
            and case.status_code == 200
            and case.json()["agency"] == STATION
        )

    wait_for(pending, timeout=20)
    return receipt


def open_from_the_agency_list(page: Page, console_url: str, tracking_no: str) -> None:
    page.goto(f"{console_url}#/agency")
    page.locator("#agency-cases .agency-case", has_text=tracking_no).click()
    expect(page.locator("#detail-tracking")).to_have_text(tracking_no)


def test_the_station_answers_one_case_and_hands_another_back(
    page: Page, phone: Page, console_url: str, api, login, station: str
) -> None:
    answered, handed_back = handed_to_the_station(api, login), handed_to_the_station(api, login)

    log_in(page, console_url, station, PASSWORD, to="/agency")
    open_from_the_agency_list(page, console_url, answered["tracking_no"])
    act(page, "handover_acknowledge")
    confirm(page)
    act(page, "agency_answer")
    form = dialog(page)
    choose(page, form.locator(".el-select"), "已调解化解")
    form.locator("textarea").fill(ANSWER)
    screenshot(page, "desk-agency-answer")
    form.get_by_role("button", name="答复").click()
    confirm(page)
    expect(form).to_have_count(0)
    history = page.locator("#history")
    expect(history).to_contain_text("对接部门已签收")
    expect(history).to_contain_text("对接部门已答复")
    expect(page.locator('#case-actions [data-action="agency_answer"]')).to_have_count(0)

    open_from_the_agency_list(page, console_url, handed_back["tracking_no"])
    act(page, "agency_hand_back")
    form = dialog(page)
    form.locator("textarea").fill(REASON)
    form.get_by_role("button", name="退回").click()
    confirm(page)
    expect(page).to_have_url(re.compile(r"#/agency$"))

    # the station's list: the answered case with its answer; the one handed back is gone
    page.locator("#agency-reload").click()
    card = page.locator(".agency-case", has_text=answered["tracking_no"])
    expect(card.locator(".agency-handover")).to_have_text("已答复")
    expect(card.locator(".agency-answer")).to_contain_text("已调解化解。" + ANSWER)
    expect(card.locator(".agency-unit")).not_to_contain_text(VILLAGE)  # the unit by name
    expect(page.locator(".agency-case", has_text=handed_back["tracking_no"])).to_have_count(0)
    screenshot(page, "desk-agency-moves")

    # the village reads the answer, and works the case handed back again
    village = page.context.new_page()
    open_case(village, console_url, VILLAGE, answered)
    village_history = village.locator("#history")
    expect(village_history).to_contain_text("对接部门已答复")
    expect(village_history).to_contain_text("结果：已调解化解")
    expect(village_history).to_contain_text(ANSWER)
    village_history.get_by_text("对接部门已答复").scroll_into_view_if_needed()
    screenshot(village, "desk-agency-answer-history")
    open_case(village, console_url, VILLAGE, handed_back)
    expect(village.locator("#history")).to_contain_text("对接部门退回，由本单位继续办理")
    expect(village.locator("#history")).to_contain_text(REASON)
    expect(village.locator('#case-actions [data-action="escalate"]')).to_be_visible()

    log_in(phone, console_url, station, PASSWORD, to="/agency")
    expect(phone.locator(".agency-case", has_text=answered["tracking_no"])).to_be_visible()
    assert_fits_the_phone(phone)
    screenshot(phone, "phone-agency-moves")
