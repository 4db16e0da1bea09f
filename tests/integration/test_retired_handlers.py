"""A handler a service no longer has leaves its durable queue bound on an upgraded broker, filling
up with every event; `common.messaging.RetiredHandlers` deletes such queues when the service starts.
Against the real RabbitMQ."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from amqp.exceptions import NotFound
from kombu import Connection

from common.contracts import MessageRecorded
from common.messaging import RETRY_DELAYS_SECONDS, RetiredHandlers
from tests.conftest import TEST_AMQP_URI

pytestmark = pytest.mark.integration

QUEUE = "evt-notification-message.recorded.v1--reporting.on_message_recorded"


def exists(connection: Connection, name: str) -> bool:
    channel = connection.channel()
    try:
        channel.queue_declare(name, passive=True)
        return True
    except NotFound:
        return False
    finally:
        if channel.is_open:
            channel.close()


def test_the_queues_of_a_retired_handler_are_deleted_and_a_second_start_finds_nothing(platform):
    names = [QUEUE, *(f"{QUEUE}.retry.{delay}s" for delay in RETRY_DELAYS_SECONDS)]
    retired = RetiredHandlers((MessageRecorded, "on_message_recorded"))
    retired.container = SimpleNamespace(service_name="reporting", config={"AMQP_URI": TEST_AMQP_URI})
    with Connection(TEST_AMQP_URI) as connection:
        channel = connection.default_channel
        for name in names:
            channel.queue_declare(name, durable=True, auto_delete=False)
        producer = connection.Producer(serializer="json")
        producer.publish({"left": "behind"}, exchange="", routing_key=QUEUE)  # nobody reads it
        assert all(exists(connection, name) for name in names)

        retired.setup()
        assert not any(exists(connection, name) for name in names)
        retired.setup()  # nothing there any more: no error
