"""Supervision orders (督办) through the gateway: the city orders on a village case with a deadline;
the township and the village see it (list, case view, clocks, inbox); the village answers with an
evidence file; the city accepts; an answer sent back is answered again; an order past its deadline
turns red, tells both sides and counts as overdue in the figures; a sibling unit sees nothing; an
order follows the case when it is escalated, and is withdrawn when the sender holds the case.

Everything happens in 枫桥镇 (330681109) of 诸暨市 (the overdue test's order in 五泄镇), each case
against a business of its own. Time is not waited for: the overdue test moves an order's start
and deadline into the past and makes it due, as tests/integration/test_clock_lights.py does with
the other clocks."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import pytest
from sqlalchemy import text

from tests.conftest import complaint, credit_code, wait_for
from tests.integration.test_intake_channels import PNG

pytestmark = pytest.mark.integration

CITY = "330681"  # 诸暨市
TOWNSHIP = "330681109"  # 枫桥镇
VILLAGE = "330681109005"  # 楼家社区
SIBLING_VILLAGE = "330681109006"  # 海角社区
OTHER_TOWNSHIP = "330681110"  # 赵家镇
QUIET_TOWNSHIP = "330681112"  # 五泄镇, ordered in by the overdue test only
QUIET_VILLAGE = "330681112001"  # 五泄社区
ORDERS = "/api/v1/supervision-orders"

_serial = itertools.count(18000)


def submit(api, place: str = VILLAGE) -> str:
    """A complaint against a business of its own at `place`; its id once routing made `place` responsible."""
    serial = next(_serial)
    body = complaint(
        complainant={"name": "赵六", "phone": f"137{serial:08d}"},
        business={"name": f"枫桥督办测试商店{serial}", "credit_code": credit_code(serial), "division_code": place},
        incident_division_code=place,
        category="price",
        summary=f"督办测试第{serial}号：商品价格与标价不符，要求退还差价",
        claim_amount=150.0,
    )
    response = api.post("/api/v1/complaints", json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def responsible(api, login, cid: str, unit: str) -> dict[str, Any]:
    def ready():
        response = api.get(f"/api/v1/complaints/{cid}/routing", headers=login(unit))
        return response.status_code == 200 and response.json()["responsible_unit"]["code"] == unit and response.json()

    return wait_for(ready, timeout=20)


def routed_case(api, login, place: str = VILLAGE) -> str:
    cid = submit(api, place)
    responsible(api, login, cid, place)
    # intake applied the routing too (the case view and evidence are intake's)
    wait_for(lambda: api.get(f"/api/v1/complaints/{cid}", headers=login(place)).status_code == 200, timeout=20)
    return cid


def order(api, login, cid: str, unit: str = CITY, **body: Any):
    payload = {"instruction": "三个工作日内联系经营者核实差价并答复", "working_days": 3, **body}
    return api.post(f"/api/v1/complaints/{cid}/supervision-orders", json=payload, headers=login(unit))


def act(api, login, unit: str, order_id: str, action: str, body: dict | None = None):
    return api.post(f"{ORDERS}/{order_id}/{action}", json=body, headers=login(unit))


def listed(api, login, unit: str, **params: Any) -> list[str]:
    response = api.get(ORDERS, params=params, headers=login(unit))
    assert response.status_code == 200, response.text
    return [o["id"] for o in response.json()]


def inbox(api, login, unit: str, cid: str, template: str) -> list[dict[str, Any]]:
    items = api.get("/api/v1/inbox", params={"limit": 200}, headers=login(unit)).json()["items"]
    return [i for i in items if i["complaint_id"] == cid and i["template"] == template]


def field_of(response) -> list[str]:
    assert response.status_code == 422, response.text
    return [f["field"] for f in response.json()["fields"]]


def figures(api, login, unit: str) -> dict[str, Any]:
    response = api.get("/api/v1/reports/summary", headers=login(unit))
    assert response.status_code == 200, response.text
    return response.json()


def test_the_city_orders_the_village_answers_with_evidence_and_the_city_accepts(api, login):
    cid = routed_case(api, login)
    sent = order(api, login, cid)
    assert sent.status_code == 201, sent.text
    o = sent.json()
    oid = o["id"]
    assert (o["from_unit"]["code"], o["to_unit"]["code"], o["state"]) == (CITY, VILLAGE, "open")
    assert o["follows_case"] and o["working_days"] == 3 and o["instruction"].startswith("三个工作日")
    assert o["clock"]["kind"] == "supervision" and o["clock"]["colour"] == "green" and o["clock"]["met"] is None
    assert o["deadline"] > o["sent_at"] and not o["overdue"]
    assert o["allowed_actions"] == []  # the sender waits for the answer

    # the township and the village see it; the city in what it sent, the village in what it received
    assert oid in listed(api, login, TOWNSHIP)
    assert oid in listed(api, login, VILLAGE, box="received") and oid not in listed(api, login, VILLAGE, box="sent")
    assert oid in listed(api, login, CITY, box="sent") and oid not in listed(api, login, CITY, box="received")
    for unit in (TOWNSHIP, VILLAGE):
        case = api.get(f"/api/v1/complaints/{cid}", headers=login(unit)).json()
        [clock] = [c for c in case["clocks"] if c["kind"] == "supervision"]
        assert clock["order_id"] == oid and clock["unit"]["code"] == VILLAGE and clock["sent_by_unit"]["code"] == CITY
        on_case = api.get(f"/api/v1/complaints/{cid}/supervision-orders", headers=login(unit)).json()
        assert [x["id"] for x in on_case] == [oid]
        assert on_case[0]["allowed_actions"] == (["answer"] if unit == VILLAGE else [])
        assert ("supervise" in case["allowed_actions"]) == (unit == TOWNSHIP)  # a unit above orders
    assert "supervise" in api.get(f"/api/v1/complaints/{cid}", headers=login(CITY)).json()["allowed_actions"]
    held = api.get("/api/v1/clocks", params={"colour": "green", "kind": "supervision"}, headers=login(VILLAGE))
    assert oid in [c.get("order_id") for c in held.json()]
    [told] = wait_for(lambda: inbox(api, login, VILLAGE, cid, "supervision_ordered"), timeout=20)
    assert told["to"] == f"tenant:{VILLAGE}" and "督办" in told["subject"] and "联系经营者" in told["body"]

    # only the unit ordered answers, only the sender decides
    assert act(api, login, TOWNSHIP, oid, "answer", {"answer": "已处理"}).status_code == 403
    assert act(api, login, CITY, oid, "answer", {"answer": "已处理"}).status_code == 403
    assert act(api, login, VILLAGE, oid, "accept").status_code == 403
    assert act(api, login, CITY, oid, "accept").status_code == 409  # nothing answered yet
    assert field_of(act(api, login, VILLAGE, oid, "answer", {"answer": "   "})) == ["answer"]
    stranger = str(uuid.uuid4())
    assert field_of(act(api, login, VILLAGE, oid, "answer", {"answer": "已处理", "attachments": [stranger]})) == [
        "attachments[0]"
    ]
    assert api.get(f"{ORDERS}/{oid}", headers=login(VILLAGE)).json()["state"] == "open"  # nothing written

    uploaded = api.post(
        f"/api/v1/complaints/{cid}/evidence",
        files=[("files", ("退款凭证.png", PNG, "application/octet-stream"))],
        headers=login(VILLAGE),
    )
    assert uploaded.status_code == 201, uploaded.text
    file_id = uploaded.json()[0]["id"]
    answered = act(api, login, VILLAGE, oid, "answer", {"answer": "已约谈经营者，差价已退还", "attachments": [file_id]})
    assert answered.status_code == 200, answered.text
    o = answered.json()
    assert o["state"] == "answered" and o["attachments"] == [file_id] and o["answered_by"] == VILLAGE
    assert o["allowed_actions"] == []
    assert api.get(f"{ORDERS}/{oid}", headers=login(CITY)).json()["allowed_actions"] == ["accept", "return"]
    assert o["clock"]["met"] is True and o["clock"]["stopped_at"] is not None
    assert act(api, login, VILLAGE, oid, "answer", {"answer": "再答一次"}).status_code == 409
    wait_for(lambda: inbox(api, login, CITY, cid, "supervision_answered"), timeout=20)

    accepted = act(api, login, CITY, oid, "accept", {"note": "处理到位"})
    assert accepted.status_code == 200, accepted.text
    o = accepted.json()
    assert o["state"] == "accepted" and o["closed_at"] is not None
    assert [s["step"] for s in o["history"]] == ["ordered", "answered", "accepted"]
    assert act(api, login, CITY, oid, "accept").status_code == 409
    wait_for(lambda: inbox(api, login, VILLAGE, cid, "supervision_accepted"), timeout=20)


def test_a_sibling_unit_sees_nothing_and_only_a_unit_above_orders(api, login):
    cid = routed_case(api, login)
    oid = order(api, login, cid).json()["id"]
    for unit in (SIBLING_VILLAGE, OTHER_TOWNSHIP):
        assert api.get(f"{ORDERS}/{oid}", headers=login(unit)).status_code == 404
        assert oid not in listed(api, login, unit)
        assert act(api, login, unit, oid, "answer", {"answer": "已处理"}).status_code == 404
        assert api.get(f"/api/v1/complaints/{cid}/supervision-orders", headers=login(unit)).status_code == 404
        assert order(api, login, cid, unit).status_code == 404
    assert order(api, login, cid, VILLAGE).status_code == 403  # the responsible unit itself
    assert api.get(f"{ORDERS}/{uuid.uuid4()}", headers=login(CITY)).status_code == 404

    # a named unit must lie between: below the sender, above (or at) the responsible unit
    named = order(api, login, cid, to_unit=TOWNSHIP)
    assert named.status_code == 201, named.text
    assert named.json()["to_unit"]["code"] == TOWNSHIP and not named.json()["follows_case"]
    assert field_of(order(api, login, cid, to_unit=OTHER_TOWNSHIP)) == ["to_unit"]
    assert field_of(order(api, login, cid, to_unit=CITY)) == ["to_unit"]
    assert field_of(order(api, login, cid, working_days=0)) == ["working_days"]
    assert field_of(order(api, login, cid, instruction="")) == ["instruction"]
    assert field_of(order(api, login, cid, extra="x")) == ["extra"]
    assert field_of(api.get(ORDERS, params={"box": "mine"}, headers=login(CITY))) == ["box"]
    # none of the refused orders was written
    assert len(api.get(f"/api/v1/complaints/{cid}/supervision-orders", headers=login(CITY)).json()) == 2


def test_an_answer_sent_back_is_answered_again(api, login):
    cid = routed_case(api, login)
    oid = order(api, login, cid, working_days=5).json()["id"]
    assert act(api, login, CITY, oid, "return", {"reason": "x"}).status_code == 409  # not answered yet
    assert act(api, login, VILLAGE, oid, "answer", {"answer": "已电话联系经营者"}).status_code == 200
    assert field_of(act(api, login, CITY, oid, "return", {"reason": ""})) == ["reason"]
    assert act(api, login, TOWNSHIP, oid, "return", {"reason": "不够"}).status_code == 403
    returned = act(api, login, CITY, oid, "return", {"reason": "未见退款凭证，请补充", "working_days": 2})
    assert returned.status_code == 200, returned.text
    o = returned.json()
    assert o["state"] == "returned" and o["return_reason"] == "未见退款凭证，请补充"
    assert o["working_days"] == 2 and o["clock"]["stopped_at"] is None and o["clock"]["colour"] == "green"
    [told] = wait_for(lambda: inbox(api, login, VILLAGE, cid, "supervision_returned"), timeout=20)
    assert "未见退款凭证" in told["body"]
    assert oid in listed(api, login, VILLAGE, box="received", state="returned")

    again = act(api, login, VILLAGE, oid, "answer", {"answer": "已补充退款凭证"})
    assert again.status_code == 200 and again.json()["state"] == "answered"
    assert act(api, login, CITY, oid, "accept").json()["state"] == "accepted"
    steps = [s["step"] for s in api.get(f"{ORDERS}/{oid}", headers=login(TOWNSHIP)).json()["history"]]
    assert steps == ["ordered", "answered", "returned", "answered", "accepted"]


def test_an_order_past_its_deadline_turns_red_tells_both_sides_and_counts_as_overdue(api, login, db):
    # A township and village no other test orders in, so that their figures move by this order only;
    # the city's move by every order, so `before` is read once reporting has counted each order
    # routing lists (the previous tests' events can still be on their way; CI read them mid-flight).
    units = (CITY, QUIET_TOWNSHIP, QUIET_VILLAGE)
    wait_for(lambda: figures(api, login, CITY)["supervision"]["sent"] == len(listed(api, login, CITY)), timeout=20)
    before = {unit: figures(api, login, unit)["supervision"] for unit in units}
    cid = routed_case(api, login, QUIET_VILLAGE)
    oid = order(api, login, cid, working_days=1).json()["id"]
    with db.begin() as conn:
        moved = conn.execute(
            text(
                "UPDATE routing.supervision_orders SET started_at = now() - interval '3 days', "
                "deadline = now() - interval '1 minute', next_check_at = now() WHERE id = :id"
            ),
            {"id": uuid.UUID(oid)},
        ).rowcount
    assert moved == 1

    [red] = wait_for(lambda: inbox(api, login, QUIET_VILLAGE, cid, "clock_red"), timeout=20)
    assert red["time_critical"] and "督办" in red["body"]
    [overdue] = wait_for(lambda: inbox(api, login, CITY, cid, "supervision_overdue"), timeout=20)
    assert overdue["to"] == f"tenant:{CITY}" and "五泄社区" in overdue["body"]
    o = wait_for(lambda: (o := api.get(f"{ORDERS}/{oid}", headers=login(CITY)).json())["overdue_at"] and o)
    assert o["clock"]["colour"] == "red" and o["overdue"] and o["history"][-1]["step"] == "overdue"
    assert oid in listed(api, login, CITY, overdue="true")
    assert oid in listed(api, login, QUIET_VILLAGE, box="received", overdue="true")
    assert oid not in listed(api, login, SIBLING_VILLAGE, overdue="true")
    red = {"colour": "red", "kind": "supervision"}
    red_clocks = api.get("/api/v1/clocks", params=red, headers=login(QUIET_TOWNSHIP))
    assert oid in [c.get("order_id") for c in red_clocks.json()]

    # the figures: sent at the city, received and overdue at the village, both counted up the tree
    seen: dict[str, Any] = {}

    def counted() -> bool:
        now = seen["last"] = {unit: figures(api, login, unit)["supervision"] for unit in units}
        return (
            all(now[u]["overdue"] == before[u]["overdue"] + 1 for u in now)
            and now[CITY]["sent"] == before[CITY]["sent"] + 1
            and now[QUIET_TOWNSHIP]["sent"] == before[QUIET_TOWNSHIP]["sent"]
            and now[QUIET_VILLAGE]["received"] == before[QUIET_VILLAGE]["received"] + 1
        )

    try:
        wait_for(counted, timeout=20)
    except AssertionError as exc:
        raise AssertionError(f"before {before}, last read {seen.get('last')}") from exc
    by_unit = figures(api, login, CITY)["supervision_by_unit"][QUIET_TOWNSHIP]
    assert by_unit["overdue"] == before[QUIET_TOWNSHIP]["overdue"] + 1

    # answered late: the clock says so, and so do the figures; red stays red
    late = act(api, login, QUIET_VILLAGE, oid, "answer", {"answer": "已处理，迟复"})
    assert late.status_code == 200 and late.json()["clock"]["met"] is False and late.json()["clock"]["colour"] == "red"
    assert oid not in listed(api, login, CITY, overdue="true")
    wait_for(
        lambda: (
            figures(api, login, QUIET_VILLAGE)["supervision"]["answered_late"]
            == before[QUIET_VILLAGE]["answered_late"] + 1
        ),
        timeout=20,
    )


def test_an_order_follows_the_case_when_it_is_escalated_and_is_withdrawn_when_the_sender_has_it(api, login):
    cid = routed_case(api, login)
    by_city = order(api, login, cid).json()["id"]
    by_township = order(api, login, cid, TOWNSHIP, instruction="请两日内上门核实").json()["id"]

    escalated = api.post(
        f"/api/v1/complaints/{cid}/escalate",
        json={"trigger": "staff_request", "reason": "经营者拒不配合"},
        headers=login(VILLAGE),
    )
    assert escalated.status_code == 200, escalated.text
    view = responsible(api, login, cid, TOWNSHIP)

    o = api.get(f"{ORDERS}/{by_city}", headers=login(CITY)).json()
    assert o["to_unit"]["code"] == TOWNSHIP and o["state"] == "open"
    moved = o["history"][-1]
    assert moved["step"] == "moved" and moved["detail"]["from_unit"] == VILLAGE
    assert moved["detail"]["case_step"] == "escalated.staff_request"
    withdrawn = api.get(f"{ORDERS}/{by_township}", headers=login(TOWNSHIP)).json()
    assert withdrawn["state"] == "withdrawn" and withdrawn["history"][-1]["step"] == "withdrawn"
    assert withdrawn["clock"]["stopped_at"] is not None
    # the case's routing record says so beside the escalation
    steps = [(s["step"], s["inputs"].get("order_id")) for s in view["steps"]]
    assert ("supervision_followed", by_city) in steps and ("supervision_withdrawn", by_township) in steps
    [told] = wait_for(lambda: inbox(api, login, TOWNSHIP, cid, "supervision_moved"), timeout=20)
    assert "楼家社区" in told["body"]

    def told_on_the_case() -> set[str]:
        messages = api.get(f"/api/v1/complaints/{cid}/messages", headers=login(TOWNSHIP)).json()
        return {m["template"] for m in messages}

    # and so do the case's messages (what notification told whom, on the case's page)
    wait_for(lambda: {"supervision_ordered", "supervision_moved"} <= told_on_the_case(), timeout=20)

    # the village passed the case and its order up; the township answers now
    assert act(api, login, VILLAGE, by_city, "answer", {"answer": "已处理"}).status_code == 404
    answered = act(api, login, TOWNSHIP, by_city, "answer", {"answer": "镇调处中心已接办并约谈经营者"})
    assert answered.status_code == 200 and answered.json()["answered_by"] == TOWNSHIP
