"""Submission benchmark: how fast complaints get in, and how fast they get routed.

    .venv/bin/python -m bench.submit [--seconds 20] [--rate 50] [--concurrency 32]

Runs against its own database (`disputes_bench`) and RabbitMQ vhost (`disputes_bench`), both
dropped and re-created first, so it never disturbs a running `make run` or the tests. It starts a
whole `Platform` (five services and the gateway) on a free port, logs under var/bench-log/, and
measures:

- Phase A, open loop: POST /api/v1/complaints at a fixed offered rate; submission latency is
  taken from the moment each request was due, so a slow server cannot hide its queueing.
- Phase B, closed loop: `--concurrency` submitters back to back (one answered 503 waits its
  `Retry-After`, as a well-behaved client does; before 5 December they asked again at once, and the
  refused requests' CPU counted against the routed complaints); submissions per second, then
  (from `intake.complaints`) how many complaints per second went from received to routed, and
  the received -> routed latency.
- Versus the peer: when django-helpdesk is set up (bench/peer.py), `--peer-rounds` rounds of the
  platform and then the peer, each with 8 clients back to back for `--seconds`: the platform's
  routed complaints per second against the peer's tickets per second, and their ratio.
- Baseline: the bare nameko ceiling on this machine, with the platform stopped: an `@rpc` method
  that dispatches one event, and a second service that counts the events (bench/baseline_service.py),
  driven with the gateway's own `RpcClient` at the same concurrency.

Between phases it waits until every consumed queue is empty, so what an overloaded phase leaves
behind is not measured in the next. CPU time per process is sampled from /proc over every phase, to
show what saturates, and turned into CPU milliseconds per routed complaint. Prints a table and writes
the same figures as JSON to bench/results/submit-<timestamp>.json. A PostgreSQL advisory lock keeps
two runs from sharing the database; every process it starts is stopped on the way out, whatever
happens.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import hashlib
import itertools
import json
import math
import os
import platform as pyplatform
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import kombu
import psycopg2
from stdnum.cn import uscc

from bench import peer
from gateway.rpc import RpcClient, ServiceUnavailable
from ops.infra import ensure_postgres, ensure_rabbitmq
from ops.migrate import upgrade
from ops.run import ROOT, SAMPLE_DIVISIONS, Platform, load_tenants

DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/disputes_bench"
AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/disputes_bench"
LOG_DIR = ROOT / "var" / "bench-log"
RESULTS_DIR = ROOT / "bench" / "results"
NAMEKO_CONFIG = ROOT / "deploy" / "nameko.yaml"
SUBMIT_PATH = "/api/v1/complaints"
JSON_HEADERS = {"content-type": "application/json"}
REQUEST_TIMEOUT_SECONDS = 30.0

# the targets of the performance issue
TARGET_ROUTED_PER_SECOND = 200.0
TARGET_BASELINE_SHARE = 0.5
TARGET_P99_MS = 100.0
TARGET_PEER_RATIO = 1.0  # routed complaints per second over the peer's tickets per second
TARGET_CPU_MS = 20.0  # per routed complaint, every process
TARGET_TRANSACTIONS = 10.0  # per routed complaint
PEER_CONCURRENCY = 8

BASELINE_SERVICES = {
    "baseline": "bench.baseline_service:BaselineService",
    "baseline-sink": "bench.baseline_service:BaselineSink",
}

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_NAMES = ("张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄勇")
_SHOPS = ("诚信家电商行", "惠民超市", "明珠数码店", "好运来家具城", "阳光电动车行")
_SUMMARIES = (
    "购买的电热水壶使用三天后底座漏电，商家拒绝退货。",
    "新买的电动车电池续航不到标称的一半，要求更换被拒。",
    "手机屏幕七天内出现坏点，店家以人为损坏为由拒绝维修。",
    "沙发到货后发现面料与样品不符，商家不同意退款。",
)


# --- payloads ------------------------------------------------------------------------------


def village_codes() -> list[str]:
    with (SAMPLE_DIVISIONS / "villages.csv").open(encoding="utf-8") as f:
        return [row["code"] for row in csv.DictReader(f)]


def credit_code(rng: random.Random, division: str) -> str:
    """A unified social credit code with a valid check character (registered in `division`)."""
    body = "91" + division[:6] + "".join(rng.choice(_USCC_ALPHABET) for _ in range(9))
    return body + uscc.calc_check_digit(body)


def make_submission(rng: random.Random, villages: list[str]) -> dict[str, Any]:
    """A plausible web complaint about a shop in one of the sample villages."""
    business_village = rng.choice(villages)
    return {
        "channel": "web",
        "complainant": {"name": rng.choice(_NAMES), "phone": f"139{rng.randrange(10**8):08d}"},
        "business": {
            "name": rng.choice(_SHOPS),
            "credit_code": credit_code(rng, business_village),
            "division_code": business_village,
        },
        "incident_division_code": rng.choice(villages),
        "category": "product_quality",
        "summary": rng.choice(_SUMMARIES),
        "claim_amount": f"{rng.randrange(50, 5000)}.00",
        "requests": ["refund"],
        "privacy_consent": {"version": "2026-12"},
    }


class Payloads:
    """Valid submissions, each from a different complainant (a unique mobile number), so intake's
    duplicate and abuse checks see ordinary traffic; as dicts (for RPC) or JSON bytes (for HTTP)."""

    def __init__(self, seed: int = 12315) -> None:
        self.rng = random.Random(seed)
        self.villages = village_codes()
        self._phones = itertools.count(self.rng.randrange(10**7))

    def submission(self) -> dict[str, Any]:
        submission = make_submission(self.rng, self.villages)
        submission["complainant"]["phone"] = f"139{next(self._phones) % 10**8:08d}"
        return submission

    def body(self) -> bytes:
        return json.dumps(self.submission(), ensure_ascii=False).encode()


# --- figures -------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def latency_ms(seconds: list[float]) -> dict[str, float | int | None]:
    def ms(value: float | None) -> float | None:
        return None if value is None else round(value * 1000, 1)

    return {
        "n": len(seconds),
        "p50_ms": ms(percentile(seconds, 50)),
        "p95_ms": ms(percentile(seconds, 95)),
        "p99_ms": ms(percentile(seconds, 99)),
        "max_ms": ms(max(seconds) if seconds else None),
    }


# --- CPU per process, from /proc -----------------------------------------------------------

_CLK_TCK = os.sysconf("SC_CLK_TCK")


def _pid_cpu_seconds(pid: int) -> float | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # fields from the 3rd (state) on
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK  # utime + stime


def _processes_by_comm(prefix: str) -> dict[int, str]:
    """pid -> command line of every process whose name starts with `prefix`."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip().startswith(prefix):
                    found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
    return found


def _machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds over all cores since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # up to steal; guest time is already inside user
    return (total - idle) / _CLK_TCK, total / _CLK_TCK


class CpuMeter:
    """CPU used per process (in cores: CPU seconds per wall second) between start() and stop().

    PostgreSQL backends are split by database (their process title names it); RabbitMQ is one
    process shared with anything else using the broker; "not ours" is what the rest of the machine
    used meanwhile (other engineers' tests, for instance), so a busy machine shows in the figures."""

    def __init__(self, named: Callable[[], dict[str, int]]) -> None:
        self.named = named
        self.database = urlparse(DATABASE_URL).path.lstrip("/")

    def _snapshot(self) -> dict[str, dict[int, float]]:
        groups: dict[str, list[int]] = {name: [pid] for name, pid in self.named().items()}
        groups["bench client"] = [os.getpid()]
        postgres = _processes_by_comm("postgres")
        ours = [pid for pid, cmdline in postgres.items() if f" {self.database} " in cmdline]
        groups["postgres (bench db)"] = ours
        groups["postgres (other)"] = [pid for pid in postgres if pid not in ours]
        groups["rabbitmq"] = list(_processes_by_comm("beam.smp"))
        snapshot: dict[str, dict[int, float]] = {}
        for name, pids in groups.items():
            snapshot[name] = {pid: cpu for pid in pids if (cpu := _pid_cpu_seconds(pid)) is not None}
        return snapshot

    def start(self) -> None:
        self._wall = time.monotonic()
        self._machine = _machine_busy_seconds()
        self._before = self._snapshot()

    def stop(self) -> dict[str, Any]:
        after = self._snapshot()
        wall = time.monotonic() - self._wall
        busy, total = _machine_busy_seconds()
        cores: dict[str, float] = {}
        for name, pids in after.items():
            before = self._before.get(name, {})
            used = sum(cpu - before.get(pid, 0.0) for pid, cpu in pids.items())
            cores[name] = round(used / wall, 2)
        machine = (busy - self._machine[0]) / max(1e-9, total - self._machine[1])
        machine_cores = (busy - self._machine[0]) / wall
        mine = sum(v for k, v in cores.items() if k not in ("postgres (other)", "rabbitmq"))
        cores["not ours (rest of the machine)"] = round(
            max(0.0, machine_cores - sum(cores.values())) + cores.pop("postgres (other)"), 2
        )
        return {
            "seconds": round(wall, 1),
            "machine_busy_pct": round(100 * machine, 1),
            "machine_busy_cores": round(machine_cores, 2),
            "ours_excluding_rabbitmq_cores": round(mine, 2),
            "cores_by_process": dict(sorted(cores.items(), key=lambda kv: -kv[1])),
        }


# --- setup ---------------------------------------------------------------------------------


def reset_database(url: str) -> None:
    ensure_postgres(url)  # starts PostgreSQL if it is installed but stopped
    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = psycopg2.connect(
        host=parsed.hostname, port=parsed.port or 5432, user=parsed.username or "postgres", dbname="postgres"
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


@contextlib.contextmanager
def exclusive_run(database_url: str) -> Iterator[None]:
    """Hold a PostgreSQL advisory lock for the whole run: a second run (from this tree or a copy of
    it) would drop the database and vhost under this one, so it is refused instead."""
    parsed = urlparse(database_url)
    ensure_postgres(database_url)  # starts PostgreSQL if it is installed but stopped
    holder = psycopg2.connect(
        host=parsed.hostname, port=parsed.port or 5432, user=parsed.username or "postgres", dbname="postgres"
    )
    holder.autocommit = True
    try:
        with holder.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (f"bench.submit:{parsed.path}",))
            if not cursor.fetchone()[0]:
                raise SystemExit(
                    "another bench.submit run is using disputes_bench right now; run again when it has finished"
                )
        yield
    finally:
        holder.close()  # ends the session, and with it the lock


def reset_vhost(uri: str) -> None:
    ensure_rabbitmq(uri)  # starts RabbitMQ if it is installed but stopped
    vhost = urlparse(uri).path.lstrip("/")
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], capture_output=True, timeout=60, check=False)
    ensure_rabbitmq(uri)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_env(password: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("GATEWAY_HOST", "GATEWAY_PORT"):
        env.pop(name, None)
    env.update(
        DATABASE_URL=DATABASE_URL,
        AMQP_URI=AMQP_URI,
        DEMO_MODE="1",
        DEMO_PASSWORD=password,
        JWT_SECRET=secrets.token_urlsafe(32),
    )
    return env


def code_fingerprint() -> str:
    """A digest of the code that ran (other work changes it between runs; the figures belong to one state)."""
    digest = hashlib.sha256()
    files = [ROOT / "deploy" / "nameko.yaml", ROOT / "requirements.txt"]
    for folder in ("common", "gateway", "services", "ops"):
        files += sorted((ROOT / folder).rglob("*.py"))
    for path in files:
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def clear_logs(log_dir: Path) -> None:
    log_dir.mkdir(parents=True, exist_ok=True)
    for old in log_dir.glob("*.log"):
        old.unlink()


# --- phase A: open loop --------------------------------------------------------------------


def _http_client(url: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=url,
        timeout=REQUEST_TIMEOUT_SECONDS,
        limits=httpx.Limits(max_connections=4096, max_keepalive_connections=512),
    )


async def _post(client: httpx.AsyncClient, body: bytes) -> tuple[int | str, str | None, float]:
    """The status, the complaint's id when filed, and how long the answer asks to wait (Retry-After)."""
    try:
        response = await client.post(SUBMIT_PATH, content=body, headers=JSON_HEADERS)
    except httpx.HTTPError as exc:
        return type(exc).__name__, None, 0.0
    if response.status_code == 201:
        return 201, response.json()["id"], 0.0
    return response.status_code, None, float(response.headers.get("Retry-After", 0))


def _errors(statuses: list[int | str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for status in statuses:
        if status != 201:
            counts[str(status)] = counts.get(str(status), 0) + 1
    return counts


async def open_loop(url: str, payloads: Payloads, rate: float, seconds: float) -> dict[str, Any]:
    """POST at `rate` per second for `seconds`; latency counts from when each request was due."""
    loop = asyncio.get_running_loop()
    results: list[tuple[float, float, float, int | str, str | None]] = []

    async with _http_client(url) as client:

        async def one(body: bytes, due: float) -> None:
            sent = loop.time()
            status, complaint_id, _ = await _post(client, body)
            results.append((due, sent, loop.time(), status, complaint_id))

        count = int(rate * seconds)
        start = loop.time() + 0.05
        tasks = []
        for i in range(count):
            due = start + i / rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(payloads.body(), due)))
        await asyncio.gather(*tasks)
        elapsed = loop.time() - start

    ok = [r for r in results if r[3] == 201]
    return {
        "offered_per_second": rate,
        "seconds": round(elapsed, 2),
        "sent": len(results),
        "accepted": len(ok),
        "errors": _errors([r[3] for r in results]),
        "latency": latency_ms([done - due for due, _, done, _, _ in ok]),
        "max_send_lag_ms": round(1000 * max((sent - due for due, sent, *_ in results), default=0.0), 1),
        "ids": [r[4] for r in ok],
    }


# --- phase B: closed loop ------------------------------------------------------------------


async def closed_loop(url: str, payloads: Payloads, concurrency: int, seconds: float) -> dict[str, Any]:
    """`concurrency` submitters, each posting the next complaint as soon as the last one answered,
    or after the wait a 503 asked for (`Retry-After`)."""
    loop = asyncio.get_running_loop()
    results: list[tuple[float, float, int | str, str | None]] = []

    async with _http_client(url) as client:
        deadline = loop.time() + seconds

        async def submitter() -> None:
            while loop.time() < deadline:
                began = loop.time()
                status, complaint_id, retry_after = await _post(client, payloads.body())
                results.append((began, loop.time(), status, complaint_id))
                await asyncio.sleep(min(retry_after, max(0.0, deadline - loop.time())))

        start = loop.time()
        await asyncio.gather(*(submitter() for _ in range(concurrency)))
        elapsed = loop.time() - start

    ok = [r for r in results if r[2] == 201]
    return {
        "concurrency": concurrency,
        "seconds": round(elapsed, 2),
        "sent": len(results),
        "accepted": len(ok),
        "errors": _errors([r[2] for r in results]),
        "submissions_per_second": round(len(ok) / elapsed, 1),
        "latency": latency_ms([done - began for began, done, _, _ in ok]),
        "ids": [r[3] for r in ok],
    }


# --- submission to routed, from the database -----------------------------------------------


def connect(database_url: str, attempts: int = 20) -> Any:
    """A psycopg2 connection, retried for a while: PostgreSQL is shared with everything else on the
    machine and may be at max_connections for a moment."""
    for attempt in range(attempts):
        try:
            return psycopg2.connect(database_url, connect_timeout=10)
        except psycopg2.OperationalError:
            if attempt == attempts - 1:
                raise
            time.sleep(1)
    raise AssertionError("unreachable")


def wait_routed(database_url: str, ids: list[str], bound_seconds: float) -> dict[str, Any]:
    """Wait (at most `bound_seconds`) until every complaint in `ids` is routed, then measure.

    `updated_at` of a routed complaint is routing's decision time (ComplaintRouted.decided_at),
    recorded by intake when it applies the event; status 'routed' means intake has applied it."""
    began = time.monotonic()
    connection = connect(database_url)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            routed = 0
            while True:
                cursor.execute(
                    "SELECT count(*) FROM intake.complaints WHERE id = ANY(%s::uuid[]) AND status = 'routed'", (ids,)
                )
                routed = cursor.fetchone()[0]
                if routed >= len(ids) or time.monotonic() - began > bound_seconds:
                    break
                time.sleep(0.5)
            waited = time.monotonic() - began
            cursor.execute(
                "SELECT extract(epoch FROM received_at)::float8, extract(epoch FROM updated_at)::float8"
                " FROM intake.complaints WHERE id = ANY(%s::uuid[]) AND status = 'routed'",
                (ids,),
            )
            rows = cursor.fetchall()
    finally:
        connection.close()
    if not rows:
        return {"submitted": len(ids), "routed": 0, "all_routed": not ids, "waited_seconds": round(waited, 1)}
    first_received = min(r[0] for r in rows)
    last_routed = max(r[1] for r in rows)
    span = max(1e-9, last_routed - first_received)
    return {
        "submitted": len(ids),
        "routed": len(rows),
        "all_routed": len(rows) >= len(ids),
        "waited_seconds": round(waited, 1),
        "first_received_to_last_routed_seconds": round(span, 2),
        "routed_per_second": round(len(rows) / span, 1),
        "received_to_routed": latency_ms([routed_at - received for received, routed_at in rows]),
    }


def consumed_queues(amqp_uri: str) -> list[str]:
    """The vhost's queues that have a consumer (delay and dead-letter queues have none), except
    exclusive ones (reply queues of a single connection, which nobody else may even declare)."""
    vhost = urlparse(amqp_uri).path.lstrip("/")
    listed = subprocess.run(
        ["rabbitmqctl", "-q", "list_queues", "-p", vhost, "consumers", "exclusive", "name"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    names = []
    for line in listed.stdout.splitlines():
        fields = line.split("\t", 2)
        if len(fields) == 3 and fields[0].isdigit() and int(fields[0]) > 0 and fields[1] == "false":
            names.append(fields[2])
    return names


def wait_quiet(amqp_uri: str, bound_seconds: float) -> dict[str, Any]:
    """Wait (at most `bound_seconds`) until no consumed queue holds a message, twice in a row: what
    an overloaded phase left behind (requests the gateway already gave up on included) must not be
    measured as part of the next phase. Polls with passive declares (rabbitmqctl costs a CPU second)."""
    began = time.monotonic()
    names = consumed_queues(amqp_uri)
    quiet_polls, left = 0, -1
    with kombu.Connection(amqp_uri, connect_timeout=10) as connection:
        channel = connection.channel()
        while quiet_polls < 2 and time.monotonic() - began < bound_seconds:
            left = sum(channel.queue_declare(queue=name, passive=True).message_count for name in names)
            quiet_polls = quiet_polls + 1 if left == 0 else 0
            if quiet_polls < 2:
                time.sleep(1)
    return {"seconds": round(time.monotonic() - began, 1), "messages_left": left}


def database_counters(database_url: str) -> dict[str, int] | None:
    """Cumulative transaction and row counters of the bench database (pg_stat_database); None when
    the database cannot be reached (the figure is then missing, the run goes on)."""
    name = urlparse(database_url).path.lstrip("/")
    try:
        connection = connect(database_url)
    except psycopg2.OperationalError:
        return None
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT xact_commit + xact_rollback, tup_inserted, tup_updated, tup_deleted, tup_fetched"
                " FROM pg_stat_database WHERE datname = %s",
                (name,),
            )
            row = cursor.fetchone()
    finally:
        connection.close()
    keys = ("transactions", "rows_inserted", "rows_updated", "rows_deleted", "rows_fetched")
    return dict(zip(keys, row, strict=True))


def per_item(before: dict[str, int] | None, after: dict[str, int] | None, items: int) -> dict[str, float] | None:
    if before is None or after is None:
        return None
    return {key: round((after[key] - before[key]) / max(1, items), 1) for key in after}


def cpu_ms_per_item(windows: list[dict[str, Any]], items: int) -> dict[str, float]:
    """CPU milliseconds per item by process, summed over measured windows (the rest of the machine excluded)."""
    totals: dict[str, float] = {}
    for window in windows:
        for name, cores in window["cores_by_process"].items():
            if not name.startswith("not ours"):
                totals[name] = totals.get(name, 0.0) + cores * window["seconds"]
    per = {name: round(1000 * cpu / max(1, items), 1) for name, cpu in totals.items()}
    per = dict(sorted(per.items(), key=lambda kv: -kv[1]))
    per["total"] = round(sum(per.values()), 1)
    return per


# --- baseline: bare nameko -----------------------------------------------------------------


def start_baseline(env: dict[str, str], log_dir: Path) -> dict[str, subprocess.Popen]:
    nameko = str(Path(sys.executable).with_name("nameko"))
    processes: dict[str, subprocess.Popen] = {}
    for name, service in BASELINE_SERVICES.items():
        log = (log_dir / f"{name}.log").open("ab")
        processes[name] = subprocess.Popen(
            [nameko, "run", "--config", str(NAMEKO_CONFIG), service],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return processes


def stop_processes(processes: dict[str, subprocess.Popen]) -> None:
    for process in processes.values():
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for process in processes.values():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


async def _wait_baseline_ready(client: RpcClient, processes: dict[str, subprocess.Popen], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        for name, process in processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}; see {LOG_DIR / name}.log")
        try:
            await client.call("bench_baseline", "ping", timeout=2)
            await client.call("bench_baseline_sink", "handled_count", timeout=2)
            return
        except ServiceUnavailable:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.3)


async def drive_baseline(
    processes: dict[str, subprocess.Popen], payloads: Payloads, concurrency: int, seconds: float, meter: CpuMeter
) -> dict[str, Any]:
    client = RpcClient(AMQP_URI, timeout=REQUEST_TIMEOUT_SECONDS)
    await client.start()
    try:
        await _wait_baseline_ready(client, processes, 60)
        loop = asyncio.get_running_loop()
        durations: list[float] = []
        failures: dict[str, int] = {}
        deadline = loop.time() + seconds

        async def caller() -> None:
            while loop.time() < deadline:
                began = loop.time()
                try:
                    await client.call("bench_baseline", "submit", payloads.submission())
                except Exception as exc:  # count and go on: this measures, it does not test
                    failures[type(exc).__name__] = failures.get(type(exc).__name__, 0) + 1
                    continue
                durations.append(loop.time() - began)

        handled_before = await client.call("bench_baseline_sink", "handled_count")
        meter.start()
        start = loop.time()
        await asyncio.gather(*(caller() for _ in range(concurrency)))
        elapsed = loop.time() - start
        handled_in_window = await client.call("bench_baseline_sink", "handled_count") - handled_before
        cpu = meter.stop()
        # let the sink drain what was dispatched (bounded)
        drain_deadline = loop.time() + 30
        handled_total = handled_in_window
        while handled_total < len(durations) and loop.time() < drain_deadline:
            await asyncio.sleep(0.2)
            handled_total = await client.call("bench_baseline_sink", "handled_count") - handled_before
        drained_after = loop.time() - start
    finally:
        await client.close()
    return {
        "concurrency": concurrency,
        "seconds": round(elapsed, 2),
        "calls": len(durations),
        "errors": failures,
        "calls_per_second": round(len(durations) / elapsed, 1),
        "call_latency": latency_ms(durations),
        "events_handled_in_window": handled_in_window,
        "events_handled_per_second": round(handled_in_window / elapsed, 1),
        "events_handled_total": handled_total,
        "all_events_handled_after_seconds": round(drained_after, 2) if handled_total >= len(durations) else None,
        "cpu": cpu,
        "cpu_ms_per_call": cpu_ms_per_item([cpu], len(durations)),
    }


# --- the run -------------------------------------------------------------------------------


def check_alive(processes: dict[str, subprocess.Popen]) -> None:
    """Fail clearly (rather than measure connection errors) when a process of the run has gone."""
    gone = {name: p.returncode for name, p in processes.items() if p.poll() is not None}
    if gone:
        details = ", ".join(f"{name} (exit {code}, see {LOG_DIR / name}.log)" for name, code in gone.items())
        raise RuntimeError(f"stopped during the run: {details}")


def _run(coroutine_factory: Callable[[], Any], timeout: float) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(coroutine_factory(), timeout)

    return asyncio.run(bounded())


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def run(args: argparse.Namespace) -> dict[str, Any]:
    with exclusive_run(DATABASE_URL):
        return _measure(args)


def _measure(args: argparse.Namespace) -> dict[str, Any]:
    password = secrets.token_urlsafe(12)
    env = bench_env(password)
    payloads = Payloads()
    results: dict[str, Any] = {
        "started_at": datetime.now().isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": pyplatform.platform(),
            "python": pyplatform.python_version(),
            "note": "PostgreSQL, RabbitMQ, the five services, the gateway and this load generator share the machine",
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "code_fingerprint": code_fingerprint(),
        "parameters": {
            "seconds": args.seconds,
            "rate": args.rate,
            "concurrency": args.concurrency,
            "routed_wait_seconds": args.routed_wait,
            "max_workers": env.get("MAX_WORKERS", "10"),
        },
    }

    if os.getloadavg()[0] > 0.5:
        print(f"note: the machine is already busy (load {os.getloadavg()[0]:.2f}); see 'not ours' below", flush=True)
    print(f"resetting database {DATABASE_URL} and vhost {AMQP_URI} ...", flush=True)
    reset_database(DATABASE_URL)
    reset_vhost(AMQP_URI)
    upgrade(DATABASE_URL)
    units, accounts = load_tenants(DATABASE_URL, demo=True, password=password)
    print(f"migrated; {units} units onboarded, {accounts} demo accounts", flush=True)
    clear_logs(LOG_DIR)

    platform = Platform(env=env, port=free_port(), log_dir=LOG_DIR)
    try:
        print(f"starting the platform on {platform.url} (logs in {LOG_DIR}) ...", flush=True)
        platform.start()
        platform.wait_healthy(timeout=90)
        meter = CpuMeter(lambda: {name: p.pid for name, p in platform.processes.items()})

        print(f"warm-up: 2 s at {args.rate:g}/s ...", flush=True)
        _run(lambda: open_loop(platform.url, payloads, args.rate, 2), 60)
        results["warm_up_backlog"] = wait_quiet(AMQP_URI, args.routed_wait)

        check_alive(platform.processes)
        print(f"phase A: open loop, {args.rate:g}/s offered for {args.seconds:g} s ...", flush=True)
        meter.start()
        phase_a = _run(lambda: open_loop(platform.url, payloads, args.rate, args.seconds), args.seconds + 60)
        phase_a["cpu"] = meter.stop()
        phase_a["routing"] = wait_routed(DATABASE_URL, phase_a.pop("ids"), args.routed_wait)
        print("  waiting until every queue is empty ...", flush=True)
        phase_a["backlog_after"] = wait_quiet(AMQP_URI, args.routed_wait)
        results["phase_a"] = phase_a

        check_alive(platform.processes)
        print(f"phase B: closed loop, {args.concurrency} submitters for {args.seconds:g} s ...", flush=True)
        counters = database_counters(DATABASE_URL)
        meter.start()
        phase_b = _run(lambda: closed_loop(platform.url, payloads, args.concurrency, args.seconds), args.seconds + 60)
        phase_b["cpu"] = meter.stop()
        print(f"  {phase_b['accepted']} accepted; waiting until they are routed ...", flush=True)
        meter.start()
        phase_b["routing"] = wait_routed(DATABASE_URL, phase_b.pop("ids"), args.routed_wait)
        # and until the rest of each complaint's work (notification, reporting, intake's history) is
        # done, so the CPU per complaint covers all of it
        phase_b["backlog_after"] = wait_quiet(AMQP_URI, args.routed_wait)
        phase_b["drain_cpu"] = meter.stop()
        check_alive(platform.processes)
        routed = phase_b["routing"]["routed"]
        phase_b["cpu_ms_per_routed_complaint"] = cpu_ms_per_item([phase_b["cpu"], phase_b["drain_cpu"]], routed)
        time.sleep(1.5)  # backends flush their statistics about once a second
        phase_b["database_per_routed_complaint"] = per_item(counters, database_counters(DATABASE_URL), routed)
        results["phase_b"] = phase_b
        results["versus_peer"] = versus_peer(platform.url, payloads, args)
    finally:
        print("stopping the platform ...", flush=True)
        platform.stop()

    print(f"baseline: bare nameko rpc + event, {args.concurrency} callers for {args.seconds:g} s ...", flush=True)
    processes = start_baseline(env, LOG_DIR)
    try:
        meter = CpuMeter(lambda: {name: p.pid for name, p in processes.items()})
        results["baseline"] = _run(
            lambda: drive_baseline(processes, payloads, args.concurrency, args.seconds, meter), args.seconds + 150
        )
    finally:
        stop_processes(processes)

    results["targets"] = evaluate(results)
    return results


def versus_peer(url: str, payloads: Payloads, args: argparse.Namespace) -> dict[str, Any]:
    """Rounds of the platform then the peer, `PEER_CONCURRENCY` clients each, the platform's queues
    emptied before the peer's turn so neither works in the other's time."""
    reason = peer.missing()
    if reason:
        print(f"versus the peer: skipped, {reason}", flush=True)
        return {"skipped": reason}
    rounds = []
    with peer.running():
        for n in range(1, args.peer_rounds + 1):
            print(f"versus the peer, round {n}: the platform, {PEER_CONCURRENCY} clients ...", flush=True)
            ours = _run(lambda: closed_loop(url, payloads, PEER_CONCURRENCY, args.seconds), args.seconds + 60)
            routing = wait_routed(DATABASE_URL, ours.pop("ids"), args.routed_wait)
            wait_quiet(AMQP_URI, args.routed_wait)
            print(f"versus the peer, round {n}: django-helpdesk, {PEER_CONCURRENCY} clients ...", flush=True)
            theirs = peer.load(PEER_CONCURRENCY, args.seconds)
            rounds.append({"platform": {**ours, "routing": routing}, "peer": theirs})
    routed = [r["platform"]["routing"].get("routed_per_second") or 0.0 for r in rounds]
    tickets = [r["peer"]["tickets_per_s"] for r in rounds]
    return {
        "rounds": rounds,
        "routed_per_second": round(sum(routed) / len(routed), 1),
        "peer_tickets_per_second": round(sum(tickets) / len(tickets), 1),
        "ratio": round(sum(routed) / sum(tickets), 2) if sum(tickets) else None,
    }


def evaluate(results: dict[str, Any]) -> list[dict[str, Any]]:
    routed = results["phase_b"]["routing"].get("routed_per_second") or 0.0
    baseline = results["baseline"]["calls_per_second"]
    p99 = results["phase_a"]["latency"]["p99_ms"]
    offered = results["phase_a"]["offered_per_second"]
    errors = results["phase_a"]["errors"]
    cpu = results["phase_b"]["cpu_ms_per_routed_complaint"]["total"]
    transactions = (results["phase_b"]["database_per_routed_complaint"] or {}).get("transactions")
    ratio = results["versus_peer"].get("ratio")
    return [
        {
            "target": f"routed/s >= {TARGET_PEER_RATIO:g} x django-helpdesk's tickets/s, {PEER_CONCURRENCY} clients",
            "value": ratio,
            "met": ratio is not None and ratio >= TARGET_PEER_RATIO,
        },
        {
            "target": f"CPU per routed complaint, every process, <= {TARGET_CPU_MS:g} ms",
            "value": cpu,
            "met": cpu <= TARGET_CPU_MS,
        },
        {
            "target": f"transactions per routed complaint <= {TARGET_TRANSACTIONS:g}",
            "value": transactions,
            "met": transactions is not None and transactions <= TARGET_TRANSACTIONS,
        },
        {
            "target": f"sustained submission-to-routed >= {TARGET_ROUTED_PER_SECOND:g} complaints/s",
            "value": routed,
            "met": routed >= TARGET_ROUTED_PER_SECOND,
        },
        {
            "target": f"routed/s >= {TARGET_BASELINE_SHARE:g} x bare nameko baseline ({baseline:g} calls/s)",
            "value": round(routed / baseline, 2) if baseline else None,
            "met": bool(baseline) and routed >= TARGET_BASELINE_SHARE * baseline,
        },
        {
            # a request that failed has no latency: any failure fails the target
            "target": f"p99 submission latency < {TARGET_P99_MS:g} ms at {offered:g}/s offered, no errors",
            "value": p99,
            "met": p99 is not None and p99 < TARGET_P99_MS and not errors,
        },
    ]


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def report_lines(results: dict[str, Any]) -> Iterator[str]:
    a, b, base = results["phase_a"], results["phase_b"], results["baseline"]
    la, lb, rb, ra = a["latency"], b["latency"], b["routing"], a["routing"]
    rows = [
        ("Phase A (open loop)", ""),
        ("  offered rate /s", a["offered_per_second"]),
        ("  sent / accepted", f"{a['sent']} / {a['accepted']}"),
        ("  errors", a["errors"] or "none"),
        ("  submission latency p50 / p95 / p99 / max ms", _quad(la)),
        ("  received->routed p50 / p95 / p99 ms", _triple(ra.get("received_to_routed"))),
        ("  backlog left: seconds until all queues empty", a["backlog_after"]["seconds"]),
        ("Phase B (closed loop)", ""),
        ("  concurrency", b["concurrency"]),
        ("  sent / accepted", f"{b['sent']} / {b['accepted']}"),
        ("  errors", b["errors"] or "none"),
        ("  submissions /s", b["submissions_per_second"]),
        ("  submission latency p50 / p95 / p99 / max ms", _quad(lb)),
        ("  routed / submitted", f"{rb['routed']} / {rb['submitted']}" + ("" if rb["all_routed"] else " (bound hit)")),
        ("  routed /s sustained (first received..last routed)", rb.get("routed_per_second")),
        ("  received->routed p50 / p95 / p99 ms", _triple(rb.get("received_to_routed"))),
        *peer_rows(results["versus_peer"]),
        ("Baseline (bare nameko rpc + event)", ""),
        ("  calls /s", base["calls_per_second"]),
        ("  events handled /s", base["events_handled_per_second"]),
        ("  call latency p50 / p99 ms", _pair(base["call_latency"])),
        ("  errors", base["errors"] or "none"),
    ]
    width = max(len(label) for label, _ in rows) + 2
    yield (
        f"submit benchmark, {results['started_at']}, {results['machine']['cpus']} CPUs,"
        f" code {results['code_fingerprint']}"
    )
    for label, value in rows:
        yield f"{label:<{width}}{_fmt(value)}" if value != "" else label
    yield ""
    yield "CPU in cores (1.0 = one core busy), by process:"
    for phase, cpu in (
        ("phase A", a["cpu"]),
        ("phase B", b["cpu"]),
        ("phase B drain", b["drain_cpu"]),
        ("baseline", base["cpu"]),
    ):
        top = ", ".join(f"{name} {cores:g}" for name, cores in cpu["cores_by_process"].items() if cores >= 0.02)
        yield f"  {phase:<14} machine {cpu['machine_busy_pct']:g}% busy: {top}"
    yield ""
    yield "CPU ms per item (the whole chain, this machine):"
    for label, per in (
        ("routed complaint", b["cpu_ms_per_routed_complaint"]),
        ("baseline call", base["cpu_ms_per_call"]),
    ):
        parts = ", ".join(f"{name} {ms:g}" for name, ms in per.items() if name != "total" and ms >= 0.1)
        yield f"  {label:<17} total {per['total']:g}: {parts}"
    db = b["database_per_routed_complaint"] or {}
    yield "  database per routed complaint: " + (
        ", ".join(f"{k.replace('_', ' ')} {v:g}" for k, v in db.items()) or "not measured (database unreachable)"
    )
    yield ""
    yield "Targets:"
    for target in results["targets"]:
        yield f"  [{'MET' if target['met'] else 'NOT MET'}] {target['target']}: {_fmt(target['value'])}"


def peer_rows(versus: dict[str, Any]) -> list[tuple[str, Any]]:
    title = f"Versus django-helpdesk ({PEER_CONCURRENCY} clients each, alternating rounds)"
    if "skipped" in versus:
        return [(title, ""), ("  skipped", versus["skipped"])]
    rows: list[tuple[str, Any]] = [(title, "")]
    for n, r in enumerate(versus["rounds"], 1):
        ours, theirs = r["platform"], r["peer"]
        routed = ours["routing"].get("routed_per_second")
        rows.append((f"  round {n}: platform routed /s, p50 / p99 ms", f"{routed}, {_pair(ours['latency'])}"))
        rows.append((f"  round {n}: peer tickets /s, p50 / p99 ms", f"{theirs['tickets_per_s']}, {_pair(theirs)}"))
    means = f"{versus['routed_per_second']} / {versus['peer_tickets_per_second']}"
    rows.append(("  mean: platform routed /s / peer tickets /s", means))
    rows.append(("  ratio", versus["ratio"]))
    return rows


def _pair(latency: dict[str, Any]) -> str:
    return f"{latency['p50_ms']} / {latency['p99_ms']}"


def _quad(latency: dict[str, Any]) -> str:
    return f"{latency['p50_ms']} / {latency['p95_ms']} / {latency['p99_ms']} / {latency['max_ms']}"


def _triple(latency: dict[str, Any] | None) -> str:
    if not latency:
        return "-"
    return f"{latency['p50_ms']} / {latency['p95_ms']} / {latency['p99_ms']}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.submit", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20, help="length of each measured phase (default 20)")
    parser.add_argument("--rate", type=float, default=50, help="offered rate of phase A, per second (default 50)")
    parser.add_argument("--concurrency", type=int, default=32, help="submitters in phase B and the baseline")
    parser.add_argument("--peer-rounds", type=int, default=2, help="platform/peer rounds (default 2)")
    parser.add_argument("--routed-wait", type=float, default=180, help="bound on waiting until all are routed")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)

    results = run(args)
    lines = list(report_lines(results))
    print("\n" + "\n".join(lines))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"submit-{datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwritten to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
