"""Duplicates (Art 35), new facts, the Art 9 split, and the Art 17 abuse flags, through the gateway."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from services.intake import duplicates
from tests.integration.test_intake_channels import (
    VILLAGE,
    case,
    file_routed,
    fresh,
    fresh_business,
    fresh_phone,
    routed,
)

pytestmark = pytest.mark.integration


def post(api, body, headers=None):
    response = api.post("/api/v1/complaints", json=body, headers=headers or {})
    assert response.status_code == 201, response.text
    return response.json()


def assigned(db, complaint_id: str) -> bool:
    with db.connect() as conn:
        return bool(
            conn.scalar(
                text("SELECT count(*) FROM intake.history WHERE complaint_id = :id AND step = 'routed'"),
                {"id": complaint_id},
            )
        )


# --- duplicates -------------------------------------------------------------------------------------


def test_the_same_facts_again_are_linked_to_the_first_and_not_routed(api, login, db):
    body = fresh()
    first = file_routed(api, login, body)
    # filed again by another channel, with a little different punctuation and spacing
    again = dict(body, channel="hotline", summary=body["summary"].replace("，", ", ") + "。")
    receipt = post(api, again, login(VILLAGE))
    assert receipt["status"] == "duplicate"
    assert receipt["duplicate_of"] == first["tracking_no"]
    time.sleep(2)  # give routing a chance to (wrongly) act
    assert not assigned(db, receipt["id"])
    seen = case(api, login, receipt["id"])  # it follows the first case's unit
    assert seen["duplicate_of"] == first["id"] and seen["status"] == "duplicate"
    assert seen["clocks"] == []
    assert "duplicate_filed" in [h["step"] for h in case(api, login, first["id"])["history"]]
    # a duplicate is not decided; the first case is
    refused = api.post(f"/api/v1/complaints/{receipt['id']}/accept", headers=login(VILLAGE))
    assert refused.status_code == 409 and "duplicate" in refused.json()["message"]


def test_a_duplicate_of_a_duplicate_points_to_the_first(api, login):
    body = fresh()
    first = file_routed(api, login, body)
    # filed again by a clerk, on the phone and then in person (the same web filing again within
    # minutes would be a retry, answered with the first: test_overload.py)
    second = post(api, dict(body, channel="hotline"), login(VILLAGE))
    third = post(api, dict(body, channel="walk_in"), login(VILLAGE))
    assert second["status"] == third["status"] == "duplicate"
    assert third["duplicate_of"] == first["tracking_no"]


@pytest.mark.parametrize(
    ("change", "what"),
    [
        ({"claim_amount": 1299.0}, "claim amount"),
        ({"summary_suffix": "，2026年11月3日再次联系商家被拒"}, "new figures"),
        ({"occurred_on": "2026-10-02"}, "incident day"),
    ],
)
def test_new_facts_open_a_new_case_linked_to_the_first(api, login, change, what):
    body = fresh(occurred_on="2026-10-01")
    first = file_routed(api, login, body)
    again = dict(body)
    if "summary_suffix" in change:
        again["summary"] = body["summary"] + change["summary_suffix"]
    else:
        again.update(change)
    receipt = post(api, again)
    assert receipt["status"] == "received" and "duplicate_of" not in receipt
    second = routed(api, login, receipt["id"])
    assert second["related_to"] == first["id"]
    [step] = [h for h in second["history"] if h["step"] == "new_facts"]
    assert what in step["detail"]["new_facts"]
    assert "new_facts_filed" in [h["step"] for h in case(api, login, first["id"])["history"]]


def test_another_business_or_another_story_is_another_case(api, login):
    body = fresh()
    post(api, body)
    other_business = post(api, dict(body, business=fresh_business()))
    other_story = post(api, dict(body, summary="外卖送来的饭菜里有异物，店家拒绝退款并辱骂顾客"))
    assert other_business["status"] == other_story["status"] == "received"


def test_same_name_without_credit_code_counts_as_the_same_business(api, login):
    body = fresh(business={"name": "枫桥 水果店", "division_code": VILLAGE})
    post(api, body)
    again = post(
        api, dict(body, channel="hotline", business={"name": "枫桥水果店", "division_code": VILLAGE}), login(VILLAGE)
    )
    assert again["status"] == "duplicate"


# --- Art 9 split ----------------------------------------------------------------------------------------


def test_a_complaint_that_is_also_a_report_becomes_two_linked_records(api, login):
    body = fresh(also_report=True, report_text="该店长期销售无厂名厂址的电池，涉嫌违法经营")
    receipt = post(api, body)
    report = receipt["report"]
    assert report["tracking_no"] != receipt["tracking_no"]
    complaint_view = routed(api, login, receipt["id"])
    assert complaint_view["linked"] == report["id"]
    assert "split" in [h["step"] for h in complaint_view["history"]]
    report_view = routed(api, login, report["id"])  # follows the complaint's unit
    assert report_view["kind"] == "report" and report_view["status"] == "report_received"
    assert report_view["linked"] == receipt["id"]
    assert report_view["summary"] == body["report_text"]
    assert report_view["clocks"] == []
    assert api.post(f"/api/v1/complaints/{report['id']}/accept", headers=login(VILLAGE)).status_code == 409


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"also_report": True}, "report_text"),
        ({"report_text": "该店涉嫌违法经营"}, "also_report"),
        ({"also_report": True, "report_text": "短"}, "report_text"),
    ],
)
def test_split_fields_must_agree(api, overrides, field):
    response = api.post("/api/v1/complaints", json=fresh(**overrides))
    assert response.status_code == 422
    assert field in [f["field"] for f in response.json()["fields"]]


# --- Art 17 abuse signs ----------------------------------------------------------------------------------


def flags(api, login, complaint_id: str) -> dict[str, str]:
    return {f["code"]: f["explanation"] for f in routed(api, login, complaint_id)["flags"]}


def test_several_complainants_sharing_one_phone_are_flagged_not_refused(api, login):
    phone = fresh_phone()
    receipts = [post(api, fresh(complainant={"name": name, "phone": phone})) for name in ("钱一", "孙二", "李三")]
    assert "shared_phone" not in flags(api, login, receipts[1]["id"])
    third = flags(api, login, receipts[2]["id"])
    assert "3 complainants" in third["shared_phone"] and "Art 17" in third["shared_phone"]
    assert "钱*" in third["shared_phone"]  # masked names only
    # a flag asks a clerk to look; it never refuses
    assert receipts[2]["status"] == "received"
    assert api.post(f"/api/v1/complaints/{receipts[2]['id']}/accept", headers=login(VILLAGE)).status_code == 200


def test_several_complainants_sharing_one_address_are_flagged(api, login):
    address = f"浙江省诸暨市枫桥镇共用路{fresh_phone()[-4:]}号"
    receipts = [
        post(api, fresh(complainant={"name": name, "phone": fresh_phone(), "address": address}))
        for name in ("周一", "吴二", "郑三")
    ]
    assert "shared_address" in flags(api, login, receipts[2]["id"])
    assert "shared_address" not in flags(api, login, receipts[0]["id"])


def test_abnormal_frequency_against_one_business_is_flagged(api, login):
    body = fresh()
    receipts = [post(api, dict(body, claim_amount=100.0 + n)) for n in range(duplicates.FREQUENT_AGAINST_BUSINESS)]
    assert "frequent_against_business" not in flags(api, login, receipts[-2]["id"])
    explanation = flags(api, login, receipts[-1]["id"])["frequent_against_business"]
    assert f"{duplicates.FREQUENT_AGAINST_BUSINESS} complaints" in explanation


def test_abnormal_frequency_of_one_complainant_is_flagged(api, login):
    phone = fresh_phone()
    receipts = [
        post(api, fresh(complainant={"name": "冯七", "phone": phone})) for _ in range(duplicates.FREQUENT_COMPLAINANT)
    ]
    assert "frequent_complainant" not in flags(api, login, receipts[-2]["id"])
    assert "frequent_complainant" in flags(api, login, receipts[-1]["id"])


def test_mass_near_identical_texts_against_one_business_are_flagged(api, login):
    business = fresh_business()
    summary = "在该店购买的羽绒服严重掉毛，与宣传的含绒量不符，要求退货退款"
    receipts = [
        post(
            api,
            fresh(
                business=business,
                summary=summary + "。" * n,
                complainant={"name": n * "陈" + "某", "phone": fresh_phone()},
            ),
        )
        for n in range(1, duplicates.MASS_MIN_COMPLAINANTS + 1)
    ]
    assert "mass_near_identical" not in flags(api, login, receipts[-2]["id"])
    assert "near-identical" in flags(api, login, receipts[-1]["id"])["mass_near_identical"]
