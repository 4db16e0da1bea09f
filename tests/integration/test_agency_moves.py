"""An agency's moves through the gateway (对接, docs/routing.md "Agency matters"): it answers a case
handed to it (acknowledging it in the same move if need be) or hands it back for the unit to work
again; only the agency the case is with may, in the states that allow it, with input that holds;
the unit that handed the case over is told, and sees the answer in the case's history.

Everything happens in 生祠镇 (321282108), which no other module uses: its police station gets the
public-order complaints filed at 金星村委会, each against a business of its own."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.conftest import complaint, credit_code, wait_for

pytestmark = pytest.mark.integration

CITY = "321282"  # 靖江市
TOWNSHIP = "321282108"  # 生祠镇
VILLAGE = "321282108200"  # 金星村委会
STATION = f"{TOWNSHIP}-police"
OTHER_AGENCY = f"{TOWNSHIP}-court"
PASSWORD = "agency-moves-password-1"
LIAISON = "agency-moves.station"
OTHER_LIAISON = "agency-moves.court"
LIAISON_ROLE = "agency_liaison"

_serial = itertools.count(8600)  # routing_clocks has 8100-


def bearer(api, username: str) -> dict[str, str]:
    response = api.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture(scope="module")
def station(platform, db, api, login) -> dict[str, str]:
    """The township's police station and a court, onboarded by the city; a liaison of each."""
    from gateway.auth import hash_password
    from gateway.models import User

    for agency_type, name in (("police", "生祠派出所"), ("court", "生祠法庭")):
        onboarded = api.post(
            "/api/v1/tenants",
            json={"code": TOWNSHIP, "kind": "agency", "agency_type": agency_type, "name": name},
            headers=login(CITY),
        )
        assert onboarded.status_code in (201, 409), onboarded.text
    password_hash = hash_password(PASSWORD)
    with Session(db) as session, session.begin():
        for username, tenant in ((LIAISON, STATION), (OTHER_LIAISON, OTHER_AGENCY)):
            user = User(username=username, password_hash=password_hash, tenant_code=tenant, roles=[LIAISON_ROLE])
            session.merge(user)
    return bearer(api, LIAISON)


def handed_to_the_station(api, login) -> str:
    """A public-order complaint at the village, handed to the station (pending); its id."""
    serial = next(_serial)
    body = complaint(
        complainant={"name": "赵六", "phone": f"137{serial:08d}"},
        business={"name": f"生祠对接测试商店{serial}", "credit_code": credit_code(serial), "division_code": VILLAGE},
        incident_division_code=VILLAGE,
        category="public_order",
        summary=f"对接测试第{serial}号：店主在店内推搡顾客，要求处理",
        claim_amount=100.0,
    )
    response = api.post("/api/v1/complaints", json=body)
    assert response.status_code == 201, response.text
    cid = response.json()["id"]
    view = routing(api, login(VILLAGE), cid, state="agency_pending")
    assert view["agency"] == {"tenant": STATION, "state": "pending"}
    return cid


def routing(api, headers: dict[str, str], cid: str, **expect: Any) -> dict[str, Any]:
    def ready():
        response = api.get(f"/api/v1/complaints/{cid}/routing", headers=headers)
        if response.status_code != 200:
            return None
        view = response.json()
        return view if all(view.get(k) == v for k, v in expect.items()) else None

    return wait_for(ready, timeout=20)


def history_step(api, headers: dict[str, str], cid: str, step: str) -> dict[str, Any]:
    def found():
        response = api.get(f"/api/v1/complaints/{cid}", headers=headers)
        if response.status_code != 200:
            return None
        return next((h for h in response.json()["history"] if h["step"] == step), None)

    return wait_for(found, timeout=20)


def inbox_item(api, headers: dict[str, str], cid: str, template: str) -> dict[str, Any]:
    def found():
        items = api.get("/api/v1/inbox", params={"limit": 200}, headers=headers).json()["items"]
        return next((i for i in items if i["complaint_id"] == cid and i["template"] == template), None)

    return wait_for(found, timeout=25)


def post(api, headers: dict[str, str], cid: str, action: str, body: dict | None = None):
    return api.post(f"/api/v1/complaints/{cid}/handover/{action}", json=body, headers=headers)


def steps_written(db, cid: str) -> int:
    with db.connect() as conn:
        query = text("SELECT count(*) FROM routing.case_steps WHERE complaint_id = :c")
        return conn.execute(query, {"c": cid}).scalar()


def test_an_answer_acknowledges_stays_with_the_unit_and_tells_it(api, login, station):
    cid = handed_to_the_station(api, login)
    offered = routing(api, station, cid)["allowed_actions"]
    assert {"handover_acknowledge", "agency_answer", "agency_hand_back"} <= set(offered)

    answered = post(api, station, cid, "answer", {"outcome": "mediated", "answer": "已出警调解，双方当场和解"})
    assert answered.status_code == 200, answered.text
    view = answered.json()
    assert view["state"] == "with_agency" and view["agency"] == {"tenant": STATION, "state": "answered"}
    assert view["responsible_unit"]["code"] == VILLAGE  # still the unit's case
    assert [s["step"] for s in view["steps"]][-2:] == ["agency_acknowledged", "agency_answered"]
    assert view["steps"][-1]["inputs"]["outcome"] == "mediated" and view["allowed_actions"] == []

    # the village sees the answer in the history and is told
    step = history_step(api, login(VILLAGE), cid, "agency_answered")
    assert step["detail"]["inputs"]["answer"] == "已出警调解，双方当场和解"
    assert step["detail"]["inputs"]["agency_name"] == "生祠派出所"
    # every agency step names the agency, not only its answer (the console shows the name)
    for earlier in ("agency_handover_requested", "agency_acknowledged"):
        assert history_step(api, login(VILLAGE), cid, earlier)["detail"]["inputs"]["agency_name"] == "生祠派出所"
    told = inbox_item(api, login(VILLAGE), cid, "agency_answered")
    assert "生祠派出所" in told["body"] and "已调解化解" in told["body"] and "双方当场和解" in told["body"]

    # the station keeps the case in its list, with the answer
    listed = api.get("/api/v1/agency/handovers", headers=station)
    assert listed.status_code == 200, listed.text
    mine = next(h for h in listed.json() if h["complaint_id"] == cid)
    assert (mine["state"], mine["outcome"], mine["from_unit"]["code"]) == ("answered", "mediated", VILLAGE)
    assert api.get(f"/api/v1/complaints/{cid}", headers=station).status_code == 200

    # answered: the agency's part is done
    again = post(api, station, cid, "answer", {"answer": "补充答复"})
    assert again.status_code == 409 and "answered already" in again.json()["message"]
    assert post(api, station, cid, "hand-back", {"reason": "不属本所"}).status_code == 409


def test_a_case_handed_back_is_the_units_to_work_again(api, login, station):
    cid = handed_to_the_station(api, login)
    assert post(api, station, cid, "acknowledge").status_code == 200
    key = api.post("/api/v1/api-keys", json={"tenant": STATION, "name": "派出所警务系统"}, headers=login(CITY))
    assert key.status_code == 201, key.text
    system = {"X-API-Key": key.json()["key"]}

    back = post(api, system, cid, "hand-back", {"reason": "属于消费纠纷，不属治安案件"})
    assert back.status_code == 200, back.text
    assert back.json()["state"] == "active" and back.json()["responsible_unit"]["code"] == VILLAGE

    view = routing(api, login(VILLAGE), cid, state="active")
    assert view["agency"] is None and view["steps"][-1]["step"] == "agency_handed_back"
    assert view["steps"][-1]["inputs"]["reason"] == "属于消费纠纷，不属治安案件"
    assert "escalate" in view["allowed_actions"]  # the village works it again
    assert view["tier_clock"]["unit"] == VILLAGE and view["tier_clock"]["stopped_at"] is None
    history_step(api, login(VILLAGE), cid, "agency_handed_back")
    told = inbox_item(api, login(VILLAGE), cid, "agency_handed_back")
    assert "属于消费纠纷，不属治安案件" in told["body"]

    # the station no longer sees the case, but its list says what became of the handover
    wait_for(lambda: api.get(f"/api/v1/complaints/{cid}", headers=system).status_code == 404, 20)
    assert post(api, station, cid, "answer", {"answer": "x"}).status_code == 404
    mine = next(h for h in api.get("/api/v1/agency/handovers", headers=system).json() if h["complaint_id"] == cid)
    assert (mine["state"], mine["reason"]) == ("handed_back", "属于消费纠纷，不属治安案件")


def test_only_the_agency_the_case_is_with_acts(api, login, station, db):
    cid = handed_to_the_station(api, login)
    written = steps_written(db, cid)
    for headers in (login(VILLAGE), login(TOWNSHIP)):
        assert post(api, headers, cid, "answer", {"answer": "越权答复"}).status_code == 403
        assert post(api, headers, cid, "hand-back", {"reason": "越权退回"}).status_code == 403
    court = bearer(api, OTHER_LIAISON)  # another agency does not see the case at all
    assert post(api, court, cid, "answer", {"answer": "越权答复"}).status_code == 404
    assert post(api, court, cid, "hand-back", {"reason": "越权退回"}).status_code == 404
    assert steps_written(db, cid) == written
    assert routing(api, login(VILLAGE), cid)["state"] == "agency_pending"

    # declining an unacknowledged handover is a hand-back too
    back = post(api, station, cid, "hand-back", {"reason": "非本所管辖"})
    assert back.status_code == 200, back.text
    routing(api, login(VILLAGE), cid, state="active")
    assert post(api, login(VILLAGE), cid, "hand-back", {"reason": "再次退回"}).status_code == 403


BAD_INPUT = [
    ("answer", {"answer": ""}, "answer"),
    ("answer", {"answer": "   "}, "answer"),
    ("answer", {"answer": "答" * 2001}, "answer"),
    ("answer", {"answer": "已处理", "outcome": "arrested_everyone"}, "outcome"),
    ("answer", {"outcome": "handled"}, "answer"),
    ("answer", {"answer": "已处理", "note": "x"}, "note"),
    ("hand-back", {}, "reason"),
    ("hand-back", {"reason": ""}, "reason"),
    ("hand-back", {"reason": "理" * 501}, "reason"),
]


def test_bad_input_is_named_and_writes_nothing(api, login, station, db):
    cid = handed_to_the_station(api, login)
    written = steps_written(db, cid)
    for action, body, field in BAD_INPUT:
        response = post(api, station, cid, action, body)
        assert response.status_code == 422, (action, body, response.text)
        assert field in [f["field"] for f in response.json()["fields"]], (action, body, response.text)
    assert steps_written(db, cid) == written
    view = routing(api, station, cid)
    assert view["state"] == "agency_pending" and view["agency"]["state"] == "pending"
