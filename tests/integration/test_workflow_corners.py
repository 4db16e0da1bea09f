"""The workflow's corners (issue 17), each tried through the gateway as the tier concerned would:
termination passes the case up with its end notice, chosen remedies and one message; the
acknowledgement clock and quiet hours; single-party sessions; the collective rule moving the whole
group; one escalation rate; auto-pick; the audit log of every service's unmasked reads.

Everything happens in units no other module uses: the villages of 靖城街道 321282001, 城南 321282401
and 城北园区 321282403 (each test its own village, so rosters and loads do not mix)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from tests.conftest import complaint, credit_code, wait_for
from tests.integration.test_mediation_flow import Desk

pytestmark = pytest.mark.integration

STREET = "321282001"  # 靖城街道
COLLECTIVE_TOWNSHIP = "321282401"  # 城南
RATE_TOWNSHIP = "321282403"  # 城北园区
CITY = "321282"
_serial = itertools.count(1)


def phone() -> str:
    return f"136{int(time.time()) % 10000:04d}{next(_serial):04d}"


def messages(api, login, cid: str, unit: str) -> list[dict[str, Any]]:
    """The case's messages (none while the unit does not see the case yet: not routed to it)."""
    response = api.get(f"/api/v1/complaints/{cid}/messages", headers=login(unit))
    assert response.status_code in (200, 404), response.text
    return response.json() if response.status_code == 200 else []


def recorded(api, login, cid: str, unit: str, template: str, role: str) -> list[dict[str, Any]]:
    return [m for m in messages(api, login, cid, unit) if m["template"] == template and m["recipient_role"] == role]


def clock(api, login, cid: str, unit: str, kind: str) -> dict[str, Any]:
    case = api.get(f"/api/v1/complaints/{cid}", headers=login(unit))
    assert case.status_code == 200, case.text
    return next(c for c in case.json()["clocks"] if c["kind"] == kind)


# --- 1. termination: end notice, chosen remedies, one message, then the move ---------------------------


def test_termination_tells_the_end_with_the_remedies_chosen_then_passes_the_case_up(api, login, notification_sinks):
    village = "321282001200"  # 汤家村委会
    d = Desk(api, login, village)
    number = phone()
    cid = d.accepted_case(complainant={"name": "李四", "phone": number})
    d.do(cid, "consent", {"consent": True})
    d.do(cid, "assign", {})
    d.session(cid)
    d.held(cid, 1, agreed=False)
    d.do(cid, "fail", {"reason": "双方对赔偿金额分歧较大"})
    d.session(cid, channel="phone", place=None)
    d.held(cid, 2, agreed=False)
    chosen = ["court", "judicial_confirmation"]
    case = d.do(cid, "terminate", {"reason": "第二次调解仍未达成一致", "remedies": chosen, "escalate": True})

    # the termination is the Art 23 end notice: the 7-working-day clock stops, met
    assert case["state"] == "terminated" and case["remedies"] == chosen
    assert case["end_notice"] is not None and case["end_notice"]["by"] == d.unit
    notice = case["clocks"]["mediation_end_notice"]
    assert notice["stopped_at"] is not None and notice["met"] is True
    assert "notify_end" not in case["allowed_actions"]

    # then routing passes it up: the street mediates anew, the notice clock stays stopped
    street = login(STREET)
    moved = wait_for(
        lambda: (
            (r := api.get(f"/api/v1/complaints/{cid}/mediation", headers=street)).status_code == 200
            and r.json()["unit"]["code"] == STREET
            and r.json()
        ),
        timeout=20,
    )
    assert moved["state"] == "awaiting_assignment"
    assert moved["clocks"]["mediation_end_notice"]["met"] is True
    assert moved["clocks"]["mediation"]["stopped_at"] is None  # a new 60 days at the street

    # the village that mediated may still call the consumer back about its mediation (回访)
    kept = d.get(cid)
    assert kept["read_only"] is True and kept["allowed_actions"] == ["callback"]
    called = d.do(cid, "callback", {"party": "complainant", "score": 3, "comments": "对调解过程基本满意"})
    assert called["callbacks"][-1]["by"] == d.unit and called["callbacks"][-1]["score"] == 3
    assert called["state"] == "awaiting_assignment" and called["unit"]["code"] == STREET  # the street's case
    assert called["history"][-1]["action"] == "callback" and called["history"][-1]["detail"]["unit"] == village
    d.do(cid, "assign", {}, expect=403)  # nothing else
    # and the satisfaction counts for the village, where the mediation took place
    scores = wait_for(
        lambda: api.get("/api/v1/reports/summary", headers=d.demo).json()["satisfaction"]["by_score"], timeout=20
    )
    assert scores == {"3": 1}
    other_village = login("321282001201")  # a unit that did not mediate it sees nothing
    answer = api.post(
        f"/api/v1/complaints/{cid}/mediation/callback", json={"party": "complainant", "score": 5}, headers=other_village
    )
    assert answer.status_code == 404

    # one coherent message to the consumer: the end, the remedies chosen, and who has the case now
    told = wait_for(lambda: recorded(api, login, cid, village, "mediation_passed_up", "complainant"), timeout=20)
    wait_for(lambda: recorded(api, login, cid, village, "mediation_outcome", "business"), timeout=20)  # the end told
    after_end = {"mediation_outcome", "remedy_routes", "callback_survey", "handler_changed", "mediation_passed_up"}
    to_consumer = [
        m["template"]
        for m in messages(api, login, cid, village)
        if m["recipient_role"] == "complainant" and m["template"] in after_end
    ]
    assert to_consumer == ["mediation_passed_up"] and len(told) == 1
    sms = wait_for(
        lambda: [r for r in notification_sinks.http.requests("/sms", to=number) if "移交" in r.body["text"]],
        timeout=20,
    )
    body = sms[0].body["text"]
    assert "向人民法院起诉、申请司法确认" in body and "申请仲裁" not in body
    assert "汤家村委会" in body and "靖城街道" in body


# --- 2. the acknowledgement clock and quiet hours -----------------------------------------------------


@pytest.fixture
def quiet_now(api, login) -> Iterator[str]:
    """A village whose quiet hours hold every SMS now (local time)."""
    from services.notification.planning import LOCAL_TZ

    village = "321282001202"  # 光明村委会
    local = datetime.now(UTC).astimezone(LOCAL_TZ).replace(minute=0)
    window = f"{local:%H:%M}-{local + timedelta(hours=2):%H:%M}"
    admin = login(village)
    patched = api.patch(f"/api/v1/notification/settings/{village}", json={"quiet_hours": window}, headers=admin)
    assert patched.status_code == 200, patched.text
    yield village
    api.patch(f"/api/v1/notification/settings/{village}", json={"quiet_hours": None}, headers=admin)


def file_at(api, place: str, seed: int) -> str:
    body = complaint(
        complainant={"name": "王五", "phone": phone()},
        business={"name": "靖城日用品店", "credit_code": credit_code(seed), "division_code": place},
        incident_division_code=place,
    )
    response = api.post("/api/v1/complaints", json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def held_acknowledgement(api, login, db, village: str, seed: int) -> str:
    cid = file_at(api, village, seed)
    [held] = wait_for(lambda: recorded(api, login, cid, village, "acknowledgement", "complainant"), timeout=20)
    assert held["state"] == "queued" and datetime.fromisoformat(held["next_attempt_at"]) > datetime.now(UTC)
    wait_for(lambda: clock(api, login, cid, village, "acceptance")["unit"] is not None)  # the routing applied
    return cid


def release(db, cid: str) -> None:
    """The quiet hours end: the held SMS is due now."""
    with db.begin() as conn:
        conn.execute(
            text(
                "UPDATE notification.messages SET next_attempt_at = now() "
                "WHERE complaint_id = :c AND template = 'acknowledgement' AND state = 'queued'"
            ),
            {"c": cid},
        )


def test_an_acknowledgement_held_by_quiet_hours_is_not_met_until_sent(api, login, db, quiet_now):
    village = quiet_now
    in_time = held_acknowledgement(api, login, db, village, 7601)
    waiting = clock(api, login, in_time, village, "acknowledgement")
    assert waiting["status"] == "running" and waiting["stopped_at"] is None and waiting["met"] is None
    release(db, in_time)
    sent = wait_for(lambda: (c := clock(api, login, in_time, village, "acknowledgement"))["stopped_at"] and c, 20)
    assert sent["status"] == "met" and sent["met"] is True

    # quiet hours that hold it past the 24 hours make it late
    late = held_acknowledgement(api, login, db, village, 7602)
    with db.begin() as conn:  # filed 25 hours ago; the quiet hours held the SMS since
        conn.execute(
            text(
                "UPDATE intake.clocks SET started_at = now() - interval '25 hours', "
                "deadline = now() - interval '1 hour', next_check_at = now() "
                "WHERE complaint_id = :c AND kind = 'acknowledgement'"
            ),
            {"c": late},
        )
    assert clock(api, login, late, village, "acknowledgement")["stopped_at"] is None
    release(db, late)
    stopped = wait_for(lambda: (c := clock(api, login, late, village, "acknowledgement"))["stopped_at"] and c, 20)
    assert stopped["status"] == "late" and stopped["met"] is False


# --- 3. single-party sessions invite that party only --------------------------------------------------


def test_a_single_party_session_invites_that_party_only(api, login):
    village = "321282001204"  # 东郊村委会
    d = Desk(api, login, village)
    cid = d.accepted_case()
    d.do(cid, "consent", {"consent": True})
    d.do(cid, "assign", {})
    d.session(cid, mode="single_party", party="business", channel="phone", place=None)
    wait_for(lambda: recorded(api, login, cid, village, "session_scheduled", "business"), timeout=20)
    d.session(cid)  # then a joint one: both parties
    wait_for(lambda: len(recorded(api, login, cid, village, "session_scheduled", "business")) == 2, timeout=20)
    wait_for(lambda: recorded(api, login, cid, village, "session_scheduled", "complainant"), timeout=20)
    assert len(recorded(api, login, cid, village, "session_scheduled", "complainant")) == 1


# --- 4. the collective rule moves the whole group -----------------------------------------------------


@pytest.fixture
def collective_of_three(api, login) -> Iterator[None]:
    admin = login(COLLECTIVE_TOWNSHIP)
    patched = api.patch(
        f"/api/v1/tenants/{COLLECTIVE_TOWNSHIP}/settings", json={"collective": {"complainants": 3}}, headers=admin
    )
    assert patched.status_code == 200, patched.text
    yield
    api.patch(f"/api/v1/tenants/{COLLECTIVE_TOWNSHIP}/settings", json={"collective": None}, headers=admin)


def routing_of(api, login, cid: str, unit: str, responsible: str) -> dict[str, Any]:
    """Routing's view once `responsible` holds the case, in intake too (the decisions are intake's)."""

    def ready():
        response = api.get(f"/api/v1/complaints/{cid}/routing", headers=login(unit))
        view = response.json() if response.status_code == 200 else {}
        if view.get("responsible_unit", {}).get("code") != responsible:
            return None
        held = api.get(f"/api/v1/complaints/{cid}", headers=login(unit))
        return held.status_code == 200 and (held.json()["responsible_unit"] or {}).get("code") == responsible and view

    return wait_for(ready, timeout=20)


def test_the_collective_rule_moves_every_complaint_of_the_group(api, login, collective_of_three):
    village = "321282401200"  # 前进村委会
    first, second = file_at(api, village, 7700), file_at(api, village, 7700)
    for cid in (first, second):  # below the threshold: the village's
        routing_of(api, login, cid, village, village)
    accepted = api.post(f"/api/v1/complaints/{first}/accept", headers=login(village))
    assert accepted.status_code in (200, 201), accepted.text
    third = file_at(api, village, 7700)
    assert routing_of(api, login, third, COLLECTIVE_TOWNSHIP, COLLECTIVE_TOWNSHIP)["rule"] == "tier.collective"
    for cid in (first, second):  # the group is one collective dispute: all of it goes up
        view = routing_of(api, login, cid, COLLECTIVE_TOWNSHIP, COLLECTIVE_TOWNSHIP)
        step = view["steps"][-1]
        assert step["step"] == "escalated" and step["inputs"]["rule"] == "tier.collective"
        assert step["inputs"]["with"] == third and step["inputs"]["tier_rules"][0]["complainants"] == 3
        history = wait_for(
            lambda cid=cid: [
                h
                for h in api.get(f"/api/v1/complaints/{cid}", headers=login(COLLECTIVE_TOWNSHIP)).json()["history"]
                if h["step"] == "escalated"
            ],
            timeout=20,
        )
        assert (
            "群体性纠纷" in history[-1]["detail"]["reason"]
            and history[-1]["detail"]["inputs"]["rule"] == "tier.collective"
        )
    # the accepted one's mediation moved with it
    moved = wait_for(
        lambda: (
            (r := api.get(f"/api/v1/complaints/{first}/mediation", headers=login(COLLECTIVE_TOWNSHIP))).status_code
            == 200
            and r.json()["unit"]["code"] == COLLECTIVE_TOWNSHIP
        ),
        timeout=20,
    )
    assert moved


# --- 5. one escalation rate -----------------------------------------------------------------------


def test_the_escalation_rate_is_one_figure(api, login):
    village = "321282403202"  # 常胜村委会
    township = login(RATE_TOWNSHIP)
    own = [file_at(api, RATE_TOWNSHIP, 7800 + n) for n in range(2)]
    below = [file_at(api, village, 7810 + n) for n in range(3)]
    for cid in own:
        routing_of(api, login, cid, RATE_TOWNSHIP, RATE_TOWNSHIP)
        assert api.post(f"/api/v1/complaints/{cid}/accept", headers=township).status_code in (200, 201)
    for cid in below:
        routing_of(api, login, cid, village, village)
        assert api.post(f"/api/v1/complaints/{cid}/accept", headers=login(village)).status_code in (200, 201)
    passed = api.post(f"/api/v1/complaints/{own[0]}/escalate", json={"trigger": "staff_request"}, headers=township)
    assert passed.status_code == 200, passed.text

    def figures():
        summary = api.get("/api/v1/reports/summary", headers=township).json()["escalation"]["units"][0]
        listed = api.get("/api/v1/reports/escalations", headers=township).json()["units"]
        city = api.get("/api/v1/reports/summary", headers=login(CITY)).json()["escalation"]["units"]
        entries = (summary, next((u for u in listed if u["unit"] == RATE_TOWNSHIP), None))
        entries += (next((u for u in city if u["unit"] == RATE_TOWNSHIP), None),)
        return all(e and e["escalated"] == 1 and e["disputes"] == 5 for e in entries) and entries

    summary, listed, seen_by_city = wait_for(figures, timeout=30)
    # escalations over the disputes accepted in its subtree (its own two and its village's three)
    assert summary == listed == seen_by_city
    assert summary["rate"] == 0.2 and summary["within_line"] is False


# --- 7. auto-pick ---------------------------------------------------------------------------------------


def test_auto_pick_prefers_the_rostered_mediators_by_load(api, login):
    village = "321282001205"  # 东南村委会
    d = Desk(api, login, village)  # the demo account holds supervisor and mediator
    team = [d.user(f"med{n}", "mediator")[0] for n in range(3)]
    for name in team:
        d.roster(d.demo, name)
    picked = []
    for _ in range(2):
        cid = d.accepted_case()
        d.do(cid, "consent", {"consent": True})
        case = d.do(cid, "assign", {})
        assert case["assignments"][-1]["picked"] == "load_and_skill"
        picked.append(case["mediator"])
    assert set(picked) <= set(team) and len(set(picked)) == 2  # idle mediators first, by load
    roster = {m["username"]: m for m in api.get("/api/v1/mediators", headers=d.demo).json()}
    assert roster[d.unit]["source"] == "acted" and roster[d.unit]["open_cases"] == 0


# --- 8. the audit log shows every service's unmasked reads ---------------------------------------------


def test_the_audit_log_shows_mediations_unmasked_reads(api, login):
    village = "321282001206"  # 西郊村委会
    d = Desk(api, login, village)
    since = datetime.now(UTC).isoformat()
    cid = d.accepted_case()  # the demo account read the complaint in full (intake)
    assert d.get(cid)["parties"]["complainant"]["name"] == "李四"  # and the mediation case (mediation)
    response = api.get("/api/v1/audit/personal-data", params={"since": since}, headers=d.demo)
    assert response.status_code == 200, response.text
    rows = [r for r in response.json() if r["complaint_id"] == cid]
    assert {r["service"] for r in rows} == {"intake", "mediation"}
    mediation = [r for r in rows if r["service"] == "mediation"]
    assert mediation[0]["endpoint"] == "mediation.get_case" and mediation[0]["fields"] == ["name", "phone"]
    assert mediation[0]["username"] == d.unit and mediation[0]["tenant"] == village
    assert [r["at"] for r in response.json()] == sorted((r["at"] for r in response.json()), reverse=True)
    # the township above audits its subtree's reads; a sibling village sees none of them
    above = api.get("/api/v1/audit/personal-data", params={"since": since}, headers=login(STREET)).json()
    assert {r["service"] for r in above if r["complaint_id"] == cid} == {"intake", "mediation"}
    sibling = api.get("/api/v1/audit/personal-data", params={"since": since}, headers=login("321282001207")).json()
    assert not [r for r in sibling if r["complaint_id"] == cid]
