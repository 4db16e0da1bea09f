"""The arguments the services declare their queues with: classic by default, quorum queues with
`AMQP_QUORUM_QUEUES=1` (common/messaging.py); the RPC reply queues exclusive and transient either way."""

from __future__ import annotations

import pytest
from nameko.containers import ServiceContainer
from nameko.rpc import RpcConsumer, RpcProxy, rpc
from nameko.testing.utils import get_extension

from common.contracts import ComplaintReceived
from common.messaging import (
    DEAD_LETTER_QUEUE,
    DELIVERY_LIMIT,
    ReliableEventHandler,
    dead_letter_queue,
    install_nameko_patches,
    on_event,
    retry_queue,
)

install_nameko_patches()  # as each service does (the RPC queue declarations are among them)

CONFIG = {"AMQP_URI": "amqp://guest:guest@127.0.0.1:5672/unused"}


class ExampleService:
    name = "example"
    other = RpcProxy("other")

    @on_event(ComplaintReceived)
    def handle_received(self, event_id, event) -> None: ...

    @rpc
    def ping(self) -> dict:
        return {}


def declared(quorum: bool, monkeypatch) -> dict[str, dict]:
    """The arguments of every queue the example service declares, after its extensions' setup."""
    monkeypatch.setenv("AMQP_QUORUM_QUEUES", "1" if quorum else "0")
    container = ServiceContainer(ExampleService, CONFIG)
    handler = get_extension(container, ReliableEventHandler)
    rpc_consumer = get_extension(container, RpcConsumer)
    handler.setup()
    rpc_consumer.setup()
    queues = [
        handler.queue,
        rpc_consumer.queue,
        dead_letter_queue(),
        *(retry_queue(handler.queue.name, attempt) for attempt in (1, 2, 3)),
    ]
    return {queue.name: dict(queue.queue_arguments or {}) for queue in queues}


def test_without_the_setting_every_queue_is_classic(monkeypatch):
    for name, arguments in declared(False, monkeypatch).items():
        assert "x-queue-type" not in arguments, name
        assert "x-delivery-limit" not in arguments, name


def test_with_the_setting_every_durable_queue_is_a_quorum_queue(monkeypatch):
    queues = declared(True, monkeypatch)
    handler = f"evt-intake-{ComplaintReceived.type}--example.handle_received"
    durable = [handler, "rpc-example", DEAD_LETTER_QUEUE, *(f"{handler}.retry.{d}s" for d in (1, 5, 30))]
    for name in durable:
        assert queues[name]["x-queue-type"] == "quorum", name
    # a message that never gets acked (its process dies on it) ends in dead-letters, not in a loop
    assert queues[handler]["x-delivery-limit"] == DELIVERY_LIMIT
    assert queues[handler]["x-dead-letter-routing-key"] == DEAD_LETTER_QUEUE
    # the retry queues keep their delay and their way back to the handler's queue
    assert queues[f"{handler}.retry.5s"]["x-message-ttl"] == 5000
    assert queues[f"{handler}.retry.5s"]["x-dead-letter-routing-key"] == handler
    for name in durable:
        if "x-dead-letter-exchange" in queues[name]:
            # quorum queues dead-letter at least once only with reject-publish overflow
            assert queues[name]["x-dead-letter-strategy"] == "at-least-once", name
            assert queues[name]["x-overflow"] == "reject-publish", name
    assert "x-delivery-limit" not in queues["rpc-example"]  # an RPC is answered or times out
    assert "x-dead-letter-exchange" not in queues[DEAD_LETTER_QUEUE]


@pytest.mark.parametrize("quorum", [False, True])
def test_rpc_reply_queues_are_exclusive_and_transient(quorum, monkeypatch):
    monkeypatch.setenv("AMQP_QUORUM_QUEUES", "1" if quorum else "0")
    container = ServiceContainer(ExampleService, CONFIG)  # held: the extensions refer to it weakly
    listener = get_extension(container, RpcProxy).rpc_reply_listener
    listener.setup()
    # on no node in particular: a new connection (to any node) declares it afresh
    assert listener.queue.exclusive and not listener.queue.durable
    assert "x-queue-type" not in (listener.queue.queue_arguments or {})
