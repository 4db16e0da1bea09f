"""A complaint the gateway acknowledged is never lost and never handled twice when the broker or the
database restarts mid-stream.

The shared RabbitMQ and PostgreSQL of the machine serve other test runs, so this module runs a
platform of its own (five services and the gateway) against a private RabbitMQ node and a private
PostgreSQL cluster (tests/private_infra.py) and restarts those while complaints stream in through
the gateway. Every complaint answered 201 must be routed exactly once and acknowledged exactly
once; every refusal during the outage must be a clean 503 (never a 500, never a hang); afterwards
the platform is healthy again, every outbox drained and nothing dead-lettered.
"""

from __future__ import annotations

import collections
import os
import random
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import httpx
import pytest
from kombu import Connection
from sqlalchemy import Engine, text

from tests.conftest import DEMO_PASSWORD, ROOT, complaint, credit_code, platform_env, platform_running, wait_for
from tests.integration.test_reliability import routed_exactly_once, settle
from tests.private_infra import PrivateInfra, require

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

DATABASE = VHOST = "disputes_restarts"
SCHEMAS_WITH_OUTBOX = ("intake", "routing", "mediation", "notification")


@pytest.fixture(scope="module")
def infra() -> Iterator[PrivateInfra]:
    require("the restart tests (a private RabbitMQ and PostgreSQL)")
    private = PrivateInfra()
    failed = True
    try:
        private.start()
        yield private
        failed = False
    finally:
        private.close(keep=failed and bool(os.environ.get("KEEP_PRIVATE_INFRA")))


@pytest.fixture(scope="module")
def private_platform(infra) -> Iterator[Any]:
    """A second `ops.run.Platform`, built like conftest's `platform`, on the private instances."""
    from ops.infra import ensure_database

    database_url, amqp_uri = infra.postgres.url(DATABASE), infra.rabbit.uri(VHOST)
    ensure_database(database_url)
    infra.rabbit.add_vhost(VHOST)
    env = platform_env(
        database_url,
        amqp_uri,
        # the periodic readers run often, so they meet the outage too
        METRICS_POLL_SECONDS="1",
        CLOCK_WATCH_INTERVAL_SECONDS="1",
        OPEN_CASES_INTERVAL_SECONDS="2",
    )
    with platform_running(env, ROOT / "var" / "test-log-restarts", timeout=120) as running:
        yield running


@pytest.fixture(scope="module")
def private_db(private_platform) -> Iterator[Engine]:
    from common.db import make_engine

    # the test's own reader pings before each checkout: it survives the restart it causes
    engine = make_engine(private_platform.database_url, pool_size=2, pool_pre_ping=True)
    yield engine
    engine.dispose()


class Answer(NamedTuple):
    sent: float  # time.monotonic() when the request went out
    answered: float
    status: int  # 0: no answer
    idempotency_key: str
    retry_after: str | None


class Submitter(threading.Thread):
    """Like test_reliability's, but sends every filing with an Idempotency-Key of its own and
    remembers what every answer looked like and when."""

    def __init__(self, api_url: str) -> None:
        super().__init__(daemon=True)
        self.api_url = api_url
        self.acknowledged: list[str] = []
        self.statuses: collections.Counter[int] = collections.Counter()
        self.unexpected: list[str] = []  # anything but 201 and a clean 503
        self.answers: list[Answer] = []
        self.stopping = threading.Event()

    def next_complaint(self) -> dict:
        n = 50_000 + random.randrange(50_000)
        business = {"name": f"重启商店{n}", "credit_code": credit_code(n), "division_code": "330681109290"}
        return complaint(complainant={"name": "李四", "phone": f"137{random.randrange(10**8):08d}"}, business=business)

    def run(self) -> None:
        # longer than the gateway's RPC timeout (10 s): the gateway must answer, not the client give up
        with httpx.Client(base_url=self.api_url, timeout=30) as client:
            while not self.stopping.is_set():
                key, sent = secrets.token_hex(8), time.monotonic()
                try:
                    response = client.post(
                        "/api/v1/complaints", json=self.next_complaint(), headers={"Idempotency-Key": key}
                    )
                except httpx.HTTPError as exc:
                    self.answers.append(Answer(sent, time.monotonic(), 0, key, None))
                    self.unexpected.append(f"no answer: {exc!r}")
                    time.sleep(0.2)
                    continue
                self.answers.append(
                    Answer(sent, time.monotonic(), response.status_code, key, response.headers.get("Retry-After"))
                )
                self.statuses[response.status_code] += 1
                if response.status_code == 201:
                    self.acknowledged.append(response.json()["id"])
                    continue
                if response.status_code != 503 or response.json().get("error") != "service_unavailable":
                    self.unexpected.append(f"{response.status_code} {response.text[:300]}")
                time.sleep(0.1)  # refused: the outage is on, do not spin


def outboxes_drained(db: Engine) -> bool:
    with db.connect() as conn:
        return all(conn.execute(text(f"SELECT count(*) FROM {s}.outbox")).scalar() == 0 for s in SCHEMAS_WITH_OUTBOX)


def dead_letters(amqp_uri: str) -> list[dict]:
    found = []
    with Connection(amqp_uri) as conn, conn.SimpleQueue("dead-letters") as queue:
        while True:
            try:
                message = queue.get(timeout=0.5)
            except queue.Empty:
                return found
            found.append(dict(message.headers))
            message.ack()


def restart_mid_stream(platform, db: Engine, restart: Callable[[], None]) -> Submitter:
    submitter = Submitter(platform.url)
    submitter.start()
    try:
        wait_for(lambda: len(submitter.acknowledged) >= 20, timeout=60)
        restart()
        platform.wait_healthy(timeout=120)
        before = len(submitter.acknowledged)
        wait_for(lambda: len(submitter.acknowledged) >= before + 20, timeout=60)
    finally:
        submitter.stopping.set()
        submitter.join(timeout=60)
    exited = {name: p.returncode for name, p in platform.processes.items() if p.poll() is not None}
    assert not exited, f"processes exited during the outage: {exited}; see {platform.log_dir}"
    assert not submitter.unexpected, f"refusals other than a clean 503: {submitter.unexpected[:5]}"

    ids = list(submitter.acknowledged)
    settle(db, ids, timeout=180)
    routed_exactly_once(db, ids)
    wait_for(lambda: outboxes_drained(db), timeout=60, interval=0.5)
    assert dead_letters(platform.amqp_uri) == [], "an event was given up on"
    # every service still serves its metrics (the server and the pollers lived through it)
    for name, port in platform.metrics_ports.items():
        response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
        assert response.status_code == 200 and "disputes_queue_consumers" in response.text, name
    return submitter


def test_broker_restart_mid_stream_loses_nothing_and_duplicates_nothing(private_platform, private_db, infra):
    submitter = restart_mid_stream(private_platform, private_db, lambda: infra.rabbit.restart(down_seconds=3))
    print(f"broker restart: {dict(submitter.statuses)}")


def test_database_restart_mid_stream_loses_nothing_and_duplicates_nothing(private_platform, private_db, infra):
    submitter = restart_mid_stream(private_platform, private_db, lambda: infra.postgres.restart(down_seconds=3))
    print(f"database restart: {dict(submitter.statuses)}")


def test_staff_while_the_database_is_down_get_a_clean_503_and_carry_on_after(private_platform, infra):
    with httpx.Client(base_url=private_platform.url, timeout=30) as client:
        token = client.post("/api/v1/auth/token", data={"username": "330681", "password": DEMO_PASSWORD})
        assert token.status_code == 200, token.text
        staff = {"Authorization": f"Bearer {token.json()['access_token']}"}
        infra.postgres.stop()
        try:
            for answer in (
                client.get("/api/v1/complaints", headers=staff),
                client.post("/api/v1/auth/token", data={"username": "330681", "password": DEMO_PASSWORD}),
            ):
                assert answer.status_code == 503, answer.text
                assert answer.json()["error"] == "service_unavailable"
        finally:
            infra.postgres.start()
        private_platform.wait_healthy(timeout=120)
        assert wait_for(lambda: client.get("/api/v1/complaints", headers=staff).status_code == 200, timeout=60)
