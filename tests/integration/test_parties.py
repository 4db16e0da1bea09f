"""The parties' sign-in by SMS one-time code (docs/parties.md): the complainant proves control of
the phone filed on the case and gets a party token for that case; wrong, expired, exhausted and
replayed codes are refused in Chinese and sign in to nothing."""

from __future__ import annotations

import itertools
import re
import secrets
import time
from typing import Any

import pytest
from sqlalchemy import text

from tests.conftest import wait_for
from tests.integration.test_intake_channels import file_routed, fresh

pytestmark = pytest.mark.integration

_clients = itertools.count(1)


def client() -> dict[str, str]:
    """A client address of its own (uvicorn trusts X-Forwarded-For from 127.0.0.1)."""
    n = next(_clients)
    return {"X-Forwarded-For": f"10.77.{n // 250}.{n % 250 + 1}"}


def codes_to(sinks, phone: str) -> list[str]:
    """The one-time codes the SMS provider received for `phone`, oldest first."""
    texts = [r.body["text"] for r in sinks.http.requests("/sms", to=phone)]
    return [m.group(1) for t in texts if (m := re.search(r"验证码 (\d{6})", t))]


def ask_code(api, sinks, tracking_no: str, phone: str) -> str:
    """Ask a sign-in code until notification has learned the case (it hears of it by event)."""
    before = len(codes_to(sinks, phone))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        response = api.post(
            "/api/v1/portal/codes", json={"party": "complainant", "tracking_no": tracking_no}, headers=client()
        )
        assert response.status_code == 202, response.text
        if len(codes_to(sinks, phone)) > before:
            return codes_to(sinks, phone)[-1]
        time.sleep(0.3)
    raise AssertionError("no code arrived")


def sign_in(api, tracking_no: str, code: str):
    body = {"party": "complainant", "tracking_no": tracking_no, "code": code}
    return api.post("/api/v1/portal/sign-in", json=body, headers=client())


def journal(db, cid: str, *actions: str) -> list[Any]:
    """Mediation's journal rows of the case for `actions` (action, actor, detail), oldest first."""
    with db.connect() as conn:
        return conn.execute(
            text(
                "SELECT action, actor, detail FROM mediation.steps "
                "WHERE complaint_id = :c AND action = ANY(:actions) ORDER BY id"
            ),
            {"c": cid, "actions": list(actions)},
        ).all()


@pytest.fixture()
def filed(api, login) -> dict[str, Any]:
    body = fresh()
    found = file_routed(api, login, body)
    return {"id": found["id"], "tracking_no": found["tracking_no"], "phone": body["complainant"]["phone"]}


def test_the_complainant_signs_in_with_the_code_sent_to_the_filed_phone(api, notification_sinks, filed, db):
    code = ask_code(api, notification_sinks, filed["tracking_no"], filed["phone"])
    signed = sign_in(api, filed["tracking_no"], code)
    assert signed.status_code == 200, signed.text
    token = signed.json()["access_token"]
    assert signed.json()["cases"] == [{"complaint_id": filed["id"], "tracking_no": filed["tracking_no"]}]
    me = api.get("/api/v1/portal/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["cases"] == [filed["id"]]
    # a party token is no staff token
    assert api.get(f"/api/v1/complaints/{filed['id']}", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    # one use
    again = sign_in(api, filed["tracking_no"], code)
    assert again.status_code == 422 and again.json()["error"] == "code_used"
    # stored hashed: neither the code nor the phone is in the table
    with db.connect() as conn:
        rows = conn.execute(text("SELECT * FROM notification.one_time_codes")).mappings().all()
    stored = " ".join(str(v) for row in rows for v in row.values())
    assert code not in stored and filed["phone"] not in stored


def test_a_wrong_code_says_so_in_chinese_and_the_sixth_try_is_refused_even_when_right(api, notification_sinks, filed):
    code = ask_code(api, notification_sinks, filed["tracking_no"], filed["phone"])
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    first = sign_in(api, filed["tracking_no"], wrong)
    assert first.status_code == 422
    assert first.json()["error"] == "invalid_code" and first.json()["message_zh"] == "验证码错误，还可尝试 4 次"
    assert first.json()["fields"][0]["field"] == "code"
    for _ in range(4):
        assert sign_in(api, filed["tracking_no"], wrong).status_code == 422
    sixth = sign_in(api, filed["tracking_no"], code)
    assert sixth.status_code == 422 and sixth.json()["error"] == "code_exhausted", sixth.text
    assert "请重新获取" in sixth.json()["message_zh"]


def test_a_code_for_one_case_does_not_sign_in_to_another(api, login, notification_sinks, filed):
    other_body = fresh()
    other = file_routed(api, login, other_body)
    code = ask_code(api, notification_sinks, filed["tracking_no"], filed["phone"])
    replayed = sign_in(api, other["tracking_no"], code)
    assert replayed.status_code == 422 and replayed.json()["error"] == "invalid_code", replayed.text
    # the code still serves the case it was sent for
    assert sign_in(api, filed["tracking_no"], code).status_code == 200


def test_an_expired_code_is_refused(api, notification_sinks, filed, platform):
    from common.db import make_engine
    from tests.conftest import TEST_DATABASE_URL

    code = ask_code(api, notification_sinks, filed["tracking_no"], filed["phone"])
    # five minutes pass (the clock of the row, not of the test)
    engine = make_engine(TEST_DATABASE_URL, pool_size=1)
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE notification.one_time_codes SET expires_at = now() - interval '1 second' "
                "WHERE subject = :s AND used_at IS NULL"
            ),
            {"s": filed["tracking_no"]},
        )
    engine.dispose()
    expired = sign_in(api, filed["tracking_no"], code)
    assert expired.status_code == 422 and expired.json()["error"] == "code_expired"
    assert expired.json()["message_zh"] == "验证码已过期，请重新获取"


def test_codes_are_throttled_per_phone(api, notification_sinks, filed):
    ask_code(api, notification_sinks, filed["tracking_no"], filed["phone"])
    again = api.post(
        "/api/v1/portal/codes", json={"party": "complainant", "tracking_no": filed["tracking_no"]}, headers=client()
    )
    assert again.status_code == 429 and int(again.headers["Retry-After"]) > 0
    assert again.json()["message_zh"] == "获取验证码过于频繁，请稍后再试"


def test_an_unknown_number_answers_like_a_known_one(api):
    response = api.post(
        "/api/v1/portal/codes", json={"party": "complainant", "tracking_no": "TS20990101ZZZZZZ"}, headers=client()
    )
    assert response.status_code == 202 and response.json()["sent"] is True


# --- acting online --------------------------------------------------------------------------------


def party_headers(api, sinks, tracking_no: str, phone: str) -> dict[str, str]:
    signed = sign_in(api, tracking_no, ask_code(api, sinks, tracking_no, phone))
    assert signed.status_code == 200, signed.text
    return {"Authorization": f"Bearer {signed.json()['access_token']}"}


def confirm_code(api, sinks, cid: str, action: str, phone: str, headers: dict[str, str]) -> str:
    before = len(codes_to(sinks, phone))
    sent = api.post(f"/api/v1/portal/cases/{cid}/codes", json={"action": action}, headers={**headers, **client()})
    assert sent.status_code == 202, sent.text
    assert sent.json()["phone"] == phone[:3] + "****" + phone[-4:]
    assert len(codes_to(sinks, phone)) == before + 1
    return codes_to(sinks, phone)[-1]


def act(api, cid: str, action: str, body: dict[str, Any], headers: dict[str, str]):
    return api.post(f"/api/v1/portal/cases/{cid}/actions/{action}", json=body, headers={**headers, **client()})


def complainant_signed_in(api, login, sinks) -> tuple[Any, str, str, dict[str, str]]:
    """A case accepted in 惠丰村 (321282102202) whose complainant, on a phone of their own, has signed
    in online: (the unit's desk, the case id, the phone, the complainant's headers)."""
    from tests.integration.test_intake_channels import fresh_phone
    from tests.integration.test_mediation_flow import desk

    phone = fresh_phone()
    d = desk(api, login, "321282102202")
    cid = d.accepted_case(complainant={"name": "李四", "phone": phone})
    tracking_no = api.get(f"/api/v1/complaints/{cid}", headers=d.demo).json()["tracking_no"]
    return d, cid, phone, party_headers(api, sinks, tracking_no, phone)


def test_the_consumer_tracks_and_e_confirms_minutes_and_the_agreement(api, login, notification_sinks, db):
    from tests.integration.test_mediation_flow import AGREEMENT

    d, cid, phone, me = complainant_signed_in(api, login, notification_sinks)

    view = api.get(f"/api/v1/portal/cases/{cid}", headers=me)
    assert view.status_code == 200, view.text
    body = view.json()
    assert body["status"] == "accepted" and body["status_label"] == "已受理"
    assert "已受理" in [s["label"] for s in body["steps"]]
    assert body["complainant"]["phone"] == phone[:3] + "****" + phone[-4:] and body["complainant"]["name"] == "李*"
    assert body["mediation"]["state"] == "awaiting_consent"
    assert "consent" not in body["allowed_actions"] and "decline" in body["allowed_actions"]
    assert body["mediation"]["clocks"]["mediation"]["deadline"]

    # the business's consent, session and minutes recorded by staff
    d.do(cid, "consent", {"consent": True, "contacted_via": "visit"})
    d.do(cid, "assign", {})
    d.session(cid, channel="video", place=None)
    d.do(cid, "sessions/1/minutes", {"minutes": "联合调解：双方达成一致。", "agreed": True})
    body = api.get(f"/api/v1/portal/cases/{cid}", headers=me).json()
    assert body["mediation"]["sessions"][0]["channel_label"] == "视频调解"
    assert "confirm_minutes" in body["allowed_actions"]

    # a wrong code confirms nothing
    code = confirm_code(api, notification_sinks, cid, "confirm_minutes", phone, me)
    wrong = act(api, cid, "confirm_minutes", {"code": f"{(int(code) + 1) % 10**6:06d}", "n": 1}, me)
    assert wrong.status_code == 422 and wrong.json()["message_zh"].startswith("验证码错误")
    assert d.get(cid)["sessions"][0]["confirmed_by"]["complainant"] is None
    # a code for one action does not confirm another (one the case allows now)
    replay = act(api, cid, "withdraw", {"code": code, "reason": "不想调解了"}, me)
    assert replay.status_code == 422 and replay.json()["error"] == "invalid_code"

    done = act(api, cid, "confirm_minutes", {"code": code, "n": 1}, me)
    assert done.status_code == 200, done.text
    proof = done.json()["confirmation"]
    assert proof["party"] == "complainant" and proof["phone"] == phone[:3] + "****" + phone[-4:]
    assert re.fullmatch(r"[0-9a-f]{64}", proof["document_sha256"]) and proof["client"].startswith("10.77.")
    assert done.json()["mediation"]["sessions"][0]["confirmations"]["complainant"]["label"] == "已电子确认"

    d.do(cid, "sessions/1/minutes/confirm", {"party": "business"})
    d.do(cid, "agreement", AGREEMENT)
    code = confirm_code(api, notification_sinks, cid, "confirm_agreement", phone, me)
    signed = act(api, cid, "confirm_agreement", {"code": code}, me)
    assert signed.status_code == 200, signed.text
    d.do(cid, "agreement/confirm", {"party": "business"})

    body = api.get(f"/api/v1/portal/cases/{cid}", headers=me).json()
    assert body["mediation"]["status"] == "agreed" and body["mediation"]["status_label"] == "已达成协议"
    assert body["mediation"]["agreement"]["terms"][0]["kind_label"] == "退货退款"
    # intake's status follows by event
    wait_for(lambda: api.get(f"/api/v1/portal/cases/{cid}", headers=me).json()["status"] == "agreed")
    confirmations = body["mediation"]["agreement"]["confirmations"]
    assert confirmations["complainant"]["by"] == "party" and confirmations["business"]["by"] == "staff"
    html = api.get(f"/api/v1/complaints/{cid}/mediation/documents/agreement.html", headers=d.demo).text
    assert "已电子确认" in html and "工作人员代为记录" in html
    mine = api.get(f"/api/v1/portal/cases/{cid}/documents/agreement.html", headers=me)
    assert mine.status_code == 200 and "已电子确认" in mine.text and "李四" not in mine.text
    # the journal keeps who, what, when, where and the code's verification
    step = journal(db, cid, "confirm_agreement")[0]
    assert step.actor == "party:complainant"
    assert step.detail["e_confirmation"]["verification_id"] and step.detail["e_confirmation"]["document_sha256"]


def test_an_action_refused_by_the_case_leaves_its_code_for_the_next_try(api, login, notification_sinks, db):
    """The gateway asks mediation before it spends the code: a withdrawal without its reason and an
    action the case does not allow now are refused, and the same code then confirms the withdrawal."""
    d, cid, phone, me = complainant_signed_in(api, login, notification_sinks)

    code = confirm_code(api, notification_sinks, cid, "withdraw", phone, me)
    no_reason = act(api, cid, "withdraw", {"code": code}, me)
    assert no_reason.status_code == 422, no_reason.text
    assert [f["field"] for f in no_reason.json()["fields"]] == ["reason"]
    other = confirm_code(api, notification_sinks, cid, "confirm_agreement", phone, me)
    not_now = act(api, cid, "confirm_agreement", {"code": other}, me)  # no agreement yet
    assert not_now.status_code == 409 and not_now.json()["message_zh"] == "当前阶段不能进行此操作"
    with db.connect() as conn:
        spent = conn.execute(
            text("SELECT count(*) FROM notification.one_time_codes WHERE subject = :s AND used_at IS NOT NULL"),
            {"s": cid},
        ).scalar()
    assert spent == 0
    done = act(api, cid, "withdraw", {"code": code, "reason": "不想调解了"}, me)
    assert done.status_code == 200, done.text
    assert d.get(cid)["state"] == "withdrawn" and journal(db, cid, "withdraw")[0].actor == "party:complainant"


def test_an_action_code_expired_or_tried_a_sixth_time_is_refused_in_chinese_and_records_nothing(
    api, login, notification_sinks, db
):
    d, cid, phone, me = complainant_signed_in(api, login, notification_sinks)

    code = confirm_code(api, notification_sinks, cid, "decline", phone, me)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(5):
        assert act(api, cid, "decline", {"code": wrong}, me).status_code == 422
    sixth = act(api, cid, "decline", {"code": code}, me)
    assert sixth.status_code == 422 and sixth.json()["error"] == "code_exhausted", sixth.text
    assert "请重新获取" in sixth.json()["message_zh"] and sixth.json()["fields"][0]["field"] == "code"

    from common.db import make_engine
    from tests.conftest import TEST_DATABASE_URL

    code = confirm_code(api, notification_sinks, cid, "withdraw", phone, me)
    # five minutes pass (the clock of the row, not of the test)
    engine = make_engine(TEST_DATABASE_URL, pool_size=1)
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE notification.one_time_codes SET expires_at = now() - interval '1 second' "
                "WHERE subject = :s AND purpose = 'confirm:withdraw' AND used_at IS NULL"
            ),
            {"s": cid},
        )
    engine.dispose()
    expired = act(api, cid, "withdraw", {"code": code, "reason": "不想调解了"}, me)
    assert expired.status_code == 422 and expired.json()["message_zh"] == "验证码已过期，请重新获取"

    assert d.get(cid)["state"] == "awaiting_consent"
    with db.connect() as conn:
        steps = conn.execute(
            text("SELECT count(*) FROM mediation.steps WHERE complaint_id = :c AND actor LIKE 'party:%'"), {"c": cid}
        ).scalar()
    assert steps == 0


def test_a_party_sees_only_its_own_case(api, login, notification_sinks, filed):
    me = party_headers(api, notification_sinks, filed["tracking_no"], filed["phone"])
    other = file_routed(api, login, fresh())
    assert api.get(f"/api/v1/portal/cases/{other['id']}", headers=me).status_code == 404
    refused = api.post(f"/api/v1/portal/cases/{other['id']}/codes", json={"action": "withdraw"}, headers=me)
    assert refused.status_code == 404 and refused.json()["message_zh"] == "没有找到这件投诉"
    assert api.get(f"/api/v1/portal/cases/{filed['id']}", headers={"Authorization": "Bearer nope"}).status_code == 401


def business_headers(api, sinks, credit: str, phone: str) -> tuple[dict[str, str], list[dict[str, str]]]:
    before = len(codes_to(sinks, phone))
    sent = api.post("/api/v1/portal/codes", json={"party": "business", "credit_code": credit}, headers=client())
    assert sent.status_code == 202, sent.text
    assert len(codes_to(sinks, phone)) == before + 1
    signed = api.post(
        "/api/v1/portal/sign-in",
        json={"party": "business", "credit_code": credit, "code": codes_to(sinks, phone)[-1]},
        headers=client(),
    )
    assert signed.status_code == 200, signed.text
    return {"Authorization": f"Bearer {signed.json()['access_token']}"}, signed.json()["cases"]


def test_the_invited_business_signs_in_consents_and_both_parties_e_confirm(api, login, notification_sinks, db):
    from tests.conftest import credit_code
    from tests.integration.test_intake_channels import fresh_phone
    from tests.integration.test_mediation_flow import AGREEMENT, desk

    phone, business_phone = fresh_phone(), "138" + fresh_phone()[3:]
    credit = credit_code(int(business_phone[-5:]) % 90000 + 10000)
    d = desk(api, login, "321282102202")
    business = {"name": "枫桥电器商行", "credit_code": credit, "division_code": d.unit}
    cid = d.accepted_case(complainant={"name": "王五", "phone": phone}, business=business)
    other = d.accepted_case()  # another business's case
    tracking_no = api.get(f"/api/v1/complaints/{cid}", headers=d.demo).json()["tracking_no"]

    # no phone known for the business yet: staff cannot invite it, and its sign-in code goes nowhere
    assert api.post(f"/api/v1/complaints/{cid}/invite-business", headers=d.demo).status_code == 409
    put = api.put(f"/api/v1/complaints/{cid}/contacts", json={"business_phone": business_phone}, headers=d.demo)
    assert put.status_code == 200, put.text
    invited = api.post(f"/api/v1/complaints/{cid}/invite-business", headers=d.demo)
    assert invited.status_code == 202, invited.text
    texts = [r.body["text"] for r in notification_sinks.http.requests("/sms", to=business_phone)]
    assert any(tracking_no in t and "统一社会信用代码" in t for t in texts)

    biz, cases = business_headers(api, notification_sinks, credit, business_phone)
    assert [c["complaint_id"] for c in cases] == [cid]
    assert api.get(f"/api/v1/portal/cases/{other}", headers=biz).status_code == 404
    # nor act on it: no code is sent for it, and an action (with the code of its own case) is refused
    asked = api.post(f"/api/v1/portal/cases/{other}/codes", json={"action": "consent"}, headers={**biz, **client()})
    assert asked.status_code == 404 and asked.json()["message_zh"] == "没有找到这件投诉"
    seen = api.get(f"/api/v1/portal/cases/{cid}", headers=biz).json()
    assert seen["complainant"]["name"] == "王*" and phone not in str(seen)
    assert seen["allowed_actions"] == ["consent", "decline"]
    code = confirm_code(api, notification_sinks, cid, "consent", business_phone, biz)
    elsewhere = act(api, other, "consent", {"code": code}, biz)
    assert elsewhere.status_code == 404 and elsewhere.json()["message_zh"] == "没有找到这件投诉"
    assert d.get(other)["state"] == "awaiting_consent"
    consented = act(api, cid, "consent", {"code": code}, biz)
    assert consented.status_code == 200, consented.text
    assert consented.json()["mediation"]["state"] == "awaiting_assignment"

    me = party_headers(api, notification_sinks, tracking_no, phone)
    d.do(cid, "assign", {})
    d.session(cid)
    d.do(cid, "sessions/1/minutes", {"minutes": "联合调解：双方达成一致。", "agreed": True})
    for headers, number in ((me, phone), (biz, business_phone)):
        code = confirm_code(api, notification_sinks, cid, "confirm_minutes", number, headers)
        assert act(api, cid, "confirm_minutes", {"code": code, "n": 1}, headers).status_code == 200
    d.do(cid, "agreement", AGREEMENT)
    for headers, number in ((me, phone), (biz, business_phone)):
        code = confirm_code(api, notification_sinks, cid, "confirm_agreement", number, headers)
        done = act(api, cid, "confirm_agreement", {"code": code}, headers)
        assert done.status_code == 200, done.text
    assert done.json()["mediation"]["state"] == "agreed"
    # an agreed case cannot be withdrawn: refused in Chinese
    code = confirm_code(api, notification_sinks, cid, "withdraw", phone, me)
    refused = act(api, cid, "withdraw", {"code": code, "reason": "不想调解了"}, me)
    assert refused.status_code == 409 and refused.json()["message_zh"] == "当前阶段不能进行此操作"
    assert d.get(cid)["state"] == "agreed"

    html = api.get(f"/api/v1/complaints/{cid}/mediation/documents/agreement.html", headers=d.demo).text
    assert html.count("已电子确认") == 2 and "工作人员代为记录" not in html
    minutes = api.get(f"/api/v1/portal/cases/{cid}/documents/minutes/1.html", headers=biz).text
    assert minutes.count("已电子确认") == 2

    # the business reports term 1 performed, the consumer term 2 not performed: each by its SMS code
    assert "report_performance" in api.get(f"/api/v1/portal/cases/{cid}", headers=biz).json()["allowed_actions"]
    code = confirm_code(api, notification_sinks, cid, "report_performance", business_phone, biz)
    reported = act(api, cid, "report_performance", {"code": code, "n": 1, "performed": True}, biz)
    assert reported.status_code == 200, reported.text
    code = confirm_code(api, notification_sinks, cid, "report_performance", phone, me)
    reported = act(
        api, cid, "report_performance", {"code": code, "n": 2, "performed": False, "reason": "未收到道歉信"}, me
    )
    assert reported.status_code == 200, reported.text
    # the consumer's follow-up view shows each term's state; the journal keeps who reported, by which code
    terms = api.get(f"/api/v1/portal/cases/{cid}", headers=me).json()["mediation"]["agreement"]["terms"]
    assert [t["status"] for t in terms] == ["performed", "breached"]
    assert d.get(cid)["state"] == "breached"
    steps = journal(db, cid, "perform_term", "breach_term")
    assert [(s.action, s.actor) for s in steps] == [
        ("perform_term", "party:business"),
        ("breach_term", "party:complainant"),
    ]
    assert all(s.detail["e_confirmation"]["verification_id"] for s in steps)


# --- the filing form's public helpers ---------------------------------------------------------------


def test_the_cascading_choice_lists_served_places_only(api):
    from tests.integration.test_intake_channels import VILLAGE

    cities = api.get("/api/v1/portal/units").json()
    assert VILLAGE[:6] in [c["code"] for c in cities]
    townships = api.get("/api/v1/portal/units", params={"parent": VILLAGE[:6]}).json()
    assert VILLAGE[:9] in [t["code"] for t in townships] and all(t["code"].startswith(VILLAGE[:6]) for t in townships)
    villages = api.get("/api/v1/portal/units", params={"parent": VILLAGE[:9]}).json()
    assert VILLAGE in [v["code"] for v in villages] and all(v["has_children"] is False for v in villages)
    assert "110000" not in [c["code"] for c in cities]  # a place nobody serves
    bad = api.get("/api/v1/portal/units", params={"parent": "12"})
    assert bad.status_code == 422 and bad.json()["fields"][0]["field"] == "parent"


def test_the_business_search_finds_known_businesses_without_personal_data(api, login):
    body = fresh()
    # a name ending in digits (as 测试商店271567 of fresh() sometimes did): found by a part with a
    # character of its name, not taken for the start of a credit code
    body["business"]["name"] = f"测试商店{secrets.randbelow(10**6):06d}"
    file_routed(api, login, body)
    business = body["business"]
    # a prefix of the code long enough to name few businesses: the answer holds the first 20 by code,
    # and every test's business shares the first 12 characters (tests/conftest.py credit_code)
    by_code = api.get("/api/v1/portal/businesses", params={"q": business["credit_code"][:16]}).json()
    assert {"name": business["name"], "credit_code": business["credit_code"]} in by_code
    by_name = api.get("/api/v1/portal/businesses", params={"q": business["name"][-8:]}).json()
    assert by_name == [{"name": business["name"], "credit_code": business["credit_code"]}]
    assert body["complainant"]["phone"] not in str(by_name) and body["complainant"]["name"] not in str(by_name)


def test_the_portal_filing_uploads_photos_and_pdfs_only(api, login):
    from tests.integration.test_intake_channels import EXE, PDF, PNG

    filed = api.post("/api/v1/complaints", json=fresh())
    assert filed.status_code == 201, filed.text
    token = filed.json()["upload_token"]
    headers = {"Authorization": f"Bearer {token}", **client()}
    stored = api.post(
        "/api/v1/portal/evidence", files=[("files", ("收据.png", PNG)), ("files", ("合同.pdf", PDF))], headers=headers
    )
    assert stored.status_code == 201, stored.text
    assert [f["mime_type"] for f in stored.json()] == ["image/png", "application/pdf"]

    # a recording (allowed to staff), a program or a text named like a photo: refused in Chinese, nothing stored
    mp3 = b"ID3\x03\x00\x00\x00\x00\x00\x0f" + b"\xff\xfb\x90\x00" * 8
    for name, content in (("录音.mp3", mp3), ("照片.jpg", EXE), ("照片2.jpg", b"not really a photo")):
        refused = api.post("/api/v1/portal/evidence", files=[("files", (name, content))], headers=headers)
        assert refused.status_code == 422, refused.text
        assert refused.json()["fields"][0] == {
            "field": "files[0]",
            "message": "只能上传图片（JPG、PNG、GIF、WebP）或 PDF 文件",
        }
    found = file_routed_view(api, login, filed.json()["id"])
    assert len(found["evidence"]) == 2

    nobody = api.post("/api/v1/portal/evidence", files=[("files", ("a.png", PNG))], headers=client())
    assert nobody.status_code == 401 and nobody.json()["message_zh"].startswith("上传凭证已失效")


def file_routed_view(api, login, complaint_id: str) -> dict[str, Any]:
    from tests.integration.test_intake_channels import routed

    return routed(api, login, complaint_id)
