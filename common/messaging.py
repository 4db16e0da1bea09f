"""Event consumption with a decided failure policy.

nameko acks an event after the worker whether or not it raised. Here a failed event is retried
after a delay (a per-attempt delay queue that dead-letters back into the handler's queue), and
after the last attempt, or at once for a PoisonMessage, it goes to the `dead-letters` queue with
the reason in its headers. The message is acked only after its retry or dead-letter copy was
confirmed by the broker, so nothing is dropped; a duplicate is possible and the inbox absorbs it.

With `AMQP_QUORUM_QUEUES=1` (a broker of several nodes) every durable queue a service declares is a
quorum queue (`durable_queue_arguments`): its event handlers' queues, their retry queues, the
dead-letter queue and its RPC queue. RPC reply queues are exclusive and transient, always
(`install_rpc_queue_declarations`).

Losing the broker connection mid-message (the broker restarts) must not kill the service: see
`install_broker_loss_guards`. Both changes to nameko are installed by `install_nameko_patches()`,
which each service's service.py calls before its container is built (importing this module changes
nothing); tests/unit/test_nameko_patches.py pins the nameko methods they wrap.
"""

from __future__ import annotations

import functools
import logging
import traceback
from collections.abc import Callable
from typing import Any

import amqp
import eventlet
from kombu import Connection, Exchange, Queue
from kombu.exceptions import OperationalError as KombuOperationalError
from nameko.amqp.publish import Publisher
from nameko.events import EventHandler
from nameko.exceptions import ContainerBeingKilled
from nameko.extensions import DependencyProvider
from nameko.messaging import QueueConsumer
from nameko.rpc import ReplyListener, Responder, RpcConsumer

from common.config import ServiceSettings, settings
from common.contracts import Contract, PoisonMessage
from common.metrics import dead_lettered

log = logging.getLogger(__name__)

DEAD_LETTER_QUEUE = "dead-letters"
RETRY_DELAYS_SECONDS = (1, 5, 30)
ATTEMPT_HEADER = "x-attempt"
# quorum queues only: deliveries of one message before the broker dead-letters it. Failures that raise
# go through the retry queues and are acked; only a message that never gets acked (its worker's
# process dies on it every time) comes back this often.
DELIVERY_LIMIT = 10
_default_exchange = Exchange("", type="direct")

# what talking to a broker that went away raises: socket errors (ConnectionResetError, BrokenPipeError
# are OSErrors), py-amqp's connection errors, and kombu's wrapper once its publish retries are spent
BROKER_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    *amqp.Connection.connection_errors,
    OSError,
    KombuOperationalError,
)


def install_broker_loss_guards() -> None:
    """Keep a nameko 2.14 service alive when its broker connection is lost under a running worker.

    nameko acks (or requeues) a message, and sends an RPC reply, in the worker's greenthread after
    the method returned. If the broker went away meanwhile (a restart), the ack raises a socket error
    (`QueueConsumer.ack_message` only guards against py-amqp's own `ConnectionError`, and only when
    the consumer thread already noticed the loss) and the reply publish raises once its retries are
    spent; either exception escapes the worker thread and nameko kills the whole container, so the
    service process exits (found by tests/integration/test_restarts.py). Both are harmless to skip:
    an unacked message is reclaimed by the broker with its channel and delivered again after the
    reconnect (the inbox absorbs the repeat), and the caller of a lost reply times out (the gateway
    answers 503). Installed once per process, for the RPC and the event entrypoints alike."""
    if getattr(QueueConsumer, "_broker_loss_guarded", False):
        return

    def guarded(settle: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(settle)
        def settle_unless_gone(self, message) -> None:
            try:
                settle(self, message)
            except BROKER_CONNECTION_ERRORS as exc:
                log.warning("broker connection lost before %s; the broker delivers it again: %r", settle.__name__, exc)

        return settle_unless_gone

    QueueConsumer.ack_message = guarded(QueueConsumer.ack_message)
    QueueConsumer.requeue_message = guarded(QueueConsumer.requeue_message)
    QueueConsumer._broker_loss_guarded = True

    send_response = Responder.send_response

    @functools.wraps(send_response)
    def send_response_unless_gone(self, result, exc_info):
        try:
            return send_response(self, result, exc_info)
        except BROKER_CONNECTION_ERRORS as exc:
            log.warning("RPC reply lost with the broker connection; the caller times out: %r", exc)
            return result, exc_info

    Responder.send_response = send_response_unless_gone


def durable_queue_arguments(arguments: dict[str, Any] | None = None, *, delivery_limit: bool = False) -> dict[str, Any]:
    """`arguments` of a durable queue, made a quorum queue's when `AMQP_QUORUM_QUEUES` is on.

    A quorum queue dead-letters at least once (the copy is confirmed before the original goes), which
    needs `reject-publish` overflow; with `delivery_limit` a message delivered `DELIVERY_LIMIT` times
    without an ack goes to the dead-letter queue. A queue's type is fixed when it is first declared:
    switching the setting on a broker that has the classic queues needs them drained and deleted
    first (docs/deploy.md)."""
    arguments = dict(arguments or {})
    if not settings().amqp_quorum_queues:
        return arguments
    if delivery_limit:
        arguments |= {
            "x-delivery-limit": DELIVERY_LIMIT,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": DEAD_LETTER_QUEUE,
        }
    if "x-dead-letter-exchange" in arguments:
        arguments |= {"x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"}
    return {**arguments, "x-queue-type": "quorum"}


def install_rpc_queue_declarations() -> None:
    """How nameko declares a service's RPC queues. Its RPC queue (`rpc-<service>`, durable, declared
    by the RpcConsumer every @rpc method shares) gets the same arguments as the other durable queues;
    its reply queue becomes exclusive and transient (below)."""
    if getattr(RpcConsumer, "_quorum_aware", False):
        return
    setup = RpcConsumer.setup

    @functools.wraps(setup)
    def setup_with_arguments(self) -> None:
        setup(self)
        self.queue.queue_arguments = durable_queue_arguments(self.queue.queue_arguments)

    RpcConsumer.setup = setup_with_arguments
    RpcConsumer._quorum_aware = True

    # nameko declares a service's own reply queue (its RPC proxies') durable, so on a cluster it
    # lives on one node: when that node dies, redeclaring it elsewhere fails (NOT_FOUND, its home
    # node is down) and the service's consumer, which declares every queue together, stops consuming
    # altogether (found by tests/integration/test_broker_cluster.py). Exclusive and transient, it
    # goes with the connection and is declared afresh on the next one; a reply in flight is lost and
    # its caller times out, as the gateway's do (gateway/rpc.py declares its reply queues the same way).
    reply_setup = ReplyListener.setup

    @functools.wraps(reply_setup)
    def transient_reply_queue(self) -> None:
        reply_setup(self)
        self.queue.durable, self.queue.exclusive, self.queue.auto_delete = False, True, True

    ReplyListener.setup = transient_reply_queue


# the nameko methods the two install the wrappers around: a nameko upgrade that changes one of them
# needs the wrapper reviewed (tests/unit/test_nameko_patches.py pins their source)
PATCHED_METHODS: tuple[tuple[type, str], ...] = (
    (QueueConsumer, "ack_message"),
    (QueueConsumer, "requeue_message"),
    (Responder, "send_response"),
    (RpcConsumer, "setup"),
    (ReplyListener, "setup"),
)


def install_nameko_patches() -> None:
    """What a service process needs of nameko before its container starts: the broker loss guards
    and the queue declarations above. Idempotent; each service's service.py calls it."""
    install_broker_loss_guards()
    install_rpc_queue_declarations()


def dead_letter_queue() -> Queue:
    return Queue(
        DEAD_LETTER_QUEUE,
        exchange=_default_exchange,
        routing_key=DEAD_LETTER_QUEUE,
        durable=True,
        queue_arguments=durable_queue_arguments(),
    )


def retry_queue(queue_name: str, attempt: int) -> Queue:
    delay = RETRY_DELAYS_SECONDS[attempt - 1]
    name = f"{queue_name}.retry.{delay}s"
    return Queue(
        name,
        exchange=_default_exchange,
        routing_key=name,
        durable=True,
        queue_arguments=durable_queue_arguments(
            {"x-message-ttl": delay * 1000, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": queue_name}
        ),
    )


class ReliableEventHandler(EventHandler):
    watched_queues = (DEAD_LETTER_QUEUE,)  # its depth is among the service's metrics (common/metrics.py)

    def setup(self) -> None:
        super().setup()
        self.queue.queue_arguments = durable_queue_arguments(self.queue.queue_arguments, delivery_limit=True)
        self.publisher = Publisher(self.container.config["AMQP_URI"], use_confirms=True)

    def handle_message_processed(self, message, result=None, exc_info=None) -> None:
        if exc_info is not None:
            try:
                self._retry_or_dead_letter(message, exc_info)
            except BROKER_CONNECTION_ERRORS as exc:
                # no retry copy was confirmed: hand the message back instead of acking it (when the
                # connection is gone the broker has already taken it back); raising here would kill
                # the container (install_broker_loss_guards)
                log.warning("event on %s failed and the broker is away; left for redelivery: %r", self.queue.name, exc)
                self.queue_consumer.requeue_message(message)
                return
        self.queue_consumer.ack_message(message)

    def _retry_or_dead_letter(self, message, exc_info) -> None:
        # the copy is a new message: the broker's count of the original's deliveries stays behind
        headers = {k: v for k, v in (message.headers or {}).items() if k != "x-delivery-count"}
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


class BatchedEventHandler(ReliableEventHandler):
    """Hands its method the messages that arrived within `window` seconds of the first, up to the
    consumer's prefetch (the container's `max_workers`: more are never delivered unacked), in one
    worker: a consumer that folds events (reporting) takes one transaction and one commit for the
    lot instead of one each. The messages are acked after the worker. When the batch fails, each
    message is handled again alone, so one that cannot be handled goes to its retry queue or the
    dead letters without holding back the others (the others' inboxes absorb nothing: the batch's
    transaction was rolled back). The worker's trace continues the first message's."""

    def __init__(self, source_service: str, event_type: str, window: float, **kwargs: Any) -> None:
        super().__init__(source_service, event_type, **kwargs)
        self.window = window
        self._gathering: list[tuple[Any, Any]] = []

    def handle_message(self, body, message) -> None:
        gathering = self._gathering
        gathering.append((body, message))
        if len(gathering) >= self.queue_consumer.prefetch_count:
            self._start(gathering)
        elif len(gathering) == 1:
            eventlet.sleep(self.window)  # the first message's thread waits for the others
            self._start(gathering)

    def _start(self, batch: list[tuple[Any, Any]]) -> None:
        if batch is not self._gathering:  # started already, when it filled up
            return
        self._gathering = []
        self._spawn(batch)

    def _spawn(self, batch: list[tuple[Any, Any]]) -> None:
        messages = [message for _, message in batch]
        try:
            self.container.spawn_worker(
                self,
                ([body for body, _ in batch],),
                {},
                context_data=self.unpack_message_headers(messages[0]),
                handle_result=functools.partial(self.handle_batch_result, batch),
            )
        except ContainerBeingKilled:
            for message in messages:
                self.queue_consumer.requeue_message(message)

    def handle_batch_result(self, batch: list[tuple[Any, Any]], worker_ctx, result=None, exc_info=None):
        if exc_info is not None and len(batch) > 1:
            log.warning("a batch of %s on %s failed, handling each alone: %r", len(batch), self.queue.name, exc_info[1])
            # from a thread of its own: this worker's slot must be free for them (a pool full of
            # failed batches, each waiting for a slot, would wait for ever)
            self.container.spawn_managed_thread(lambda: [self._spawn([one]) for one in batch])
            return result, exc_info
        for _, message in batch:
            self.handle_message_processed(message, result, exc_info)
        return result, exc_info


def on_event(contract: type[Contract]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Consume `contract` events; the method gets `(event_id, event)` already validated."""

    def decorator(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def handle(self, envelope: Any) -> Any:
            event_id, event = contract.parse(envelope)
            return method(self, event_id, event)

        return ReliableEventHandler.decorator(contract.source, contract.type)(handle)

    return decorator


def on_events(
    contract: type[Contract], window: float | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Consume `contract` events in batches (`BatchedEventHandler`), gathered for `window` seconds
    (default `EVENT_BATCH_WINDOW_SECONDS`); the method gets a list of `(event_id, event)`, already
    validated, in the order they arrived."""
    if window is None:
        window = ServiceSettings().event_batch_window_seconds

    def decorator(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def handle(self, envelopes: list[Any]) -> Any:
            return method(self, [contract.parse(envelope) for envelope in envelopes])

        return BatchedEventHandler.decorator(contract.source, contract.type, window=window)(handle)

    return decorator


class RetiredHandlers(DependencyProvider):
    """Deletes, when the service starts, the queues of event handlers it no longer has: an upgrade
    that drops a handler leaves its durable queue bound on the broker, filling up with every event
    and never read. `handlers` are `(contract, method)` pairs of this service; their retry queues go
    too. Deleting a queue that is not there is no error, so every start may do it."""

    def __init__(self, *handlers: tuple[type[Contract], str]) -> None:
        self.handlers = handlers

    def setup(self) -> None:
        service = self.container.service_name
        names = [f"evt-{contract.source}-{contract.type}--{service}.{method}" for contract, method in self.handlers]
        attempts = range(1, len(RETRY_DELAYS_SECONDS) + 1)
        names += [retry_queue(name, attempt).name for name in names for attempt in attempts]
        with Connection(self.container.config["AMQP_URI"], connect_timeout=5) as connection:
            channel = connection.default_channel
            for name in names:
                channel.queue_delete(name)
        log.info("retired queues deleted if present: %s", ", ".join(names))
