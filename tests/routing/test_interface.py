"""Routing alone: the division registry's RPCs and the routing of a new complaint, on the real broker
and database with the demo tenants."""

from __future__ import annotations

import queue
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from kombu import Connection
from nameko.exceptions import RemoteError
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_waiter

from common.contracts import ComplaintReceived, ComplaintRouted
from common.messaging import DEAD_LETTER_QUEUE
from services.routing.service import RoutingService
from tests.service_harness import CITY, VILLAGE, dispatch, rpc, service_config, staff, stored, tap

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return service_config("routing", ["routing", "identity"], tenants=True)


@pytest.fixture
def routing(container_factory, config):
    container = container_factory(RoutingService, config)
    container.start()
    yield container
    container.stop()  # closes its database pools (container_factory only kills it)


def received(**overrides: Any) -> ComplaintReceived:
    facts: dict[str, Any] = {
        "complaint_id": uuid.uuid4(),
        "tracking_no": f"T{uuid.uuid4().hex[:10]}",
        "channel": "web",
        "received_at": datetime.now(UTC),
        "category": "product_quality",
        "business_division_code": VILLAGE,
        "incident_division_code": VILLAGE,
        "complainant_name": "张三",
        "complainant_phone": "13800138000",
    }
    return ComplaintReceived(**{**facts, **overrides})


def test_served_divisions_are_the_onboarded_units_places(routing, config) -> None:
    with rpc(config, "routing") as service:
        served = service.served_divisions([VILLAGE, "330681", "110101001001", "nonsense"])
    assert served == {VILLAGE: True, "330681": True, "110101001001": False, "nonsense": False}


def test_a_new_complaint_is_routed_once_however_often_it_arrives(routing, config) -> None:
    event = received()
    with tap(config, ComplaintRouted) as routed:
        with entrypoint_waiter(routing, "on_complaint_received"):
            event_id = dispatch(config, event)
        with entrypoint_waiter(routing, "on_complaint_received"):
            dispatch(config, event, event_id)  # the broker delivers it again
        _, decision = routed.next()
        with pytest.raises(queue.Empty):
            routed.next(timeout=2)  # no second decision
    assert decision.complaint_id == event.complaint_id
    assert decision.unit.code.startswith(CITY) and decision.rule
    rows = stored(config, "SELECT unit_code FROM routing.assignments WHERE complaint_id = :id", id=event.complaint_id)
    assert [row.unit_code for row in rows] == [decision.unit.code]


def test_the_routing_record_is_the_responsible_unit_s_to_see(routing, config) -> None:
    event = received()
    with tap(config, ComplaintRouted) as routed:
        dispatch(config, event)
        _, decision = routed.next()
    with rpc(config, "routing", staff(decision.unit.code)) as service:
        record = service.case_routing(str(event.complaint_id))
    assert record["complaint_id"] == str(event.complaint_id)
    with rpc(config, "routing", staff("321282")) as service, pytest.raises(RemoteError) as elsewhere:
        service.case_routing(str(event.complaint_id))
    assert elsewhere.value.exc_type == "NotFound"


def test_a_malformed_event_goes_to_the_dead_letters_not_to_a_decision(routing, config) -> None:
    with tap(config, ComplaintRouted) as routed:
        with entrypoint_waiter(routing, "on_complaint_received"):
            event_dispatcher(config)("intake", ComplaintReceived.type, {"event_id": "x", "type": "?", "data": {}})
        with pytest.raises(queue.Empty):
            routed.next(timeout=2)
    with Connection(config["AMQP_URI"]) as connection:
        dead = connection.SimpleQueue(DEAD_LETTER_QUEUE).get(timeout=10)
        dead.ack()
    assert "on_complaint_received" in dead.headers["x-original-queue"]
