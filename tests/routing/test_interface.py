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


def test_events_waiting_together_one_of_them_twice_are_each_routed_once(container_factory, config) -> None:
    """A batch (common.messaging.on_events) records its events in the inbox in one statement: the
    event published twice within it and the one routed before are passed over, the others routed."""
    before, twice, others = received(), received(), [received() for _ in range(3)]
    routing = container_factory(RoutingService, config)
    routing.start()
    with tap(config, ComplaintRouted) as routed:
        before_id = dispatch(config, before)
        routed.next()
        routing.stop()  # the events below wait in its queue together
        twice_id = dispatch(config, twice)
        for event in others:
            dispatch(config, event)
        dispatch(config, twice, twice_id)  # published again
        dispatch(config, before, before_id)  # delivered again
        container_factory(RoutingService, config).start()
        decided = {routed.next()[1].complaint_id for _ in range(4)}
        with pytest.raises(queue.Empty):
            routed.next(timeout=2)  # no second decision for either
    assert decided == {twice.complaint_id, *(e.complaint_id for e in others)}
    ids = [e.complaint_id for e in (before, twice, *others)]
    rows = stored(
        config,
        "SELECT complaint_id, count(*) AS n FROM routing.assignments WHERE complaint_id = ANY(:ids) GROUP BY 1",
        ids=ids,
    )
    assert sorted(row.n for row in rows) == [1] * 5


def test_a_batch_keeps_each_event_delivered_for_the_first_time_once(config) -> None:
    """`UnitOfWork.first_deliveries` on routing's inbox: an event handled before is passed over, one
    twice in the batch is kept once (its first place), the order of the rest kept."""
    from types import SimpleNamespace

    from sqlalchemy.orm import sessionmaker

    from common.db import UnitOfWork
    from services.routing.models import Inbox
    from tests.service_harness import owner_engine

    engine = owner_engine(config)
    database = SimpleNamespace(sessions=sessionmaker(engine), read_sessions=None, relay=None, inbox=Inbox)
    uow = UnitOfWork(database)  # type: ignore[arg-type]
    seen, a, b = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    try:
        with uow.transaction() as session:
            assert uow.first_deliveries(session, [(seen, "s")], "test.batch") == [(seen, "s")]
        with uow.transaction() as session:
            kept = uow.first_deliveries(session, [(a, "a"), (seen, "s"), (b, "b"), (a, "a again")], "test.batch")
        assert kept == [(a, "a"), (b, "b")]
        rows = stored(config, "SELECT count(*) AS n FROM routing.inbox WHERE handler = 'test.batch'")
        assert rows[0].n == 3
    finally:
        engine.dispose()


def test_signals_counted_in_two_transactions_at_once_raise_their_warning(config) -> None:
    """Four complaints against a business in one transaction, the fifth (the default threshold) in
    another at the same moment: the second counts after the first committed, and raises it."""
    import threading

    from sqlalchemy.orm import Session

    from services.routing import warnings
    from services.routing.tree import DivisionTree
    from tests.conftest import credit_code
    from tests.service_harness import owner_engine

    engine = owner_engine(config)
    credit, now = credit_code(int(uuid.uuid4().int % 90000) + 10000), datetime.now(UTC)
    raised: dict[str, list] = {}

    def count(name: str, session: Session, complaints: int) -> None:
        tree = DivisionTree.load(session)
        for _ in range(complaints):
            warnings.record_signal(session, received(), VILLAGE, credit, 30, now)
        raised[name] = warnings.raise_warnings(session, tree, VILLAGE, VILLAGE, credit, "product_quality", now)

    def second() -> None:
        with Session(engine) as session, session.begin():
            count("second", session, 1)

    try:
        with Session(engine) as first, first.begin():
            count("first", first, 4)
            later = threading.Thread(target=second)
            later.start()
            later.join(1)
            assert later.is_alive(), "the second counted without waiting for the first"
        later.join(10)
        business = {
            name: [(w.kind, w.key, w.count) for w in found if w.kind == "business"] for name, found in raised.items()
        }
        assert business == {"first": [], "second": [("business", credit, 5)]}
    finally:
        engine.dispose()
