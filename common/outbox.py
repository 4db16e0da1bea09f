"""Transactional outbox and idempotent inbox, used the same way by every service.

A handler writes its state and the events it causes in one transaction (`UnitOfWork.emit`); the
relay publishes outbox rows with publisher confirms and `mandatory` (an event no queue is bound
for yet stays in the outbox and is retried), deleting each row only after the broker confirmed it.
A crash between confirm and delete publishes the row again, so consumers dedupe on `event_id`
through the inbox. A batch of rows is published at once and its confirms are awaited once
(`ConfirmedBatch`), then the confirmed rows are deleted in one statement.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import eventlet
from eventlet.queue import Empty, LightQueue
from kombu import Connection, Producer
from nameko.events import get_event_exchange
from sqlalchemy import BigInteger, DateTime, Identity, Integer, String, Text, Uuid, delete, func, select
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from common.contracts import Contract
from common.telemetry import producer_span

log = logging.getLogger(__name__)

BATCH_SIZE = 200
IDLE_POLL_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 60.0
CONFIRM_TIMEOUT_SECONDS = 10.0


class OutboxMixin:
    """Columns of a service's `outbox` table (the service declares the table in its own schema)."""

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    source: Mapped[str] = mapped_column(String(40))
    event_type: Mapped[str] = mapped_column(String(80))
    envelope: Mapped[dict[str, Any]] = mapped_column(JSONB)
    headers: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_error: Mapped[str | None] = mapped_column(Text)


class InboxMixin:
    """Columns of a service's `inbox` table: which handler already processed which event."""

    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    handler: Mapped[str] = mapped_column(String(120), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


def emit(session: Session, outbox: type[OutboxMixin], event: Contract, headers: dict | None = None) -> uuid.UUID:
    envelope = event.envelope()
    session.add(
        outbox(
            event_id=uuid.UUID(envelope["event_id"]),
            source=event.source,
            event_type=event.type,
            envelope=envelope,
            headers=headers or {},
        )
    )
    return uuid.UUID(envelope["event_id"])


def first_delivery(session: Session, inbox: type[InboxMixin], event_id: uuid.UUID, handler: str) -> bool:
    """Record that `handler` processes `event_id`; False when it already did (a redelivery)."""
    inserted = session.execute(
        insert(inbox).values(event_id=event_id, handler=handler).on_conflict_do_nothing().returning(inbox.event_id)
    ).first()
    return inserted is not None


def first_deliveries(
    session: Session, inbox: type[InboxMixin], event_ids: list[uuid.UUID], handler: str
) -> set[uuid.UUID]:
    """`first_delivery` of a batch in one statement: the ids `handler` had not processed, now recorded."""
    if not event_ids:
        return set()
    # in one order, so two batches holding the same events (a redelivery racing) never wait in a circle
    rows = [{"event_id": event_id, "handler": handler} for event_id in sorted(event_ids)]
    # DO NOTHING also passes over an id twice in the batch (an event published again): recorded once
    inserted = session.execute(insert(inbox).values(rows).on_conflict_do_nothing().returning(inbox.event_id))
    return set(inserted.scalars())


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(MAX_BACKOFF_SECONDS, 0.5 * 2**attempts))


class ConfirmingChannel:
    """A channel in confirm mode that publishes a batch of messages and waits for the broker's
    confirms once for all of them: which message ids it took, which it returned (`mandatory`: no
    queue is bound for the event yet) and which it nacked. Kept open from batch to batch."""

    def __init__(self, connection: Connection) -> None:
        self.channel = connection.channel()
        self.channel.confirm_select()
        self.producer = Producer(self.channel)
        self.published = 0  # the broker numbers a channel's publishes from 1 (delivery tags)
        self.channel.events["basic_ack"].add(self._ack)
        self.channel.events["basic_nack"].add(self._nack)
        self.channel.events["basic_return"].add(self._return)
        self.begin()

    def begin(self) -> None:
        self.sent: dict[int, str] = {}  # delivery tag -> message id, of this batch
        self.confirmed: set[str] = set()
        self.returned: set[str] = set()
        self.nacked: set[str] = set()

    def publish(self, body: dict[str, Any], *, message_id: str, **options: Any) -> None:
        self.producer.publish(
            body, message_id=message_id, mandatory=True, delivery_mode=2, serializer="json", retry=False, **options
        )
        self.published += 1
        self.sent[self.published] = message_id

    def wait(self, timeout: float = CONFIRM_TIMEOUT_SECONDS) -> None:
        """Until every message of the batch is confirmed or nacked; TimeoutError past `timeout`."""
        deadline = time.monotonic() + timeout
        while len(self.confirmed) + len(self.nacked) < len(self.sent):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{len(self.sent) - len(self.confirmed)} publisher confirms not received")
            self.channel.connection.drain_events(timeout=left)

    def _settle(self, tag: int, multiple: bool, into: set[str]) -> None:
        settled = self.confirmed | self.nacked
        tags = [t for t in self.sent if t <= tag] if multiple else [tag]
        into.update(self.sent[t] for t in tags if t in self.sent and self.sent[t] not in settled)

    def _ack(self, tag: int, multiple: bool) -> None:
        self._settle(tag, multiple, self.confirmed)

    def _nack(self, tag: int, multiple: bool) -> None:
        self._settle(tag, multiple, self.nacked)

    def _return(self, exc: Exception, exchange: str, routing_key: str, message: Any) -> None:
        # the broker returns an unroutable message before it confirms it
        self.returned.add(message.properties.get("message_id"))


class OutboxRelay:
    """Publishes a service's outbox. Runs as a greenthread in the service container; any number
    of processes of one service may run it, rows are claimed with SKIP LOCKED."""

    def __init__(self, sessions, outbox: type[OutboxMixin], config: dict[str, Any]) -> None:
        self.sessions = sessions
        self.outbox = outbox
        self.config = config
        self.connection: Connection | None = None
        self.confirming: ConfirmingChannel | None = None
        self.exchanges: dict[str, Any] = {}
        self._wake: LightQueue = LightQueue(maxsize=1)
        self._running = False

    def wake(self) -> None:
        if self._wake.qsize() == 0:
            self._wake.put_nowait(None)

    def stop(self) -> None:
        self._running = False
        self.wake()

    def run(self) -> None:
        self._running = True
        while self._running:
            try:
                published = self.relay_batch()
            except Exception:  # the broker or database is away: keep the rows, try again soon
                log.exception("outbox relay failed; retrying")
                self._disconnect()
                published = 0
                eventlet.sleep(IDLE_POLL_SECONDS)
            if published < BATCH_SIZE:
                with contextlib.suppress(Empty):
                    self._wake.get(timeout=IDLE_POLL_SECONDS)
        self._disconnect()

    def relay_batch(self) -> int:
        """Publish the due rows, wait for their confirms once, delete the confirmed rows in one
        statement; a returned row waits for its backoff. Any failure deletes nothing."""
        now = datetime.now(UTC)
        with self.sessions() as session, session.begin():
            rows = session.scalars(
                select(self.outbox)
                .where(self.outbox.next_attempt_at <= now)
                .order_by(self.outbox.id)
                .limit(BATCH_SIZE)
                .with_for_update(skip_locked=True)
            ).all()
            if not rows:
                return 0
            batch = self._channel()
            batch.begin()
            for row in rows:
                self._publish(batch, row)
            batch.wait()
            taken = [row.id for row in rows if str(row.event_id) in batch.confirmed - batch.returned]
            for row in rows:
                if str(row.event_id) in batch.returned:
                    row.attempts += 1
                    row.next_attempt_at = now + backoff(row.attempts)
                    row.last_error = "no queue is bound for this event yet"
            if taken:
                session.execute(delete(self.outbox).where(self.outbox.id.in_(taken)))
            return len(taken)

    def _channel(self) -> ConfirmingChannel:
        if self.confirming is None:
            self.connection = Connection(self.config["AMQP_URI"])
            self.confirming = ConfirmingChannel(self.connection)
        return self.confirming

    def _disconnect(self) -> None:
        """After any failure: a channel may hold confirms of a batch given up, so start afresh."""
        if self.connection is not None:
            with contextlib.suppress(Exception):
                self.connection.release()
        self.connection = self.confirming = None

    def _publish(self, batch: ConfirmingChannel, row: OutboxMixin) -> None:
        exchange = self.exchanges.get(row.source)
        if exchange is None:
            exchange = self.exchanges[row.source] = get_event_exchange(row.source, self.config)
        # a PRODUCER span under the trace the row was emitted in (no-op when tracing is off)
        with producer_span(row.source, row.event_type, row.headers) as headers:
            batch.publish(
                row.envelope,
                exchange=exchange,
                routing_key=row.event_type,
                headers=headers,
                message_id=str(row.event_id),
                declare=[exchange],
            )


def backlog(session: Session, outbox: type[OutboxMixin]) -> int:
    return session.scalar(select(func.count()).select_from(outbox)) or 0
