"""Transactional outbox and idempotent inbox, used the same way by every service.

A handler writes its state and the events it causes in one transaction (`UnitOfWork.emit`); the
relay publishes outbox rows with publisher confirms and `mandatory` (an event no queue is bound
for yet stays in the outbox and is retried), deleting each row only after the broker confirmed it.
A crash between confirm and delete publishes the row again, so consumers dedupe on `event_id`
through the inbox.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import eventlet
from eventlet.queue import Empty, LightQueue
from nameko.amqp.publish import Publisher, UndeliverableMessage
from nameko.events import get_event_exchange
from sqlalchemy import BigInteger, DateTime, Identity, Integer, String, Text, Uuid, func, select
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from common.contracts import Contract
from common.telemetry import producer_span

log = logging.getLogger(__name__)

BATCH_SIZE = 200
IDLE_POLL_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 60.0


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


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(MAX_BACKOFF_SECONDS, 0.5 * 2**attempts))


class OutboxRelay:
    """Publishes a service's outbox. Runs as a greenthread in the service container; any number
    of processes of one service may run it, rows are claimed with SKIP LOCKED."""

    def __init__(self, sessions, outbox: type[OutboxMixin], config: dict[str, Any]) -> None:
        self.sessions = sessions
        self.outbox = outbox
        self.config = config
        self.publisher = Publisher(config["AMQP_URI"], use_confirms=True, mandatory=True, retry=False)
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
                published = 0
                eventlet.sleep(IDLE_POLL_SECONDS)
            if published < BATCH_SIZE:
                with contextlib.suppress(Empty):
                    self._wake.get(timeout=IDLE_POLL_SECONDS)

    def relay_batch(self) -> int:
        now = datetime.now(UTC)
        with self.sessions() as session, session.begin():
            rows = session.scalars(
                select(self.outbox)
                .where(self.outbox.next_attempt_at <= now)
                .order_by(self.outbox.id)
                .limit(BATCH_SIZE)
                .with_for_update(skip_locked=True)
            ).all()
            published = 0
            for row in rows:
                try:
                    self._publish(row)
                except UndeliverableMessage:
                    row.attempts += 1
                    row.next_attempt_at = now + backoff(row.attempts)
                    row.last_error = "no queue is bound for this event yet"
                    continue
                session.delete(row)
                published += 1
            return published

    def _publish(self, row: OutboxMixin) -> None:
        exchange = self.exchanges.get(row.source)
        if exchange is None:
            exchange = self.exchanges[row.source] = get_event_exchange(row.source, self.config)
        # a PRODUCER span under the trace the row was emitted in (no-op when tracing is off)
        with producer_span(row.source, row.event_type, row.headers) as headers:
            self.publisher.publish(
                row.envelope,
                exchange=exchange,
                routing_key=row.event_type,
                headers=headers,
                message_id=str(row.event_id),
                declare=[exchange],
            )


def backlog(session: Session, outbox: type[OutboxMixin]) -> int:
    return session.scalar(select(func.count()).select_from(outbox)) or 0
