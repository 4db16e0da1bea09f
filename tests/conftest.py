"""Fixtures shared by the suite. Integration tests run the real platform (five nameko services and
the gateway as processes) against PostgreSQL and RabbitMQ, in a database and a vhost of their own
(`disputes_test`), recreated for each test session."""

from __future__ import annotations

import itertools
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text

ROOT = Path(__file__).resolve().parent.parent
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/disputes_test")
TEST_AMQP_URI = os.environ.get("TEST_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/disputes_test")
DEMO_PASSWORD = "test-demo-password"
PRIVACY_NOTICE_VERSION = "2026-12"  # what the portal's form sends (web/portal/src/words.ts)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def platform_env(database_url: str, amqp_uri: str, **settings: str) -> dict[str, str]:
    """Migrate the database, load the demo tenants, and answer the environment of a platform on it
    (no tracing, SMS to the log, unless `settings`, which add to it or override it, say otherwise)."""
    from ops.migrate import upgrade
    from ops.run import load_tenants

    upgrade(database_url)
    load_tenants(database_url, demo=True, password=DEMO_PASSWORD)
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "AMQP_URI": amqp_uri,
        "DEMO_MODE": "1",
        "DEMO_PASSWORD": DEMO_PASSWORD,
        "JWT_SECRET": secrets.token_urlsafe(32),
        "RPC_TIMEOUT_SECONDS": "10",
        "OTEL_TRACES_EXPORTER": "none",
        "SMS_PROVIDER": "log",
        **settings,
    }


def two_processes_each() -> dict[str, str]:
    """Settings for two processes of every service on quorum queues (the scale-out tests)."""
    from ops.run import SERVICES

    return {"AMQP_QUORUM_QUEUES": "1", "SERVICE_PROCESSES": ",".join(f"{name}=2" for name in SERVICES)}


@contextmanager
def platform_running(env: dict[str, str], log_dir: Path, timeout: float = 90, **options: Any) -> Iterator[Any]:
    """The platform's processes on `env`, each on a free port, healthy before the caller goes on and
    stopped afterwards. `database_url` and `amqp_uri` on the answer are those of `env`."""
    from ops.run import SERVICES, Platform

    running = Platform(
        env=env,
        port=free_port(),
        log_dir=log_dir,
        metrics_ports={name: free_port() for name in SERVICES},
        **options,
    )
    running.database_url, running.amqp_uri = env["DATABASE_URL"], env["AMQP_URI"]
    running.start()
    try:
        running.wait_healthy(timeout=timeout)
        yield running
    finally:
        running.stop()


def reset_database(url: str) -> None:
    from sqlalchemy.engine import make_url

    from common.db import sqlalchemy_url

    parsed = make_url(sqlalchemy_url(url))
    name = parsed.database
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def reset_vhost(uri: str) -> None:
    from ops.infra import ensure_rabbitmq

    vhost = uri.rsplit("/", 1)[1]
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], capture_output=True, timeout=60)
    ensure_rabbitmq(uri)


@pytest.fixture(scope="session")
def otlp_sink() -> Iterator[Any]:
    """Where the platform's processes export spans (tests/otlp_sink.py)."""
    from tests.otlp_sink import OtlpSink

    sink = OtlpSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def notification_sinks() -> Iterator[Any]:
    """The local SMS endpoint, webhook receiver and SMTP server notification delivers to
    (tests/notification_sinks.py); their ports and secrets go into the platform's env."""
    from tests.notification_sinks import NotificationSinks

    sinks = NotificationSinks()
    sinks.start()
    yield sinks
    sinks.stop()


@pytest.fixture(scope="session")
def platform(otlp_sink, notification_sinks) -> Iterator[Any]:
    from ops.infra import ensure_postgres

    ensure_postgres(TEST_DATABASE_URL)
    reset_database(TEST_DATABASE_URL)
    reset_vhost(TEST_AMQP_URI)
    env = platform_env(
        TEST_DATABASE_URL,
        TEST_AMQP_URI,
        # the suite stands for a proxy on 127.0.0.1: its X-Forwarded-For names the client (a test
        # that wants an untrusted peer connects from another loopback address, 127.0.0.2)
        FORWARDED_ALLOW_IPS="127.0.0.1",
        # tracing on, but only requests that arrive with a sampled `traceparent` are recorded (the
        # telemetry test's): the rest of the suite creates no-op spans and exports nothing
        OTEL_TRACES_EXPORTER="otlp",
        OTEL_EXPORTER_OTLP_ENDPOINT=otlp_sink.endpoint,
        OTEL_TRACES_SAMPLER="parentbased_always_off",
        OTEL_BSP_SCHEDULE_DELAY="200",
        METRICS_POLL_SECONDS="2",
        # clock warning lights looked at every second, the open-case gauge recounted every two
        CLOCK_WATCH_INTERVAL_SECONDS="1",
        OPEN_CASES_INTERVAL_SECONDS="2",
        **notification_sinks.env,  # SMS_PROVIDER, SMS_ENDPOINT, SMTP_*, WEBHOOK_*, retry timings
    )
    with platform_running(env, ROOT / "var" / "test-log") as running:
        yield running


@pytest.fixture(scope="session")
def api(platform) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=platform.url, timeout=20) as client:
        yield client


@pytest.fixture(scope="session")
def db(platform) -> Iterator[Engine]:
    """Read access for assertions about what the services stored (tests are not services)."""
    from common.db import make_engine

    engine = make_engine(TEST_DATABASE_URL, pool_size=2)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def login(api) -> Callable[[str], dict[str, str]]:
    """Bearer headers for a demo account (username = the unit's division code), logged in again a
    minute before the access token expires (the suite outlasts a token)."""
    cache: dict[str, tuple[dict[str, str], float]] = {}

    def headers(username: str) -> dict[str, str]:
        if username not in cache or cache[username][1] <= time.monotonic():
            response = api.post("/api/v1/auth/token", data={"username": username, "password": DEMO_PASSWORD})
            assert response.status_code == 200, response.text
            token = response.json()
            renew_at = time.monotonic() + token["expires_in"] - 60
            cache[username] = ({"Authorization": f"Bearer {token['access_token']}"}, renew_at)
        return cache[username][0]

    return headers


def onboard_agency(db: Engine, agency_id: str) -> str:
    """Attach an agency to its onboarded unit (as `POST /api/v1/tenants` does), if not there yet."""
    unit_code, _, agency_type = agency_id.partition("-")
    with db.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO routing.agencies (id, unit_code, agency_type, name, settings) "
                "VALUES (:id, :unit, :type, :name, '{}') ON CONFLICT DO NOTHING"
            ),
            {"id": agency_id, "unit": unit_code, "type": agency_type, "name": f"{unit_code} {agency_type}"},
        )
    return agency_id


def credit_code(seed: int = 0) -> str:
    from stdnum.cn import uscc

    base = f"9133068{seed % 10}MA2B{seed:05d}"[:17]
    return base + uscc.calc_check_digit(base)


# each default complaint names its own order number: the same complainant, business and facts filed
# twice is one case (Art 35, docs/intake.md), so fixtures that file several must differ in a fact
_ORDER_NUMBERS = itertools.count(100001)


def complaint(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel": "web",
        "complainant": {"name": "张三", "phone": "13800138000"},
        "business": {"name": "某某电器商店", "credit_code": credit_code(), "division_code": "330681109290"},
        "incident_division_code": "330681109290",
        "category": "product_quality",
        "summary": f"新买的电饭煲三天后无法加热，商家拒绝退货（订单号 {next(_ORDER_NUMBERS)}）",
        "claim_amount": 399.0,
        "requests": ["refund"],
        "privacy_consent": {"version": PRIVACY_NOTICE_VERSION},
    }
    body.update(overrides)
    return body


def wait_for(check: Callable[[], Any], timeout: float = 15, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {result!r})")
        time.sleep(interval)


# --- interface tests of one service (tests/<service>/test_interface.py, tests/service_harness.py) -----
INTERFACE_MODULE = "test_interface.py"
_interface_summaries: list[str] = []


def eventlet_patched() -> bool:
    eventlet = sys.modules.get("eventlet")  # not imported: not patched (and no import to find out)
    return eventlet is not None and eventlet.patcher.is_monkey_patched("socket")


class InterfaceModuleFailed(Exception):
    """What the interface module's own pytest printed, when it did not pass."""


class InterfaceRun(pytest.Item):
    """An interface module run by pytest in an eventlet-patched process of its own (tests/green_pytest.py)."""

    def runtest(self) -> None:
        command = [sys.executable, "-m", "tests.green_pytest", "-q", "-p", "no:cacheprovider", str(self.path)]
        finished = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
        lines = finished.stdout.strip().splitlines()
        _interface_summaries.append(f"{self.path.relative_to(ROOT)}: {lines[-1] if lines else 'no output'}")
        if finished.returncode != 0:
            raise InterfaceModuleFailed(finished.stdout + finished.stderr)

    def repr_failure(self, excinfo, style=None) -> str:
        if isinstance(excinfo.value, InterfaceModuleFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, None, str]:
        return self.path, None, f"{self.path.parent.name} interface tests (eventlet process)"


class InterfaceModule(pytest.File):
    def collect(self) -> Iterator[InterfaceRun]:
        run = InterfaceRun.from_parent(self, name="interface")
        run.add_marker(pytest.mark.timeout(900))
        yield run


def pytest_pycollect_makemodule(module_path: Path, parent: Any) -> Any:
    """Outside an eventlet-patched process an interface module is one item: its own pytest run."""
    if module_path.name == INTERFACE_MODULE and not eventlet_patched():
        return InterfaceModule.from_parent(parent, path=module_path)
    return None


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _interface_summaries:
        terminalreporter.section("interface tests, each module in its own process")
        for line in _interface_summaries:
            terminalreporter.write_line(line)
