"""Event consumption with a decided failure policy.

nameko acks an event after the worker whether or not it raised. Here a failed event is retried
after a delay (a per-attempt delay queue that dead-letters back into the handler's queue), and
after the last attempt, or at once for a PoisonMessage, it goes to the `dead-letters` queue with
the reason in its headers. The message is acked only after its retry or dead-letter copy was
confirmed by the broker, so nothing is dropped; a duplicate is possible and the inbox absorbs it.
"""

from __future__ import annotations

import functools
import logging
import traceback
from collections.abc import Callable
from typing import Any

from kombu import Exchange, Queue
from nameko.amqp.publish import Publisher
from nameko.events import EventHandler

from common.contracts import Contract, PoisonMessage
from common.metrics import dead_lettered

log = logging.getLogger(__name__)

DEAD_LETTER_QUEUE = "dead-letters"
RETRY_DELAYS_SECONDS = (1, 5, 30)
ATTEMPT_HEADER = "x-attempt"
_default_exchange = Exchange("", type="direct")


def dead_letter_queue() -> Queue:
    return Queue(DEAD_LETTER_QUEUE, exchange=_default_exchange, routing_key=DEAD_LETTER_QUEUE, durable=True)


def retry_queue(queue_name: str, attempt: int) -> Queue:
    delay = RETRY_DELAYS_SECONDS[attempt - 1]
    name = f"{queue_name}.retry.{delay}s"
    return Queue(
        name,
        exchange=_default_exchange,
        routing_key=name,
        durable=True,
        queue_arguments={
            "x-message-ttl": delay * 1000,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": queue_name,
        },
    )


class ReliableEventHandler(EventHandler):
    def setup(self) -> None:
        super().setup()
        self.publisher = Publisher(self.container.config["AMQP_URI"], use_confirms=True)

    def handle_message_processed(self, message, result=None, exc_info=None) -> None:
        if exc_info is not None:
            self._retry_or_dead_letter(message, exc_info)
        self.queue_consumer.ack_message(message)

    def _retry_or_dead_letter(self, message, exc_info) -> None:
        headers = dict(message.headers or {})
        attempt = int(headers.get(ATTEMPT_HEADER, 0)) + 1
        queue_name = self.queue.name
        poison = isinstance(exc_info[1], PoisonMessage)
        if not poison and attempt <= len(RETRY_DELAYS_SECONDS):
            target = retry_queue(queue_name, attempt)
            log.warning("event on %s failed (attempt %s), retrying: %r", queue_name, attempt, exc_info[1])
        else:
            target = dead_letter_queue()
            headers["x-dead-letter-reason"] = "".join(traceback.format_exception_only(*exc_info[:2])).strip()
            headers["x-original-queue"] = queue_name
            log.error("event on %s dead-lettered after %s attempt(s): %r", queue_name, attempt, exc_info[1])
        headers[ATTEMPT_HEADER] = attempt
        self.publisher.publish(
            message.payload,
            exchange=_default_exchange,
            routing_key=target.name,
            headers=headers,
            declare=[target],
        )
        if target.name == DEAD_LETTER_QUEUE:
            dead_lettered(self.container.service_name, queue_name, "poison" if poison else "exhausted")


def on_event(contract: type[Contract]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Consume `contract` events; the method gets `(event_id, event)` already validated."""

    def decorator(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def handle(self, envelope: Any) -> Any:
            event_id, event = contract.parse(envelope)
            return method(self, event_id, event)

        return ReliableEventHandler.decorator(contract.source, contract.type)(handle)

    return decorator
