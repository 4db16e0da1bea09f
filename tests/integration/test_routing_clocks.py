"""Routing's clocks and what their lights mean, through the gateway on the real broker and database:
the tier target turning yellow and red (the case escalated once, the breach counted once), the
agency's acknowledgement clock (a reminder on yellow, the handover lapsing on red), the Art 33 clock
telling the deciding unit; declining a take-over request; reclassification shown on intake's record;
the responsible unit's clock policy and days off applied by intake and mediation.

Everything happens in 生祠镇 (321282108) of 靖江市, which no other module uses. Clocks are moved into
the past with SQL and the watcher (CLOCK_WATCH_INTERVAL_SECONDS=1 in the tests) does the rest."""

from __future__ import annotations

import itertools
import time
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.conftest import complaint, credit_code, wait_for

pytestmark = pytest.mark.integration

CITY = "321282"
TOWNSHIP = "321282108"  # 生祠镇
VILLAGE = "321282108001"  # 生祠居委会
OTHER_VILLAGE = "321282108003"  # 萃竹苑社区居委会
POLICY_VILLAGE = "321282108200"  # 金星村委会: its own clock policy
DAYS_OFF_VILLAGE = "321282108201"  # 生祠村委会: its own days off
AGENCY = f"{CITY}-labour_arbitration"
PASSWORD = "routing-clocks-password-1"
ADMIN = "routing-clocks.platform-admin"
LIAISON = "routing-clocks.arbitration-liaison"

_serial = itertools.count(8100)


def bearer(api, username: str) -> dict[str, str]:
    response = api.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture(scope="module")
def accounts(platform, db) -> None:
    from gateway.auth import hash_password
    from gateway.models import User

    password_hash = hash_password(PASSWORD)
    with Session(db) as session, session.begin():
        session.merge(User(username=ADMIN, password_hash=password_hash, tenant_code=CITY, roles=["platform_admin"]))
        session.merge(User(username=LIAISON, password_hash=password_hash, tenant_code=AGENCY, roles=["agency_liaison"]))


def submit(api, place: str, **overrides: Any) -> str:
    serial = next(_serial)
    body = complaint(
        complainant={"name": "钱七", "phone": f"137{serial:08d}"},
        business={"name": f"生祠时限测试商店{serial}", "credit_code": credit_code(serial), "division_code": place},
        incident_division_code=place,
        category=overrides.pop("category", "price"),
        summary=f"时限测试第{serial}号：商品价格与标价不符，要求退还差价",
        claim_amount=overrides.pop("claim_amount", 150.0),
        **overrides,
    )
    response = api.post("/api/v1/complaints", json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def routing(api, headers, cid: str, **expect: Any) -> dict[str, Any]:
    def ready():
        response = api.get(f"/api/v1/complaints/{cid}/routing", headers=headers)
        if response.status_code != 200:
            return None
        view = response.json()
        if "responsible" in expect and view["responsible_unit"]["code"] != expect["responsible"]:
            return None
        if "state" in expect and view["state"] != expect["state"]:
            return None
        return view

    return wait_for(ready, timeout=20)


def record(api, login, cid: str, unit: str, step: str) -> dict[str, Any]:
    """Intake's case once its history has `step`."""

    def ready():
        response = api.get(f"/api/v1/complaints/{cid}", headers=login(unit))
        if response.status_code != 200:
            return None
        data = response.json()
        return data if step in [h["step"] for h in data.get("history", [])] else None

    return wait_for(ready, timeout=20)


def inbox_item(api, headers, cid: str, template: str) -> dict[str, Any]:
    def found():
        items = api.get("/api/v1/inbox", params={"limit": 200}, headers=headers).json()["items"]
        return next((i for i in items if i["complaint_id"] == cid and i["template"] == template), None)

    return wait_for(found, timeout=25)


def post(api, headers, cid: str, action: str, body: dict | None = None):
    return api.post(f"/api/v1/complaints/{cid}/{action}", json=body, headers=headers)


def move_clock(db, table: str, cid: str, *, used_days: int, left: str, kind: str | None = None) -> None:
    """Put a clock `used_days` into its time with `left` (an SQL interval) to go; due at once."""
    where = "complaint_id = :c" + (" AND kind = :k" if kind else "")
    with db.begin() as conn:
        conn.execute(
            text(
                f"UPDATE routing.{table} SET started_at = now() - make_interval(days => :d),"
                f" deadline = now() + interval '{left}', next_check_at = now() WHERE {where}"
            ),
            {"c": cid, "d": used_days, "k": kind},
        )


def breaches(platform, clock: str, tier: str) -> float:
    port = platform.metrics_ports["routing"]
    body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    labels = ("disputes_clock_breaches_total{", f'clock="{clock}"', f'tier="{tier}"', 'city="321282"')
    total = 0.0
    for line in body.splitlines():
        if line.startswith(labels[0]) and all(label in line for label in labels[1:]):
            total += float(line.rsplit(" ", 1)[1])
    return total


# --- the tier target --------------------------------------------------------------------------------


def test_the_tier_target_turns_yellow_then_red_and_the_case_goes_up_once(api, login, db, platform):
    cid = submit(api, VILLAGE)
    view = routing(api, login(VILLAGE), cid, responsible=VILLAGE)
    assert view["tier_clock"]["colour"] == "green" and view["tier_clock"]["working_days"] == 10
    before = breaches(platform, "tier_target", "village")

    move_clock(db, "tier_clocks", cid, used_days=30, left="1 day")
    assert "黄灯" in inbox_item(api, login(VILLAGE), cid, "clock_yellow")["subject"]
    with db.connect() as conn:
        assert (
            conn.execute(text("SELECT colour FROM routing.tier_clocks WHERE complaint_id = :c"), {"c": cid}).scalar()
            == "yellow"
        )

    move_clock(db, "tier_clocks", cid, used_days=30, left="-1 second")
    view = routing(api, login(TOWNSHIP), cid, responsible=TOWNSHIP)
    escalations = [s for s in view["steps"] if s["step"] == "escalated"]
    assert len(escalations) == 1 and escalations[0]["inputs"]["trigger"] == "tier_target_expired"
    assert escalations[0]["actor"] == "system:clock"
    # the township's own target starts afresh, green
    assert view["tier_clock"]["unit"] == TOWNSHIP and view["tier_clock"]["working_days"] == 15
    assert view["tier_clock"]["colour"] == "green" and view["tier_clock"]["stopped_at"] is None
    inbox_item(api, login(VILLAGE), cid, "clock_red")
    inbox_item(api, login(TOWNSHIP), cid, "case_escalated")
    record(api, login, cid, TOWNSHIP, "escalated")
    time.sleep(3)  # more watcher passes: nothing more happens
    view = routing(api, login(TOWNSHIP), cid)
    assert [s["step"] for s in view["steps"]].count("escalated") == 1
    assert breaches(platform, "tier_target", "village") == before + 1
    colours = [
        m
        for m in api.get(f"/api/v1/complaints/{cid}/messages", headers=login(TOWNSHIP)).json()
        if m["template"] == "clock_red"
    ]
    assert len(colours) == 1


# --- the agency's acknowledgement -------------------------------------------------------------------


def test_an_agency_that_does_not_acknowledge_is_reminded_then_the_handover_lapses(api, login, db, accounts):
    admin = bearer(api, ADMIN)
    onboarded = api.post(
        "/api/v1/tenants", json={"code": CITY, "kind": "agency", "agency_type": "labour_arbitration"}, headers=admin
    )
    assert onboarded.status_code in (201, 409), onboarded.text
    cid = submit(api, VILLAGE, category="labour_dispute")
    view = routing(api, login(VILLAGE), cid, state="agency_pending")
    handover = view["handovers"][-1]
    assert handover["kind"] == "agency" and handover["clock"]["kind"] == "agency_handover_ack"
    assert handover["clock"]["colour"] == "green" and handover["clock"]["unit"] == VILLAGE
    requested = next(s for s in view["steps"] if s["step"] == "agency_handover_requested")
    assert requested["inputs"]["working_days"] == 3 and requested["inputs"]["acknowledge_by"]
    liaison = bearer(api, LIAISON)
    wait_for(lambda: api.get(f"/api/v1/complaints/{cid}", headers=liaison).status_code == 200, 20)

    # yellow: the handing unit's light, and the agency reminded (one counter with notification's timer)
    move_clock(db, "case_clocks", cid, used_days=10, left="1 day", kind="agency_handover_ack")
    inbox_item(api, login(VILLAGE), cid, "clock_yellow")
    inbox_item(api, liaison, cid, "agency_reminder")

    # red: the handover lapses; the village works the case, the township and the agency are told
    move_clock(db, "case_clocks", cid, used_days=10, left="-1 second", kind="agency_handover_ack")
    view = routing(api, login(VILLAGE), cid, state="active")
    assert view["responsible_unit"]["code"] == VILLAGE and view["agency"] is None
    lapsed = view["handovers"][-1]
    assert lapsed["state"] == "lapsed" and lapsed["clock"]["colour"] == "red" and lapsed["clock"]["met"] is False
    step = view["steps"][-1]
    assert step["step"] == "agency_handover_lapsed" and step["rule"] == "agency.ack_expired"
    assert step["inputs"]["agency"] == AGENCY and step["inputs"]["told"] == TOWNSHIP
    inbox_item(api, login(VILLAGE), cid, "clock_red")
    inbox_item(api, login(TOWNSHIP), cid, "agency_handover_lapsed")
    inbox_item(api, liaison, cid, "agency_handover_withdrawn")
    history = record(api, login, cid, VILLAGE, "agency_handover_lapsed")
    assert history["responsible_unit"]["code"] == VILLAGE
    # the agency no longer sees it and can no longer acknowledge it; the village can act on it
    wait_for(lambda: api.get(f"/api/v1/complaints/{cid}", headers=liaison).status_code == 404, 20)
    assert post(api, liaison, cid, "handover/acknowledge").status_code == 404
    # reminders stop: at most AGENCY_MAX_REMINDERS (3) per channel, however many triggers
    time.sleep(4)
    sent = [m for m in api.get(f"/api/v1/complaints/{cid}/messages", headers=login(VILLAGE)).json()]
    reminders = [m for m in sent if m["template"] == "agency_reminder" and m["channel"] == "inbox"]
    assert 1 <= len(reminders) <= 3
    assert post(api, login(VILLAGE), cid, "escalate", {"trigger": "staff_request"}).status_code == 200


# --- Art 33 --------------------------------------------------------------------------------------------


def test_the_art33_clock_tells_the_deciding_unit(api, login, db):
    serial = next(_serial)
    body = complaint(
        channel="walk_in",
        complainant={"name": "钱七", "phone": f"137{serial:08d}"},
        business={
            "name": f"生祠时限测试商店{serial}",
            "credit_code": credit_code(serial),
            "division_code": OTHER_VILLAGE,
        },
        incident_division_code=OTHER_VILLAGE,
        category="price",
        summary=f"时限测试第{serial}号：管辖争议",
        claim_amount=100.0,
    )
    filed = api.post("/api/v1/complaints", json=body, headers=login(VILLAGE))
    assert filed.status_code == 201, filed.text
    cid = filed.json()["id"]
    routing(api, login(VILLAGE), cid, state="handover_pending")
    contested = post(api, login(OTHER_VILLAGE), cid, "contest", {"reason": "不属本村"})
    assert contested.status_code == 200, contested.text
    handover = contested.json()["handovers"][-1]
    assert handover["clock"]["kind"] == "authority_dispute" and handover["clock"]["unit"] == TOWNSHIP
    assert handover["clock"]["deadline"] == handover["contest_deadline"]

    move_clock(db, "case_clocks", cid, used_days=20, left="-1 second", kind="authority_dispute")
    view = wait_for(
        lambda: (
            (v := routing(api, login(TOWNSHIP), cid)) and "contest_expired" in [s["step"] for s in v["steps"]] and v
        ),
        20,
    )
    assert view["handovers"][-1]["contest_expired"] is True
    inbox_item(api, login(TOWNSHIP), cid, "clock_red")
    decided = post(api, login(TOWNSHIP), cid, "decide-authority", {"unit": OTHER_VILLAGE, "reason": "属地"})
    assert decided.status_code == 200, decided.text
    assert decided.json()["steps"][-1]["inputs"]["clock_ran_out"] is True
    assert decided.json()["handovers"][-1]["clock"]["stopped_at"]
    assert [s["step"] for s in decided.json()["steps"]].count("contest_expired") == 1


# --- take-over requests -------------------------------------------------------------------------------


def test_the_unit_above_declines_a_take_over_request_with_its_reason(api, login):
    cid = submit(api, VILLAGE)
    routing(api, login(VILLAGE), cid, responsible=VILLAGE)
    asked = post(api, login(VILLAGE), cid, "request-takeover", {"reason": "案情复杂"})
    assert asked.status_code == 200, asked.text
    assert post(api, login(OTHER_VILLAGE), cid, "decline-takeover", {"reason": "x"}).status_code == 404
    assert post(api, login(VILLAGE), cid, "decline-takeover", {"reason": "x"}).status_code == 403
    assert post(api, login(CITY), cid, "decline-takeover", {"reason": "x"}).status_code == 403  # not asked
    assert post(api, login(TOWNSHIP), cid, "decline-takeover", {"reason": ""}).status_code == 422
    assert post(api, login(TOWNSHIP), cid, "decline-takeover").status_code == 422
    declined = post(api, login(TOWNSHIP), cid, "decline-takeover", {"reason": "村级可以调处"})
    assert declined.status_code == 200, declined.text
    view = declined.json()
    assert view["responsible_unit"]["code"] == VILLAGE and view["state"] == "active"
    request = view["handovers"][-1]
    assert request["kind"] == "takeover" and request["state"] == "declined"
    assert request["decline_reason"] == "村级可以调处"
    step = view["steps"][-1]
    assert step["step"] == "takeover_declined" and step["inputs"]["reason"] == "村级可以调处"
    assert step["inputs"]["requested_by"] == VILLAGE and step["inputs"]["declined_by"] == TOWNSHIP
    assert post(api, login(TOWNSHIP), cid, "decline-takeover", {"reason": "再次"}).status_code == 409
    told = inbox_item(api, login(VILLAGE), cid, "takeover_declined")
    assert "原因：村级可以调处" in told["body"]
    history = record(api, login, cid, VILLAGE, "takeover_declined")
    entry = next(h for h in history["history"] if h["step"] == "takeover_declined")
    assert entry["detail"]["inputs"]["reason"] == "村级可以调处"
    # the village may ask again
    assert post(api, login(VILLAGE), cid, "request-takeover", {"reason": "再次请求"}).status_code == 200


# --- reclassification on intake's record -------------------------------------------------------------


def test_reclassification_shows_on_the_case_record(api, login):
    cid = submit(api, VILLAGE, claim_amount=150.0)
    routing(api, login(VILLAGE), cid, responsible=VILLAGE)
    assert post(api, login(VILLAGE), cid, "reclassify", {"category": "no_such_category"}).status_code == 422
    same = post(api, login(VILLAGE), cid, "reclassify", {"claim_amount": "3000", "reason": "补充损失"})
    assert same.status_code == 200 and same.json()["escalated"] is False

    def amount_is(value: str):
        data = api.get(f"/api/v1/complaints/{cid}", headers=login(VILLAGE)).json()
        return data if data.get("claim_amount") is not None and float(data["claim_amount"]) == float(value) else None

    data = wait_for(lambda: amount_is("3000"), 20)
    entry = next(h for h in data["history"] if h["step"] == "reclassified")
    assert float(entry["detail"]["replaced"]["claim_amount"]) == 150.0
    bigger = post(api, login(VILLAGE), cid, "reclassify", {"category": "food_safety", "reason": "涉及食品安全"})
    assert bigger.status_code == 200 and bigger.json()["escalated"] is True

    def category_is():
        data = api.get(f"/api/v1/complaints/{cid}", headers=login(TOWNSHIP)).json()
        return data if data.get("category") == "food_safety" else None

    data = wait_for(category_is, 20)
    assert data["responsible_unit"]["code"] == TOWNSHIP and float(data["claim_amount"]) == 3000
    entry = next(h for h in data["history"] if h["step"] == "escalated")
    assert entry["detail"]["replaced"]["category"] == "price"


# --- the clock policy --------------------------------------------------------------------------------


def test_the_responsible_units_clock_policy_reaches_intake(api, login, db, accounts):
    from common.workdays import DEFAULT_CALENDAR

    patched = api.patch(
        f"/api/v1/tenants/{POLICY_VILLAGE}/settings",
        json={"acceptance_working_days": 5, "yellow_share": 0.5},
        headers=bearer(api, ADMIN),
    )
    assert patched.status_code == 200, patched.text
    cid = submit(api, POLICY_VILLAGE)

    def acceptance():
        data = api.get(f"/api/v1/complaints/{cid}", headers=login(POLICY_VILLAGE))
        if data.status_code != 200:
            return None
        clock = next((c for c in data.json()["clocks"] if c["kind"] == "acceptance"), None)
        started = clock and datetime.fromisoformat(clock["started_at"])
        if clock and datetime.fromisoformat(clock["deadline"]) == DEFAULT_CALENDAR.add_working_days(started, 5):
            return clock
        return None

    assert wait_for(acceptance, 20)
    view = routing(api, login(POLICY_VILLAGE), cid, responsible=POLICY_VILLAGE)
    assert view["tier_clock"]["colour"] == "green"
    with db.connect() as conn:  # routing's own clocks take the unit's yellow share too
        share = conn.execute(
            text("SELECT yellow_share FROM routing.tier_clocks WHERE complaint_id = :c"), {"c": cid}
        ).scalar()
    assert share == 0.5


def test_the_responsible_units_own_days_off_count_in_intakes_and_mediations_clocks(api, login, accounts):
    """A unit's local days off (working_days.extra_holidays) reach the clocks of the services that do
    not hold tenant settings: intake's acceptance clock and, through the acceptance, mediation's."""
    from common.workdays import DEFAULT_CALENDAR, SHANGHAI, WorkCalendar, local_date

    today = local_date(datetime.now(SHANGHAI))
    upcoming = [DEFAULT_CALENDAR.next_workday(today + timedelta(days=1))]
    upcoming.append(DEFAULT_CALENDAR.next_workday(upcoming[0] + timedelta(days=1)))
    # the day the 60 days of mediation end if the case is accepted today (or tomorrow, near midnight)
    ends = [DEFAULT_CALENDAR.next_workday(today + timedelta(days=n)) for n in (60, 61)]
    days_off = sorted({*upcoming, *ends})
    patched = api.patch(
        f"/api/v1/tenants/{DAYS_OFF_VILLAGE}/settings",
        json={"working_days": {"extra_holidays": [d.isoformat() for d in days_off]}},
        headers=bearer(api, ADMIN),
    )
    assert patched.status_code == 200, patched.text
    local = WorkCalendar(extra_holidays=days_off)
    cid = submit(api, DAYS_OFF_VILLAGE)
    headers = login(DAYS_OFF_VILLAGE)

    def acceptance_on_the_units_calendar():
        data = api.get(f"/api/v1/complaints/{cid}", headers=headers)
        clock = data.status_code == 200 and next((c for c in data.json()["clocks"] if c["kind"] == "acceptance"), None)
        if clock and datetime.fromisoformat(clock["deadline"]) != DEFAULT_CALENDAR.add_working_days(
            datetime.fromisoformat(clock["started_at"]), 7
        ):
            return clock
        return None

    clock = wait_for(acceptance_on_the_units_calendar, 20)
    started = datetime.fromisoformat(clock["started_at"])
    assert datetime.fromisoformat(clock["deadline"]) == local.add_working_days(started, 7)
    # later than on the official calendar, and the working time left skips the days off: 7 working
    # days and what is left of today, where the official calendar would count 9
    assert local_date(datetime.fromisoformat(clock["deadline"])) > local_date(
        DEFAULT_CALENDAR.add_working_days(started, 7)
    )
    assert 6 * 86400 < clock["remaining_seconds"] <= 8 * 86400

    accepted = api.post(f"/api/v1/complaints/{cid}/accept", headers=headers)
    assert accepted.status_code in (200, 201), accepted.text
    mediation = wait_for(lambda: _mediation(api, headers, cid), 20)
    clock = mediation["clocks"]["mediation"]
    started = datetime.fromisoformat(clock["started_at"])
    official = DEFAULT_CALENDAR.add_calendar_days(started, 60)
    assert local_date(official) in days_off  # the 60th day is one of the unit's days off ...
    # ... so the limit moves to the unit's next working day (Art 45)
    assert datetime.fromisoformat(clock["deadline"]) == local.add_calendar_days(started, 60) > official


def _mediation(api, headers, cid: str) -> dict[str, Any] | None:
    answer = api.get(f"/api/v1/complaints/{cid}/mediation", headers=headers)
    return answer.json() if answer.status_code == 200 else None
