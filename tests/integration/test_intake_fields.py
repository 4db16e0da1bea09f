"""Every field rule of a complaint through the gateway: a 422 naming the field, never a 500; and a
complaint with every field is stored and announced with its places."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from stdnum.cn import ric

from tests.conftest import PRIVACY_NOTICE_VERSION, complaint
from tests.integration.test_intake_channels import VILLAGE, fresh, fresh_business, fresh_phone, routed
from tests.integration.test_intake_decisions import tap

pytestmark = pytest.mark.integration


def person(**extra):
    return {"name": "赵六", "phone": fresh_phone(), **extra}


def id_number(birth: str = "19900101") -> str:
    base = f"330681{birth}123"
    return base + ric.calc_check_digit(base + "0")


def bad_check_digit() -> str:
    good = id_number()
    return good[:-1] + ("0" if good[-1] != "0" else "1")


RULES = [
    ("foreign phone", {"complainant": person(phone="+1 415 555 0100")}, "complainant.phone"),
    ("hotline number", {"complainant": person(phone="400-810-8888")}, "complainant.phone"),
    ("short landline", {"complainant": person(phone="0575-123")}, "complainant.phone"),
    ("ID check digit", {"complainant": person(id_number=bad_check_digit())}, "complainant.id_number"),
    ("ID birth date", {"complainant": person(id_number=id_number("19901341"))}, "complainant.id_number"),
    ("ID 15 digits", {"complainant": person(id_number="330681900101123")}, "complainant.id_number"),
    ("name too long", {"complainant": person(name="张" * 51)}, "complainant.name"),
    ("address too long", {"complainant": person(address="路" * 201)}, "complainant.address"),
    ("address control char", {"complainant": person(address="枫桥镇\x07一号")}, "complainant.address"),
    ("malformed email", {"complainant": person(email="not-an-address")}, "complainant.email"),
    ("consumer place unknown", {"complainant": person(division_code="330681109999")}, "complainant.division_code"),
    ("business name bidi", {"business": fresh_business(name="某店\u202e")}, "business.name"),
    ("credit code length", {"business": fresh_business(credit_code="91330681")}, "business.credit_code"),
    ("credit code letters", {"business": fresh_business(credit_code="91330681MA2B0C3DIO")}, "business.credit_code"),
    (
        "registered place unknown",
        {"business": fresh_business(registered_division_code="330681999999")},
        "business.registered_division_code",
    ),
    (
        "operating place not served",
        {"business": fresh_business(operating_division_code="110101001001")},
        "business.operating_division_code",
    ),
    (
        "operating place malformed",
        {"business": fresh_business(operating_division_code="3306")},
        "business.operating_division_code",
    ),
    ("platform shop without platform", {"business": fresh_business(platform_shop=True)}, "business.platform"),
    ("shop name off platform", {"business": fresh_business(shop_name="旗舰店")}, "business.shop_name"),
    ("summary too short", {"summary": "坏了"}, "summary"),
    ("summary too long", {"summary": "坏" * 2001}, "summary"),
    ("summary control char", {"summary": "电饭煲坏了\x00商家不退"}, "summary"),
    ("product too long", {"product": "锅" * 201}, "product"),
    ("request details too long", {"request_details": "退" * 501}, "request_details"),
    ("occurred in the future", {"occurred_on": "2099-01-01"}, "occurred_on"),
    ("occurred not a date", {"occurred_on": "last week"}, "occurred_on"),
    ("amount over the bound", {"claim_amount": 10000000.01}, "claim_amount"),
    ("amount with fen fractions", {"claim_amount": "399.999"}, "claim_amount"),
    (
        "too many requests",
        {"requests": ["refund", "exchange", "repair", "compensation", "apology", "refund"]},
        "requests",
    ),
    ("also_report not a bool", {"also_report": "maybe"}, "also_report"),
]


@pytest.mark.parametrize(("label", "overrides", "field"), RULES, ids=[r[0] for r in RULES])
def test_each_rule_is_a_422_naming_its_field(api, label, overrides, field):
    response = api.post("/api/v1/complaints", json=fresh(**overrides))
    assert response.status_code == 422, response.text
    fields = response.json()["fields"]
    assert field in [f["field"] for f in fields], fields
    assert all(f["message"] for f in fields)


def test_a_complete_complaint_is_stored_and_announced_with_its_places(api, login):
    body = complaint(
        complainant=person(id_number=id_number(), address="浙江省诸暨市枫桥镇枫源村1号", division_code=VILLAGE),
        business=fresh_business(
            division_code=None,
            registered_division_code="330681109",
            operating_division_code=VILLAGE,
            address="枫桥镇枫源村商业街5号",
            platform_shop=True,
            platform="某电商平台",
            shop_name="枫源数码专营店",
        ),
        product="电动车电池",
        occurred_on="2026-11-01",
        requests=["refund", "compensation"],
        request_details="退货退款并赔偿误工费",
        claim_amount="1299.50",
    )
    body["business"] = {k: v for k, v in body["business"].items() if v is not None}
    with tap("complaint.received.v1") as events:
        response = api.post("/api/v1/complaints", json=body)
        assert response.status_code == 201, response.text
    found = routed(api, login, response.json()["id"])
    assert found["business"]["platform"] == "某电商平台" and found["business"]["platform_shop"] is True
    consent = found["details"].pop("privacy_consent")
    assert found["details"] == {
        "product": "电动车电池",
        "occurred_on": "2026-11-01",
        "request_details": "退货退款并赔偿误工费",
    }
    assert consent["version"] == PRIVACY_NOTICE_VERSION
    assert found["claim_amount"] == "1299.50"
    assert found["complainant"]["id_number"] == body["complainant"]["id_number"]
    [event] = [e["data"] for e in events if e["data"]["complaint_id"] == found["id"]]
    assert event["business_division_code"] == VILLAGE  # the operating place wins
    assert event["business_registered_division_code"] == "330681109"
    assert event["business_operating_division_code"] == VILLAGE
    assert event["is_platform_shop"] is True and event["platform"] == "某电商平台"
    assert event["complainant_division_code"] == VILLAGE


def test_the_public_form_needs_the_privacy_consent_and_it_is_recorded(api, login):
    """The web form without consent: a 422 naming `privacy_consent`, nothing filed; with it, the
    version and the time are on the case, and the receipt names the acceptance deadline."""
    body = fresh()
    del body["privacy_consent"]
    refused = api.post("/api/v1/complaints", json=body)
    assert refused.status_code == 422, refused.text
    assert [f["field"] for f in refused.json()["fields"]] == ["privacy_consent"]
    assert api.get("/api/v1/complaints", params={"q": body["summary"]}, headers=login(VILLAGE)).json() == []
    bad = api.post("/api/v1/complaints", json={**body, "privacy_consent": {"version": ""}})
    assert bad.status_code == 422 and "privacy_consent" in bad.text

    before = datetime.now(UTC)
    filed = api.post("/api/v1/complaints", json={**body, "privacy_consent": {"version": PRIVACY_NOTICE_VERSION}})
    assert filed.status_code == 201, filed.text
    receipt = filed.json()
    found = routed(api, login, receipt["id"])
    consent = found["details"]["privacy_consent"]
    assert consent["version"] == PRIVACY_NOTICE_VERSION
    assert before <= datetime.fromisoformat(consent["at"]) <= datetime.now(UTC)
    # the receipt's acceptance deadline is the acceptance clock's: 7 working days on from receipt
    deadline = datetime.fromisoformat(receipt["acceptance_deadline"])
    assert timedelta(days=7) <= deadline - before <= timedelta(days=7 + 2 * 7)
    clock = next(c for c in found["clocks"] if c["kind"] == "acceptance")
    assert datetime.fromisoformat(clock["deadline"]) == deadline
    # staff filing a walk-in record the consent on paper: the field is not asked of them
    walk_in = {k: v for k, v in fresh(channel="walk_in").items() if k != "privacy_consent"}
    clerk = api.post("/api/v1/complaints", json=walk_in, headers=login(VILLAGE))
    assert clerk.status_code == 201, clerk.text


def test_registered_place_alone_is_the_business_place(api, login):
    with tap("complaint.received.v1") as events:
        business = fresh_business(division_code=None, registered_division_code=VILLAGE)
        business.pop("division_code")
        response = api.post("/api/v1/complaints", json=fresh(business=business))
    [event] = [e["data"] for e in events if e["data"]["complaint_id"] == response.json()["id"]]
    assert event["business_division_code"] == VILLAGE


def test_full_width_digits_and_spaces_are_normalized(api, login):
    phone = fresh_phone()
    shown = " ".join([phone[:3], phone[3:7], phone[7:]]).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    response = api.post("/api/v1/complaints", json=fresh(complainant={"name": "赵六", "phone": shown}))
    assert response.status_code == 201, response.text
    assert routed(api, login, response.json()["id"])["complainant"]["phone"] == phone


def test_reference_lists_are_public(api):
    categories = api.get("/api/v1/reference/categories").json()
    assert {"product_quality", "after_sales", "food_safety", "false_advertising"} <= {c["code"] for c in categories}
    grounds = api.get("/api/v1/reference/refusal-grounds").json()
    assert len(grounds) == 7 and all(g["other_routes_zh"] for g in grounds)
    assert api.get("/api/v1/reference/nonsense").status_code == 422
