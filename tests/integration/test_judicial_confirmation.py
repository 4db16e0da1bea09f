"""Judicial confirmation (诉调对接, People's Mediation Law Art 33) through the gateway: an agreed
mediation's joint application goes to a court onboarded in the case's city (its docking webhook
receives it), the court answers with its API key or as its signed-in staff, and the case view and
public tracking show the answer. Guards: not agreed, past 30 days, not a court, another city's
court, a second application, an answer by someone else, bad input. Cases are mediated in the
villages 望江社区 and 蹑云社区 of 321282106, used by no other test."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from sqlalchemy import text

from tests.conftest import onboard_agency, wait_for
from tests.integration.test_mediation_flow import Desk

pytestmark = pytest.mark.integration

CITY = "321282"
COURT = f"{CITY}-court"
OTHER_CITY_COURT = "330681-court"
NOT_A_COURT = f"{CITY}-police"
PASSWORD = "judicial-test-password"
_clients = itertools.count(1)


@pytest.fixture(scope="module")
def court_key(api, db, login) -> str:
    for agency in (COURT, OTHER_CITY_COURT, NOT_A_COURT):
        onboard_agency(db, agency)
    created = api.post("/api/v1/api-keys", json={"tenant": COURT, "name": "法院诉调对接系统"}, headers=login(CITY))
    assert created.status_code == 201, created.text
    return created.json()["key"]


def track(api, cid: str, d: Desk) -> dict[str, Any]:
    case = d.get(cid)
    tail = case["parties"]["complainant"]["phone"][-4:]
    n = next(_clients)
    answer = api.get(
        f"/api/v1/track/{case['tracking_no']}",
        params={"phone_tail": tail},
        headers={"X-Forwarded-For": f"10.89.{n // 250}.{n % 250 + 1}"},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def _apply(api, d: Desk, cid: str, court: str = COURT, expect: int = 200) -> Any:
    answer = api.post(
        f"/api/v1/complaints/{cid}/mediation/judicial-confirmation", json={"court": court}, headers=d.demo
    )
    assert answer.status_code == expect, answer.text
    return answer.json()


def test_application_reaches_the_court_which_confirms(api, login, court_key, notification_sinks):
    d = Desk(api, login, "321282106003")
    cid = d.agreed_case()
    case = d.get(cid)
    assert "apply_judicial_confirmation" in case["allowed_actions"]
    assert "record_judicial_decision" not in case["allowed_actions"]
    courts = api.get(f"/api/v1/complaints/{cid}/mediation/judicial-confirmation/courts", headers=d.demo).json()
    assert COURT in [c["code"] for c in courts]
    assert OTHER_CITY_COURT not in [c["code"] for c in courts] and NOT_A_COURT not in [c["code"] for c in courts]

    case = _apply(api, d, cid)
    assert case["state"] == "agreed"
    assert case["judicial"]["status"] == "applied" and case["judicial"]["court"] == COURT
    assert case["history"][-1]["action"] == "apply_judicial_confirmation"
    assert "apply_judicial_confirmation" not in case["allowed_actions"]

    # the court's docking webhook gets the application with where to fetch the document and answer
    hooks = wait_for(lambda: notification_sinks.http.requests(f"/webhook/{COURT}", complaint_id=cid), timeout=20)
    hook = hooks[0]
    assert hook.verified and hook.body["action"] == "apply_judicial_confirmation"
    assert hook.body["agency"] == COURT and hook.body["detail"]["court"] == COURT
    assert "13" not in hook.body["complainant"]["name"] and hook.body["complainant"]["name"].endswith("*")
    key = {"X-API-Key": court_key}
    document = api.get(hook.body["document"], headers=key)
    assert document.status_code == 200, document.text
    assert "司法确认申请书" in document.text and "李四" in document.text  # the court reads the parties in full
    assert "退还货款" in document.text and "人民调解法》第三十三条" in document.text
    staff_document = api.get(f"/api/v1/complaints/{cid}/mediation/documents/judicial-application.html", headers=d.demo)
    assert staff_document.status_code == 200 and "司法确认申请书" in staff_document.text

    listed = api.get("/api/v1/judicial-confirmations", headers=key)
    assert listed.status_code == 200 and cid in [a["complaint_id"] for a in listed.json()]
    assert api.get("/api/v1/judicial-confirmations", headers=d.demo).status_code == 403

    # the unit cannot record the court's answer itself
    decision = {"decision": "confirmed", "ruling_no": "（2026）苏1282民特123号"}
    own = api.post(f"/api/v1/complaints/{cid}/mediation/judicial-confirmation/decision", json=decision, headers=d.demo)
    assert own.status_code == 403, own.text

    answered = api.post(
        f"/api/v1/complaints/{cid}/mediation/judicial-confirmation/decision", json=decision, headers=key
    )
    assert answered.status_code == 200, answered.text
    assert answered.json()["judicial"]["status"] == "confirmed"
    again = api.post(f"/api/v1/complaints/{cid}/mediation/judicial-confirmation/decision", json=decision, headers=key)
    assert again.status_code == 409 and "没有待法院答复" in again.text

    case = d.get(cid)
    assert case["judicial"]["status"] == "confirmed" and case["judicial"]["ruling_no"] == decision["ruling_no"]
    assert case["history"][-1]["action"] == "record_judicial_decision"

    view = wait_for(lambda: (v := track(api, cid, d)).get("judicial", {}).get("status") == "confirmed" and v)
    assert view["judicial"]["label"] == "法院已确认" and view["judicial"]["ruling_no"] == decision["ruling_no"]
    labels = [s["label"] for s in view["steps"]]
    assert "已申请司法确认" in labels and "法院已确认调解协议" in labels


def test_the_court_refuses_with_a_reason(api, login, court_key):
    d = Desk(api, login, "321282106004")
    cid = d.agreed_case()
    _apply(api, d, cid)
    url = f"/api/v1/complaints/{cid}/mediation/judicial-confirmation/decision"
    key = {"X-API-Key": court_key}
    no_reason = api.post(url, json={"decision": "refused", "ruling_no": "（2026）苏1282民特124号"}, headers=key)
    assert no_reason.status_code == 422 and "reason" in no_reason.text
    bad = api.post(url, json={"decision": "maybe", "ruling_no": "x" * 61}, headers=key)
    assert bad.status_code == 422 and "decision" in bad.text and "ruling_no" in bad.text
    refusal = {
        "decision": "refused",
        "ruling_no": "（2026）苏1282民特124号",
        "reason": "协议内容涉及第三人权益，不予确认",
    }
    # this time the court's staff answer, signed in
    username = f"court-clerk-{cid[:8]}"
    created = api.post(
        "/api/v1/users",
        json={"username": username, "password": PASSWORD, "tenant": COURT, "roles": ["agency_liaison"]},
        headers=login(CITY),
    )
    assert created.status_code == 201, created.text
    token = api.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD}).json()["access_token"]
    answered = api.post(url, json=refusal, headers={"Authorization": f"Bearer {token}"})
    assert answered.status_code == 200, answered.text
    case = d.get(cid)
    assert case["judicial"]["decided_by"] == f"{username}@{COURT}"
    assert case["judicial"]["status"] == "refused" and case["judicial"]["reason"] == refusal["reason"]
    view = wait_for(lambda: (v := track(api, cid, d)).get("judicial", {}).get("status") == "refused" and v)
    assert view["judicial"]["label"] == "法院不予确认"
    assert refusal["reason"] not in str(view)  # the court's reason may name people: not public
    assert "法院不予确认调解协议" in [s["label"] for s in view["steps"]]
    # refused: the same agreement is not sent again (re-mediate, change the agreement or sue)
    assert "已申请过司法确认" in str(_apply(api, d, cid, expect=409))


def test_guards(api, login, db, court_key):
    d = Desk(api, login, "321282106003")
    running = d.accepted_case()
    refused = _apply(api, d, running, expect=409)
    assert "只有已达成并经双方确认的调解协议" in str(refused)

    cid = d.agreed_case()
    for court, field in ((OTHER_CITY_COURT, "court"), (NOT_A_COURT, "court"), ("330681", "court")):
        answer = _apply(api, d, cid, court, expect=422)
        assert field in str(answer)
    assert "不是本案所在市已入驻的人民法院" in str(_apply(api, d, cid, OTHER_CITY_COURT, expect=422))
    missing = api.post(f"/api/v1/complaints/{cid}/mediation/judicial-confirmation", json={}, headers=d.demo)
    assert missing.status_code == 422 and "court" in missing.text

    # nothing was recorded by the refused requests
    assert d.get(cid)["judicial"] is None

    # another court than the one applied to, and a court for a case not applied: 404
    other_key = api.post(
        "/api/v1/api-keys", json={"tenant": OTHER_CITY_COURT, "name": "外市法院"}, headers=login("330681")
    )
    assert other_key.status_code == 201, other_key.text
    decision = {"decision": "confirmed", "ruling_no": "（2026）浙0681民特1号"}
    url = f"/api/v1/complaints/{cid}/mediation/judicial-confirmation/decision"
    assert api.post(url, json=decision, headers={"X-API-Key": other_key.json()["key"]}).status_code == 404
    assert api.post(url, json=decision, headers={"X-API-Key": court_key}).status_code == 404

    # past the 30 days of Art 33
    with db.begin() as conn:
        conn.execute(
            text(
                "UPDATE mediation.agreements SET confirmed_at = confirmed_at - interval '31 days' "
                "WHERE complaint_id = :c"
            ),
            {"c": cid},
        )
    late = _apply(api, d, cid, expect=409)
    assert "30日" in str(late)
    assert d.get(cid)["judicial"] is None
