"""Early warning, the collective and cross-area rules and platform sellers, through the gateway.
Everything happens in townships of 靖江市 no other module uses (斜桥镇 321282103, 西来镇 321282104);
the settings changed here are put back."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from tests.conftest import complaint, credit_code, wait_for

pytestmark = pytest.mark.integration

CITY = "321282"
WARN_TOWNSHIP = "321282103"  # 斜桥镇
WARN_VILLAGES = ("321282103003", "321282103004", "321282103005")
COLLECTIVE_TOWNSHIP = "321282104"  # 西来镇
COLLECTIVE_VILLAGE = "321282104201"
OTHER_TOWNSHIP = "321282101"

_serial = itertools.count(8000)


@pytest.fixture
def settings(api, login) -> Iterator[callable]:
    touched: list[str] = []

    def patch(code: str, overrides: dict) -> None:
        response = api.patch(f"/api/v1/tenants/{code}/settings", json=overrides, headers=login(code))
        assert response.status_code == 200, response.text
        touched.append(code)

    yield patch
    for code in touched:
        current = api.get(f"/api/v1/tenants/{code}", headers=login(code)).json().get("settings", {})
        if current:
            api.patch(f"/api/v1/tenants/{code}/settings", json=dict.fromkeys(current), headers=login(code))


def submit(api, place: str, *, seed: int | None = None, category: str = "price", **business) -> str:
    serial = next(_serial)
    body = complaint(
        complainant={"name": "赵六", "phone": f"137{serial:08d}", **business.pop("complainant", {})},
        business={
            "name": f"预警测试商店{seed or serial}",
            "credit_code": credit_code(seed or serial),
            "division_code": place,
            **business,
        },
        incident_division_code=place,
        category=category,
        summary=f"预警测试第{serial}号：购买的商品存在问题，商家拒绝处理",
    )
    response = api.post("/api/v1/complaints", json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def routed(api, login, cid: str, unit: str) -> dict:
    def ready():
        response = api.get(f"/api/v1/complaints/{cid}/routing", headers=login(unit))
        return response.json() if response.status_code == 200 else None

    return wait_for(ready, timeout=20)


def warnings(api, login, unit: str) -> list[dict]:
    response = api.get("/api/v1/warnings", headers=login(unit))
    assert response.status_code == 200, response.text
    return response.json()


def test_category_and_business_warnings_once_per_window(api, login, settings):
    settings(WARN_TOWNSHIP, {"early_warning": {"category_count": 3, "business_count": 2}})
    ids = [submit(api, village, category="measurement") for village in WARN_VILLAGES]
    for cid, village in zip(ids, WARN_VILLAGES, strict=True):
        routed(api, login, cid, village)

    def category_warning():
        return [w for w in warnings(api, login, WARN_TOWNSHIP) if w["kind"] == "category" and w["key"] == "measurement"]

    found = wait_for(category_warning, timeout=20)
    assert len(found) == 1 and found[0]["count"] == 3 and found[0]["threshold"] == 3
    assert set(found[0]["complaint_ids"]) == set(ids)
    # the city sees it too; a village and another township do not
    assert any(w["id"] == found[0]["id"] for w in warnings(api, login, CITY))
    assert warnings(api, login, WARN_VILLAGES[0]) == []
    assert all(w["township_code"] != WARN_TOWNSHIP for w in warnings(api, login, OTHER_TOWNSHIP))
    # a fourth in the same window raises nothing new
    routed(api, login, submit(api, WARN_VILLAGES[0], category="measurement"), WARN_VILLAGES[0])
    assert len(category_warning()) == 1

    # two complainants against one business (its credit code)
    seed = 8900
    for village in WARN_VILLAGES[:2]:
        routed(api, login, submit(api, village, seed=seed, category="contract"), village)
    business = wait_for(
        lambda: [w for w in warnings(api, login, CITY) if w["kind"] == "business" and w["key"] == credit_code(seed)], 20
    )
    assert len(business) == 1 and business[0]["township_code"] == WARN_TOWNSHIP


def test_collective_dispute_starts_at_the_township(api, login, settings):
    settings(COLLECTIVE_TOWNSHIP, {"collective": {"complainants": 2}})
    seed = 8950
    first = routed(api, login, submit(api, COLLECTIVE_VILLAGE, seed=seed), COLLECTIVE_VILLAGE)
    assert first["responsible_unit"]["code"] == COLLECTIVE_VILLAGE
    second = routed(api, login, submit(api, COLLECTIVE_VILLAGE, seed=seed), COLLECTIVE_TOWNSHIP)
    assert second["responsible_unit"]["code"] == COLLECTIVE_TOWNSHIP and second["rule"] == "tier.collective"
    assert second["inputs"]["tier_rules"][0]["complainants"] == 2


def test_consumer_in_another_township_goes_to_the_common_unit(api, login):
    cid = submit(api, COLLECTIVE_VILLAGE, complainant={"division_code": "321282101001"})
    view = routed(api, login, cid, CITY)
    assert view["responsible_unit"]["code"] == CITY and view["rule"] == "tier.cross_area"


def test_platform_seller_goes_where_the_platform_shows_it(api, login):
    cid = submit(api, "321282103003", platform_shop=True, platform="某电商平台", operating_division_code="321282104201")
    view = routed(api, login, cid, COLLECTIVE_VILLAGE)
    assert view["rule"] == "territory.platform" and view["inputs"]["place_source"] == "platform_shown"
    assert view["responsible_unit"]["code"] == COLLECTIVE_VILLAGE
