"""A complaint the gateway acknowledged is never lost and never handled twice: services killed
with SIGKILL mid-stream, redelivered events, poison messages."""

from __future__ import annotations

import random
import threading
import time
import uuid

import pytest
from kombu import Connection, Exchange, Queue
from sqlalchemy import text

from tests.conftest import TEST_AMQP_URI, complaint, credit_code, wait_for

pytestmark = pytest.mark.integration


class Submitter(threading.Thread):
    """Submits complaints through the gateway as fast as it answers, recording acknowledged ids."""

    def __init__(self, api_url: str) -> None:
        super().__init__(daemon=True)
        self.api_url = api_url
        self.acknowledged: list[str] = []
        self.refused = 0
        self.stopping = threading.Event()

    def next_complaint(self) -> dict:
        """Distinct complainants and businesses, as a real stream of filings has."""
        # seeds from 50,000 up are this test's own businesses, apart from every other test's
        n = 50_000 + random.randrange(50_000)
        business = {"name": f"压测商店{n}", "credit_code": credit_code(n), "division_code": "330681109290"}
        return complaint(complainant={"name": "张三", "phone": f"139{random.randrange(10**8):08d}"}, business=business)

    def run(self) -> None:
        import httpx

        with httpx.Client(base_url=self.api_url, timeout=15) as client:
            while not self.stopping.is_set():
                try:
                    response = client.post("/api/v1/complaints", json=self.next_complaint())
                except httpx.HTTPError:
                    self.refused += 1
                    continue
                if response.status_code == 201:
                    self.acknowledged.append(response.json()["id"])
                else:
                    self.refused += 1


def routed_exactly_once(db, ids: list[str]) -> None:
    with db.connect() as conn:
        assignments = dict(
            conn.execute(text("SELECT complaint_id::text, count(*) FROM routing.assignments GROUP BY 1")).all()
        )
        routed_steps = dict(
            conn.execute(
                text("SELECT complaint_id::text, count(*) FROM intake.history WHERE step = 'routed' GROUP BY 1")
            ).all()
        )
        acknowledgements = dict(
            conn.execute(
                text(
                    "SELECT complaint_id::text, count(*) FROM notification.messages "
                    "WHERE template = 'acknowledgement' GROUP BY 1"
                )
            ).all()
        )
    missing = [i for i in ids if i not in assignments]
    assert not missing, f"{len(missing)} acknowledged complaints were never routed"
    assert all(assignments[i] == 1 for i in ids)
    assert all(routed_steps.get(i) == 1 for i in ids), "a routing decision was applied twice"
    assert all(acknowledgements.get(i) == 1 for i in ids), "an acknowledgement was recorded twice or never"


def unsettled(db, ids: list[str]) -> dict[str, list[str]]:
    """The complaints not yet routed or not yet acknowledged (with intake's status), empty once every
    consumer has had its turn and exactness can be judged."""
    with db.connect() as conn:
        statuses = dict(
            conn.execute(
                text("SELECT id::text, status FROM intake.complaints WHERE id = ANY(CAST(:ids AS uuid[]))"),
                {"ids": ids},
            ).all()
        )
        acknowledged = set(
            conn.execute(
                text(
                    "SELECT DISTINCT complaint_id::text FROM notification.messages "
                    "WHERE template = 'acknowledgement' AND complaint_id = ANY(CAST(:ids AS uuid[]))"
                ),
                {"ids": ids},
            ).scalars()
        )
    found = {
        "not routed": [f"{i} ({statuses.get(i, 'absent')})" for i in ids if statuses.get(i) != "routed"],
        "not acknowledged": [i for i in ids if i not in acknowledged],
    }
    return {key: value for key, value in found.items() if value}


def settle(db, ids: list[str], timeout: float = 15) -> None:
    try:
        wait_for(lambda: not unsettled(db, ids), timeout=timeout, interval=0.5)
    except AssertionError as exc:
        raise AssertionError(f"not settled within {timeout} s: {unsettled(db, ids)}") from exc


@pytest.mark.parametrize("victim", ["routing", "intake", "notification"])
def test_sigkill_mid_stream_loses_nothing_and_duplicates_nothing(platform, api, db, victim):
    submitter = Submitter(platform.url)
    submitter.start()
    try:
        wait_for(lambda: len(submitter.acknowledged) >= 30, timeout=30)
        platform.kill(victim)
        time.sleep(1.0)
        platform.start_service(victim)
        platform.wait_healthy(timeout=60)
        before = len(submitter.acknowledged)
        wait_for(lambda: len(submitter.acknowledged) >= before + 30, timeout=30)
    finally:
        submitter.stopping.set()
        submitter.join(timeout=30)
    ids = list(submitter.acknowledged)
    assert len(ids) >= 60
    settle(db, ids, timeout=120)
    routed_exactly_once(db, ids)


def publish(source: str, event_type: str, payload: object, *, message_id: str | None = None) -> None:
    with Connection(TEST_AMQP_URI) as conn:
        producer = conn.Producer(serializer="json")
        producer.publish(
            payload,
            exchange=Exchange(f"{source}.events", type="topic", durable=True),
            routing_key=event_type,
            message_id=message_id,
        )


def dead_letters() -> list[tuple[dict, dict]]:
    found = []
    with Connection(TEST_AMQP_URI) as conn:
        queue = conn.SimpleQueue("dead-letters")
        try:
            while True:
                message = queue.get(timeout=0.5)
                found.append((message.payload, dict(message.headers)))
                message.ack()
        except queue.Empty:
            pass
        finally:
            queue.close()
    return found


def test_poison_message_is_dead_lettered_with_its_reason(platform):
    marker = str(uuid.uuid4())
    publish("intake", "complaint.received.v1", {"event_id": marker, "type": "complaint.received.v1", "data": {}})
    seen: list[dict] = []

    def every_consumer_gave_up():
        seen.extend(h for p, h in dead_letters() if isinstance(p, dict) and p.get("event_id") == marker)
        return len(seen) >= 3

    wait_for(every_consumer_gave_up, timeout=20, interval=0.5)
    # poison is not retried: each consumer dead-letters it once, on the first attempt
    assert sorted(h["x-original-queue"].rsplit("--", 1)[1].split(".")[0] for h in seen) == [
        "notification",
        "reporting",
        "routing",
    ]
    assert all("PoisonMessage" in h["x-dead-letter-reason"] and h["x-attempt"] == 1 for h in seen)


def test_redelivered_event_is_handled_once(platform, api, db):
    """Capture the real envelope off the bus, then deliver it again verbatim."""
    exchange = Exchange("intake.events", type="topic", durable=True)
    with Connection(TEST_AMQP_URI) as conn:
        tap = Queue(
            f"test-tap-{uuid.uuid4()}",
            exchange=exchange,
            routing_key="complaint.received.v1",
            exclusive=True,
            auto_delete=True,
        )
        tap(conn.default_channel).declare()
        receipt = api.post("/api/v1/complaints", json=complaint()).json()
        with conn.SimpleQueue(tap) as queue:
            while True:
                message = queue.get(timeout=10)
                message.ack()
                if message.payload["data"]["complaint_id"] == receipt["id"]:
                    envelope = message.payload
                    break
    settle(db, [receipt["id"]])
    publish("intake", "complaint.received.v1", envelope)
    publish("intake", "complaint.received.v1", envelope)
    # the replays reach every consumer; give them time to (not) act
    time.sleep(3)
    routed_exactly_once(db, [receipt["id"]])
