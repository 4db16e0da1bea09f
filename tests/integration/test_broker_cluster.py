"""A three-node RabbitMQ cluster loses a node under a steady stream of complaints, and nothing is lost
or done twice.

Three private RabbitMQ nodes (tests/private_infra.py) joined into one cluster; the platform on it
with quorum queues and two processes of every service. The services reach the cluster through
kombu's failover list (node 1 first, so the queues' leaders start there); the gateway, whose client
takes one address, talks to node 3. Complaints stream in; node 1 is killed with SIGKILL (the
leaders' node and every service's connection), and the second process of every service too; later
node 1 is started again and rejoins. Every complaint answered 201 is routed exactly once and
acknowledged exactly once, no other process exits, nothing is dead-lettered. During the switch the
gateway answers 503 to the submissions whose RPC found no leader yet (counted, never a 500).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from tests.conftest import (
    ROOT,
    TEST_DATABASE_URL,
    platform_env,
    platform_running,
    reset_database,
    two_processes_each,
    wait_for,
)
from tests.integration.test_reliability import routed_exactly_once, settle
from tests.integration.test_restarts import Submitter
from tests.private_infra import RABBITMQ_BIN, PrivateRabbit, require

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

VHOST = "disputes_cluster"
DATABASE_URL = make_url(TEST_DATABASE_URL).set(database=make_url(TEST_DATABASE_URL).database + "_cluster")


@pytest.fixture(scope="module")
def nodes() -> Iterator[list[PrivateRabbit]]:
    require("the cluster test (private RabbitMQ nodes)")
    base = Path(tempfile.mkdtemp(prefix="disputes-cluster-"))
    cookie = secrets.token_hex(16)
    cluster = [PrivateRabbit(base / f"node{i}", name=f"cluster{i}", cookie=cookie) for i in (1, 2, 3)]
    try:
        for node in cluster:
            node.start()
        for node in cluster[1:]:
            node.join(cluster[0])
        cluster[0].add_vhost(VHOST)
        yield cluster
    finally:
        for node in cluster:
            node.stop()
        if not os.environ.get("KEEP_PRIVATE_INFRA"):
            shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def clustered(nodes) -> Iterator[Any]:
    database_url = DATABASE_URL.render_as_string(hide_password=False)
    reset_database(database_url)
    env = platform_env(database_url, ";".join(node.uri(VHOST) for node in nodes), **two_processes_each())
    with platform_running(
        env, ROOT / "var" / "test-log-cluster", timeout=240, gateway_env={"AMQP_URI": nodes[2].uri(VHOST)}
    ) as running:
        yield running


@pytest.fixture(scope="module")
def cluster_db(clustered) -> Iterator[Engine]:
    from common.db import make_engine

    engine = make_engine(clustered.database_url, pool_size=2)
    yield engine
    engine.dispose()


def queue_listing(node: PrivateRabbit) -> list[dict[str, Any]]:
    fields = ("name", "type", "messages", "leader")
    listed = subprocess.run(
        [
            str(RABBITMQ_BIN / "rabbitmqctl"),
            "-q",
            "-n",
            node.node,
            "list_queues",
            "-p",
            VHOST,
            "--formatter",
            "json",
            *fields,
        ],
        env=node.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(listed.stdout)


def test_losing_a_broker_node_loses_nothing_and_doubles_nothing(nodes, clustered, cluster_db):
    from ops.run import SERVICES

    leaders = {q["leader"] for q in queue_listing(nodes[1]) if q["type"] == "quorum"}
    assert nodes[0].node in leaders  # the node to be killed leads queues
    submitter = Submitter(clustered.url)
    submitter.start()
    try:
        wait_for(lambda: len(submitter.acknowledged) >= 20, timeout=120)
        nodes[0].kill()
        for name in SERVICES:
            clustered.kill(clustered.process_name(name, 2))
        before = len(submitter.acknowledged)
        wait_for(lambda: len(submitter.acknowledged) >= before + 20, timeout=180)
        nodes[0].start()
        before = len(submitter.acknowledged)
        wait_for(lambda: len(submitter.acknowledged) >= before + 10, timeout=180)
    finally:
        submitter.stopping.set()
        submitter.join(timeout=60)
    ids = list(submitter.acknowledged)
    settle(cluster_db, ids, timeout=240)
    routed_exactly_once(cluster_db, ids)
    assert not submitter.unexpected, submitter.unexpected[:5]
    survivors = [p for name, p in clustered.processes.items() if not name.endswith(".2")]
    assert all(process.poll() is None for process in survivors), "a process exited"
    time.sleep(2)
    dead = [q for q in queue_listing(nodes[1]) if q["name"] == "dead-letters"]
    assert not dead or dead[0]["messages"] == 0
    print(f"\n{len(ids)} acknowledged; refusals during the switch: {dict(submitter.statuses)}")
