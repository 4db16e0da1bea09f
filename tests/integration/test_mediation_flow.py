"""Mediation through the gateway: consent refused, recusal, two sessions then agreement, failure
then termination, the appraisal pause moving the 60-day deadline, expiry, breach, re-review,
call-back, documents, and who may act. Each test works in a unit of its own (villages of 东兴镇
321282102 and the township 次坞镇 330681103), so the rosters and loads do not mix."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kombu import Connection, Exchange, Queue
from sqlalchemy import text

from tests.conftest import TEST_AMQP_URI, complaint, credit_code, wait_for

pytestmark = pytest.mark.integration

TOWNSHIP = "321282102"  # 东兴镇
CITY = "321282"
OTHER_TOWNSHIP = "330681103"  # 次坞镇, 诸暨市
PASSWORD = "mediation-test-password"
EVENTS_QUEUE = "test-mediation-events"
_seq = itertools.count(1)


# --- helpers -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def events_queue(platform):
    """Every mediation event, to check that each transition is published."""
    exchange = Exchange("mediation.events", type="topic", durable=True)
    queue = Queue(EVENTS_QUEUE, exchange=exchange, routing_key="#", durable=True)
    with Connection(TEST_AMQP_URI) as conn:
        queue(conn.channel()).declare()
    yield queue
    with Connection(TEST_AMQP_URI) as conn:
        queue(conn.channel()).delete()


_seen: list[dict[str, Any]] = []


def events_for(complaint_id: str) -> list[dict[str, Any]]:
    with Connection(TEST_AMQP_URI) as conn:
        simple = conn.SimpleQueue(EVENTS_QUEUE)
        try:
            while True:
                message = simple.get(timeout=0.3)
                _seen.append(message.payload)
                message.ack()
        except simple.Empty:
            pass
        finally:
            simple.close()
    return [e for e in _seen if e["data"]["complaint_id"] == complaint_id]


def wait_events(complaint_id: str, predicate, timeout: float = 15) -> list[dict[str, Any]]:
    return wait_for(lambda: (found := events_for(complaint_id)) and predicate(found) and found, timeout=timeout)


class Desk:
    """One unit's staff: the demo account (every role) and any single-role accounts made for the test."""

    def __init__(self, api, login, unit: str) -> None:
        self.api, self.unit = api, unit
        self.demo = login(unit)
        self.tokens: dict[str, dict[str, str]] = {}

    def user(self, name: str, *roles: str) -> tuple[str, dict[str, str]]:
        username = f"{name}-{self.unit}-{uuid.uuid4().hex[:6]}"
        created = self.api.post(
            "/api/v1/users",
            json={"username": username, "password": PASSWORD, "tenant": self.unit, "roles": list(roles)},
            headers=self.demo,
        )
        assert created.status_code == 201, created.text
        token = self.api.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
        assert token.status_code == 200, token.text
        return username, {"Authorization": f"Bearer {token.json()['access_token']}"}

    def roster(self, headers, username: str, *categories: str, active: bool = True) -> dict[str, Any]:
        answer = self.api.put(
            f"/api/v1/mediators/{username}",
            json={"unit": self.unit, "categories": list(categories), "active": active},
            headers=headers,
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    def accepted_case(self, **overrides: Any) -> str:
        """A complaint filed against a business of this unit, routed here and accepted (受理)."""
        k = next(_seq)
        fields: dict[str, Any] = {
            "complainant": {"name": "李四", "phone": f"139{k:04d}{int(self.unit[-4:]) % 10000:04d}"},
            "business": {"name": "东兴家电商行", "credit_code": credit_code(k + 400), "division_code": self.unit},
            "incident_division_code": self.unit,
            "summary": f"购买的洗衣机第{k}天漏水，商家不予处理（{self.unit}）",
        }
        body = complaint(**{**fields, **overrides})
        filed = self.api.post("/api/v1/complaints", json=body)
        assert filed.status_code == 201, filed.text
        cid = filed.json()["id"]

        last: list[Any] = []

        def routed():
            case = self.api.get(f"/api/v1/complaints/{cid}", headers=self.demo)
            last[:] = [case.status_code, case.text[:600]]
            return case.status_code == 200 and (case.json().get("responsible_unit") or {}).get("code") == self.unit

        try:
            wait_for(routed, timeout=15)
        except AssertionError as exc:
            raise AssertionError(f"complaint {cid} not routed to {self.unit}: {last}") from exc
        accepted = self.api.post(f"/api/v1/complaints/{cid}/accept", headers=self.demo)
        assert accepted.status_code in (200, 201), accepted.text
        wait_for(lambda: self.api.get(f"/api/v1/complaints/{cid}/mediation", headers=self.demo).status_code == 200)
        return cid

    def get(self, cid: str, headers=None) -> dict[str, Any]:
        answer = self.api.get(f"/api/v1/complaints/{cid}/mediation", headers=headers or self.demo)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def do(self, cid: str, path: str, body: Any = None, headers=None, expect: int = 200) -> dict[str, Any]:
        answer = self.api.post(
            f"/api/v1/complaints/{cid}/mediation/{path}", json=body or {}, headers=headers or self.demo
        )
        assert answer.status_code == expect, answer.text
        return answer.json()

    # the usual steps
    def session(self, cid: str, headers=None, **overrides: Any) -> dict[str, Any]:
        body = {
            "mode": "joint",
            "channel": "in_person",
            "place": "东兴镇调处中心调解室",
            "scheduled_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
            **overrides,
        }
        return self.do(cid, "sessions", body, headers)

    def held(self, cid: str, n: int, agreed: bool, headers=None, parties=("complainant", "business")) -> None:
        self.do(
            cid,
            f"sessions/{n}/minutes",
            {
                "minutes": f"第{n}次调解：双方陈述了各自意见。",
                "agreed": agreed,
                "complainant_statement": "要求退货退款",
                "business_statement": "同意部分退款",
            },
            headers,
        )
        for party in parties:
            self.do(cid, f"sessions/{n}/minutes/confirm", {"party": party}, headers)

    def agreed_case(self) -> str:
        """An accepted case mediated to an agreement both parties confirmed (state agreed)."""
        cid = self.accepted_case()
        self.do(cid, "consent", {"consent": True})
        self.do(cid, "assign", {})
        self.session(cid)
        self.held(cid, 1, agreed=True)
        self.do(cid, "agreement", AGREEMENT)
        self.do(cid, "agreement/confirm", {"party": "complainant"})
        assert self.do(cid, "agreement/confirm", {"party": "business"})["state"] == "agreed"
        return cid


AGREEMENT = {
    "summary": "经调解，经营者同意退还货款并赔礼道歉。",
    "terms": [
        {
            "kind": "refund",
            "description": "退还货款",
            "amount": "399.00",
            "deadline": (datetime.now(UTC) + timedelta(days=7)).date().isoformat(),
        },
        {
            "kind": "apology",
            "description": "书面赔礼道歉",
            "deadline": (datetime.now(UTC) + timedelta(days=3)).date().isoformat(),
        },
    ],
    "judicial_confirmation": True,
}


def desk(api, login, unit: str) -> Desk:
    return Desk(api, login, unit)


# --- the tests -----------------------------------------------------------------------------------


def test_consent_refused_ends_mediation_with_remedy_routes(api, login, events_queue):
    d = desk(api, login, "321282102200")
    cid = d.accepted_case()
    case = d.get(cid)
    assert case["state"] == "awaiting_consent"
    assert case["consent"]["complainant"]["consented"] is True
    assert case["parties"]["complainant"]["name"] == "李四"  # in full for the responsible unit
    assert case["clocks"]["mediation"]["colour"] == "green"

    case = d.do(cid, "consent", {"consent": False, "contacted_via": "phone", "note": "经营者表示不接受调解"})
    assert case["state"] == "consent_refused" and case["outcome"] == "consent_refused"
    assert case["remedies"] == ["arbitration", "court", "litigation_support"]
    assert case["clocks"]["mediation"]["stopped_at"] is not None
    notice = case["clocks"]["mediation_end_notice"]
    assert notice["met"] is None and notice["remaining_seconds"] > 0
    # nothing else but the after-care is possible now
    conflict = d.do(cid, "assign", {}, expect=409)
    assert "assign is not allowed while the case is consent_refused" in conflict["message"]
    case = d.do(cid, "end-notice", {"channel": "sms"})
    assert case["end_notice"]["channel"] == "sms" and case["clocks"]["mediation_end_notice"]["met"] is True
    d.do(cid, "end-notice", {"channel": "sms"}, expect=409)

    found = wait_events(cid, lambda es: any(e["type"] == "mediation.ended.v1" for e in es))
    ended = next(e for e in found if e["type"] == "mediation.ended.v1")["data"]
    assert ended["outcome"] == "consent_refused" and ended["unit"]["code"] == d.unit
    moves = [
        (e["data"]["from_state"], e["data"]["to_state"]) for e in found if e["type"] == "mediation.transitioned.v1"
    ]
    assert ("", "awaiting_consent") in moves and ("awaiting_consent", "consent_refused") in moves


def test_recusal_request_decision_and_reassignment(api, login):
    d = desk(api, login, "321282102201")
    med1, h1 = d.user("med1", "mediator")
    med2, h2 = d.user("med2", "mediator")
    _, sup = d.user("sup", "supervisor")
    d.roster(sup, med1, "product_quality")
    d.roster(sup, med2)
    cid = d.accepted_case()

    d.do(cid, "consent", {"consent": True}, headers=h1)
    d.do(cid, "assign", {}, headers=h1, expect=403)  # assignment is a supervisor's
    case = d.do(cid, "assign", {}, headers=sup)
    assert case["mediator"] == med1 and case["assignments"][0]["picked"] == "load_and_skill"  # the skill counts

    case = d.do(cid, "recuse", {"requested_by": "business", "reason": "调解员与经营者负责人系亲属关系"}, headers=h1)
    assert case["recusals"][0]["decision"] is None and case["mediator"] == med1
    d.do(cid, "recuse", {"requested_by": "complainant", "reason": "重复申请"}, headers=h1, expect=409)
    d.do(cid, "recuse/decision", {"granted": True}, headers=h1, expect=403)  # not the mediator's own call
    case = d.do(cid, "recuse/decision", {"granted": True, "note": "理由成立"}, headers=sup)
    recusal = case["recusals"][0]
    assert recusal["decision"] == "granted" and recusal["replacement"] == med2 and recusal["mediator"] == med1
    assert case["mediator"] == med2
    assert [a["mediator"] for a in case["assignments"]] == [med1, med2]
    assert case["assignments"][1]["reason"] == "recusal" and case["assignments"][0]["ended_at"]

    # the mediator who stepped aside no longer acts on the case; the new one does
    answer = api.post(
        f"/api/v1/complaints/{cid}/mediation/sessions",
        json={"mode": "joint", "channel": "phone", "scheduled_at": datetime.now(UTC).isoformat()},
        headers=h1,
    )
    assert answer.status_code == 403 and med2 in answer.json()["message"]
    assert d.session(cid, headers=h2, channel="phone", place=None)["state"] == "session_scheduled"
    # and cannot be named again
    d.do(cid, "assign", {"mediator": med1}, headers=sup, expect=409)


def test_two_sessions_then_agreement_with_documents(api, login, events_queue):
    d = desk(api, login, "321282102202")
    cid = d.accepted_case()
    d.do(cid, "consent", {"consent": True, "contacted_via": "visit", "contact_person": "王经理"})
    case = d.do(cid, "assign", {})
    assert case["mediator"] == d.unit  # the demo account joined the roster when it acted
    d.session(cid, mode="single_party", party="complainant")
    d.do(cid, "sessions/1/minutes", {"minutes": "单方调解：听取消费者意见。", "agreed": False})
    # single-party minutes are confirmed by that party only
    d.do(cid, "sessions/1/minutes/confirm", {"party": "business"}, expect=409)
    d.do(cid, "sessions/1/minutes/confirm", {"party": "complainant"})
    d.session(cid)
    d.do(cid, "sessions/2/minutes", {"minutes": "联合调解：双方达成一致。", "agreed": True})
    conflict = d.do(cid, "agreement", AGREEMENT, expect=409)
    assert "session 2 are not yet confirmed" in conflict["message"]
    d.do(cid, "sessions/2/minutes/confirm", {"party": "complainant"})
    d.do(cid, "sessions/2/minutes/confirm", {"party": "business"})
    case = d.do(cid, "agreement", AGREEMENT)
    assert case["state"] == "agreement_drafted" and len(case["agreement"]["terms"]) == 2

    draft = api.get(f"/api/v1/complaints/{cid}/mediation/documents/agreement.html", headers=d.demo)
    assert draft.status_code == 200 and "草稿" in draft.text

    case = d.do(cid, "agreement/confirm", {"party": "complainant"})
    assert case["state"] == "agreement_drafted"
    d.do(cid, "agreement/confirm", {"party": "complainant"}, expect=409)
    case = d.do(cid, "agreement/confirm", {"party": "business"})
    assert case["state"] == "agreed" and case["outcome"] == "agreement"
    assert case["clocks"]["mediation"]["met"] is True
    assert [s["n"] for s in case["sessions"]] == [1, 2]

    html = api.get(f"/api/v1/complaints/{cid}/mediation/documents/agreement.html", headers=d.demo)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    for expected in ("调解协议书", "李四", "东兴家电商行", "退还货款", "399.00", "惠丰村委会", "司法确认"):
        assert expected in html.text, expected
    assert "草稿" not in html.text
    minutes = api.get(f"/api/v1/complaints/{cid}/mediation/documents/minutes/2.html", headers=d.demo)
    assert minutes.status_code == 200
    for expected in ("调解笔录", "李四", "东兴家电商行", "联合调解：双方达成一致。", "惠丰村委会"):
        assert expected in minutes.text, expected
    pdf = api.get(f"/api/v1/complaints/{cid}/mediation/documents/agreement.pdf", headers=d.demo)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert api.get(f"/api/v1/complaints/{cid}/mediation/documents/minutes/3.html", headers=d.demo).status_code == 404

    # the township above reads the documents masked
    above = api.get(f"/api/v1/complaints/{cid}/mediation/documents/agreement.html", headers=login(TOWNSHIP))
    assert above.status_code == 200 and "李四" not in above.text and "李*" in above.text

    found = wait_events(cid, lambda es: any(e["type"] == "mediation.ended.v1" for e in es))
    ended = next(e for e in found if e["type"] == "mediation.ended.v1")["data"]
    assert ended["outcome"] == "agreement" and ended["recovered_amount"] == "399.00"
    actions = [e["data"]["action"] for e in found if e["type"] == "mediation.transitioned.v1"]
    assert actions.count("confirm_minutes") == 3 and actions[-1] == "confirm_agreement"
    assert all("李四" not in str(e["data"]) for e in found)  # no personal data in events


def test_failure_then_second_session_then_termination(api, login, events_queue):
    d = desk(api, login, "321282102203")
    cid = d.accepted_case()
    d.do(cid, "consent", {"consent": True})
    d.do(cid, "assign", {})
    d.do(cid, "terminate", {"reason": "分歧过大"}, expect=409)
    d.session(cid)
    d.held(cid, 1, agreed=False)
    conflict = d.do(cid, "terminate", {"reason": "分歧过大"}, expect=409)
    assert "terminate is not allowed while the case is session_held" in conflict["message"]
    case = d.do(cid, "fail", {"reason": "双方对赔偿金额分歧较大"})
    assert case["state"] == "failed_once" and case["round"] == 2
    case = d.session(cid, channel="phone", place=None)
    assert case["state"] == "second_session_scheduled" and case["sessions"][1]["round"] == 2
    d.held(cid, 2, agreed=False)
    case = d.do(
        cid, "terminate", {"reason": "第二次调解仍未达成一致", "remedies": ["arbitration", "court"], "escalate": True}
    )
    assert case["state"] == "terminated" and case["outcome"] == "failed"
    assert case["remedies"] == ["arbitration", "court"]
    found = wait_events(cid, lambda es: any(e["type"] == "mediation.ended.v1" for e in es))
    ended = next(e for e in found if e["type"] == "mediation.ended.v1")["data"]
    assert ended["outcome"] == "failed" and ended["escalate"] is True
    # routing passes the failed case up (case.escalated.v1): the township mediates anew
    township = login(TOWNSHIP)
    moved = wait_for(
        lambda: (
            (r := api.get(f"/api/v1/complaints/{cid}/mediation", headers=township)).status_code == 200
            and r.json()["unit"]["code"] == TOWNSHIP
            and r.json()
        ),
        timeout=20,
    )
    assert moved["state"] == "awaiting_assignment" and moved["mediator"] is None
    assert moved["history"][-1]["action"] == "move_unit" and moved["history"][-1]["detail"]["from_unit"] == d.unit
    # the village keeps a read-only view of its mediation: its sessions and minutes, personal data masked
    kept = api.get(f"/api/v1/complaints/{cid}/mediation", headers=d.demo)
    assert kept.status_code == 200, kept.text
    kept = kept.json()
    # it acts on nothing but the call-back of its own mediation
    assert kept["read_only"] is True and kept["allowed_actions"] == ["callback"] and kept["unit"]["code"] == TOWNSHIP
    assert [s["round"] for s in kept["sessions"]] == [1, 2]
    assert moved["parties"]["complainant"]["name"] == "李四"  # the responsible township's case staff
    assert kept["parties"]["complainant"]["name"] == "李*"
    minutes = api.get(f"/api/v1/complaints/{cid}/mediation/documents/minutes/1.html", headers=d.demo)
    assert minutes.status_code == 200
    assert any(c["complaint_id"] == cid for c in api.get("/api/v1/mediations", headers=d.demo).json())
    refused = d.do(cid, "assign", {}, expect=403)
    assert "may only read it" in refused["message"]
    sibling = login("321282102204")  # a village beside it passed nothing up
    assert api.get(f"/api/v1/complaints/{cid}/mediation", headers=sibling).status_code == 404


def test_appraisal_pause_moves_the_60_day_deadline(api, login, db):
    d = desk(api, login, "321282102204")
    cid = d.accepted_case()
    # a case accepted ten days ago
    with db.begin() as conn:
        conn.execute(
            text(
                "UPDATE mediation.clocks SET started_at = started_at - interval '10 days', "
                "deadline = deadline - interval '10 days' WHERE complaint_id = :id AND kind = 'mediation'"
            ),
            {"id": cid},
        )
    before = d.get(cid)["clocks"]["mediation"]
    five_days_ago = (datetime.now(UTC) - timedelta(days=5)).isoformat()
    case = d.do(cid, "appraisal/start", {"reason": "送检：洗衣机质量检测", "at": five_days_ago})
    clock = case["clocks"]["mediation"]
    assert clock["paused"] is True and clock["deadline"] == before["deadline"]
    d.do(cid, "appraisal/start", {}, expect=409)  # already paused
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    d.do(cid, "appraisal/end", {"at": future}, expect=422)
    case = d.do(cid, "appraisal/end", {"reason": "检测报告已出"})
    clock = case["clocks"]["mediation"]
    assert clock["paused"] is False
    moved = datetime.fromisoformat(clock["deadline"]) - datetime.fromisoformat(before["deadline"])
    assert moved >= timedelta(days=5)  # five paused days (more if the old last day was moved off a rest day)
    assert moved <= timedelta(days=8)
    assert clock["pauses"][0]["reason"] == "送检：洗衣机质量检测" and clock["pauses"][0]["end"]
    d.do(cid, "appraisal/end", {}, expect=409)  # not paused


def test_expiry_ends_mediation(api, login, db, events_queue):
    d = desk(api, login, "321282102208")
    cid = d.accepted_case()
    d.do(cid, "consent", {"consent": True})
    with db.begin() as conn:  # the 60 days ran out
        conn.execute(
            text(
                "UPDATE mediation.clocks SET deadline = now() - interval '1 minute' "
                "WHERE complaint_id = :id AND kind = 'mediation'"
            ),
            {"id": cid},
        )
    case = wait_for(lambda: (c := d.get(cid))["state"] == "expired" and c, timeout=30)
    assert case["outcome"] == "expired" and case["clocks"]["mediation"]["colour"] == "red"
    assert "mediation_end_notice" in case["clocks"]
    found = wait_events(cid, lambda es: any(e["type"] == "mediation.ended.v1" for e in es))
    assert next(e for e in found if e["type"] == "mediation.ended.v1")["data"]["outcome"] == "expired"


def test_breach_of_an_agreement_escalates_or_reopens(api, login, events_queue):
    d = desk(api, login, "321282102205")
    cid = d.agreed_case()
    case = d.do(cid, "terms/1/performed", {"note": "已退款"})
    assert case["state"] == "agreed" and case["recovered_amount"] == "399.00"
    d.do(cid, "terms/1/performed", {}, expect=409)
    case = d.do(cid, "terms/2/breached", {"note": "经营者拒不道歉"})
    assert case["state"] == "breached"
    assert [t["status"] for t in case["agreement"]["terms"]] == ["performed", "breached"]
    d.do(cid, "terms/9/breached", {}, expect=404)
    case = d.do(cid, "escalate", {"reason": "经营者不履行调解协议"})
    assert case["state"] == "escalated" and case["outcome"] == "agreement_breached"
    found = wait_events(cid, lambda es: sum(e["type"] == "mediation.ended.v1" for e in es) >= 2)
    last = [e for e in found if e["type"] == "mediation.ended.v1"][-1]["data"]
    assert last["escalate"] is True and last["outcome"] == "agreement_breached"
    assert last["recovered_amount"] == "399.00"

    # another agreement breached: mediation reopens with a fresh 60-day clock
    other = d.agreed_case()
    d.do(other, "terms/1/breached", {})
    case = d.do(other, "reopen", {"reason": "双方同意重新调解"})
    assert case["state"] == "assigned" and case["clocks"]["mediation"]["stopped_at"] is None
    assert case["outcome"] is None


def test_all_terms_performed(api, login):
    d = desk(api, login, "321282102002")
    cid = d.agreed_case()
    d.do(cid, "terms/2/performed", {})
    case = d.do(cid, "terms/1/performed", {"recovered_amount": "350.00"})
    assert case["state"] == "performed" and case["recovered_amount"] == "350.00"


def test_re_review_goes_to_a_different_mediator(api, login):
    d = desk(api, login, "321282102206")
    med1, h1 = d.user("med1", "mediator")
    med2, h2 = d.user("med2", "mediator")
    _, sup = d.user("sup", "supervisor")
    d.roster(sup, med1)
    d.roster(sup, med2)
    cid = d.accepted_case()
    d.do(cid, "consent", {"consent": True}, headers=h1)
    d.do(cid, "assign", {"mediator": med1}, headers=sup)
    d.session(cid, headers=h1)
    d.held(cid, 1, agreed=True, headers=h1)
    d.do(cid, "agreement", AGREEMENT, headers=h1)
    d.do(cid, "agreement/confirm", {"party": "complainant"}, headers=h1)
    assert d.do(cid, "agreement/confirm", {"party": "business"}, headers=h1)["state"] == "agreed"

    case = d.do(cid, "re-review", {"requested_by": "complainant", "reason": "对协议金额有异议"}, headers=h1)
    assert case["state"] == "re_review"
    review = case["re_reviews"][0]
    assert review["previous_mediator"] == med1 and review["reviewer"] == med2 and case["mediator"] == med2
    assert review["from_state"] == "agreed"
    d.do(cid, "re-review/uphold", {}, headers=h2, expect=403)  # upholding is a supervisor's decision
    d.do(cid, "terms/1/performed", {}, headers=h2, expect=409)  # the follow-up waits for the re-review
    case = d.do(cid, "re-review/uphold", {"note": "维持原调解协议"}, headers=sup)
    assert case["state"] == "agreed" and case["re_reviews"][0]["decision"] == "upheld"
    # nobody left who has not held the case
    conflict = d.do(cid, "re-review", {"requested_by": "business", "reason": "再次申请"}, headers=sup, expect=409)
    assert "no active mediator" in conflict["message"]


def test_call_back_on_a_five_point_scale(api, login):
    d = desk(api, login, "321282102207")
    cid = d.accepted_case()
    d.do(cid, "callback", {"score": 5}, expect=409)  # mediation is still under way
    d.do(cid, "withdraw", {"reason": "消费者与商家自行和解"})
    d.do(cid, "callback", {"score": 6}, expect=422)
    case = d.do(cid, "callback", {"party": "complainant", "score": 4, "comments": "处理及时，态度好"})
    assert case["state"] == "withdrawn" and case["outcome"] == "withdrawn"
    assert case["callbacks"] == [
        {**case["callbacks"][0], "party": "complainant", "score": 4, "comments": "处理及时，态度好", "channel": "phone"}
    ]


def test_who_may_see_and_act(api, login):
    d = desk(api, login, OTHER_TOWNSHIP)
    cid = d.accepted_case(
        business={"name": "次坞镇小吃店", "credit_code": credit_code(990), "division_code": OTHER_TOWNSHIP},
        category="service_quality",
    )
    clerk, hc = d.user("clerk", "intake_clerk")
    # same unit without the mediator or supervisor role: 403
    assert (
        api.post(f"/api/v1/complaints/{cid}/mediation/consent", json={"consent": True}, headers=hc).status_code == 403
    )
    # the city above sees it masked and read-only, and may not act
    city = api.get(f"/api/v1/complaints/{cid}/mediation", headers=login("330681"))
    assert city.status_code == 200 and city.json()["read_only"] is True
    assert city.json()["parties"]["complainant"]["name"] == "李*" and city.json()["allowed_actions"] == []
    answer = api.post(f"/api/v1/complaints/{cid}/mediation/consent", json={"consent": True}, headers=login("330681"))
    assert answer.status_code == 403
    # another city: 404, like a case that does not exist
    for headers in (login(CITY), login(TOWNSHIP)):
        assert api.get(f"/api/v1/complaints/{cid}/mediation", headers=headers).status_code == 404
        assert (
            api.post(
                f"/api/v1/complaints/{cid}/mediation/withdraw", json={"reason": "测试一下"}, headers=headers
            ).status_code
            == 404
        )
    assert api.get(f"/api/v1/complaints/{uuid.uuid4()}/mediation", headers=d.demo).status_code == 404
    # lists: in scope only, always masked
    mine = api.get("/api/v1/mediations", headers=d.demo).json()
    assert any(c["complaint_id"] == cid for c in mine)
    assert all(c["parties"]["complainant"]["name"].endswith("*") for c in mine)
    assert all(c["unit"]["code"].startswith(OTHER_TOWNSHIP) for c in mine)
    assert not any(c["complaint_id"] == cid for c in api.get("/api/v1/mediations", headers=login(CITY)).json())
    # the roster: only a supervisor of the unit, only the unit's mediators
    assert api.put(f"/api/v1/mediators/{clerk}", json={"unit": OTHER_TOWNSHIP}, headers=d.demo).status_code == 422
    assert api.put(f"/api/v1/mediators/{clerk}", json={"unit": OTHER_TOWNSHIP}, headers=hc).status_code == 403
    assert api.put(f"/api/v1/mediators/{clerk}", json={"unit": TOWNSHIP}, headers=d.demo).status_code == 404
    # validation before any RPC
    bad = d.do(
        cid,
        "sessions",
        {"mode": "single_party", "channel": "phone", "scheduled_at": datetime.now(UTC).isoformat()},
        expect=422,
    )
    assert "single-party" in bad["message"]
    d.do(cid, "consent", {"consent": True})
    case = d.do(cid, "assign", {})
    assert case["mediator"] == OTHER_TOWNSHIP
    roster = api.get("/api/v1/mediators", headers=d.demo).json()
    assert {"username": OTHER_TOWNSHIP, "open_cases": 1}.items() <= next(
        m for m in roster if m["username"] == OTHER_TOWNSHIP
    ).items()
