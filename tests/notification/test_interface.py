"""Notification alone: what it tells the parties about a case, recorded once per event and announced,
on the real broker and database (SMS to the log)."""

from __future__ import annotations

import queue
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from nameko.testing.services import entrypoint_waiter

from common.contracts import ComplaintReceived, MessageRecorded
from services.notification.service import NotificationService
from tests.conftest import wait_for
from tests.service_harness import VILLAGE, dispatch, rpc, service_config, staff, stored, tap

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return service_config("notification", ["notification"])


@pytest.fixture
def notification(container_factory, config):
    container = container_factory(NotificationService, config)
    container.start()
    yield container
    container.stop()  # closes its database pools (container_factory only kills it)


def received() -> ComplaintReceived:
    return ComplaintReceived(
        complaint_id=uuid.uuid4(),
        tracking_no=f"T{uuid.uuid4().hex[:10]}",
        channel="web",
        received_at=datetime.now(UTC),
        category="product_quality",
        incident_division_code=VILLAGE,
        complainant_name="张三",
        complainant_phone="13800138000",
    )


def test_a_received_complaint_is_acknowledged_to_the_complainant_once(notification, config) -> None:
    event = received()
    with tap(config, MessageRecorded) as recorded:
        with entrypoint_waiter(notification, "on_complaint_received"):
            event_id = dispatch(config, event)
        with entrypoint_waiter(notification, "on_complaint_received"):
            dispatch(config, event, event_id)  # the broker delivers it again
        _, message = recorded.next()
        with pytest.raises(queue.Empty):  # tried at once and sent: announced once, with its outcome
            recorded.next(timeout=2)
    assert message.complaint_id == event.complaint_id and message.state == "sent"
    assert (message.recipient_role, message.channel) == ("complainant", "sms")
    rows = stored(config, "SELECT id FROM notification.messages WHERE complaint_id = :id", id=event.complaint_id)
    assert [row.id for row in rows] == [message.message_id]


def test_the_case_s_messages_are_listed_without_addresses_as_delivery_goes(notification, config) -> None:
    event = received()
    with entrypoint_waiter(notification, "on_complaint_received"):
        dispatch(config, event)
    with rpc(config, "notification", staff(VILLAGE)) as service:
        sent = wait_for(
            lambda: [m for m in service.messages_for(str(event.complaint_id)) if m["state"] != "pending"], timeout=20
        )
    assert sent[0]["recipient_role"] == "complainant" and sent[0]["template"]
    assert "13800138000" not in str(sent)


def test_a_unit_s_templates_are_the_defaults_until_it_writes_its_own(notification, config) -> None:
    with rpc(config, "notification", staff(VILLAGE)) as service:
        templates = service.templates(VILLAGE)
    assert templates and all(t["name"] and t["text"] for t in templates)
