"""Routing through the gateway: decisions with their rule and inputs, the first-receiver handover,
return to routing, contest and the decision on authority, every escalation trigger, take-over, the
city at the top, the agency handover and its acknowledgement, and the read-only view a unit keeps of
what it passed up.

The platform is shared with the other test modules: everything here happens in 靖江市 (321282),
whose cases no other module asserts on, each case against a business of its own (unique credit code
and phone, so the collective rule and intake's duplicate check stay out of the way)."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.conftest import complaint, credit_code, wait_for

pytestmark = pytest.mark.integration

CITY = "321282"  # 靖江市
TOWNSHIP = "321282101"  # 新桥镇
VILLAGE = "321282101001"  # 振兴居委会
SIBLING_VILLAGE = "321282101002"  # 礼士桥居委会
OTHER_TOWNSHIP = "321282102"  # 东兴镇
OTHER_VILLAGE = "321282102200"  # 惠龙村委会
AGENCY = f"{CITY}-labour_arbitration"
PASSWORD = "routing-test-password-1"
MEDIATOR = "routing.village-mediator"
ADMIN = "routing.platform-admin"
LIAISON = "routing.arbitration-liaison"

_serial = itertools.count(7000)


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
        session.merge(User(username=MEDIATOR, password_hash=password_hash, tenant_code=VILLAGE, roles=["mediator"]))
        session.merge(User(username=ADMIN, password_hash=password_hash, tenant_code=CITY, roles=["platform_admin"]))
        session.merge(User(username=LIAISON, password_hash=password_hash, tenant_code=AGENCY, roles=["agency_liaison"]))


def submit(api, login, place: str, *, clerk: str | None = None, **overrides: Any) -> str:
    """File a complaint against a business of its own at `place`; the id."""
    serial = next(_serial)
    body = complaint(
        complainant={"name": "王五", "phone": f"139{serial:08d}"},
        business={"name": f"靖江路由测试商店{serial}", "credit_code": credit_code(serial), "division_code": place},
        incident_division_code=place,
        category=overrides.pop("category", "price"),
        summary=f"路由测试第{serial}号：商品价格与标价不符，要求退还差价",
        claim_amount=overrides.pop("claim_amount", 120.0),
        **overrides,
    )
    headers = {}
    if clerk is not None:
        body["channel"] = "walk_in"
        headers = login(clerk)
    response = api.post("/api/v1/complaints", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def routing(api, headers: dict[str, str], complaint_id: str, **expect: Any) -> dict[str, Any]:
    """The routing view once it matches `expect` (e.g. state=..., responsible=...); with `responsible`,
    once intake holds the case there too (the decisions on it are intake's)."""

    def ready():
        response = api.get(f"/api/v1/complaints/{complaint_id}/routing", headers=headers)
        if response.status_code != 200:
            return None
        view = response.json()
        if "responsible" in expect and view["responsible_unit"]["code"] != expect["responsible"]:
            return None
        if "responsible" in expect and not held_by(api, headers, complaint_id, expect["responsible"]):
            return None
        if "state" in expect and view["state"] != expect["state"]:
            return None
        return view

    return wait_for(ready, timeout=20)


def held_by(api, headers: dict[str, str], complaint_id: str, unit: str) -> bool:
    """Intake has applied routing's decision: its case names `unit` responsible."""
    response = api.get(f"/api/v1/complaints/{complaint_id}", headers=headers)
    return response.status_code == 200 and (response.json()["responsible_unit"] or {}).get("code") == unit


def case(api, login, complaint_id: str, unit: str, *, responsible: str | None = None, step: str | None = None):
    """Intake's case as `unit` sees it, once intake applied routing's events."""

    def ready():
        response = api.get(f"/api/v1/complaints/{complaint_id}", headers=login(unit))
        if response.status_code != 200:
            return None
        data = response.json()
        if responsible and (data["responsible_unit"] or {}).get("code") != responsible:
            return None
        if step and step not in [h["step"] for h in data.get("history", [])]:
            return None
        return data

    return wait_for(ready, timeout=20)


def post(api, headers, complaint_id: str, action: str, body: dict | None = None):
    return api.post(f"/api/v1/complaints/{complaint_id}/{action}", json=body, headers=headers)


# --- decisions ------------------------------------------------------------------------------------


def test_a_decision_is_explained_in_the_api_and_the_history(api, login):
    cid = submit(api, login, VILLAGE)
    view = routing(api, login(VILLAGE), cid, responsible=VILLAGE)
    assert view["rule"] == "territory.business" and view["state"] == "active"
    assert view["inputs"]["place"] == VILLAGE and view["inputs"]["territorial_unit"] == VILLAGE
    assert view["steps"][0]["step"] == "routed" and view["steps"][0]["rule"] == "territory.business"
    assert view["tier_clock"]["unit"] == VILLAGE and view["tier_clock"]["working_days"] == 10
    history = case(api, login, cid, VILLAGE, responsible=VILLAGE)["history"]
    routed = next(h for h in history if h["step"] == "routed")
    assert routed["detail"]["rule"] == "territory.business" and routed["detail"]["inputs"]["place"] == VILLAGE


@pytest.mark.parametrize(
    ("overrides", "unit", "rule"),
    [
        ({"claim_amount": 8000.0}, TOWNSHIP, "tier.amount"),
        ({"claim_amount": 80000.0}, CITY, "tier.amount"),
        ({"category": "food_safety"}, TOWNSHIP, "tier.safety"),
    ],
)
def test_tier_rules_start_a_case_higher(api, login, overrides, unit, rule):
    cid = submit(api, login, VILLAGE, **overrides)
    view = routing(api, login(unit), cid, responsible=unit)
    assert view["rule"] == rule
    assert rule in [r["rule"] for r in view["inputs"]["tier_rules"]]
    # the village sees nothing of it: it never had it
    assert api.get(f"/api/v1/complaints/{cid}/routing", headers=login(VILLAGE)).status_code == 404


def test_out_of_scope_is_404(api, login):
    cid = submit(api, login, VILLAGE)
    routing(api, login(VILLAGE), cid, responsible=VILLAGE)
    for unit in (SIBLING_VILLAGE, OTHER_TOWNSHIP, "330681"):
        assert api.get(f"/api/v1/complaints/{cid}/routing", headers=login(unit)).status_code == 404
        assert post(api, login(unit), cid, "escalate", {"trigger": "staff_request"}).status_code == 404
    assert api.get(f"/api/v1/complaints/{uuid.uuid4()}/routing", headers=login(VILLAGE)).status_code == 404


# --- handover, return, contest --------------------------------------------------------------------


def test_first_receiver_stays_responsible_until_the_handover_is_accepted(api, login, accounts):
    cid = submit(api, login, OTHER_VILLAGE, clerk=OTHER_TOWNSHIP)
    view = routing(api, login(OTHER_TOWNSHIP), cid, state="handover_pending")
    assert view["responsible_unit"]["code"] == OTHER_TOWNSHIP and view["rule"] == "first_receiver"
    assert view["handovers"][-1]["to"] == OTHER_VILLAGE
    # the village sees it, read-only, before accepting
    pending = case(api, login, cid, OTHER_VILLAGE, step="handover_requested")
    assert pending["read_only"] is True and pending["responsible_unit"]["code"] == OTHER_TOWNSHIP
    # nobody but the target accepts; the first receiver cannot
    assert post(api, login(OTHER_TOWNSHIP), cid, "handover/accept").status_code == 403
    accepted = post(api, login(OTHER_VILLAGE), cid, "handover/accept")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["responsible_unit"]["code"] == OTHER_VILLAGE and accepted.json()["state"] == "active"
    record = case(api, login, cid, OTHER_VILLAGE, responsible=OTHER_VILLAGE, step="handover_accepted")
    assert record["read_only"] is False
    again = post(api, login(OTHER_VILLAGE), cid, "handover/accept")
    assert again.status_code == 409 and "not possible now" in again.json()["message"]


def test_return_goes_back_to_routing_never_sideways(api, login):
    # the township took a village's case over; it returns it: routing hands it back down
    cid = submit(api, login, VILLAGE)
    routing(api, login(VILLAGE), cid, responsible=VILLAGE)
    assert post(api, login(TOWNSHIP), cid, "take-over", {"reason": "先收上来"}).status_code == 200
    case(api, login, cid, TOWNSHIP, responsible=TOWNSHIP)
    # a target cannot be named: the body takes a reason only
    sideways = post(api, login(TOWNSHIP), cid, "return", {"reason": "x", "to": SIBLING_VILLAGE})
    assert sideways.status_code == 422
    returned = post(api, login(TOWNSHIP), cid, "return", {"reason": "属地在村"})
    assert returned.status_code == 200, returned.text
    view = returned.json()
    assert view["state"] == "handover_pending" and view["responsible_unit"]["code"] == TOWNSHIP
    assert view["handovers"][-1]["to"] == VILLAGE
    assert [s["step"] for s in view["steps"]][-2:] == ["returned", "handover_requested"]
    assert post(api, login(VILLAGE), cid, "handover/accept").status_code == 200
    case(api, login, cid, VILLAGE, responsible=VILLAGE, step="handover_accepted")


def test_contest_runs_the_art33_clock_and_the_common_higher_unit_decides(api, login, db):
    cid = submit(api, login, SIBLING_VILLAGE, clerk=VILLAGE)
    routing(api, login(VILLAGE), cid, state="handover_pending")
    assert post(api, login(VILLAGE), cid, "contest").status_code == 403  # only the target contests
    contested = post(api, login(SIBLING_VILLAGE), cid, "contest", {"reason": "商家实际在振兴"})
    assert contested.status_code == 200, contested.text
    handover = contested.json()["handovers"][-1]
    assert handover["state"] == "contested" and handover["decider"] == TOWNSHIP and handover["contest_deadline"]
    # the disputing units cannot decide; the wrong state answers 409
    assert post(api, login(VILLAGE), cid, "decide-authority", {"unit": VILLAGE}).status_code == 403
    assert post(api, login(SIBLING_VILLAGE), cid, "handover/accept").status_code == 409
    # the clock runs out: the clock watcher records it (services/routing/lights.py)
    with db.begin() as conn:
        conn.execute(
            text(
                "UPDATE routing.case_clocks SET started_at = now() - interval '20 days',"
                " deadline = now() - interval '1 second', next_check_at = now()"
                " WHERE complaint_id = :c AND kind = 'authority_dispute'"
            ),
            {"c": cid},
        )
    wait_for(lambda: "contest_expired" in [s["step"] for s in routing(api, login(TOWNSHIP), cid)["steps"]], 20)
    assert post(api, login(TOWNSHIP), cid, "decide-authority", {"unit": OTHER_VILLAGE}).status_code == 422
    decided = post(api, login(TOWNSHIP), cid, "decide-authority", {"unit": SIBLING_VILLAGE, "reason": "属地"})
    assert decided.status_code == 200, decided.text
    view = decided.json()
    assert view["responsible_unit"]["code"] == SIBLING_VILLAGE and view["state"] == "active"
    step = view["steps"][-1]
    assert step["step"] == "authority_decided" and step["inputs"]["clock_ran_out"] is True
    case(api, login, cid, SIBLING_VILLAGE, responsible=SIBLING_VILLAGE, step="authority_decided")


# --- escalation -----------------------------------------------------------------------------------


def escalated_to(api, login, cid: str, unit: str, trigger: str) -> dict[str, Any]:
    view = routing(api, login(unit), cid, responsible=unit)
    step = next(s for s in reversed(view["steps"]) if s["step"] == "escalated")
    assert step["inputs"]["trigger"] == trigger
    return view


def test_staff_request_passes_up_and_the_lower_unit_keeps_a_read_only_view(api, login, accounts):
    cid = submit(api, login, VILLAGE)
    routing(api, login(VILLAGE), cid, responsible=VILLAGE)
    # a village mediator without the supervisor role may not
    denied = post(api, bearer(api, MEDIATOR), cid, "escalate", {"trigger": "staff_request"})
    assert denied.status_code == 403
    done = post(api, login(VILLAGE), cid, "escalate", {"trigger": "staff_request", "reason": "提请上一级"})
    assert done.status_code == 200, done.text
    assert done.json()["read_only"] is True  # the answer is what the village sees now
    escalated_to(api, login, cid, TOWNSHIP, "staff_request")
    view = case(api, login, cid, VILLAGE, responsible=TOWNSHIP, step="escalated")
    assert view["read_only"] is True
    assert view["complainant"]["phone"].count("*") >= 4  # masked
    # the village can no longer act on it
    for action, body in (("escalate", {"trigger": "staff_request"}), ("return", None), ("request-takeover", None)):
        assert post(api, login(VILLAGE), cid, action, body).status_code == 403
    assert api.get(f"/api/v1/complaints/{cid}/routing", headers=login(VILLAGE)).json()["read_only"] is True


def test_party_request(api, login):
    cid = submit(api, login, VILLAGE)
    routing(api, login(VILLAGE), cid, responsible=VILLAGE)
    assert post(api, login(VILLAGE), cid, "escalate", {"trigger": "party_request"}).status_code == 200
    escalated_to(api, login, cid, TOWNSHIP, "party_request")
    assert post(api, login(VILLAGE), cid, "escalate", {"trigger": "whim"}).status_code == 422


def test_tier_target_expired(api, login, db):
    cid = submit(api, login, VILLAGE)
    routing(api, login(VILLAGE), cid, responsible=VILLAGE)
    with db.begin() as conn:
        conn.execute(
            text(
                "UPDATE routing.tier_clocks SET deadline = now() - interval '1 second', next_check_at = now()"
                " WHERE complaint_id = :c"
            ),
            {"c": cid},
        )
    view = escalated_to(api, login, cid, TOWNSHIP, "tier_target_expired")
    assert view["tier_clock"]["unit"] == TOWNSHIP and view["tier_clock"]["working_days"] == 15
    case(api, login, cid, VILLAGE, responsible=TOWNSHIP, step="escalated")


def test_mediation_failed(api, login, db):
    """mediation.ended.v1 with outcome failed. Published through routing's outbox (the relay sends a
    row to the exchange of its `source`, here `mediation.events`), as the mediation service would."""
    from datetime import UTC, datetime

    from common.contracts import MediationEnded, Unit
    from common.outbox import emit
    from services.routing.models import Outbox

    cid = submit(api, login, VILLAGE)
    routing(api, login(VILLAGE), cid, responsible=VILLAGE)
    event = MediationEnded(
        complaint_id=uuid.UUID(cid),
        unit=Unit(code=VILLAGE, name="振兴居委会", tier="village"),
        outcome="failed",
        ended_at=datetime.now(UTC),
    )
    with Session(db) as session, session.begin():
        emit(session, Outbox, event)
    escalated_to(api, login, cid, TOWNSHIP, "mediation_failed")


def test_reclassified_bigger(api, login):
    cid = submit(api, login, VILLAGE)
    routing(api, login(VILLAGE), cid, responsible=VILLAGE)
    same = post(api, login(VILLAGE), cid, "reclassify", {"claim_amount": "3000"})
    assert same.status_code == 200 and same.json()["escalated"] is False
    bigger = post(api, login(VILLAGE), cid, "reclassify", {"claim_amount": "90000", "reason": "实际损失更大"})
    assert bigger.status_code == 200, bigger.text
    assert bigger.json()["escalated"] is True
    view = escalated_to(api, login, cid, CITY, "reclassified")  # straight to the city: above the township maximum
    assert view["steps"][-1]["inputs"]["rule"] == "tier.amount"


def test_take_over_and_the_request_for_it(api, login):
    cid = submit(api, login, VILLAGE)
    routing(api, login(VILLAGE), cid, responsible=VILLAGE)
    asked = post(api, login(VILLAGE), cid, "request-takeover", {"reason": "案情复杂"})
    assert asked.status_code == 200, asked.text
    assert asked.json()["handovers"][-1]["kind"] == "takeover"
    assert post(api, login(VILLAGE), cid, "request-takeover").status_code == 409  # already asked
    assert post(api, login(VILLAGE), cid, "take-over").status_code == 409  # it is its own case
    assert post(api, login(SIBLING_VILLAGE), cid, "take-over").status_code == 404
    taken = post(api, login(CITY), cid, "take-over", {"reason": "市级督办"})
    assert taken.status_code == 200, taken.text
    view = escalated_to(api, login, cid, CITY, "take_over")
    assert view["handovers"][-1]["state"] == "accepted"
    assert view["steps"][-1]["inputs"]["takeover_requested_by"] == VILLAGE


def test_the_city_is_the_top(api, login):
    cid = submit(api, login, VILLAGE, claim_amount=90000.0)
    routing(api, login(CITY), cid, responsible=CITY)
    ended = post(api, login(CITY), cid, "escalate", {"trigger": "party_request", "reason": "当事人要求"})
    assert ended.status_code == 200, ended.text
    view = ended.json()
    assert view["state"] == "ended" and "court" in view["remedy_routes"]
    assert view["steps"][-1]["step"] == "ended_at_top"
    record = case(api, login, cid, CITY, step="ended_at_top")
    step = next(h for h in record["history"] if h["step"] == "ended_at_top")
    assert "arbitration" in step["detail"]["remedy_routes"]
    again = post(api, login(CITY), cid, "escalate", {"trigger": "party_request"})
    assert again.status_code == 409 and "remedy routes" in again.json()["message"]


def test_escalation_counts_per_unit(api, login):
    cid = submit(api, login, VILLAGE)
    routing(api, login(VILLAGE), cid, responsible=VILLAGE)
    accepted = api.post(f"/api/v1/complaints/{cid}/accept", headers=login(VILLAGE))
    assert accepted.status_code in (200, 201), accepted.text
    post(api, login(VILLAGE), cid, "escalate", {"trigger": "staff_request"})

    def counted():
        figures = api.get("/api/v1/reports/escalations", headers=login(TOWNSHIP)).json()
        return next(
            (u for u in figures["units"] if u["unit"] == VILLAGE and u["escalated"] >= 1 and u["disputes"] >= 1), None
        )

    row = wait_for(counted, timeout=20)
    # escalated over the disputes it accepted (docs/reporting.md)
    assert row["disputes"] >= 1 and row["rate"] == round(row["escalated"] / row["disputes"], 4)
    other = api.get("/api/v1/reports/escalations", headers=login(OTHER_TOWNSHIP)).json()
    assert all(u["unit"].startswith(OTHER_TOWNSHIP) for u in other["units"])


# --- agencies -------------------------------------------------------------------------------------


def test_agency_handover_must_be_acknowledged(api, login, accounts):
    admin = bearer(api, ADMIN)
    onboarded = api.post(
        "/api/v1/tenants", json={"code": CITY, "kind": "agency", "agency_type": "labour_arbitration"}, headers=admin
    )
    assert onboarded.status_code in (201, 409), onboarded.text
    cid = submit(api, login, VILLAGE, category="labour_dispute")
    view = routing(api, login(VILLAGE), cid, state="agency_pending")
    assert view["agency"] == {"tenant": AGENCY, "state": "pending"}
    assert view["responsible_unit"]["code"] == VILLAGE  # first-receiver duty until acknowledged
    assert view["inputs"]["agency"]["rule"] == "agency.labour_arbitration"
    liaison = bearer(api, LIAISON)
    seen = wait_for(lambda: api.get(f"/api/v1/complaints/{cid}", headers=liaison).status_code == 200, 20)
    assert seen
    assert post(api, login(VILLAGE), cid, "handover/acknowledge").status_code == 403
    done = post(api, liaison, cid, "handover/acknowledge")
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "with_agency" and done.json()["agency"]["state"] == "acknowledged"
    assert post(api, liaison, cid, "handover/acknowledge").status_code == 409
    case(api, login, cid, VILLAGE, step="agency_acknowledged")
