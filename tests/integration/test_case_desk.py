"""The staff console's back end through the gateway (issue 16): the case status following
mediation and escalation everywhere (list, detail, filters, tracking), the case list's paging,
sorting, search and filters, and the case detail with what a decision needs and the actions the
caller may take. Each test works in villages of 姚江镇 330681106 that no other test uses."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from common import reference
from common.workdays import SHANGHAI
from tests.conftest import complaint, credit_code, wait_for
from tests.integration.test_mediation_flow import AGREEMENT, Desk

pytestmark = pytest.mark.integration

TOWNSHIP = "330681106"  # 姚江镇
CITY = "330681"


def _phone() -> str:
    return "137" + f"{uuid.uuid4().int % 10**8:08d}"


def file(api, unit: str, **overrides: Any) -> dict[str, Any]:
    """A public filing against a business of `unit`; answers its receipt."""
    body = complaint(
        complainant={"name": overrides.pop("name", "钱七"), "phone": overrides.pop("phone", None) or _phone()},
        business={
            "name": overrides.pop("business_name", f"姚江商行{uuid.uuid4().hex[:4]}"),
            "credit_code": overrides.pop("credit_code", None) or credit_code(uuid.uuid4().int % 90000 + 10000),
            "division_code": unit,
        },
        incident_division_code=unit,
        **overrides,
    )
    response = api.post("/api/v1/complaints", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def detail(api, headers, cid: str) -> dict[str, Any]:
    response = api.get(f"/api/v1/complaints/{cid}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def routed_to(api, headers, cid: str, unit: str) -> dict[str, Any]:
    """The case once routing gave it to `unit` (the unit does not see it before: 404)."""

    def check():
        response = api.get(f"/api/v1/complaints/{cid}", headers=headers)
        case = response.json() if response.status_code == 200 else {}
        return case.get("status") == "routed" and case.get("routing") is not None and case

    case = wait_for(check, timeout=20)
    assert case["responsible_unit"]["code"] == unit
    return case


def listed(api, headers, **params: Any) -> tuple[int, list[dict[str, Any]]]:
    response = api.get("/api/v1/complaints", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return int(response.headers["X-Total-Count"]), response.json()


def tracked(api, receipt: dict[str, Any], phone: str) -> dict[str, Any]:
    response = api.get(f"/api/v1/track/{receipt['tracking_no']}", params={"phone_tail": phone[-4:]})
    assert response.status_code == 200, response.text
    return response.json()


# --- the case status follows the case --------------------------------------------------------------


def test_an_agreed_case_reads_agreed_in_the_list_the_detail_and_tracking(api, login):
    d = Desk(api, login, "330681106233")
    cid = d.accepted_case()
    case = wait_for(lambda: (c := detail(api, d.demo, cid))["mediation_state"] == "awaiting_consent" and c)
    assert case["status"] == "accepted" and case["status_label"] == "已受理"
    d.do(cid, "consent", {"consent": True, "contacted_via": "visit", "contact_person": "王经理"})
    case = wait_for(lambda: (c := detail(api, d.demo, cid))["status"] == "mediating" and c)
    assert case["mediation_state"] == "awaiting_assignment"
    d.do(cid, "assign", {})
    d.session(cid, mode="single_party", party="complainant")
    d.do(cid, "sessions/1/minutes", {"minutes": "单方调解：双方同意退款。", "agreed": True})
    d.do(cid, "sessions/1/minutes/confirm", {"party": "complainant"})
    d.do(cid, "agreement", AGREEMENT)
    d.do(cid, "agreement/confirm", {"party": "complainant"})
    d.do(cid, "agreement/confirm", {"party": "business"})

    case = wait_for(lambda: (c := detail(api, d.demo, cid))["status"] == "agreed" and c)
    assert case["status_label"] == "已达成协议" and case["mediation_state"] == "agreed"
    changes = [h for h in case["history"] if h["code"] == "status_changed"]
    assert [h["params"]["to"] for h in changes] == ["mediating", "agreed"]
    assert changes[-1]["params"]["mediation_state"] == "agreed"

    total, rows = listed(api, d.demo, status="agreed")
    assert total >= 1 and cid in [r["id"] for r in rows]
    assert all(r["status"] == "agreed" and r["status_label"] == "已达成协议" for r in rows)
    _, others = listed(api, d.demo, status=["accepted", "mediating"])
    assert cid not in [r["id"] for r in others]

    phone = case["complainant"]["phone"]
    public = tracked(api, {"tracking_no": case["tracking_no"]}, phone)
    assert public["status"] == "agreed" and public["status_label"] == "已达成协议"
    assert "案件状态：已达成协议" in [s["label"] for s in public["steps"]]

    # every term performed: the case is done
    d.do(cid, "terms/1/performed", {"note": "已退款"})
    d.do(cid, "terms/2/performed", {"note": "已道歉"})
    case = wait_for(lambda: (c := detail(api, d.demo, cid))["status"] == "closed" and c)
    assert case["status_label"] == "已办结"


def test_an_escalated_case_is_escalated_until_the_unit_above_decides(api, login):
    village = login("330681106234")
    receipt = file(api, "330681106234")
    cid = receipt["id"]
    case = routed_to(api, village, cid, "330681106234")
    assert set(case["allowed_actions"]) >= {"accept", "refuse", "escalate", "add_evidence"}
    assert "take_over" not in case["allowed_actions"]
    assert case["responsibility"]["explanation_zh"].startswith("由")

    response = api.post(f"/api/v1/complaints/{cid}/escalate", json={"trigger": "staff_request"}, headers=village)
    assert response.status_code == 200, response.text
    township = login(TOWNSHIP)
    case = wait_for(lambda: (c := detail(api, township, cid))["status"] == "escalated" and c)
    assert case["escalated"] is True and case["status_label"] == "已上交"
    assert {"accept", "refuse"} <= set(case["allowed_actions"])
    # the village keeps a read-only view and may do nothing
    below = detail(api, village, cid)
    assert below["read_only"] is True and below["allowed_actions"] == []
    total, rows = listed(api, village, read_only="true", escalated="true")
    assert cid in [r["id"] for r in rows] and all(r["read_only"] for r in rows) and total == len(rows)
    _, handled = listed(api, village, read_only="false")
    assert cid not in [r["id"] for r in handled]

    # the city above may take it over; the township accepts it instead
    city = detail(api, login(CITY), cid)
    assert "take_over" in city["allowed_actions"] and "accept" not in city["allowed_actions"]
    accepted = api.post(f"/api/v1/complaints/{cid}/accept", headers=township)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"


# --- the case list -------------------------------------------------------------------------------


def test_the_list_pages_sorts_and_counts(api, login):
    unit = "330681106235"
    headers = login(unit)
    filed = [file(api, unit)["id"] for _ in range(5)]
    wait_for(lambda: listed(api, headers, unit=unit, status="routed")[0] >= 5, timeout=20)
    total, first = listed(api, headers, unit=unit, limit=2)
    _, second = listed(api, headers, unit=unit, limit=2, offset=2)
    assert total >= 5 and len(first) == 2 and len(second) == 2
    assert not {r["id"] for r in first} & {r["id"] for r in second}
    newest = [r["id"] for r in listed(api, headers, unit=unit, limit=5)[1]]
    assert newest == list(reversed(filed))  # newest first by default
    oldest = [r["id"] for r in listed(api, headers, unit=unit, sort="received_at", limit=200)[1]]
    assert oldest.index(filed[0]) < oldest.index(filed[4])
    by_deadline = listed(api, headers, unit=unit, sort="deadline", limit=200)[1]
    deadlines = [r["nearest_clock"]["deadline"] for r in by_deadline if r["nearest_clock"]]
    assert deadlines == sorted(deadlines, key=datetime.fromisoformat)
    row = by_deadline[0]
    assert row["light"] in ("green", "yellow", "red") and row["nearest_clock"]["remaining_seconds"] > 0
    assert "*" in row["complainant"]["name"] and "*" in row["complainant"]["phone"]  # lists stay masked


def test_the_list_searches_by_number_name_phone_business_and_credit_code(api, login):
    unit = "330681106236"
    headers = login(unit)
    phone = _phone()
    code = credit_code(uuid.uuid4().int % 90000 + 10000)
    receipt = file(api, unit, name="孙悟空", phone=phone, business_name="花果山水帘洞果品店", credit_code=code)
    file(api, unit)
    wait_for(lambda: listed(api, headers, unit=unit)[0] >= 2, timeout=20)
    for q in (
        receipt["tracking_no"],
        receipt["tracking_no"][:10].lower(),
        "悟空",
        phone[-4:],
        "水帘洞",
        code,
        code[:8],
    ):
        total, rows = listed(api, headers, q=q, unit=unit)
        assert receipt["id"] in [r["id"] for r in rows], q
        assert total == len(rows), q
    assert listed(api, headers, q="不存在的名字xyz", unit=unit)[0] == 0


def test_the_light_counts_are_the_lists_counts_in_one_call(api, login):
    unit = "330681106245"
    headers = login(unit)
    file(api, unit)
    wait_for(lambda: listed(api, headers, unit=unit, status="routed")[0] >= 1, timeout=20)
    response = api.get("/api/v1/complaints/lights", params={"unit": unit}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {c: listed(api, headers, unit=unit, light=c)[0] for c in ("red", "yellow", "green")}
    assert response.json()["green"] >= 1
    today = datetime.now(SHANGHAI).date()
    past = {"unit": unit, "to": (today - timedelta(days=2)).isoformat()}
    assert (
        api.get("/api/v1/complaints/lights", params=past, headers=headers).json()["green"]
        == listed(api, headers, light="green", **past)[0]
    )
    # the last day there is bounds nothing (the day after it does not exist)
    last = {"unit": unit, "to": "9999-12-31"}
    response = api.get("/api/v1/complaints/lights", params=last, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["green"] == listed(api, headers, light="green", **last)[0] >= 1


def test_the_list_filters_and_refuses_unknown_values(api, login):
    unit = "330681106237"
    headers = login(unit)
    receipt = file(api, unit, category="price", channel="web")
    wait_for(lambda: listed(api, headers, unit=unit, status="routed")[0] >= 1, timeout=20)
    today = datetime.now(SHANGHAI).date()  # the list's dates are China's
    found = lambda **p: [r["id"] for r in listed(api, headers, unit=unit, **p)[1]]  # noqa: E731
    assert receipt["id"] in found(category="price", channel="web", light="green")
    assert receipt["id"] not in found(category="food_safety")
    assert receipt["id"] not in found(light=["red", "yellow"])
    assert receipt["id"] in found(**{"from": (today - timedelta(days=1)).isoformat(), "to": today.isoformat()})
    assert receipt["id"] not in found(**{"to": (today - timedelta(days=2)).isoformat()})
    assert receipt["id"] in found(escalated="false") and receipt["id"] not in found(escalated="true")

    for params, field in (
        ({"status": "nonsense"}, "status"),
        ({"category": "x"}, "category"),
        ({"channel": "fax"}, "channel"),
        ({"light": "blue"}, "light"),
        ({"sort": "name"}, "sort"),
        ({"unit": "330681109"}, "unit"),  # another township: outside the village's subtree
        ({"from": "2026-13-01"}, "from"),
        ({"from": "2026-12-02", "to": "2026-12-01"}, "from"),
    ):
        response = api.get("/api/v1/complaints", params=params, headers=headers)
        assert response.status_code == 422, (params, response.text)
        assert field in [f["field"] for f in response.json()["fields"]], (params, response.text)
    unknown = api.get("/api/v1/complaints", params={"status": "nonsense"}, headers=headers).json()
    assert all(code in unknown["message"] for code in reference.CASE_STATUSES)
    assert api.get("/api/v1/complaints", params={"limit": 201}, headers=headers).status_code == 422


# --- the case detail -------------------------------------------------------------------------------


def test_the_detail_carries_what_a_decision_needs(api, login):
    unit = "330681106238"
    headers = login(unit)
    phone = _phone()
    receipt = file(api, unit, phone=phone, claim_amount=1288.5, requests=["refund", "compensation"])
    case = routed_to(api, headers, receipt["id"], unit)
    assert case["claim_amount"] == "1288.50" and case["requests"] == ["refund", "compensation"]
    assert case["business"]["credit_code"] and case["channel"] == "web"
    assert case["responsibility"]["unit"]["code"] == unit and case["responsibility"]["rule"].startswith("territory")
    assert "属地管理" in case["responsibility"]["explanation_zh"]
    assert case["routing"]["seen_as"] == "responsible"
    assert case["duplicates"] == [] and case["related"] == [] and case["duplicate_of_case"] is None
    assert case["documents"] == []
    history = {h["code"]: h for h in case["history"]}
    assert history["received"]["params"]["channel"] == "web" and history["routed"]["params"]["unit"]["code"] == unit
    assert all(h["code"] in reference.HISTORY_STEPS for h in case["history"])

    # the same facts again: a duplicate, linked both ways
    body = complaint(
        complainant={"name": "钱七", "phone": phone},
        business=case["business"],
        incident_division_code=unit,
        summary=case["summary"],
        claim_amount=1288.5,
        requests=["refund", "compensation"],
    )
    # a new filing (its own key), not a retry of the first: keyless repeats minutes apart answer the first
    again = api.post("/api/v1/complaints", json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert again.status_code == 201 and again.json()["status"] == "duplicate", again.text
    case = detail(api, headers, receipt["id"])
    assert [d["id"] for d in case["duplicates"]] == [again.json()["id"]]
    assert detail(api, headers, again.json()["id"])["duplicate_of_case"]["id"] == receipt["id"]

    accepted = api.post(f"/api/v1/complaints/{receipt['id']}/accept", headers=headers)
    assert accepted.status_code == 200, accepted.text
    case = detail(api, headers, receipt["id"])
    assert not {"accept", "refuse"} & set(case["allowed_actions"])
    assert [d["code"] for d in case["documents"]] == ["acceptance_notice"]


# --- messages: failed deliveries followed up -----------------------------------------------------------


def _failed_invitation(api, headers, unit: str) -> tuple[str, dict[str, Any]]:
    """An accepted case whose invitation to the business failed (no address known for it)."""
    receipt = file(api, unit)
    routed_to(api, headers, receipt["id"], unit)
    assert api.post(f"/api/v1/complaints/{receipt['id']}/accept", headers=headers).status_code == 200

    def failed():
        response = api.get(f"/api/v1/complaints/{receipt['id']}/messages", headers=headers)
        found = [m for m in response.json() if m["template"] == "mediation_invitation" and m["state"] == "failed"]
        return found and found[0]

    return receipt["id"], wait_for(failed, timeout=20)


def _history(api, headers, cid: str, code: str) -> list[dict[str, Any]]:
    return [h for h in detail(api, headers, cid)["history"] if h["code"] == code]


def test_a_failed_message_is_resent_once_to_the_address_known_now(api, login):
    unit = "330681106239"
    headers = login(unit)
    cid, failed = _failed_invitation(api, headers, unit)
    assert failed["failed"] is True and failed["state_label"] == "发送失败"
    assert "no address known for the business" in failed["reason"]
    assert failed["allowed_actions"] == ["resend", "told_otherwise"]
    path = f"/api/v1/complaints/{cid}/messages/{failed['id']}"
    # the unit above reads the messages but does not follow them up
    above = api.get(f"/api/v1/complaints/{cid}/messages", headers=login(TOWNSHIP)).json()
    assert next(m for m in above if m["id"] == failed["id"])["allowed_actions"] == []
    assert api.post(f"{path}/resend", headers=login(TOWNSHIP)).status_code == 403

    nowhere = api.post(f"{path}/resend", headers=headers)
    assert nowhere.status_code == 409 and "contacts" in nowhere.json()["message"]
    contact = api.put(
        f"/api/v1/complaints/{cid}/contacts", json={"business_email": "shop@example.com"}, headers=headers
    )
    assert contact.status_code == 200, contact.text
    copy = api.post(f"{path}/resend", headers=headers)
    assert copy.status_code == 200, copy.text
    assert copy.json()["resent_from"] == failed["id"] and copy.json()["channel"] == "email"
    again = api.post(f"{path}/resend", headers=headers)
    assert again.status_code == 200 and again.json()["id"] == copy.json()["id"]

    listed_messages = api.get(f"/api/v1/complaints/{cid}/messages", headers=headers).json()
    original = next(m for m in listed_messages if m["id"] == failed["id"])
    assert original["resent_as"] == copy.json()["id"] and original["allowed_actions"] == []
    sent = wait_for(
        lambda: next(
            m
            for m in api.get(f"/api/v1/complaints/{cid}/messages", headers=headers).json()
            if m["id"] == copy.json()["id"] and m["state"] in ("sent", "delivered")
        )
    )
    assert api.post(f"/api/v1/complaints/{cid}/messages/{sent['id']}/resend", headers=headers).status_code == 409
    [step] = wait_for(lambda: _history(api, headers, cid, "message_resent"))
    assert step["params"]["message_id"] == failed["id"] and step["params"]["new_message_id"] == copy.json()["id"]


def test_a_party_told_another_way_is_recorded_once(api, login):
    unit = "330681106241"
    headers = login(unit)
    cid, failed = _failed_invitation(api, headers, unit)
    path = f"/api/v1/complaints/{cid}/messages/{failed['id']}/told-otherwise"
    bad = api.post(path, json={"how": "pigeon", "note": ""}, headers=headers)
    assert bad.status_code == 422 and {f["field"] for f in bad.json()["fields"]} == {"how", "note"}
    told = api.post(path, json={"how": "phone", "note": "已电话告知经营者王经理调解邀请"}, headers=headers)
    assert told.status_code == 200, told.text
    record = told.json()["told_otherwise"]
    assert record["how"] == "phone" and record["by"] == unit
    again = api.post(path, json={"how": "letter", "note": "另一说法"}, headers=headers)
    assert again.status_code == 200 and again.json()["told_otherwise"] == record
    resend = api.post(f"/api/v1/complaints/{cid}/messages/{failed['id']}/resend", headers=headers)
    assert resend.status_code == 409
    [step] = wait_for(lambda: _history(api, headers, cid, "message_told_otherwise"))
    assert step["params"]["how"] == "phone" and step["params"]["template"] == "mediation_invitation"
    assert (
        api.post(
            f"/api/v1/complaints/{cid}/messages/{uuid.uuid4()}/told-otherwise",
            json={"how": "phone", "note": "x"},
            headers=headers,
        ).status_code
        == 404
    )


# --- documents ---------------------------------------------------------------------------------------


def test_acceptance_and_refusal_notices_print_from_intake(api, login):
    unit = "330681106243"
    headers = login(unit)
    accepted = file(api, unit, name="周八")
    refused = file(api, unit, name="吴九")
    for receipt in (accepted, refused):
        routed_to(api, headers, receipt["id"], unit)
    assert api.post(f"/api/v1/complaints/{accepted['id']}/accept", headers=headers).status_code == 200
    refusal = {"ground": "time_barred", "reason": "消费发生于四年前，超过三年"}
    assert api.post(f"/api/v1/complaints/{refused['id']}/refuse", json=refusal, headers=headers).status_code == 200

    notice = api.get(f"/api/v1/complaints/{accepted['id']}/documents/acceptance.html", headers=headers)
    assert notice.status_code == 200 and notice.headers["content-type"].startswith("text/html")
    for expected in ("受理告知书", "周八", accepted["tracking_no"], "第十五条", "新桌山村委会"):
        assert expected in notice.text, expected
    assert "<script" not in notice.text and "http" not in notice.text.split("</style>")[0]  # self-contained
    assert api.get(f"/api/v1/complaints/{accepted['id']}/documents/refusal.html", headers=headers).status_code == 409

    notice = api.get(f"/api/v1/complaints/{refused['id']}/documents/refusal.html", headers=headers)
    assert notice.status_code == 200
    for expected in ("不予受理告知书", "吴九", "超过三年", "消费发生于四年前", "第十六条"):
        assert expected in notice.text, expected
    case = detail(api, headers, refused["id"])
    assert case["documents"] == [
        {
            "code": "refusal_notice",
            "label_zh": "不予受理告知书",
            "path": f"/api/v1/complaints/{refused['id']}/documents/refusal.html",
        }
    ]
    # the unit above reads it masked; another unit does not find the case
    above = api.get(f"/api/v1/complaints/{refused['id']}/documents/refusal.html", headers=login(TOWNSHIP))
    assert above.status_code == 200 and "吴九" not in above.text and "吴*" in above.text
    other = api.get(f"/api/v1/complaints/{refused['id']}/documents/refusal.html", headers=login("330681109290"))
    assert other.status_code == 404
    assert api.get(f"/api/v1/complaints/{refused['id']}/documents/other.html", headers=headers).status_code == 422


def test_a_mediation_ended_without_agreement_prints_its_termination_notice(api, login):
    d = Desk(api, login, "330681106244")
    cid = d.accepted_case()
    path = f"/api/v1/complaints/{cid}/mediation/documents/termination.html"
    assert api.get(path, headers=d.demo).status_code == 409
    d.do(cid, "consent", {"consent": False, "contacted_via": "phone", "note": "经营者表示不接受调解"})
    notice = api.get(path, headers=d.demo)
    assert notice.status_code == 200, notice.text
    for expected in ("终止调解告知书", "李四", "当事人不同意调解", "救济途径", "向人民法院提起诉讼"):
        assert expected in notice.text, expected
    case = wait_for(lambda: (c := detail(api, d.demo, cid))["status"] == "failed" and c)
    assert case["status_label"] == "调解不成" and case["mediation_state"] == "consent_refused"


def test_the_shared_code_lists_carry_chinese_labels(api):
    statuses = api.get("/api/v1/reference/case-statuses")
    assert statuses.status_code == 200
    assert {"code": "agreed", "label_zh": "已达成协议"} in statuses.json()
    steps = api.get("/api/v1/reference/history-steps").json()
    assert {s["code"] for s in steps} == set(reference.HISTORY_STEPS)
    assert all(s["label_zh"] for s in steps)
    actions = {a["code"] for a in api.get("/api/v1/reference/actions").json()}
    assert {"accept", "take_over", "decline_takeover", "handover_acknowledge"} <= actions
    assert api.get("/api/v1/reference/nonsense").status_code == 422
