"""Truthful answers under outage and overload (issue 17): a complaint answered anything but 201 was
not filed, not then and not later; every 503 says when to come back (`Retry-After`); overload is
refused at once.

Like the restart tests, this runs its own platform on a private RabbitMQ node and PostgreSQL cluster
(tests/private_infra.py). Each submission names its own marker (an order number in the summary) and
its own phone, so the database can be asked precisely which ones were stored.

- intake stopped for 15 s under a steady stream: the requests waiting for it expire in its queue
  (AMQP expiration) or are refused before their commit (the deadline), so none answered 503 is filed
  when intake comes back;
- three times the measured capacity for 15 s: the gateway admits `MAX_SUBMISSIONS_IN_FLIGHT` and
  refuses the rest at once (503 `overloaded`), in the gateway's own milliseconds.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import re
import secrets
import signal
import statistics
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ClusterRpcProxy
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, text

from common import deadlines
from tests.conftest import DEMO_PASSWORD, ROOT, complaint, credit_code, platform_env, platform_running
from tests.integration.test_restarts import infra  # noqa: F401 - the private RabbitMQ and PostgreSQL

pytestmark = [pytest.mark.integration, pytest.mark.timeout(400)]

DATABASE = VHOST = "disputes_test_overload"
RPC_TIMEOUT_SECONDS = 10  # the gateway's default
OUTAGE_SECONDS = OVERLOAD_SECONDS = 15
STREAM_PER_SECOND = 4  # the steady stream through the outage: well under the capacity
PROMPT_SECONDS = 0.1  # the bound for an overload 503
RUN = secrets.token_hex(3)
_serial = itertools.count(1)
MARKER = re.compile(r"OVL[0-9a-f]{6}-[0-9]+")


@pytest.fixture(scope="module")
def overload_platform(infra) -> Iterator[Any]:  # noqa: F811 - the fixture imported above
    from ops.infra import ensure_database

    database_url, amqp_uri = infra.postgres.url(DATABASE), infra.rabbit.uri(VHOST)
    ensure_database(database_url)
    infra.rabbit.add_vhost(VHOST)
    env = platform_env(database_url, amqp_uri, RPC_TIMEOUT_SECONDS=str(RPC_TIMEOUT_SECONDS))
    env.pop("MAX_SUBMISSIONS_IN_FLIGHT", None)  # the default bound is what is tested
    with platform_running(env, ROOT / "var" / "test-log-overload", timeout=120) as running:
        yield running


@pytest.fixture(scope="module")
def overload_db(overload_platform) -> Iterator[Engine]:
    from common.db import make_engine

    engine = make_engine(overload_platform.database_url, pool_size=2)
    yield engine
    engine.dispose()


def marked_complaint() -> tuple[str, dict]:
    """A complaint with its own marker, complainant and business: nothing else repeats it."""
    n = next(_serial)
    marker = f"OVL{RUN}-{n}"
    business = {"name": f"过载商店{n}", "credit_code": credit_code(60_000 + n), "division_code": "330681109290"}
    body = complaint(
        complainant={"name": "王五", "phone": f"136{(int(RUN, 16) * 10_000 + n) % 10**8:08d}"},
        business=business,
        summary=f"买的空气炸锅用了两次就坏了，商家不给换（订单号 {marker}）",
    )
    return marker, body


@dataclass
class Answer:
    marker: str
    status: int  # 0: no answer at all
    seconds: float
    error: str | None = None
    retry_after: str | None = None
    complaint_id: str | None = None


async def submit(client: httpx.AsyncClient, answers: list[Answer]) -> None:
    marker, body = marked_complaint()
    started = time.perf_counter()
    try:
        response = await client.post("/api/v1/complaints", json=body)
    except httpx.HTTPError as exc:
        answers.append(Answer(marker, 0, time.perf_counter() - started, error=repr(exc)))
        return
    seconds = time.perf_counter() - started
    payload = response.json()
    answers.append(
        Answer(
            marker,
            response.status_code,
            seconds,
            error=payload.get("error"),
            retry_after=response.headers.get("Retry-After"),
            complaint_id=payload.get("id") if response.status_code == 201 else None,
        )
    )


def client(url: str) -> httpx.AsyncClient:
    # longer than the gateway's timeout (the gateway must answer, not we give up); no pool limit, so
    # no request waits in the client for a connection
    return httpx.AsyncClient(base_url=url, timeout=3 * RPC_TIMEOUT_SECONDS, limits=httpx.Limits(max_connections=None))


async def offer(url: str, per_second: float, stop: threading.Event | float) -> list[Answer]:
    """Open loop: a submission every 1/per_second s, answered or not, until `stop` (an event, or
    seconds); then wait for every answer."""
    answers: list[Answer] = []
    async with client(url) as http:
        tasks, started = [], time.monotonic()
        for tick in itertools.count():
            if stop.is_set() if isinstance(stop, threading.Event) else time.monotonic() - started >= stop:
                break
            tasks.append(asyncio.create_task(submit(http, answers)))
            await asyncio.sleep(max(0.0, started + (tick + 1) / per_second - time.monotonic()))
        await asyncio.gather(*tasks)
    return answers


async def closed_loop(url: str, concurrency: int, seconds: float) -> list[Answer]:
    answers: list[Answer] = []
    async with client(url) as http:
        until = time.monotonic() + seconds

        async def one_submitter() -> None:
            while time.monotonic() < until:
                await submit(http, answers)

        await asyncio.gather(*(one_submitter() for _ in range(concurrency)))
    return answers


def stored_markers(db: Engine) -> set[str]:
    with db.connect() as conn:
        summaries = conn.execute(
            text("SELECT summary FROM intake.complaints WHERE summary LIKE :like"), {"like": f"%OVL{RUN}-%"}
        ).scalars()
        return {MARKER.search(summary).group(0) for summary in summaries}


def judge(db: Engine, answers: list[Answer]) -> collections.Counter:
    """The truthfulness checks common to both phases; returns the count of each status."""
    statuses = collections.Counter(a.status for a in answers)
    unexpected = [a for a in answers if a.status not in (201, 503)]
    assert not unexpected, f"answers other than 201 and 503: {unexpected[:5]}"
    assert all(a.retry_after and int(a.retry_after) > 0 for a in answers if a.status == 503), (
        "a 503 without Retry-After"
    )
    # every request the gateway let go of is past its deadline by now (the client waited for all answers,
    # each at most the RPC timeout), so whatever intake still holds of them cannot commit any more
    time.sleep(deadlines.COMMIT_ALLOWANCE_SECONDS + 1)
    stored = stored_markers(db)
    filed_anyway = sorted(a.marker for a in answers if a.status != 201 and a.marker in stored)
    assert not filed_anyway, f"{len(filed_anyway)} complaints answered 503 were filed: {filed_anyway[:5]}"
    lost = sorted(a.marker for a in answers if a.status == 201 and a.marker not in stored)
    assert not lost, f"complaints answered 201 are not stored: {lost[:5]}"
    return statuses


def test_a_complaint_answered_503_while_intake_is_stopped_is_never_filed(overload_platform, overload_db):
    stop = threading.Event()
    result: list[list[Answer]] = []
    stream = threading.Thread(
        target=lambda: result.append(asyncio.run(offer(overload_platform.url, STREAM_PER_SECOND, stop))), daemon=True
    )
    stream.start()
    try:
        time.sleep(3)  # the stream is flowing
        overload_platform.kill("intake", signal.SIGTERM)  # a clean stop: running workers finish and answer
        time.sleep(OUTAGE_SECONDS)
        overload_platform.start_service("intake")
        overload_platform.wait_healthy(timeout=120)
        time.sleep(3)  # filing again
    finally:
        stop.set()
        stream.join(timeout=120)
    [answers] = result
    statuses = judge(overload_db, answers)
    print(f"intake stopped {OUTAGE_SECONDS} s under {STREAM_PER_SECOND}/s: {dict(statuses)}")
    assert statuses[503] >= OUTAGE_SECONDS, f"the outage was not met: {dict(statuses)}"
    assert statuses[201] > 0


def refusals_by_the_gateways_clock(url: str) -> tuple[float, float]:
    """(503s of POST /api/v1/complaints so far, those of them the gateway answered within
    PROMPT_SECONDS), from its own request-duration histogram (common/metrics.py)."""
    found = {"+Inf": 0.0, str(PROMPT_SECONDS): 0.0}
    for family in text_string_to_metric_families(httpx.get(f"{url}/metrics", timeout=10).text):
        for sample in family.samples:
            labels = sample.labels
            if (
                sample.name == "disputes_http_request_duration_seconds_bucket"
                and labels.get("route") == "/api/v1/complaints"
                and labels.get("status") == "503"
                and labels.get("le") in found
            ):
                found[labels["le"]] = sample.value
    return found["+Inf"], found[str(PROMPT_SECONDS)]


def test_three_times_the_capacity_is_refused_at_once_and_nothing_refused_is_filed(overload_platform, overload_db):
    """The issue's timing (503s within 100 ms), made robust on a shared machine: measured by the
    gateway's own request-duration histogram, which a stall of the load generator cannot inflate, 99%
    of the overload 503s (all but the few a descheduled gateway process delays; two cores run several
    platforms here). The 503s as the client saw them are printed."""
    from common.config import GatewaySettings

    url, bound = overload_platform.url, GatewaySettings().max_submissions_in_flight
    # the capacity: what the platform files per second with the gateway's bound kept busy
    measuring = asyncio.run(closed_loop(url, bound, seconds=6))
    assert all(a.status == 201 for a in measuring), collections.Counter(a.status for a in measuring)
    capacity = len(measuring) / 6
    refusals_before, prompt_before = refusals_by_the_gateways_clock(url)
    answers = asyncio.run(offer(url, 3 * capacity, float(OVERLOAD_SECONDS)))
    refusals_after, prompt_after = refusals_by_the_gateways_clock(url)
    statuses = judge(overload_db, answers)
    refused = [a for a in answers if a.status == 503]
    slow = refusals_after - refusals_before - (prompt_after - prompt_before)
    latencies = sorted(a.seconds for a in refused)
    filed = sorted(a.seconds for a in answers if a.status == 201)
    print(
        f"capacity {capacity:.1f}/s (bound {bound}), offered {3 * capacity:.1f}/s for {OVERLOAD_SECONDS} s: "
        f"{dict(statuses)}; 503 seen by the client in median {statistics.median(latencies) * 1000:.0f} ms, "
        f"p95 {latencies[int(0.95 * len(latencies))] * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms; "
        f"201 in median {statistics.median(filed) * 1000:.0f} ms; over 100 ms in the gateway: {slow:.0f}"
    )
    # of what was sent (the load generator shares two cores with a platform that now files ~40/s and
    # may send less than three times that), at least a third refused: the share of 3x the capacity
    # this asserted before
    assert len(refused) >= len(answers) / 3, "three times the capacity was not refused in part"
    assert filed, "nothing was filed under overload"
    # refused by the admission bound, none after waiting for intake
    assert {a.error for a in refused} == {"overloaded"}
    assert refusals_after - refusals_before == len(refused)
    assert slow <= 0.01 * len(refused), f"{slow:.0f} of {len(refused)} 503s took the gateway over 100 ms"
    # what the client saw is printed, not asserted: at three times today's capacity (~120/s) this load
    # generator shares the two cores with the saturated platform, and its own lag and connection set-up
    # (median 8 ms on a quiet machine, 0.3-1 s beside the whole suite) are not the gateway's admission


def test_a_retry_without_a_key_answers_the_case_filed_minutes_ago(overload_platform, overload_db):
    marker, body = marked_complaint()
    with httpx.Client(base_url=overload_platform.url, timeout=30) as http:
        first = http.post("/api/v1/complaints", json=body)
        assert first.status_code == 201, first.text
        again = http.post("/api/v1/complaints", json=body)
        assert again.status_code == 200, again.text
        # the same receipt, its upload token issued again for the same complaint (a token's iat is in
        # seconds: the two differ when the retry falls in the next second)
        receipt, answer = first.json(), again.json()
        tokens = [receipt.pop("upload_token"), answer.pop("upload_token")]
        assert answer == {**receipt, "already_filed": True}
        assert [jwt.decode(t, options={"verify_signature": False})["sub"] for t in tokens] == [receipt["id"]] * 2
        # the same facts recorded by a clerk on the phone are another filing: an Art 35 duplicate
        token = http.post("/api/v1/auth/token", data={"username": "330681109290", "password": DEMO_PASSWORD})
        clerk = {"Authorization": f"Bearer {token.json()['access_token']}"}
        by_phone = http.post("/api/v1/complaints", json=dict(body, channel="hotline"), headers=clerk)
        assert by_phone.status_code == 201, by_phone.text
        assert by_phone.json()["duplicate_of"] == first.json()["tracking_no"]
    with overload_db.connect() as conn:
        rows = conn.execute(
            text("SELECT status FROM intake.complaints WHERE summary LIKE :like ORDER BY received_at"),
            {"like": f"%{marker}%"},
        ).scalars()
        assert [status != "duplicate" for status in rows] == [True, False]


def test_intake_refuses_before_its_commit_once_the_callers_deadline_is_near(overload_platform, overload_db):
    """Delivered at once but with too little time left: intake does the work, then refuses to commit
    (common/db.py) and rolls back. Sent without an AMQP expiration, so only intake's check stops it."""
    marker, body = marked_complaint()
    deadline = time.time() + deadlines.COMMIT_ALLOWANCE_SECONDS / 2
    config = {"AMQP_URI": overload_platform.amqp_uri}
    context = {deadlines.DEADLINE_CONTEXT: f"{deadline:.3f}"}
    with ClusterRpcProxy(config, context_data=context) as rpc, pytest.raises(RemoteError) as refused:
        rpc.intake.submit(body)
    assert refused.value.exc_type == "DeadlinePassed", refused.value
    time.sleep(1)
    assert marker not in stored_markers(overload_db)
