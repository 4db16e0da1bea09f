"""Administration and agencies in the console (issue 18, done-when 4 and 5), in the browser: a city
admin onboards a police station, issues its API key and its staff account; the station's system
files a handover with the key (an API call: that is how a station files) and the station's staff,
signed in, see the case's responsible unit and status change once the village accepts it in the
console. A unit admin creates a mediator, who signs in and joins the roster for automatic picks.
Screenshots of each screen at 1366x768 and 390x844 for docs/console.md."""

from __future__ import annotations

import re
import uuid
from contextlib import suppress

import pytest

from tests.browser.helpers import (
    CITY,
    DESKTOP,
    TOWNSHIP,
    VILLAGE,
    act,
    assert_fits_the_phone,
    choose,
    confirm,
    file_routed,
    log_in,
    open_case,
    screenshot,
)
from tests.conftest import complaint, wait_for

with suppress(ImportError):
    from playwright.sync_api import Page, expect

pytestmark = pytest.mark.integration

STATION = f"{TOWNSHIP}-police"
PASSWORD = "station-console-pass-1"


@pytest.fixture(autouse=True)
def patient_expect() -> None:
    # creating an account hashes its password (argon2) on a machine the platform shares
    expect.set_options(timeout=20_000)


def admin_tab(page: Page, console_url: str, tab: str) -> None:
    page.goto(f"{console_url}#/admin")
    page.locator("#admin-tabs .el-tabs__item", has_text=tab).click()


def test_city_admin_onboards_a_station_that_follows_its_handover(page: Page, phone: Page, console_url, api, login):
    page.set_viewport_size(DESKTOP)
    log_in(page, console_url, CITY)
    admin_tab(page, console_url, "有关部门")
    page.locator("#agency-unit").fill(TOWNSHIP)
    page.locator("#agency-name").fill("枫桥派出所")
    page.locator("#agency-onboard").click()
    row = page.locator("#agency-table .el-table__row", has_text="枫桥派出所")
    expect(row).to_be_visible()
    try:
        row.locator(".issue-key").click()
        expect(page.locator("#issued-key")).to_contain_text("dpk_")
        expect(page.locator("#key-table")).to_contain_text(STATION)
        key = page.locator("#issued-key").inner_text().strip()
        screenshot(page, "desk-admin-agencies")

        # the station's staff account, made by the city admin
        station_user = f"fq.police.{uuid.uuid4().hex[:6]}"
        admin_tab(page, console_url, "账号与角色")
        page.locator("#user-new").click()
        page.locator("#user-username").fill(station_user)
        page.locator("#user-password").fill(PASSWORD)
        page.locator("#user-tenant").fill(STATION)
        page.locator("#user-roles").get_by_text("部门联络员").click()
        page.locator("#user-create").click()
        expect(page.locator("#user-table .el-table__row", has_text=station_user)).to_be_visible()
        screenshot(page, "desk-admin-users")
        admin_tab(page, console_url, "操作记录")
        expect(page.locator("#audit-table")).to_contain_text("枫桥派出所")  # routing's trail: onboarded
        expect(page.locator("#audit-table .el-table__row", has_text=station_user)).to_contain_text("新建账号")
        screenshot(page, "desk-admin-audit")

        # the station's system hands a case over with its key (first receiver: its township)
        filed = api.post(
            "/api/v1/complaints", json=complaint(channel="agency", claim_amount=200.0), headers={"X-API-Key": key}
        )
        assert filed.status_code == 201, filed.text
        receipt = filed.json()

        def routed():
            case = api.get(f"/api/v1/complaints/{receipt['id']}", headers={"X-API-Key": key})
            return case.status_code == 200 and case.json()["responsible_unit"] and case.json()

        before = wait_for(routed, timeout=20)

        station = page.context.new_page()
        log_in(station, console_url, station_user, PASSWORD)
        station.goto(f"{console_url}#/agency")
        station.locator(".el-tabs__item", has_text="本部门移交").click()
        card = station.locator(".agency-case", has_text=receipt["tracking_no"])
        expect(card.locator(".agency-unit")).to_contain_text(before["responsible_unit"]["name"])
        screenshot(station, "desk-agency-cases")

        # the village takes the case over and accepts it, in the console
        village = page.context.new_page()
        open_case(village, console_url, VILLAGE, receipt)
        if village.locator('#case-actions [data-action="handover_accept"]').count():
            act(village, "handover_accept")
            confirm(village)
        expect(village.locator('#case-actions [data-action="accept"]')).to_be_visible(timeout=15000)
        act(village, "accept")
        confirm(village)

        station.locator("#agency-reload").click()
        station.locator(".el-tabs__item", has_text="本部门移交").click()
        expect(card.locator(".agency-status")).to_have_text("已受理", timeout=15000)
        village_name = api.get(f"/api/v1/tenants/{VILLAGE}", headers=login(VILLAGE)).json()["name"]
        expect(card.locator(".agency-unit")).to_have_text(village_name)  # by name, no division code

        phone_station = phone
        log_in(phone_station, console_url, station_user, PASSWORD)
        phone_station.goto(f"{console_url}#/agency")
        phone_station.locator(".el-tabs__item", has_text="本部门移交").click()
        assert_fits_the_phone(phone_station)
        screenshot(phone_station, "phone-agency-cases")
    finally:
        api.delete(f"/api/v1/tenants/{STATION}", headers=login(CITY))


def test_unit_admin_creates_a_mediator_who_joins_the_roster(page: Page, phone: Page, console_url, api, login):
    page.set_viewport_size(DESKTOP)
    mediator = f"fy.mediator.{uuid.uuid4().hex[:6]}"
    log_in(page, console_url, VILLAGE)
    admin_tab(page, console_url, "账号与角色")
    page.locator("#user-new").click()
    page.locator("#user-username").fill(mediator)
    page.locator("#user-password").fill(PASSWORD)
    page.locator("#user-roles").get_by_text("调解员").click()
    page.locator("#user-create").click()
    expect(page.locator("#user-table .el-table__row", has_text=mediator)).to_be_visible()

    # the mediator signs in
    other = page.context.new_page()
    log_in(other, console_url, mediator, PASSWORD)
    expect(other.locator("#who")).to_contain_text(mediator)
    other.close()

    admin_tab(page, console_url, "调解员名册")
    page.locator("#roster-username").fill(mediator)
    page.locator("#roster-add").click()
    member = page.locator("#roster-table .el-table__row", has_text=mediator)
    expect(member).to_contain_text("参与")
    screenshot(page, "desk-admin-roster")
    roster = api.get("/api/v1/mediators", headers=login(VILLAGE)).json()
    assert {"username": mediator, "active": True} in [{k: m[k] for k in ("username", "active")} for m in roster]
    # off the roster again, so later tests' automatic picks are not drawn to an idle newcomer
    off = api.put(f"/api/v1/mediators/{mediator}", json={"unit": VILLAGE, "active": False}, headers=login(VILLAGE))
    assert off.status_code == 200, off.text

    admin_tab(page, console_url, "单位设置")
    expect(page.locator("#target-village")).to_be_visible()
    screenshot(page, "desk-admin-settings")

    log_in(phone, console_url, VILLAGE)
    for tab, name in (
        ("账号与角色", "users"),
        ("调解员名册", "roster"),
        ("单位设置", "settings"),
        ("操作记录", "audit"),
    ):
        admin_tab(phone, console_url, tab)
        assert_fits_the_phone(phone)
        screenshot(phone, f"phone-admin-{name}")


def test_platform_admin_enters_a_year_of_the_official_calendar(page: Page, phone: Page, console_url, api, db):
    """The platform admin (made from the command line in real life; here written into the identity
    schema) enters next year's holidays in the console."""
    from sqlalchemy.orm import Session

    from gateway.auth import hash_password
    from gateway.models import User

    username = f"platform.{uuid.uuid4().hex[:6]}"
    with Session(db) as session, session.begin():
        session.add(
            User(username=username, password_hash=hash_password(PASSWORD), tenant_code=CITY, roles=["platform_admin"])
        )
    year = "2027"
    log_in(page, console_url, username, PASSWORD)
    admin_tab(page, console_url, "法定节假日")
    page.locator("#calendar-year").fill(year)
    page.locator("#calendar-load").click()
    expect(page.locator("#calendar-saved")).to_contain_text("尚未录入")
    page.locator("#calendar-holidays").fill("2027-01-01\n2027-10-01")
    page.locator("#calendar-makeup").fill("2027-09-26")
    page.locator("#calendar-source").fill("国办发明电〔2026〕测试号")
    page.locator("#calendar-save").click()
    expect(page.locator("#calendar-saved")).to_contain_text("已保存")
    bearer = api.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD}).json()["access_token"]
    entered = api.get(f"/api/v1/calendar/official/{year}", headers={"Authorization": f"Bearer {bearer}"}).json()
    assert entered["statutory_holidays"] == ["2027-01-01", "2027-10-01"]
    assert entered["makeup_workdays"] == ["2027-09-26"]
    screenshot(page, "desk-admin-calendar")
    log_in(phone, console_url, username, PASSWORD)
    admin_tab(phone, console_url, "法定节假日")
    assert_fits_the_phone(phone)
    screenshot(phone, "phone-admin-calendar")
    withdrawn = api.delete(f"/api/v1/calendar/official/{year}", headers={"Authorization": f"Bearer {bearer}"})
    assert withdrawn.status_code in (200, 204), withdrawn.text


def test_unit_admin_edits_a_message_template_used_by_the_next_message(page: Page, phone: Page, console_url, api, login):
    page.set_viewport_size(DESKTOP)
    mark = uuid.uuid4().hex[:6]
    log_in(page, console_url, VILLAGE)
    admin_tab(page, console_url, "消息模板")
    choose(page, page.locator("#template-select"), "新案件提醒")
    expect(page.locator('[data-placeholder="tracking_no"]')).to_be_visible()
    expect(page.locator("#template-text")).to_have_value(re.compile("请在7个工作日内"))

    # a misspelt placeholder: the API's objection under the text, nothing saved
    page.locator("#template-text").fill("新案件{{ trackin_no }}")
    page.locator("#template-preview").click()
    text_item = page.locator(".el-form-item", has=page.locator("#template-text"))
    expect(text_item.locator(".el-form-item__error")).to_contain_text("不是本模板可用的占位符")

    # the preview with sample values, then saved: what the API returns and what the next case's message says
    own = f"新案件{{{{ tracking_no }}}}已到本村（模板{mark}），请尽快决定是否受理。"
    page.locator("#template-text").fill(own)
    page.locator("#template-preview").click()
    expect(page.locator("[data-preview-text]")).to_have_text(
        f"新案件TS20261122ABC234已到本村（模板{mark}），请尽快决定是否受理。"
    )
    page.locator("#template-save").click()
    expect(page.locator("#template-source")).to_have_text("本单位的文本")
    screenshot(page, "desk-admin-templates")
    village = login(VILLAGE)
    try:
        templates = api.get("/api/v1/notification/templates", headers=village).json()
        [saved] = [t for t in templates if t["name"] == "case_assigned_unit"]
        assert (saved["text"], saved["source"]) == (own, VILLAGE)
        receipt = file_routed(api, login, VILLAGE)

        def told() -> bool:
            items = api.get("/api/v1/inbox", params={"limit": 100}, headers=village).json()["items"]
            expected = f"新案件{receipt['tracking_no']}已到本村（模板{mark}），请尽快决定是否受理。"
            return any(i.get("body") == expected for i in items)

        wait_for(told, timeout=30)

        log_in(phone, console_url, VILLAGE)
        admin_tab(phone, console_url, "消息模板")
        expect(phone.locator("#template-select")).to_be_visible()
        assert_fits_the_phone(phone)
        screenshot(phone, "phone-admin-templates")
    finally:
        # back to the default, so later tests' messages read as they expect
        page.locator("#template-restore").click()
        expect(page.locator("#template-source")).not_to_have_text("本单位的文本")
