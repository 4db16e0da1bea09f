"""The acceptance decision through the gateway: accept, refuse on each Art 16 ground, who may decide
(403 / 404), in which state (409), the events others react to, and the clocks in the case view."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
from kombu import Connection, Exchange, Queue

from common.categories import RefusalGround
from common.workdays import add_working_days
from tests.conftest import TEST_AMQP_URI, wait_for
from tests.integration.test_intake_channels import (
    AGENCY,
    OTHER_CITY,
    SIBLING_VILLAGE,
    TOWNSHIP,
    VILLAGE,
    case,
    file_routed,
    role_headers,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def user_headers(api, db):
    return lambda tenant, role: role_headers(api, db, tenant, role)


@contextmanager
def tap(routing_key: str):
    """Collect the envelopes intake publishes with `routing_key` while the block runs."""
    exchange = Exchange("intake.events", type="topic", durable=True)
    with Connection(TEST_AMQP_URI) as conn:
        queue = Queue(f"test-intake-{uuid.uuid4()}", exchange=exchange, routing_key=routing_key, exclusive=True)
        queue(conn.default_channel).declare()
        seen: list[dict] = []
        yield seen
        with conn.SimpleQueue(queue) as simple:
            deadline = datetime.now() + timedelta(seconds=15)
            while datetime.now() < deadline:
                try:
                    message = simple.get(timeout=1)
                except simple.Empty:
                    continue
                message.ack()
                seen.append(message.payload)
                break


def decide(api, login, complaint_id: str, action: str, unit: str = VILLAGE, **body):
    return api.post(f"/api/v1/complaints/{complaint_id}/{action}", json=body or None, headers=login(unit))


def test_accept_by_the_responsible_clerk_announces_it_and_stops_the_clock(api, login):
    found = file_routed(api, login)
    with tap("complaint.accepted.v1") as events:
        response = decide(api, login, found["id"], "accept")
        assert response.status_code == 200, response.text
    assert response.json()["status"] == "accepted"
    [event] = [e for e in events if e["data"]["complaint_id"] == found["id"]]
    assert event["data"]["unit"]["code"] == VILLAGE and event["data"]["accepted_by"] == VILLAGE
    assert event["data"]["complainant_phone"] == found["complainant"]["phone"]
    after = case(api, login, found["id"])
    assert after["status"] == "accepted"
    assert after["decision"]["decision"] == "accepted"
    acceptance = next(c for c in after["clocks"] if c["kind"] == "acceptance")
    assert acceptance["status"] == "met" and acceptance["met"] is True and acceptance["stopped_at"]
    assert "accepted" in [h["step"] for h in after["history"]]


@pytest.mark.parametrize("ground", list(RefusalGround))
def test_refusal_on_each_legal_ground(api, login, ground):
    found = file_routed(api, login)
    with tap("complaint.refused.v1") as events:
        response = decide(api, login, found["id"], "refuse", ground=ground.value, reason="经核实，不符合受理条件")
        assert response.status_code == 200, response.text
    decision = response.json()["decision"]
    assert decision["ground"] == ground.value
    assert decision["ground_label"] == ground.label_zh
    assert decision["other_routes"] == ground.other_routes_zh  # the ground's default text
    [event] = [e for e in events if e["data"]["complaint_id"] == found["id"]]
    assert event["data"]["ground"] == ground.value and event["data"]["other_routes"] == ground.other_routes_zh
    after = case(api, login, found["id"])
    assert after["status"] == "refused"
    assert next(c for c in after["clocks"] if c["kind"] == "acceptance")["met"] is True


def test_refusal_names_its_own_other_routes_when_given(api, login):
    found = file_routed(api, login)
    response = decide(
        api,
        login,
        found["id"],
        "refuse",
        ground="not_within_remit",
        reason="属劳动争议",
        other_routes="请向劳动仲裁委员会申请仲裁",
    )
    assert response.status_code == 200
    assert response.json()["decision"]["other_routes"] == "请向劳动仲裁委员会申请仲裁"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ground": "bad_mood", "reason": "不想办"}, "ground"),
        ({"ground": "time_barred", "reason": ""}, "reason"),
        ({"ground": "time_barred", "reason": "超过三年\u202e"}, "reason"),
        ({"ground": "time_barred", "reason": "超过三年", "other_routes": "x" * 1001}, "other_routes"),
        ({"reason": "超过三年"}, "ground"),
        ({"ground": "time_barred"}, "reason"),
    ],
)
def test_bad_refusal_is_a_422_naming_the_field(api, login, body, field):
    found = file_routed(api, login)
    response = api.post(f"/api/v1/complaints/{found['id']}/refuse", json=body, headers=login(VILLAGE))
    assert response.status_code == 422, response.text
    assert field in [f["field"] for f in response.json()["fields"]]
    assert case(api, login, found["id"])["status"] == "routed"


def test_a_decision_in_the_wrong_state_is_a_409_with_the_reason(api, login):
    found = file_routed(api, login)
    assert decide(api, login, found["id"], "accept").status_code == 200
    again = decide(api, login, found["id"], "accept")
    assert again.status_code == 409 and "already accepted" in again.json()["message"]
    refused = decide(api, login, found["id"], "refuse", ground="time_barred", reason="超过三年")
    assert refused.status_code == 409 and "already accepted" in refused.json()["message"]

    other = file_routed(api, login)
    assert decide(api, login, other["id"], "refuse", ground="time_barred", reason="超过三年").status_code == 200
    late = decide(api, login, other["id"], "accept")
    assert late.status_code == 409 and "already refused" in late.json()["message"]


@pytest.mark.parametrize("role", ["mediator", "tenant_admin"])
def test_the_wrong_role_is_a_403(api, login, user_headers, role):
    found = file_routed(api, login)
    response = api.post(f"/api/v1/complaints/{found['id']}/accept", headers=user_headers(VILLAGE, role))
    assert response.status_code == 403
    assert "intake_clerk or supervisor" in response.json()["message"]


@pytest.mark.parametrize("role", ["intake_clerk", "supervisor"])
def test_clerk_or_supervisor_alone_may_decide(api, login, user_headers, role):
    found = file_routed(api, login)
    response = api.post(f"/api/v1/complaints/{found['id']}/accept", headers=user_headers(VILLAGE, role))
    assert response.status_code == 200, response.text


def test_a_unit_above_sees_the_case_but_does_not_decide(api, login):
    found = file_routed(api, login)
    response = decide(api, login, found["id"], "accept", unit=TOWNSHIP)
    assert response.status_code == 403
    assert "responsible unit" in response.json()["message"]
    assert case(api, login, found["id"])["status"] == "routed"


@pytest.mark.parametrize("unit", [SIBLING_VILLAGE, OTHER_CITY])
def test_out_of_scope_is_a_404_like_an_absent_case(api, login, unit):
    found = file_routed(api, login)
    for action, body in (("accept", None), ("refuse", {"ground": "time_barred", "reason": "超过三年"})):
        response = api.post(f"/api/v1/complaints/{found['id']}/{action}", json=body, headers=login(unit))
        assert response.status_code == 404
        absent = api.post(f"/api/v1/complaints/{uuid.uuid4()}/{action}", json=body, headers=login(unit))
        assert absent.status_code == 404
    assert api.post("/api/v1/complaints/not-an-id/accept", headers=login(VILLAGE)).status_code == 404


def test_an_agency_does_not_decide_what_it_was_not_handed(api, login, user_headers):
    found = file_routed(api, login)
    response = api.post(f"/api/v1/complaints/{found['id']}/accept", headers=user_headers(AGENCY, "agency_liaison"))
    assert response.status_code == 404


def test_decisions_need_a_token(api, login):
    found = file_routed(api, login)
    assert api.post(f"/api/v1/complaints/{found['id']}/accept").status_code == 401


def test_the_case_view_carries_both_clocks(api, login):
    found = file_routed(api, login)
    received = datetime.fromisoformat(found["received_at"])

    def acknowledged():
        clocks = {c["kind"]: c for c in case(api, login, found["id"])["clocks"]}
        return clocks if clocks["acknowledgement"]["stopped_at"] else None

    clocks = wait_for(acknowledged)
    ack, acceptance = clocks["acknowledgement"], clocks["acceptance"]
    assert datetime.fromisoformat(ack["deadline"]) == received + timedelta(hours=24)
    assert ack["met"] is True and ack["status"] == "met" and ack["colour"] == "green"
    # 7 working days, Art 45: the start day does not count, the limit ends at the end of its last day
    assert datetime.fromisoformat(acceptance["deadline"]) == add_working_days(received, 7)
    assert acceptance["status"] == "running" and acceptance["met"] is None
    assert acceptance["remaining_seconds"] > 0 and acceptance["colour"] == "green"


def test_clocks_are_stored_for_watchers(api, login, db):
    from sqlalchemy import text

    found = file_routed(api, login)
    with db.connect() as conn:
        rows = conn.execute(
            text("SELECT kind, status, deadline FROM intake.clocks WHERE complaint_id = :id ORDER BY kind"),
            {"id": found["id"]},
        ).all()
        indexes = conn.scalars(text("SELECT indexdef FROM pg_indexes WHERE tablename = 'clocks'")).all()
    assert [r.kind for r in rows] == ["acceptance", "acknowledgement"]
    assert any("(status, deadline)" in definition for definition in indexes)
