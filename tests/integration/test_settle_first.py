"""The settle-first lane (先行和解, issue 19) through the gateway: with the lane on, a complaint against
a business with a known contact goes to the business first; an accepted offer settles the case
without staff action, a rejected one or a passed window sends it to the unit's acceptance decision
with the offer in its history; with the lane off nothing changes."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from gateway.party_seam import Party, issue
from tests.conftest import wait_for
from tests.integration.test_intake_channels import VILLAGE, case, fresh, role_headers

pytestmark = pytest.mark.integration

CITY = VILLAGE[:6]
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def lane(api, login) -> Iterator[None]:
    """The settle-first lane on for the village (5 working days); its overrides removed afterwards."""
    on = {"settle_first": {"enabled": True, "window_working_days": 5}}
    response = api.patch(f"/api/v1/tenants/{VILLAGE}/settings", json=on, headers=login(CITY))
    assert response.status_code == 200, response.text
    yield
    response = api.patch(f"/api/v1/tenants/{VILLAGE}/settings", json={"settle_first": None}, headers=login(CITY))
    assert response.status_code == 200, response.text


def token(platform, party: Party) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue(party, platform.env['JWT_SECRET'])}"}


def file_with_contact(api, db, *, contact: bool = True, phone: str = "13905750001", **overrides) -> dict:
    body = fresh(**overrides)
    if contact:
        clerk = role_headers(api, db, VILLAGE, "intake_clerk")
        response = api.put(
            f"/api/v1/businesses/{body['business']['credit_code']}/contact", json={"phone": phone}, headers=clerk
        )
        assert response.status_code == 200, response.text
    response = api.post("/api/v1/complaints", json=body)
    assert response.status_code == 201, response.text
    return {**body, **response.json()}


def in_status(api, login, complaint_id: str, *statuses: str) -> dict:
    def check():
        response = api.get(f"/api/v1/complaints/{complaint_id}", headers=login(VILLAGE))  # 404 until routed
        return response.json() if response.status_code == 200 and response.json()["status"] in statuses else None

    return wait_for(check, timeout=20)


def parties(platform, filed: dict) -> tuple[dict, dict]:
    business = token(platform, Party("business", credit_code=filed["business"]["credit_code"]))
    complainant = token(
        platform, Party("complainant", tracking_no=filed["tracking_no"], phone=filed["complainant"]["phone"])
    )
    return business, complainant


OFFER = {"remedies": ["refund", "apology"], "amount": "399.00", "note": "全额退款并致歉"}


def test_accepted_offer_settles_the_case_without_staff(api, db, login, platform, lane):
    filed = file_with_contact(api, db)
    in_status(api, login, filed["id"], "settle_first")
    business, complainant = parties(platform, filed)

    seen = api.get("/api/v1/business/settle-first", headers=business)
    assert seen.status_code == 200, seen.text
    [mine] = [c for c in seen.json() if c["tracking_no"] == filed["tracking_no"]]
    assert filed["complainant"]["phone"] not in str(mine) and mine["complainant"]["name"] != "赵六"  # masked

    offered = api.post(f"/api/v1/business/settle-first/{filed['tracking_no']}/offer", json=OFFER, headers=business)
    assert offered.status_code == 200, offered.text
    again = api.post(f"/api/v1/business/settle-first/{filed['tracking_no']}/offer", json=OFFER, headers=business)
    assert again.status_code == 409

    reply = api.post(
        f"/api/v1/track/{filed['tracking_no']}/settle-first/reply", json={"accept": True}, headers=complainant
    )
    assert reply.status_code == 200, reply.text
    after = case(api, login, filed["id"])
    assert after["status"] == "settled"
    assert after["decision"]["terms"]["remedies"] == ["refund", "apology"]
    acceptance = next(c for c in after["clocks"] if c["kind"] == "acceptance")
    assert acceptance["status"] == "met"
    steps = [h["step"] for h in after["history"]]
    assert steps.index("settle_first_opened") < steps.index("settle_first_offer") < steps.index("settled")

    performed = api.post(
        f"/api/v1/track/{filed['tracking_no']}/settle-first/performance", json={"performed": True}, headers=complainant
    )
    assert performed.status_code == 200, performed.text
    tracked = api.get(
        f"/api/v1/track/{filed['tracking_no']}", params={"phone_tail": filed["complainant"]["phone"][-4:]}
    )
    assert tracked.json()["status"] == "settled"
    assert "已和解" in [s["label"] for s in tracked.json()["steps"]]
    # the unit has nothing left to decide
    decided = api.post(f"/api/v1/complaints/{filed['id']}/accept", headers=login(VILLAGE))
    assert decided.status_code == 409

    # reporting counts the settlement and the business's answer in time
    def counted():
        lane = api.get("/api/v1/reports/summary", headers=login(VILLAGE)).json()["settle_first"]
        return lane if lane["settled"] >= 1 and lane["answered_on_time"] >= 1 else None

    assert wait_for(counted, timeout=20)["by_outcome"]["settled"] >= 1


def test_the_business_is_texted_and_signs_in_with_an_sms_code(api, db, login, platform, lane, notification_sinks):
    """The lane's SMS names the case and the window's end, at the contact staff verified; the
    business then signs in with its credit code and a code to that phone, sees the complaint masked
    and answers it: no token made by the test."""
    contact = "13905759" + filed_suffix()
    filed = file_with_contact(api, db, phone=contact)
    in_status(api, login, filed["id"], "settle_first")

    def told() -> list[str]:
        texts = [r.body["text"] for r in notification_sinks.http.requests("/sms", to=contact)]
        return [t for t in texts if filed["tracking_no"] in t]

    [text] = wait_for(told, timeout=20)
    assert filed["business"]["name"] in text and "和解方案" in text
    assert filed["complainant"]["name"] not in text and filed["complainant"]["phone"] not in text

    code = {"party": "business", "credit_code": filed["business"]["credit_code"]}
    assert api.post("/api/v1/portal/codes", json=code).status_code == 202

    def sign_in_code() -> str | None:
        texts = [r.body["text"] for r in notification_sinks.http.requests("/sms", to=contact)]
        return next((m.group(1) for t in reversed(texts) if (m := re.search(r"验证码 (\d{6})", t))), None)

    signed = api.post("/api/v1/portal/sign-in", json={**code, "code": wait_for(sign_in_code, timeout=20)})
    assert signed.status_code == 200, signed.text
    business = {"Authorization": f"Bearer {signed.json()['access_token']}"}
    [mine] = [c for c in api.get("/api/v1/business/settle-first", headers=business).json()]
    assert mine["tracking_no"] == filed["tracking_no"] and mine["complainant"]["name"] != "赵六"
    window = datetime.fromisoformat(mine["settle_first"]["window_deadline"]).astimezone(SHANGHAI)
    assert window.strftime("%Y-%m-%d %H:%M") in text  # the window's end, in China's time
    offered = api.post(f"/api/v1/business/settle-first/{filed['tracking_no']}/offer", json=OFFER, headers=business)
    assert offered.status_code == 200, offered.text


def filed_suffix() -> str:
    return f"{secrets.randbelow(1000):03d}"


def test_rejected_offer_goes_to_the_units_acceptance_with_the_offer_in_history(api, db, login, platform, lane):
    filed = file_with_contact(api, db)
    in_status(api, login, filed["id"], "settle_first")
    business, complainant = parties(platform, filed)
    # the unit does not decide while the business has the case
    early = api.post(f"/api/v1/complaints/{filed['id']}/accept", headers=login(VILLAGE))
    assert early.status_code == 409
    early_reply = api.post(
        f"/api/v1/track/{filed['tracking_no']}/settle-first/reply", json={"accept": True}, headers=complainant
    )
    assert early_reply.status_code == 409  # nothing offered yet
    api.post(f"/api/v1/business/settle-first/{filed['tracking_no']}/offer", json=OFFER, headers=business)
    other = token(platform, Party("complainant", tracking_no=filed["tracking_no"], phone="13900000000"))
    wrong = api.post(f"/api/v1/track/{filed['tracking_no']}/settle-first/reply", json={"accept": True}, headers=other)
    assert wrong.status_code == 404

    reply = api.post(
        f"/api/v1/track/{filed['tracking_no']}/settle-first/reply",
        json={"accept": False, "comment": "退款金额不足"},
        headers=complainant,
    )
    assert reply.status_code == 200, reply.text
    after = case(api, login, filed["id"])
    assert after["status"] == "routed"
    offer = next(h for h in after["history"] if h["step"] == "settle_first_offer")
    assert offer["detail"]["amount"] == "399.00"
    assert "settle_first_rejected" in [h["step"] for h in after["history"]]
    accepted = api.post(f"/api/v1/complaints/{filed['id']}/accept", headers=login(VILLAGE))
    assert accepted.status_code == 200, accepted.text


def reported_status(db, complaint_id: str) -> str | None:
    with db.connect() as conn:
        return conn.scalar(
            text("SELECT status FROM reporting.complaint_facts WHERE complaint_id = :id"), {"id": complaint_id}
        )


def test_reporting_counts_the_case_as_with_the_business_while_the_lane_is_open(api, db, login, platform, lane):
    """Reporting's status is intake's: 先行和解中 while the business has the case (not 已分派, which the
    routing event at the same instant says), back to 已分派 when the consumer turns the offer down."""
    filed = file_with_contact(api, db)
    in_status(api, login, filed["id"], "settle_first")
    wait_for(lambda: reported_status(db, filed["id"]) == "settle_first", timeout=20)
    business, complainant = parties(platform, filed)
    api.post(f"/api/v1/business/settle-first/{filed['tracking_no']}/offer", json=OFFER, headers=business)
    reply = api.post(
        f"/api/v1/track/{filed['tracking_no']}/settle-first/reply", json={"accept": False}, headers=complainant
    )
    assert reply.status_code == 200, reply.text
    wait_for(lambda: reported_status(db, filed["id"]) == "routed", timeout=20)


def test_the_window_passing_moves_the_case_on(api, db, login, platform, lane):
    filed = file_with_contact(api, db)
    in_status(api, login, filed["id"], "settle_first")
    business, _ = parties(platform, filed)
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    with db.begin() as conn:  # the window's working days, passed
        conn.execute(
            text(
                "UPDATE intake.complaints SET details = jsonb_set(details, '{settle_first,window_deadline}', "
                "to_jsonb(CAST(:past AS text))) WHERE id = :id"
            ),
            {"past": past, "id": filed["id"]},
        )
    late = api.post(f"/api/v1/business/settle-first/{filed['tracking_no']}/offer", json=OFFER, headers=business)
    assert late.status_code == 409
    after = in_status(api, login, filed["id"], "routed")
    assert "settle_first_expired" in [h["step"] for h in after["history"]]
    assert next(c for c in after["clocks"] if c["kind"] == "acceptance")["status"] == "running"


def test_lane_off_or_no_contact_changes_nothing(api, db, login, platform):
    filed = file_with_contact(api, db)
    after = in_status(api, login, filed["id"], "routed", "settle_first")
    assert after["status"] == "routed"
    assert "settle_first_opened" not in [h["step"] for h in after["history"]]


def test_no_contact_no_lane(api, db, login, platform, lane):
    filed = file_with_contact(api, db, contact=False)
    after = in_status(api, login, filed["id"], "routed", "settle_first")
    assert after["status"] == "routed"


def test_bad_offer_names_the_field_and_records_nothing(api, db, login, platform, lane):
    filed = file_with_contact(api, db)
    in_status(api, login, filed["id"], "settle_first")
    business, _ = parties(platform, filed)
    bad = api.post(
        f"/api/v1/business/settle-first/{filed['tracking_no']}/offer",
        json={"remedies": ["refund"], "amount": "-5"},
        headers=business,
    )
    assert bad.status_code == 422 and "amount" in bad.text
    stranger = token(platform, Party("business", credit_code="91330681MA2B000017"))
    foreign = api.post(f"/api/v1/business/settle-first/{filed['tracking_no']}/offer", json=OFFER, headers=stranger)
    assert foreign.status_code == 404
    assert "settle_first_offer" not in [h["step"] for h in case(api, login, filed["id"])["history"]]
