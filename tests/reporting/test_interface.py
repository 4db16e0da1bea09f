"""Reporting alone: the figures a unit reads, folded from the events it consumed, each event counted
once, on the real broker and database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from kombu import Connection
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_waiter

from common.contracts import ComplaintReceived, ComplaintRouted, Unit
from common.messaging import DEAD_LETTER_QUEUE
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


def receipt(complaint_id: uuid.UUID, now: datetime) -> ComplaintReceived:
    return ComplaintReceived(
        complaint_id=complaint_id,
        tracking_no=f"T{uuid.uuid4().hex[:10]}",
        channel="web",
        received_at=now,
        category="product_quality",
        incident_division_code=VILLAGE,
        complainant_name="张三",
        complainant_phone="13800138000",
    )


def a_case(reporting, config, deliveries: int = 1) -> uuid.UUID:
    """A complaint received (delivered `deliveries` times) and routed to the village, as intake and
    routing announce it."""
    complaint_id, now = uuid.uuid4(), datetime.now(UTC)
    received = receipt(complaint_id, now)
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


def waiting_receipts(container_factory, config, count: int, *extra: dict[str, Any]) -> list[str]:
    """`count` receipts (and the `extra` envelopes) waiting in reporting's queue while no reporting
    runs, so the next one finds them all at once; their event ids."""
    reporting = container_factory(ReportingService, config)
    reporting.start()  # its queues exist from here on
    reporting.stop()
    dispatch_ = event_dispatcher(config)
    envelopes = [receipt(uuid.uuid4(), datetime.now(UTC)).envelope() for _ in range(count)]
    for envelope in [*envelopes, *extra]:
        dispatch_(ComplaintReceived.source, ComplaintReceived.type, envelope)
    return [envelope["event_id"] for envelope in envelopes]


def folded(config, event_ids: list[str]) -> tuple[int, int]:
    """How many of the events are in reporting's inbox, and in how many transactions (a row's xmin)."""
    row = stored(
        config,
        "SELECT count(*) AS n, count(DISTINCT xmin::text) AS transactions FROM reporting.inbox"
        " WHERE event_id = ANY(CAST(:ids AS uuid[]))",
        ids=event_ids,
    )[0]
    return row.n, row.transactions


def test_events_waiting_together_are_folded_in_one_transaction_a_batch(container_factory, config) -> None:
    event_ids = waiting_receipts(container_factory, config, 20)
    container_factory(ReportingService, config).start()
    wait_for(lambda: folded(config, event_ids)[0] == 20)
    # a batch holds what the consumer may hold unacked: its prefetch, max_workers (10)
    assert folded(config, event_ids)[1] <= 4


def test_an_event_that_cannot_be_read_leaves_its_batch_to_be_folded(container_factory, config) -> None:
    broken = {"event_id": str(uuid.uuid4()), "type": ComplaintReceived.type, "data": {"complaint_id": "nonsense"}}
    with Connection(config["AMQP_URI"]) as connection:
        connection.SimpleQueue(DEAD_LETTER_QUEUE).clear()
    event_ids = waiting_receipts(container_factory, config, 5, broken)
    container_factory(ReportingService, config).start()
    wait_for(lambda: folded(config, event_ids)[0] == 5)
    with Connection(config["AMQP_URI"]) as connection:
        dead = connection.SimpleQueue(DEAD_LETTER_QUEUE).get(timeout=15)
        dead.ack()
    assert dead.payload["event_id"] == broken["event_id"]
    assert dead.headers["x-original-queue"].endswith("reporting.on_complaint_received")
    assert "not a valid complaint.received.v1 envelope" in dead.headers["x-dead-letter-reason"]


def test_one_complaints_events_are_logged_in_the_order_they_are_applied(config) -> None:
    """A transaction that logged an event of a complaint holds that complaint until it commits: a
    second transaction with an event of the same complaint logs and applies only after it (so the
    rebuild applies them in the order they were applied), while another complaint's event goes on."""
    import threading

    from sqlalchemy.orm import Session

    from common.contracts import ClockStopped
    from services.reporting import folding
    from tests.service_harness import owner_engine

    complaint_id, other_id, now = uuid.uuid4(), uuid.uuid4(), datetime.now(UTC)
    village = Unit(code=VILLAGE, name="某村", tier="village")
    stopped = ClockStopped(
        complaint_id=complaint_id, clock="acknowledgement", unit_code=VILLAGE, tier="village",
        started_at=now, deadline=now, stopped_at=now, met=True,
    )  # fmt: skip
    routed, other = (
        ComplaintRouted(complaint_id=c, unit=village, rule="incident_division", decided_at=now)
        for c in (complaint_id, other_id)
    )
    engine = owner_engine(config)
    done: dict[str, threading.Event] = {"routed": threading.Event(), "other": threading.Event()}

    def receive_alone(name: str, event: ComplaintRouted) -> None:
        with Session(engine) as session, session.begin():
            folding.receive(session, uuid.uuid4(), event, f"test.{name}")
        done[name].set()

    try:
        with Session(engine) as first, first.begin():
            folding.receive(first, uuid.uuid4(), stopped, "test.stopped")  # logged, not committed
            waiting = threading.Thread(target=receive_alone, args=("routed", routed))
            passing = threading.Thread(target=receive_alone, args=("other", other))
            waiting.start(), passing.start()
            assert done["other"].wait(10), "another complaint's event waited"
            assert not done["routed"].wait(1), "the same complaint's event went ahead of the uncommitted one"
        waiting.join(10), passing.join(10)
        assert done["routed"].is_set()
        logged = stored(
            config,
            "SELECT type FROM reporting.event_log WHERE envelope->'data'->>'complaint_id' = :c ORDER BY seq",
            c=str(complaint_id),
        )
        assert [t for (t,) in logged] == [ClockStopped.type, ComplaintRouted.type]
    finally:
        engine.dispose()
