"""Every clock of a case in its view, and the work list of clocks near breach (GET /api/v1/clocks):
intake's, routing's and mediation's clocks side by side, each held by the unit answering for it,
the nearest deadline first, scoped like the cases.

Everything happens in 马桥镇 (321282109), which no other module uses. Clocks are aged as in
tests/integration/test_clock_lights.py: their start and deadline are moved into the past and the
watcher is made to look at them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import text

from tests.conftest import wait_for
from tests.integration.test_clock_lights import age, routed_complaint, stored
from tests.integration.test_mediation_flow import Desk

TOWNSHIP = "321282109"  # 马桥镇
VILLAGE = "321282109200"  # 福兴村委会
SIBLING = "321282109201"  # 集福村委会


def held(api, headers, **params) -> list[dict]:
    answer = api.get("/api/v1/clocks", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def of_case(clocks: list[dict], cid: str) -> dict[str, dict]:
    return {c["kind"]: c for c in clocks if c["complaint_id"] == cid}


def age_tier_target(db, cid: str, started: str, deadline: str) -> None:
    with db.begin() as conn:
        moved = conn.execute(
            text(
                "UPDATE routing.tier_clocks SET started_at = now() - CAST(:started AS interval), "
                "deadline = now() + CAST(:deadline AS interval), next_check_at = now() WHERE complaint_id = :c"
            ),
            {"started": started, "deadline": deadline, "c": uuid.UUID(cid)},
        ).rowcount
    assert moved == 1


def tier_target_colour(db, cid: str) -> str:
    with db.connect() as conn:
        return conn.execute(
            text("SELECT colour FROM routing.tier_clocks WHERE complaint_id = :c"), {"c": uuid.UUID(cid)}
        ).scalar_one()


def test_a_case_view_shows_every_clock_of_every_service_with_its_holder(api, login):
    d = Desk(api, login, VILLAGE)
    cid = d.accepted_case()
    mediator, _ = d.user("held", "mediator")
    d.roster(d.demo, mediator)
    d.do(cid, "consent", {"consent": True, "contacted_via": "visit", "contact_person": "赵经理"})
    d.do(cid, "assign", {"mediator": mediator})

    case = api.get(f"/api/v1/complaints/{cid}", headers=login(VILLAGE)).json()
    clocks = {c["kind"]: c for c in case["clocks"]}
    assert set(clocks) == {"acknowledgement", "acceptance", "tier_target", "mediation"}
    assert "clocks_unavailable" not in case
    assert clocks["acceptance"]["stopped_at"] and clocks["acceptance"]["met"] is True
    assert clocks["tier_target"]["unit"]["code"] == VILLAGE and clocks["tier_target"]["stopped_at"] is None
    assert clocks["mediation"]["handler"] == mediator and clocks["mediation"]["remaining_seconds"] > 0
    for clock in clocks.values():  # one shape, whichever service runs the clock
        assert clock["colour"] in {"green", "yellow", "red"} and datetime.fromisoformat(clock["deadline"])
        assert clock["unit"]["code"] == VILLAGE and "handler" in clock

    # the township above sees the same clocks; a sibling village sees no case at all
    above = api.get(f"/api/v1/complaints/{cid}", headers=login(TOWNSHIP)).json()
    assert {c["kind"] for c in above["clocks"]} == set(clocks)
    assert api.get(f"/api/v1/complaints/{cid}", headers=login(SIBLING)).status_code == 404


def test_the_clocks_near_breach_are_listed_for_the_unit_that_holds_them_and_those_above(api, login, db):
    every = ["green", "yellow", "red"]
    d = Desk(api, login, VILLAGE)
    quiet = d.accepted_case()  # its clocks stay green
    lit = d.accepted_case()
    mediator, _ = d.user("near", "mediator")
    d.roster(d.demo, mediator)
    d.do(lit, "consent", {"consent": True, "contacted_via": "visit", "contact_person": "钱经理"})
    d.do(lit, "assign", {"mediator": mediator})
    age(db, "mediation", lit, "mediation", started="50 days", deadline="5 days")
    age_tier_target(db, lit, started="20 days", deadline="2 days")
    waiting = routed_complaint(api, login, VILLAGE, "福兴农资店", 9109)
    age(db, "intake", waiting, "acceptance", started="10 days", deadline="-1 minute")
    wait_for(lambda: stored(db, "mediation", lit, "mediation")[0] == "yellow", timeout=20)
    wait_for(lambda: tier_target_colour(db, lit) == "yellow", timeout=20)
    wait_for(lambda: stored(db, "intake", waiting, "acceptance")[0] == "red", timeout=20)

    mine = held(api, login(VILLAGE))
    found = of_case(mine, lit)
    assert set(found) == {"tier_target", "mediation"}
    assert found["tier_target"]["colour"] == "yellow" and found["tier_target"]["unit"]["code"] == VILLAGE
    assert found["mediation"]["colour"] == "yellow" and found["mediation"]["handler"] == mediator
    assert 0 < found["tier_target"]["remaining_seconds"] < found["mediation"]["remaining_seconds"]
    late = of_case(mine, waiting)["acceptance"]
    assert late["colour"] == "red" and late["remaining_seconds"] < 0 and late["unit"]["code"] == VILLAGE
    # routing keeps no tracking numbers: the list has them all the same
    case = api.get(f"/api/v1/complaints/{lit}", headers=login(VILLAGE)).json()
    assert {c["tracking_no"] for c in found.values()} == {case["tracking_no"]}
    assert not of_case(mine, quiet)  # green clocks are not near breach
    deadlines = [datetime.fromisoformat(c["deadline"]) for c in mine]
    assert deadlines == sorted(deadlines)  # the most urgent first, across services

    # asked for: one colour, one kind, green too
    reds = held(api, login(VILLAGE), colour="red")
    assert of_case(reds, waiting) and not of_case(reds, lit)
    assert set(of_case(held(api, login(VILLAGE), kind="tier_target"), lit)) == {"tier_target"}
    greens = of_case(held(api, login(VILLAGE), colour="green", limit=500), quiet)
    assert set(greens) == {"tier_target", "mediation"} and greens["tier_target"]["tracking_no"]

    # the township sees its villages' clocks; the sibling village does not
    assert set(of_case(held(api, login(TOWNSHIP)), lit)) == {"tier_target", "mediation"}
    assert not of_case(held(api, login(SIBLING), colour=every, limit=500), lit)

    # once a case is passed up, the village no longer holds its tier target; the township does
    up = api.post(
        f"/api/v1/complaints/{waiting}/escalate",
        json={"trigger": "staff_request", "reason": "案情复杂"},
        headers=d.demo,
    )
    assert up.status_code == 200, up.text
    assert "tier_target" not in of_case(held(api, login(VILLAGE), colour=every, limit=500), waiting)
    township = of_case(held(api, login(TOWNSHIP), colour=every, limit=500), waiting)
    assert township["tier_target"]["unit"]["code"] == TOWNSHIP and township["tier_target"]["colour"] == "green"


def test_asking_for_an_unknown_colour_or_clock_names_what_is_allowed(api, login):
    for params, field in (({"colour": "purple"}, "colour"), ({"kind": "lunch"}, "kind"), ({"limit": 0}, "limit")):
        answer = api.get("/api/v1/clocks", params=params, headers=login(VILLAGE))
        assert answer.status_code == 422, answer.text
        assert answer.json()["fields"][0]["field"].startswith(field)
    assert api.get("/api/v1/clocks").status_code == 401
