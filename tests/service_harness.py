"""One service alone, for its interface tests (`tests/<service>/test_interface.py`): its nameko
container (nameko's `container_factory`) on the real broker and database, in a database and a vhost
of its own (`<TEST_DATABASE_URL>_<service>`), migrated for the schemas it needs and connecting as
the service's own role. What the test replaces is only what must be: another service's RPC proxy
(`replace_dependencies`). Events come in as the other services publish them (`dispatch`) and the
service's own are read off its exchange (`Tap`). The module runs in an eventlet-patched process
(tests/green_pytest.py)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from kombu import Connection, Queue
from nameko.standalone.events import event_dispatcher, get_event_exchange
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import Engine, text

from common.contracts import Contract
from common.db import make_engine
from common.tenancy import Role, Scope
from ops.migrate import upgrade
from ops.run import load_tenants
from tests.conftest import DEMO_PASSWORD, TEST_AMQP_URI, TEST_DATABASE_URL, reset_database, reset_vhost

C = TypeVar("C", bound=Contract)

# a unit of the demo tenants (ops/run.py DEMO_CITIES): 诸暨市 and a village of it
CITY = "330681"
VILLAGE = "330681109290"
STAFF = frozenset({Role.INTAKE_CLERK, Role.MEDIATOR, Role.SUPERVISOR})


def staff(unit: str = CITY, roles: frozenset[str] = STAFF) -> Scope:
    return Scope(unit=unit, user=f"{unit}-clerk", roles=roles)


def service_config(service: str, components: Iterable[str], *, tenants: bool = False) -> dict[str, Any]:
    """The nameko config of `service`'s container, on a database (recreated, migrated for
    `components`; with the demo tenants when `tenants`, which needs `routing` and `identity`) and a
    vhost (recreated) of its own. Before any container starts: the division import's COPY cannot
    run once psycopg2 yields to eventlet (so one module per process)."""
    database_url = f"{TEST_DATABASE_URL}_{service}"
    amqp_uri = f"{TEST_AMQP_URI}_{service}"
    reset_database(database_url)
    reset_vhost(amqp_uri)
    upgrade(database_url, list(components))
    if tenants:
        load_tenants(database_url, demo=True, password=DEMO_PASSWORD)
    # what the services read from the environment rather than from nameko's config
    os.environ.update(
        DATABASE_URL=database_url,
        AMQP_URI=amqp_uri,
        DEMO_MODE="1",
        OTEL_TRACES_EXPORTER="none",
        SMS_PROVIDER="log",
        SMS_QUIET_HOURS="off",  # tests run at any hour (the suite's platform too: tests/notification_sinks.py)
        RPC_TIMEOUT_SECONDS="10",
    )
    return {
        "AMQP_URI": amqp_uri,
        "DATABASE_URL": database_url,  # the container connects as the service's role (common.db)
        "DATABASE_READ_URL": "",
        "serializer": "json",
        "max_workers": 10,
    }


def owner_engine(config: dict[str, Any]) -> Engine:
    """The owner's connection, for a test to arrange rows and to look at what the service stored."""
    return make_engine(config["DATABASE_URL"], pool_size=2)


def stored(config: dict[str, Any], sql: str, **params: Any) -> list[Any]:
    """The rows `sql` finds, read as the owner."""
    engine = owner_engine(config)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params).all())
    finally:
        engine.dispose()


@contextmanager
def rpc(config: dict[str, Any], service: str, scope: Scope | None = None) -> Iterator[Any]:
    """A caller of `service`'s RPCs, as the gateway calls them: with the caller's scope, if any."""
    context = scope.to_context() if scope is not None else {}
    with ServiceRpcProxy(service, config, context_data=context, timeout=20) as proxy:
        yield proxy


def dispatch(config: dict[str, Any], event: Contract, event_id: uuid.UUID | None = None) -> uuid.UUID:
    """Publish `event` as its source service's outbox relay does; answers its id (send it again with
    the same id: a redelivery)."""
    envelope = event.envelope(event_id)
    event_dispatcher(config)(event.source, event.type, envelope)
    return uuid.UUID(envelope["event_id"])


class Tap:
    """A queue of the test's own bound to the events of one contract, from its creation on."""

    def __init__(self, config: dict[str, Any], contract: type[C]) -> None:
        self.contract = contract
        self.connection = Connection(config["AMQP_URI"])
        exchange = get_event_exchange(contract.source, config)
        queue = Queue(f"tap-{uuid.uuid4()}", exchange=exchange, routing_key=contract.type, exclusive=True)
        self.queue = self.connection.SimpleQueue(queue)

    def next(self, timeout: float = 15) -> tuple[uuid.UUID, Any]:
        """The next event (id and data); `queue.Empty` when none comes within `timeout`."""
        message = self.queue.get(timeout=timeout)
        message.ack()
        return self.contract.parse(message.payload)

    def close(self) -> None:
        self.queue.close()
        self.connection.close()


@contextmanager
def tap(config: dict[str, Any], contract: type[C]) -> Iterator[Tap]:
    events = Tap(config, contract)
    try:
        yield events
    finally:
        events.close()
