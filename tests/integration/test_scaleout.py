"""Two processes of every service, on quorum queues: they share the work without doubling it.

A platform of its own (`SERVICE_PROCESSES` two of each, `AMQP_QUORUM_QUEUES=1`) in a database and a
vhost of its own next to the suite's. Complaints stream in; midway the second process of every
service is killed with SIGKILL (the first goes on alone). Every complaint answered 201 is routed
exactly once and acknowledged exactly once, nothing is dead-lettered, and the monthly reports, whose
timer fires in both reporting processes, exist once per unit.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from tests.conftest import (
    ROOT,
    TEST_AMQP_URI,
    TEST_DATABASE_URL,
    platform_env,
    platform_running,
    reset_database,
    reset_vhost,
    two_processes_each,
    wait_for,
)
from tests.integration.test_reliability import Submitter, routed_exactly_once, settle

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

SUFFIX = "_procs"
DATABASE_URL = make_url(TEST_DATABASE_URL).set(database=make_url(TEST_DATABASE_URL).database + SUFFIX)
AMQP_URI = TEST_AMQP_URI + SUFFIX
VHOST = AMQP_URI.rsplit("/", 1)[1]
LOG_DIR = ROOT / "var" / "test-log-scaleout"


@pytest.fixture(scope="module")
def two_of_each() -> Iterator[Any]:
    database_url = DATABASE_URL.render_as_string(hide_password=False)
    reset_database(database_url)
    reset_vhost(AMQP_URI)
    shutil.rmtree(LOG_DIR, ignore_errors=True)
    env = platform_env(
        database_url,
        AMQP_URI,
        **two_processes_each(),
        # the timers fire often, in both processes of their service
        REPORTING_MONTHLY_INTERVAL_SECONDS="3",
        CLOCK_WATCH_INTERVAL_SECONDS="1",
        OPEN_CASES_INTERVAL_SECONDS="2",
    )
    with platform_running(env, LOG_DIR, timeout=240) as running:
        yield running


@pytest.fixture(scope="module")
def scaled_db(two_of_each) -> Iterator[Engine]:
    from common.db import make_engine

    engine = make_engine(two_of_each.database_url, pool_size=2)
    yield engine
    engine.dispose()


QUEUE_FIELDS = ("name", "type", "consumers", "messages")


def queues() -> dict[str, dict[str, Any]]:
    listed = subprocess.run(
        ["rabbitmqctl", "-q", "list_queues", "-p", VHOST, "--formatter", "json", *QUEUE_FIELDS],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return {queue["name"]: queue for queue in json.loads(listed.stdout)}


def dead_letters() -> int:
    """Messages in the dead-letter queue (none when nothing was ever dead-lettered: no queue then)."""
    return queues().get("dead-letters", {}).get("messages", 0)


def test_every_durable_queue_is_a_quorum_queue_consumed_by_both_processes(two_of_each):
    from ops.run import SERVICES

    def short_of_consumers() -> dict[str, int]:
        return {
            name: queue["consumers"]
            for name, queue in queues().items()
            if name.startswith(("evt-", "rpc-")) and ".retry." not in name and queue["consumers"] != 2
        }

    try:  # the processes answer ping before every consumer is registered
        wait_for(lambda: not short_of_consumers(), timeout=60, interval=1)
    except AssertionError as exc:
        raise AssertionError(f"queues without a consumer in each process: {short_of_consumers()}") from exc
    declared = queues()
    durable = {name: q for name, q in declared.items() if name.startswith(("evt-", "rpc-")) or name == "dead-letters"}
    assert {f"rpc-{name}" for name in SERVICES} <= set(durable)
    assert {q["type"] for q in durable.values()} == {"quorum"}
    replies = [q for name, q in declared.items() if name.startswith("rpc.reply")]
    assert replies and {q["type"] for q in replies} == {"classic"}


def test_two_processes_each_route_and_acknowledge_every_complaint_once(two_of_each, scaled_db):
    from ops.run import SERVICES

    submitter = Submitter(two_of_each.url)
    submitter.start()
    try:
        wait_for(lambda: len(submitter.acknowledged) >= 20, timeout=120)
        for name in SERVICES:  # the first process of each goes on alone
            two_of_each.kill(two_of_each.process_name(name, 2))
        before = len(submitter.acknowledged)
        wait_for(lambda: len(submitter.acknowledged) >= before + 20, timeout=120)
    finally:
        submitter.stopping.set()
        submitter.join(timeout=30)
    ids = list(submitter.acknowledged)
    settle(scaled_db, ids, timeout=180)
    routed_exactly_once(scaled_db, ids)
    survivors = {name: p for name, p in two_of_each.processes.items() if not re.search(r"\.2$", name)}
    assert all(process.poll() is None for process in survivors.values()), "a process exited"
    assert dead_letters() == 0


def test_the_monthly_reports_are_produced_once(two_of_each, scaled_db):
    def reports() -> dict[tuple[str, str], int]:
        with scaled_db.connect() as conn:
            rows = conn.execute(
                text("SELECT unit_code, month::text, count(*) FROM reporting.monthly_reports GROUP BY 1, 2")
            )
            return {(unit, month): count for unit, month, count in rows}

    # both reporting processes' timers fired (every 3 s) at least once before the kill or since
    produced = wait_for(reports, timeout=60, interval=1)
    assert set(produced.values()) == {1}
    logged = [
        int(found)
        for log in LOG_DIR.glob("reporting*.log")
        for found in re.findall(r"monthly reports for \d{4}-\d{2}: (\d+) unit", log.read_text(errors="replace"))
    ]
    assert sum(logged) == len(produced), f"logged {logged} for {len(produced)} reports"


def test_the_orchestrators_probes_answer(two_of_each):
    """What the Kubernetes probes and init containers run (ops/probes.py), against this platform."""

    def probe(*args: str, database_url: str = two_of_each.database_url) -> int:
        env = {**os.environ, "AMQP_URI": AMQP_URI, "DATABASE_URL": database_url}
        command = [sys.executable, "-W", "ignore", "-m", "ops.probes", *args]
        return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, timeout=120).returncode

    assert probe("migrated") == 0
    assert probe("migrated", database_url="postgresql://postgres@127.0.0.1:5432/no_such_database") != 0
    assert probe("ping", "routing", "--database") == 0
    assert probe("ping", "no_such_service", "--timeout", "2") != 0
