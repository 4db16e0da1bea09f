"""Done-when 4 of issue 19 in chromium on a 390x844 phone: the city's admin turns 消费投诉信息公示 on
in the console's 单位设置 (a minimum of three accepted complaints); /disclosure then lists a business
with three accepted complaints with the figures reporting gives, counts none of its refused ones,
leaves out a business with two, and shows no person's name or phone. The complaints are filed and
decided through the API: they are the data, not the step under test."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import suppress
from typing import Any

import httpx
import pytest

from gateway.routes.disclosure import CACHE_SECONDS
from tests.browser.helpers import (
    CITY,
    VILLAGE,
    Login,
    assert_fits_the_phone,
    file_routed,
    screenshot,
    switch_on_in_settings,
)
from tests.browser.test_portal import assert_chinese, assert_tap_targets
from tests.conftest import credit_code, wait_for

with suppress(ImportError):
    from playwright.sync_api import Page, expect

# a phone number anywhere in the text, not inside a credit code
PHONE_NUMBER = re.compile(r"(?<![0-9A-Z])1\d{10}(?![0-9A-Z])")


@pytest.fixture
def published_in_the_console(page: Page, platform: Any, api: httpx.Client, login: Login) -> Iterator[None]:
    """The city's admin publishes, from three accepted complaints; unpublished afterwards."""
    before = api.get(f"/api/v1/tenants/{CITY}", headers=login(CITY)).json()["settings"]
    switch_on_in_settings(
        page, f"{platform.url}/console/", CITY, ("消费投诉信息公示", "disclosure-enabled"), ("disclosure-minimum", "3")
    )
    # only what changed became the city's own: the time targets and holidays stay as they were
    after = api.get(f"/api/v1/tenants/{CITY}", headers=login(CITY)).json()["settings"]
    assert {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)} <= {"disclosure"}
    yield
    reset = api.patch(
        f"/api/v1/tenants/{CITY}/settings", json={"settle_first": None, "disclosure": None}, headers=login(CITY)
    )
    assert reset.status_code == 200, reset.text


def file_and_decide(api: httpx.Client, login: Login, business: dict[str, str], category: str, accept: bool) -> str:
    """A complaint against `business` by a person of its own, accepted or refused by the village;
    the complainant's phone."""
    phone = "1370137" + f"{secrets.randbelow(10**4):04d}"
    receipt = file_routed(
        api,
        login,
        VILLAGE,
        complainant={"name": "公示测试人", "phone": phone},
        business={**business, "division_code": VILLAGE},
        category=category,
    )
    if accept:
        decided = api.post(f"/api/v1/complaints/{receipt['id']}/accept", headers=login(VILLAGE))
    else:
        refusal = {"ground": "not_consumer_dispute", "reason": "非生活消费"}
        decided = api.post(f"/api/v1/complaints/{receipt['id']}/refuse", json=refusal, headers=login(VILLAGE))
    assert decided.status_code == 200, decided.text
    return phone


def test_disclosure_lists_a_business_with_reportings_figures_and_no_personal_data(
    published_in_the_console: None, phone: Page, platform: Any, api: httpx.Client, login: Login
) -> None:
    listed = {"name": "公示浏览器测试电器行", "credit_code": credit_code(secrets.randbelow(90000) + 10000)}
    under = {"name": "公示门槛以下小店", "credit_code": credit_code(secrets.randbelow(90000) + 10000)}
    accepted = ("product_quality", "product_quality", "after_sales")
    phones = [file_and_decide(api, login, listed, category, True) for category in accepted]
    phones.append(file_and_decide(api, login, listed, "price", False))  # refused: never counted
    phones += [file_and_decide(api, login, under, "product_quality", True) for _ in range(2)]

    # reporting's figures, as the public API gives them (events are folded in, then cached a while)
    def figures() -> dict[str, Any] | None:
        answer = api.get(f"/api/v1/disclosure/businesses/{listed['credit_code']}", params={"unit": CITY})
        shown = answer.json().get("business") if answer.status_code == 200 else None
        return shown if shown and shown["accepted"] == 3 else None

    expected = wait_for(figures, timeout=CACHE_SECONDS + 20)
    categories = {c["code"]: c["name_zh"] for c in api.get("/api/v1/reference/categories").json()}
    assert [c["category"] for c in expected["top_categories"]] == ["product_quality", "after_sales"]

    # the city's own link (the area picker lists every served city and township: 诸暨市 may be
    # below its visible rows when other tests onboarded more)
    phone.goto(f"{platform.url}/disclosure?unit={CITY}")
    place = phone.locator(".van-cell", has_text="地区")
    expect(place.locator(".van-cell__value")).to_have_text("诸暨市")
    row = phone.locator(".business-row", has_text=listed["name"])
    expect(row).to_contain_text(listed["credit_code"])
    row.locator(".van-collapse-item__title").click()
    cell = lambda test: row.locator(f"[data-test={test}] .van-cell__value")  # noqa: E731
    expect(cell("accepted")).to_have_text("3")  # the refused one is not counted
    expect(cell("settled-or-agreed")).to_have_text(str(expected["settled_or_agreed"]))
    lane = expected["settle_first"]
    expect(cell("settle-first")).to_have_text(
        f"{lane['answered_on_time']} / {lane['cases']} 件" if lane["cases"] else "—"
    )
    days = expected["average_days_to_close"]
    expect(cell("average-days")).to_have_text("—" if days is None else f"{days:g}")
    expect(row.locator("[data-test=top-categories]")).to_contain_text(
        f"{categories['product_quality']} 2 件、{categories['after_sales']} 1 件"
    )
    expect(row.locator("[data-test=top-categories]")).not_to_contain_text(categories["price"])

    text = phone.locator("body").inner_text()
    assert under["name"] not in text and under["credit_code"] not in text  # under the minimum
    assert "公示测试人" not in text and not PHONE_NUMBER.search(text)
    assert not any(p in text for p in phones)
    assert_fits_the_phone(phone)
    assert_tap_targets(phone)
    assert_chinese(phone)
    screenshot(phone, "portal-disclosure-business")
