"""Run the whole platform on this machine: `make run` calls this.

Makes sure PostgreSQL and RabbitMQ are up, migrates every schema, loads the demo tenants (the
sample division table: 诸暨市 and 靖江市, every township and village) and the demo accounts, starts
the five services (`SERVICE_PROCESSES=routing=3,intake=2`: several processes of a service) and the
gateway as separate processes, waits until /healthz is green, prints
where to go, and stays in the foreground until Ctrl-C or SIGTERM, which stops everything it started.
Tests use the same `Platform` class against their own database and vhost.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy.orm import Session

from common.config import RunnerSettings, missing_secrets, refusal
from common.db import make_engine
from ops.infra import ensure_all
from ops.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIVISIONS = ROOT / "data" / "divisions"
CONSOLE_BUILD = ROOT / "web" / "console" / "dist" / "index.html"  # `make console` (make run builds it)
DEMO_CITIES = ("330681", "321282")
SERVICES = {
    "intake": "services.intake.service:IntakeService",
    "routing": "services.routing.service:RoutingService",
    "mediation": "services.mediation.service:MediationService",
    "notification": "services.notification.service:NotificationService",
    "reporting": "services.reporting.service:ReportingService",
}


def service_processes(setting: str) -> dict[str, int]:
    """Processes per service from `SERVICE_PROCESSES` ("routing=3,intake=2"; one for a service not named)."""
    counts = dict.fromkeys(SERVICES, 1)
    for item in filter(None, (part.strip() for part in setting.split(","))):
        name, _, count = item.partition("=")
        if name.strip() not in SERVICES or not count.strip().isdigit() or int(count) < 1:
            raise ValueError(f"SERVICE_PROCESSES: {item!r} is not <service>=<count>; services: {', '.join(SERVICES)}")
        counts[name.strip()] = int(count)
    return counts


def load_tenants(database_url: str, *, demo: bool, password: str) -> tuple[int, int]:
    """Import the sample division table, onboard the demo cities, and create (or, outside demo
    mode, remove) the demo accounts. Returns (units onboarded, demo accounts)."""
    from gateway import accounts
    from services.routing import registry

    engine = make_engine(database_url, pool_size=1)
    registry.import_divisions(engine, registry.read_divisions(SAMPLE_DIVISIONS))
    with Session(engine) as session, session.begin():
        units = sum(registry.onboard(session, city, subtree=True) for city in DEMO_CITIES)
        if demo:
            demo_accounts = accounts.ensure_demo_accounts(session, accounts.unit_codes(SAMPLE_DIVISIONS), password)
        else:
            accounts.remove_demo_accounts(session)
            demo_accounts = 0
    engine.dispose()
    return units, demo_accounts


class Platform:
    """The processes of one running platform: five services and the gateway."""

    def __init__(
        self,
        *,
        env: dict[str, str],
        host: str = "127.0.0.1",
        port: int = 8000,
        log_dir: Path,
        metrics_ports: dict[str, int] | None = None,
        gateway_env: dict[str, str] | None = None,
    ) -> None:
        self.env = env
        self.gateway_env = gateway_env or {}  # what the gateway alone runs with (e.g. another broker address)
        # each service serves /metrics on its own port: METRICS_PORT_BASE (9101), +1, ... in SERVICES order
        config = RunnerSettings.from_env(env)
        base = config.metrics_port_base
        self.metrics_ports = metrics_ports or {name: base + i for i, name in enumerate(SERVICES)}
        self.host = host
        self.port = port
        self.log_dir = log_dir
        self.processes: dict[str, subprocess.Popen] = {}
        self.service_processes = service_processes(config.service_processes)
        log_dir.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _spawn(self, name: str, command: list[str], env: dict[str, str] | None = None) -> None:
        log = (self.log_dir / f"{name}.log").open("ab")
        env = {**self.env, "OTEL_SERVICE_NAME": name, **(env or {})}  # the span's service (docs/observability.md)
        self.processes[name] = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    @staticmethod
    def process_name(service: str, index: int) -> str:
        """`routing` for a service's first process, `routing.2`, `routing.3` ... for the others."""
        return service if index == 1 else f"{service}.{index}"

    def metrics_dir(self, service: str) -> Path:
        return self.log_dir / "metrics" / service

    def start_service(self, name: str, index: int = 1) -> None:
        """Start process `index` of service `name` (again, after a kill)."""
        nameko = str(Path(sys.executable).with_name("nameko"))
        command = [nameko, "run", "--config", str(ROOT / "deploy" / "nameko.yaml"), SERVICES[name]]
        env = {"METRICS_PORT": str(self.metrics_ports[name])}
        if self.service_processes[name] > 1:
            # the processes share the port: the first binds it and serves the sum (docs/observability.md)
            env["PROMETHEUS_MULTIPROC_DIR"] = str(self.metrics_dir(name))
        self._spawn(self.process_name(name, index), command, env)

    def start_gateway(self) -> None:
        self._spawn(
            "gateway",
            [
                sys.executable,
                "-m",
                "uvicorn",
                "gateway.app:app",
                "--host",
                self.host,
                "--port",
                str(self.port),
                "--no-access-log",
                "--no-proxy-headers",  # the gateway reads X-Forwarded-For itself (gateway/throttle.py)
            ],
            self.gateway_env,
        )

    def start(self) -> None:
        for name, count in self.service_processes.items():
            if count > 1:
                shutil.rmtree(self.metrics_dir(name), ignore_errors=True)
                self.metrics_dir(name).mkdir(parents=True)
            for index in range(1, count + 1):
                self.start_service(name, index)
        self.start_gateway()

    def wait_healthy(self, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}; see {self.log_dir / name}.log")
            try:
                response = httpx.get(f"{self.url}/healthz", timeout=5)
                if response.status_code == 200:
                    return response.json()
                last = response.json()
            except httpx.HTTPError as exc:
                last = exc
            time.sleep(0.3)
        raise RuntimeError(f"the platform did not become healthy in {timeout:.0f}s: {last}")

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes[name]
        os.killpg(process.pid, sig)
        process.wait(timeout=30)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def main() -> None:
    config = RunnerSettings()
    env = dict(os.environ)
    if config.demo_mode:
        env.setdefault("JWT_SECRET", secrets.token_urlsafe(32))
    if missing_secrets(env):
        sys.exit(refusal(missing_secrets(env)))
    print("checking PostgreSQL and RabbitMQ ...", flush=True)
    ensure_all()
    print("migrating schemas ...", flush=True)
    upgrade(config.database_url)
    units, demo_accounts = load_tenants(config.database_url, demo=config.demo_mode, password=config.demo_password)
    print(f"tenants: {units} units onboarded in {', '.join(DEMO_CITIES)}", flush=True)

    platform = Platform(env=env, host=config.gateway_host, port=config.gateway_port, log_dir=ROOT / "var" / "log")
    stopping = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    platform.start()
    try:
        platform.wait_healthy(timeout=90)
        print(f"\nThe platform is up: {platform.url}")
        if CONSOLE_BUILD.exists():
            print(f"Staff console (工作台): {platform.url}/console/  (log in with a demo account below)")
        else:
            print(f"Staff console: not built ({CONSOLE_BUILD} is missing): run `make console`, then reload")
        print(f"API docs: {platform.url}/docs   health: {platform.url}/healthz")
        print(f"Logs: {platform.log_dir}/")
        ports = ", ".join(f"{name} {port}" for name, port in platform.metrics_ports.items())
        print(f"Metrics: {platform.url}/metrics and 127.0.0.1:<port>/metrics for {ports}")
        if config.demo_mode:
            print(f"Demo accounts ({demo_accounts}): username = a unit's division code, e.g. 330681 (诸暨市),")
            print(f"  330681109 (枫桥镇), 330681109290 (枫源村); password = {config.demo_password!r} ($DEMO_PASSWORD)")
        print("Ctrl-C stops everything.", flush=True)
        while not stopping:
            for name, process in platform.processes.items():
                if process.poll() is not None:
                    print(f"{name} exited with {process.returncode}; see {platform.log_dir}/{name}.log", flush=True)
                    stopping = True
            time.sleep(0.5)
    finally:
        print("stopping ...", flush=True)
        platform.stop()


if __name__ == "__main__":
    main()
