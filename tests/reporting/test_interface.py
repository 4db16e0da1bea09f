"""Reporting alone: the figures a unit reads, folded from the events it consumed, each event counted
once, on the real broker and database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from nameko.testing.services import entrypoint_waiter

from common.contracts import ComplaintReceived, ComplaintRouted, Unit
from services.reporting.service import ReportingService
from tests.conftest import wait_for
from tests.service_harness import CITY, VILLAGE, dispatch, rpc, service_config, staff, stored

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return service_config("reporting", ["reporting"])


@pytest.fixture
def reporting(container_factory, config):
    container = container_factory(ReportingService, config)
    container.start()
    yield container
    container.stop()  # closes its database pools (container_factory only kills it)


def a_case(reporting, config, deliveries: int = 1) -> uuid.UUID:
    """A complaint received (delivered `deliveries` times) and routed to the village, as intake and
    routing announce it."""
    complaint_id, now = uuid.uuid4(), datetime.now(UTC)
    received = ComplaintReceived(
        complaint_id=complaint_id,
        tracking_no=f"T{uuid.uuid4().hex[:10]}",
        channel="web",
        received_at=now,
        category="product_quality",
        incident_division_code=VILLAGE,
        complainant_name="张三",
        complainant_phone="13800138000",
    )
    event_id = None
    for _ in range(deliveries):
        with entrypoint_waiter(reporting, "on_complaint_received"):
            event_id = dispatch(config, received, event_id)
    with entrypoint_waiter(reporting, "on_complaint_routed"):
        dispatch(
            config,
            ComplaintRouted(
                complaint_id=complaint_id,
                unit=Unit(code=VILLAGE, name="某村", tier="village"),
                rule="incident_division",
                decided_at=now,
            ),
        )
    return complaint_id


def total(config, unit: str) -> int:
    with rpc(config, "reporting", staff(unit)) as service:
        return service.summary()["total"]


def test_a_case_is_counted_once_however_often_its_events_arrive(reporting, config) -> None:
    before = total(config, CITY)
    a_case(reporting, config, deliveries=2)  # the broker delivers the first event again
    wait_for(lambda: total(config, CITY) == before + 1)  # the timer folds the rollups every second
    logged = stored(config, "SELECT type, count(*) AS n FROM reporting.event_log GROUP BY type")
    assert {row.type: row.n for row in logged}[ComplaintReceived.type] == before + 1
    assert total(config, CITY) == before + 1


def test_another_city_s_staff_see_none_of_it(reporting, config) -> None:
    before = total(config, "321282")
    a_case(reporting, config)
    wait_for(lambda: total(config, CITY) > 0)
    assert total(config, "321282") == before == 0


def test_a_rebuild_replays_the_log_to_the_same_figures(reporting, config) -> None:
    a_case(reporting, config)
    wait_for(lambda: total(config, CITY) > 0)
    before = total(config, CITY)
    with rpc(config, "reporting") as service:
        replayed = service.rebuild()
    assert replayed
    wait_for(lambda: total(config, CITY) == before)
