"""Mediation alone: a case opened by intake's acceptance, its actions and reads, on the real broker
and database."""

from __future__ import annotations

import queue
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from nameko.exceptions import RemoteError
from nameko.testing.services import entrypoint_waiter

from common.contracts import ComplaintAccepted, MediationTransitioned, Unit
from services.mediation.service import MediationService
from tests.service_harness import VILLAGE, dispatch, rpc, service_config, staff, stored, tap

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return service_config("mediation", ["mediation"])


@pytest.fixture
def mediation(container_factory, config):
    container = container_factory(MediationService, config)
    container.start()
    yield container
    container.stop()  # closes its database pools (container_factory only kills it)


def accepted() -> ComplaintAccepted:
    return ComplaintAccepted(
        complaint_id=uuid.uuid4(),
        tracking_no=f"T{uuid.uuid4().hex[:10]}",
        unit=Unit(code=VILLAGE, name="某村", tier="village"),
        accepted_at=datetime.now(UTC),
        accepted_by=f"{VILLAGE}-clerk",
        category="product_quality",
        business_name="某某电器商店",
        complainant_name="张三",
        complainant_phone="13800138000",
    )


def opened(mediation, config) -> ComplaintAccepted:
    event = accepted()
    with entrypoint_waiter(mediation, "on_complaint_accepted"):
        dispatch(config, event)
    return event


def test_an_accepted_complaint_opens_one_case_however_often_it_arrives(mediation, config) -> None:
    event = accepted()
    with entrypoint_waiter(mediation, "on_complaint_accepted"):
        event_id = dispatch(config, event)
    with entrypoint_waiter(mediation, "on_complaint_accepted"):
        dispatch(config, event, event_id)  # the broker delivers it again
    rows = stored(config, "SELECT state FROM mediation.cases WHERE complaint_id = :id", id=event.complaint_id)
    assert [row.state for row in rows] == ["awaiting_consent"]
    with rpc(config, "mediation", staff(VILLAGE)) as service:
        case = service.get_case(str(event.complaint_id))
    assert case["state"] == "awaiting_consent" and case["tracking_no"] == event.tracking_no


def test_the_business_s_consent_moves_the_case_on_and_is_announced(mediation, config) -> None:
    event = opened(mediation, config)
    with tap(config, MediationTransitioned) as transitions, rpc(config, "mediation", staff(VILLAGE)) as service:
        case = service.act(str(event.complaint_id), "consent", {"consent": True, "contacted_via": "phone"})
        _, moved = transitions.next()
        with pytest.raises(queue.Empty):
            transitions.next(timeout=1)
    assert case["state"] == "awaiting_assignment"
    assert (moved.complaint_id, moved.action) == (event.complaint_id, "consent")
    assert (moved.from_state, moved.to_state) == ("awaiting_consent", "awaiting_assignment")


def test_an_action_the_state_does_not_allow_is_refused_and_changes_nothing(mediation, config) -> None:
    event = opened(mediation, config)
    with rpc(config, "mediation", staff(VILLAGE)) as service, pytest.raises(RemoteError) as refused:
        service.act(str(event.complaint_id), "confirm_agreement", {"party": "complainant"})
    assert refused.value.exc_type in {"Conflict", "InvalidInput"}
    rows = stored(config, "SELECT state FROM mediation.cases WHERE complaint_id = :id", id=event.complaint_id)
    assert [row.state for row in rows] == ["awaiting_consent"]


def test_another_unit_does_not_see_the_case(mediation, config) -> None:
    event = opened(mediation, config)
    with rpc(config, "mediation", staff("321282")) as service:
        with pytest.raises(RemoteError) as missing:
            service.get_case(str(event.complaint_id))
        assert str(event.complaint_id) not in {case["complaint_id"] for case in service.list_cases()}
    assert missing.value.exc_type == "NotFound"
    with rpc(config, "mediation", staff(VILLAGE)) as service:
        assert str(event.complaint_id) in {case["complaint_id"] for case in service.list_cases()}
