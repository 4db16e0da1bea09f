"""Database access for services: one engine per process, one transaction per unit of work.

Inside nameko services psycopg2 must yield to eventlet, so `patch_psycopg()` installs
psycogreen's wait callback before any connection is made.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from nameko.extensions import DependencyProvider
from nameko.rpc import Rpc
from sqlalchemy import Engine, MetaData, create_engine, func, select, text
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from common import deadlines
from common.config import service_database_url, settings
from common.contracts import Contract
from common.outbox import InboxMixin, OutboxMixin, OutboxRelay, emit, first_deliveries, first_delivery
from common.telemetry import instrument_engine, trace_headers
from common.tenancy import Scope, scope_settings

# the non-owner role staff-facing reads run as: row-level security applies to it (the owner, which
# event handlers and migrations use, bypasses it); created NOLOGIN by the intake, reporting and mediation
# migrations through common.migrations.ensure_scoped_role
SCOPED_ROLE = "disputes_scoped"
# what a refused or lost database connection raises (and a deadlock, a serialization failure): the work
# did not happen, or, when the connection went during the commit, nobody knows whether it did
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
RETRY_PAUSE_SECONDS = 0.5

log = logging.getLogger(__name__)
T = TypeVar("T")


def schema_base(schema: str) -> type[DeclarativeBase]:
    """The declarative base of one component's tables: its own registry and MetaData, every table in
    the component's own PostgreSQL schema (the schema common.migrations.run_migrations migrates)."""

    class Base(DeclarativeBase):
        metadata = MetaData(schema=schema)

    return Base


def sqlalchemy_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and pin the psycopg2 driver."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg2://" + url.removeprefix("postgresql://")
    return url


def patch_psycopg() -> None:
    from psycogreen.eventlet import patch_psycopg as _patch

    _patch()


# a pooled connection is replaced after this long, before a firewall or a pooler drops it idle
POOL_RECYCLE_SECONDS = 1800


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """No ping before each checkout (a round trip per transaction, issue 21): a connection lost since
    it was pooled fails its unit of work, which SQLAlchemy answers by replacing every pooled
    connection; the work is then retried (an event by the broker, an RPC by `UnitOfWork.retrying`
    while its deadline allows, a timer at its next tick) or answered 503, and the inboxes and
    idempotency keys make the retry safe."""
    # hide_parameters: a database error's message (which gets logged) must not carry personal data
    options: dict[str, Any] = {
        "pool_size": 10,
        "max_overflow": 10,
        "pool_recycle": POOL_RECYCLE_SECONDS,
        "hide_parameters": True,
    }
    options.update(kwargs)
    engine = create_engine(sqlalchemy_url(url or settings().database_url), **options)
    instrument_engine(engine)  # database spans when tracing is on (common/telemetry.py)
    return engine


def container_database_url(container, setting: str = "DATABASE_URL") -> str | None:
    """The container's `setting` (nameko.yaml: DATABASE_URL, or DATABASE_READ_URL, None when empty)
    as its service's own role (common.config.service_database_url)."""
    url = container.config.get(setting) or None
    if url is None and setting != "DATABASE_URL":
        return None
    return service_database_url(container.service_name, url, setting)


def enter_scope(session: Session, scope: Scope | None) -> None:
    """Make the transaction just begun a scoped read (`UnitOfWork.scoped`, and bench/case_list.py so it
    times what the service runs): read only, as `disputes_scoped`, the scope in per-transaction settings."""
    (unit_key, unit), (agency_key, agency) = scope_settings(scope).items()
    # one round trip: read only, the non-owner role, the two settings, all local to this transaction;
    # no JIT: compiling the row-level-security filters of a list's count or a figure over a
    # city's 100,000 cases took longer than running them (docs/performance.md, "Dashboard")
    session.execute(
        text(
            f"SET TRANSACTION READ ONLY; SET LOCAL ROLE {SCOPED_ROLE}; SET LOCAL jit = off; "
            "SELECT set_config(:unit_key, :unit, true), set_config(:agency_key, :agency, true)"
        ),
        {"unit_key": unit_key, "unit": unit, "agency_key": agency_key, "agency": agency},
    )


class UnitOfWork:
    """What a worker gets: `with uow.transaction() as session:` commits or rolls back as a whole;
    events emitted inside go out through the outbox once the transaction has committed. An RPC
    worker's transaction does not commit once its caller's deadline is (nearly) past: it raises
    DeadlinePassed and rolls back (common/deadlines.py)."""

    def __init__(self, db: Database, deadline: float | None = None) -> None:
        self._db = db
        self.deadline = deadline

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self._db.sessions() as session, session.begin():
            yield session
            deadlines.check(self.deadline)  # the last thing before the commit
        if self._db.relay is not None:
            self._db.relay.wake()

    def _sessions(self, stale_ok: bool) -> sessionmaker:
        standby = self._db.read_sessions
        return standby if stale_ok and standby is not None else self._db.sessions

    @contextmanager
    def read(self, *, stale_ok: bool = False) -> Iterator[Session]:
        """`stale_ok`: the read may go to the standby (`DATABASE_READ_URL`), seconds behind."""
        with self._sessions(stale_ok)() as session:
            yield session

    @contextmanager
    def scoped(self, scope: Scope | None, *, stale_ok: bool = False) -> Iterator[Session]:
        """A read-only transaction as `disputes_scoped` with the caller's scope in per-transaction
        settings, so PostgreSQL's row-level security refuses every row outside the scope whatever the
        query says. Every staff-facing read goes through here; without a scope nothing is visible.

        `SET LOCAL` and `set_config(..., true)` end with the transaction, so a pooled connection goes
        back to the pool as the owner with no scope. The session cannot begin a second transaction
        (no autobegin): a lazy load after the block raises instead of reading unscoped as the owner.
        With `stale_ok` it may run on the standby (`DATABASE_READ_URL`): a list or a report that may
        be seconds behind, never what an action is decided on."""
        with self._sessions(stale_ok)(autobegin=False) as session, session.begin():
            enter_scope(session, scope)
            yield session

    def retrying(self, work: Callable[[], T]) -> T:
        """Run `work` again while the database is unreachable, as long as the caller's deadline leaves
        time for another attempt; then its error goes to the caller (the gateway's 503).

        `work` opens its own transactions and starts by looking for what an earlier attempt stored
        (an idempotency key): a commit whose answer was lost with the connection (the primary died
        under it, tests/integration/test_database_failover.py) is found and answered, not repeated,
        and a standby promoted within the deadline costs the caller a wait instead of a refusal.
        Without a deadline (event handlers, timers) it runs once: the broker's retries bring those back."""
        while True:
            try:
                return work()
            except DATABASE_UNAVAILABLE as exc:
                left = None if self.deadline is None else self.deadline - time.time()
                if left is None or left < deadlines.COMMIT_ALLOWANCE_SECONDS + RETRY_PAUSE_SECONDS:
                    raise
                reason = str(exc.orig).strip().splitlines()[0]  # libpq's message runs over several lines
                log.warning("database unavailable (%s); trying again, %.1f s before the deadline", reason, left)
                time.sleep(RETRY_PAUSE_SECONDS)  # eventlet's, in a nameko service

    def ping(self) -> bool:
        return self._db.ping()

    def emit(self, session: Session, event: Contract, headers: dict | None = None) -> None:
        if self._db.outbox is None:
            raise RuntimeError("this service declared no outbox")
        # the current trace context goes with the event: the consumer continues the same trace
        emit(session, self._db.outbox, event, trace_headers(headers))

    def _inbox(self) -> type[InboxMixin]:
        if self._db.inbox is None:
            raise RuntimeError("this service declared no inbox")
        return self._db.inbox

    def first_delivery(self, session: Session, event_id: uuid.UUID, handler: str) -> bool:
        return first_delivery(session, self._inbox(), event_id, handler)

    def first_deliveries(self, session: Session, events: list[tuple[uuid.UUID, Any]], handler: str) -> list:
        """Of a batch of `(event_id, event)` (common.messaging.on_events), those delivered for the
        first time to `handler`, recorded in the inbox in one statement; an event twice in the
        batch (published again) is kept once."""
        new = first_deliveries(session, self._inbox(), [event_id for event_id, _ in events], handler)
        kept = []
        for event_id, event in events:
            if event_id in new:
                new.discard(event_id)
                kept.append((event_id, event))
        return kept


class Database(DependencyProvider):
    """The service's own database: one engine per container, a UnitOfWork per worker, and the
    outbox relay running beside the workers when the service has an outbox.

    `DATABASE_READ_URL`, when set, names a standby (a hot standby, or a pooler in front of the
    standbys) for the reads that say `stale_ok`; unset, they go to `DATABASE_URL` like the rest."""

    def __init__(self, outbox: type[OutboxMixin] | None = None, inbox: type[InboxMixin] | None = None) -> None:
        self.outbox = outbox
        self.inbox = inbox
        self.relay: OutboxRelay | None = None

    def setup(self) -> None:
        patch_psycopg()
        self.engine: Engine = make_engine(container_database_url(self.container))
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        read_url = container_database_url(self.container, "DATABASE_READ_URL")  # nameko.yaml: empty when unset
        # named, so the standby's pg_stat_activity tells whose reads these are
        reader = {"application_name": f"{self.container.service_name}-reads"}
        self.read_engine = make_engine(read_url, pool_size=5, connect_args=reader) if read_url else None
        self.read_sessions = sessionmaker(self.read_engine, expire_on_commit=False) if self.read_engine else None
        if self.outbox is not None:
            self.relay = OutboxRelay(self.sessions, self.outbox, self.container.config)

    def start(self) -> None:
        if self.relay is not None:
            self.container.spawn_managed_thread(self.relay.run, identifier="outbox-relay")

    def stop(self) -> None:
        if self.relay is not None:
            self.relay.stop()
        self.engine.dispose()
        if self.read_engine is not None:
            self.read_engine.dispose()

    def get_dependency(self, worker_ctx) -> UnitOfWork:
        # only an RPC has a caller waiting; events and timers carry no deadline
        if isinstance(worker_ctx.entrypoint, Rpc):
            return UnitOfWork(self, deadlines.deadline_from_context(worker_ctx.context_data))
        return UnitOfWork(self)

    def outbox_backlog(self) -> tuple[int, datetime | None] | None:
        """Rows in the outbox not yet confirmed by the broker, and when the oldest was written (read
        by common/metrics.py); None without an outbox."""
        outbox = self.outbox
        if outbox is None:
            return None
        with self.sessions() as session:
            count, oldest = session.execute(select(func.count(), func.min(outbox.created_at)).select_from(outbox)).one()
        return count or 0, oldest

    def ping(self) -> bool:
        """True when the database answers; False (not an error) while it is unreachable, e.g.
        restarting, so the gateway's /healthz reports "database unreachable" instead of failing."""
        try:
            with self.engine.connect() as conn:
                return conn.execute(text("select 1")).scalar() == 1
        except (OperationalError, InterfaceError):
            return False
