"""The database's primary dies under a steady stream of complaints and its standby is promoted:
nothing acknowledged is lost or done twice, and what callers are told during the switch is true.

A private primary with a synchronous streaming standby (tests/private_infra.py), the platform on a
libpq multi-host URL naming both with `target_session_attrs=read-write` (libpq connects to whichever
accepts writes), two processes of every service on quorum queues. Complaints stream in through the
gateway from three submitters, each filing with an Idempotency-Key; the primary is stopped with
`pg_ctl stop -m immediate`, and 12 seconds later (an operator's or CloudNativePG's detection time,
longer than the gateway waits for an answer) the standby is promoted with `pg_ctl promote`.

Every complaint answered 201 is routed exactly once and acknowledged exactly once, no process exits,
every outbox drains, nothing is dead-lettered. While the primary is gone intake tries a filing again
until its caller's deadline (`UnitOfWork.retrying`): the first filings are refused with 503 at their
deadline and none of them was filed (no complaint carries its key); later ones wait and are filed
once the standby is promoted. What the callers saw is printed (docs/deploy.md).

Before that, with `DATABASE_READ_URL` naming both servers with `target_session_attrs=prefer-standby`,
a report and the case list are read on the standby.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from amqp.exceptions import ChannelError
from kombu import Connection
from sqlalchemy import Engine, text

from tests.conftest import (
    DEMO_PASSWORD,
    ROOT,
    TEST_AMQP_URI,
    platform_env,
    platform_running,
    reset_vhost,
    two_processes_each,
    wait_for,
)
from tests.integration.test_reliability import routed_exactly_once, settle
from tests.integration.test_restarts import Submitter, outboxes_drained
from tests.private_infra import PrivateReplicatedPostgres, require

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

DATABASE = "disputes_failover"
AMQP_URI = TEST_AMQP_URI + "_failover"
LOG_DIR = ROOT / "var" / "test-log-failover"
RPC_TIMEOUT_SECONDS = 10  # how long the gateway waits for intake
DETECTION_SECONDS = 12.0  # between the primary's death and the promotion: longer than the gateway waits
SUBMITTERS = 3


@pytest.fixture(scope="module")
def pair() -> Iterator[PrivateReplicatedPostgres]:
    require("the failover test (a private PostgreSQL primary and standby)")
    base = Path(tempfile.mkdtemp(prefix="disputes-failover-"))
    base.chmod(0o755)  # the postgres user must reach its directories inside
    servers = PrivateReplicatedPostgres(base)
    try:
        servers.start()
        yield servers
    finally:
        servers.close()
        if not os.environ.get("KEEP_PRIVATE_INFRA"):
            shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def failover_platform(pair) -> Iterator[Any]:
    from ops.infra import ensure_database

    database_url = pair.url(DATABASE)
    ensure_database(pair.primary.url(DATABASE))  # the standby replays the CREATE DATABASE
    reset_vhost(AMQP_URI)
    shutil.rmtree(LOG_DIR, ignore_errors=True)
    env = platform_env(
        database_url,
        AMQP_URI,
        **two_processes_each(),
        DATABASE_READ_URL=pair.url(DATABASE, attrs="prefer-standby"),
        RPC_TIMEOUT_SECONDS=str(RPC_TIMEOUT_SECONDS),
        # the periodic readers and writers run often, so they meet the switch too
        METRICS_POLL_SECONDS="1",
        CLOCK_WATCH_INTERVAL_SECONDS="1",
        OPEN_CASES_INTERVAL_SECONDS="2",
    )
    with platform_running(env, LOG_DIR, timeout=240) as running:
        yield running


@pytest.fixture(scope="module")
def failover_db(failover_platform) -> Iterator[Engine]:
    from common.db import make_engine

    engine = make_engine(failover_platform.database_url, pool_size=2, pool_pre_ping=True)  # finds the new primary
    yield engine
    engine.dispose()


def dead_letters() -> int:
    """Messages in the dead-letter queue, a quorum queue here (passive: the check declares nothing);
    none when nothing was ever dead-lettered or retried (no queue then)."""
    with Connection(AMQP_URI) as conn:
        try:
            return conn.default_channel.queue_declare("dead-letters", passive=True).message_count
        except ChannelError:
            return 0


def filed_keys(db: Engine, keys: list[str]) -> list[str]:
    """Which of these public Idempotency-Keys a complaint carries (intake stores them hashed per caller,
    services/intake/filing.py)."""
    hashed = {hashlib.sha256(f"public\n{key}".encode()).hexdigest(): key for key in keys}
    with db.connect() as conn:
        found = conn.execute(
            text("SELECT idempotency_key FROM intake.complaints WHERE idempotency_key = ANY(:keys)"),
            {"keys": list(hashed)},
        ).scalars()
        return [hashed[k] for k in found]


def test_reports_and_the_case_list_are_read_on_the_standby(pair, failover_platform):
    def standby_readers() -> set[str]:
        """Who holds a session on the standby's copy of the platform's database."""
        listed = pair.standby.psql(f"SELECT application_name FROM pg_stat_activity WHERE datname = '{DATABASE}'")
        return set(listed.split())

    assert not standby_readers()  # the services' writing engines never stay on the standby
    with httpx.Client(base_url=failover_platform.url, timeout=30) as client:
        token = client.post("/api/v1/auth/token", data={"username": "330681", "password": DEMO_PASSWORD})
        assert token.status_code == 200, token.text
        staff = {"Authorization": f"Bearer {token.json()['access_token']}"}
        assert client.get("/api/v1/reports/summary", headers=staff).status_code == 200
        assert standby_readers() == {"reporting-reads"}
        assert client.get("/api/v1/complaints", headers=staff).status_code == 200
        assert standby_readers() == {"reporting-reads", "intake-reads"}


def test_promoting_the_standby_loses_nothing_doubles_nothing_and_tells_the_truth(pair, failover_platform, failover_db):
    platform = failover_platform
    submitters = [Submitter(platform.url) for _ in range(SUBMITTERS)]

    def acknowledged() -> list[str]:
        return [i for submitter in submitters for i in submitter.acknowledged]

    for submitter in submitters:
        submitter.start()
    try:
        wait_for(lambda: len(acknowledged()) >= 20, timeout=120)
        crashed = time.monotonic()
        pair.primary.crash()
        time.sleep(DETECTION_SECONDS)
        promoted = time.monotonic()
        pair.promote()
        before = len(acknowledged())
        wait_for(lambda: len(acknowledged()) >= before + 20, timeout=120)
    finally:
        for submitter in submitters:
            submitter.stopping.set()
        for submitter in submitters:
            submitter.join(timeout=60)

    exited = {name: p.returncode for name, p in platform.processes.items() if p.poll() is not None}
    assert not exited, f"processes exited during the switch: {exited}; see {platform.log_dir}"
    unexpected = [u for submitter in submitters for u in submitter.unexpected]
    assert not unexpected, f"answers other than 201 and a clean 503: {unexpected[:5]}"
    ids = acknowledged()
    settle(failover_db, ids, timeout=180)
    routed_exactly_once(failover_db, ids)
    wait_for(lambda: outboxes_drained(failover_db), timeout=60, interval=0.5)
    assert dead_letters() == 0, "an event was given up on"

    answers = sorted((a for submitter in submitters for a in submitter.answers), key=lambda a: a.sent)
    refused = [a for a in answers if a.status == 503]
    assert not filed_keys(failover_db, [a.idempotency_key for a in refused]), "a submission answered 503 was filed"
    assert all(a.retry_after for a in refused), "a 503 without Retry-After"
    # the primary was gone for longer than the gateway waits: the first filings were refused at their
    # deadline, later ones waited (intake tries again) and were filed once the standby was promoted
    # the filings under way when the primary died and those sent before the promotion
    while_down = [a for a in answers if a.answered >= crashed and a.sent < promoted]
    assert any(a.status == 503 for a in while_down), "nobody was refused while the primary was gone"
    carried = [a for a in while_down if a.status == 201 and a.answered > promoted]
    assert carried, "no filing waited through the promotion"
    back = next(a.answered for a in answers if a.status == 201 and a.sent >= promoted)
    seen = Counter(a.status for a in while_down)
    waits = {status: max(a.answered - a.sent for a in while_down if a.status == status) for status in seen}
    print(
        f"\nfailover: {len(ids)} acknowledged by {SUBMITTERS} submitters; primary gone {DETECTION_SECONDS:.0f} s "
        f"before the promotion (RPC timeout {RPC_TIMEOUT_SECONDS} s); submissions under way or sent meanwhile: "
        f"{dict(seen)}, the longest waits {', '.join(f'{s}: {w:.1f} s' for s, w in waits.items())}; "
        f"a filing sent after the promotion answered 201 in {back - promoted:.1f} s; "
        f"Retry-After {sorted({a.retry_after for a in refused})}"
    )
