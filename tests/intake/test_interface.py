"""Intake alone: its RPCs and event handlers on the real broker and database, routing's RPCs replaced."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from nameko.exceptions import RemoteError
from nameko.testing.services import entrypoint_waiter, replace_dependencies

from common.contracts import ComplaintReceived, ComplaintRouted, Unit
from services.intake.service import IntakeService
from tests.conftest import complaint
from tests.service_harness import CITY, VILLAGE, dispatch, rpc, service_config, staff, stored, tap

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return service_config("intake", ["intake"])


@pytest.fixture
def intake(container_factory, config):
    """The running intake container and its replaced routing proxy (every division served)."""
    container = container_factory(IntakeService, config)
    routing = replace_dependencies(container, "routing")
    routing.served_divisions.side_effect = lambda codes: dict.fromkeys(codes, True)
    IntakeService._served.clear()  # the class's cache of served divisions outlives a container
    container.start()
    yield container, routing
    container.stop()  # closes its database pools (container_factory only kills it)


def test_a_filing_is_stored_answered_and_announced(intake, config) -> None:
    _, routing = intake
    with tap(config, ComplaintReceived) as received, rpc(config, "intake") as service:
        answer = service.submit(complaint())
        event_id, event = received.next()
    assert answer["status"] == "received" and answer["tracking_no"]
    assert str(event.complaint_id) == answer["id"] and event.tracking_no == answer["tracking_no"]
    assert event.channel == "web" and event.incident_division_code == VILLAGE
    assert routing.served_divisions.called  # the divisions were checked against routing's registry
    (status,) = stored(config, "SELECT status FROM intake.complaints WHERE id = :id", id=answer["id"])[0]
    assert status == "received" and isinstance(event_id, uuid.UUID)


def test_a_filing_in_a_division_routing_does_not_serve_is_refused(intake, config) -> None:
    _, routing = intake
    routing.served_divisions.side_effect = lambda codes: dict.fromkeys(codes, False)
    with rpc(config, "intake") as service, pytest.raises(RemoteError) as refused:
        service.submit(complaint())
    assert refused.value.exc_type == "InvalidInput"
    assert "not served" in refused.value.value


def test_the_same_idempotency_key_files_once(intake, config) -> None:
    body = complaint()
    with rpc(config, "intake") as service:
        first = service.submit(body, "key-1")
        again = service.submit(body, "key-1")
    assert again["id"] == first["id"]
    assert stored(config, "SELECT count(*) FROM intake.complaints WHERE id = :id", id=first["id"])[0][0] == 1


def routed(complaint_id: str) -> ComplaintRouted:
    return ComplaintRouted(
        complaint_id=uuid.UUID(complaint_id),
        unit=Unit(code=VILLAGE, name="某村", tier="village"),
        rule="incident_division",
        decided_at=datetime.now(UTC),
    )


def test_routing_s_decision_is_recorded_once_however_often_it_arrives(intake, config) -> None:
    container, _ = intake
    with rpc(config, "intake") as service:
        filed = service.submit(complaint())
    event = routed(filed["id"])
    with entrypoint_waiter(container, "on_complaint_routed"):
        event_id = dispatch(config, event)
    with entrypoint_waiter(container, "on_complaint_routed"):
        dispatch(config, event, event_id)  # the broker delivers it again
    rows = stored(
        config,
        "SELECT step FROM intake.history WHERE complaint_id = :id AND step = 'routed'",
        id=filed["id"],
    )
    assert len(rows) == 1
    with rpc(config, "intake", staff(CITY)) as service:
        case = service.get_complaint(filed["id"])
    assert case["status"] == "routed"


def test_a_case_outside_the_caller_s_scope_is_not_found(intake, config) -> None:
    container, _ = intake
    with rpc(config, "intake") as service:
        filed = service.submit(complaint())
    with entrypoint_waiter(container, "on_complaint_routed"):
        dispatch(config, routed(filed["id"]))
    with rpc(config, "intake", staff("321282")) as service, pytest.raises(RemoteError) as missing:
        service.get_complaint(filed["id"])
    assert missing.value.exc_type == "NotFound"
    with rpc(config, "intake", staff(CITY)) as service:
        assert service.case_ref(filed["id"]) == {"id": filed["id"], "read_only": False}
