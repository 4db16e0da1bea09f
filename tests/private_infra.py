"""A private RabbitMQ node and a private PostgreSQL cluster that a test may stop and restart.

The machine's shared RabbitMQ (5672) and PostgreSQL (5432) serve other test runs at the same time,
so tests that restart the broker or the database start their own instances from the installed
binaries: a second RabbitMQ node (its own node name, ports, data and log directories, config and
Erlang cookie; no plugins) and a PostgreSQL cluster made by `initdb` in a temporary directory
(trust authentication, its own port). Both listen on 127.0.0.1 only and are removed afterwards.

`PrivateReplicatedPostgres` is a primary with a streaming standby (`pg_basebackup -R`, synchronous
replication) for the failover test: the primary can be killed and the standby promoted.

`missing()` says why they cannot run here (None when they can); `require()` skips a test with that
reason on a developer's machine and fails it in CI (`CI` set), where a skipped test would pass unnoticed.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

RABBITMQ_BIN = Path("/usr/lib/rabbitmq/bin")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def wait_until(check, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} within {seconds:.0f}s")
        time.sleep(0.2)


def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


def missing() -> str | None:
    """Why the private instances cannot be started on this machine; None when they can."""
    if not (RABBITMQ_BIN / "rabbitmq-server").exists() or not (RABBITMQ_BIN / "rabbitmqctl").exists():
        return f"no RabbitMQ server scripts in {RABBITMQ_BIN}"
    postgres = postgres_bin()
    if postgres is None:
        return "no PostgreSQL binaries (initdb, pg_ctl) in /usr/lib/postgresql/*/bin"
    for binary in ("pg_ctl", "pg_basebackup"):
        if not (postgres / binary).exists():
            return f"no {binary} in {postgres}"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no `postgres` user to run initdb as"
    return None


def require(what: str) -> None:
    """Skip the test (`what` needs the private instances) when they cannot run here, or fail it in CI."""
    reason = missing()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} cannot run in CI: {reason} (see .ci/run)")
    pytest.skip(f"{what}: no private instances here: {reason}")


class PrivateRabbit:
    """One RabbitMQ node of our own, run in the foreground as a child process."""

    def __init__(self, base: Path, name: str = "restart", cookie: str | None = None) -> None:
        """`name` tells nodes of one test apart; nodes that join a cluster share `cookie`."""
        self.base = base
        self.port = free_port()
        self.dist_port = free_port()
        self.node = f"disputes-{name}-{os.getpid()}@localhost"
        self.process: subprocess.Popen | None = None
        home = base / "home"
        home.mkdir(parents=True, exist_ok=True)
        if cookie is not None:
            (home / ".erlang.cookie").write_text(cookie)
            (home / ".erlang.cookie").chmod(0o400)
        (base / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\n")
        (base / "enabled_plugins").write_text("[].\n")
        (base / "rabbitmq-env.conf").write_text("")  # not /etc/rabbitmq's (its node name, its port)
        self.env = {
            **os.environ,
            "HOME": str(home),  # our own .erlang.cookie, shared by the node and rabbitmqctl
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(base / "log"),
            "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(base / "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
            "RABBITMQ_CONF_ENV_FILE": str(base / "rabbitmq-env.conf"),
            "RABBITMQ_PID_FILE": str(base / "rabbitmq.pid"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }

    def uri(self, vhost: str) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/{vhost}"

    def start(self, timeout: float = 120) -> None:
        log = (self.base / "stdout.log").open("ab")
        self.process = subprocess.Popen(
            [str(RABBITMQ_BIN / "rabbitmq-server")],
            cwd=self.base,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(self._ready, timeout, f"the private RabbitMQ did not come up on {self.port} (see {self.base})")

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"the private RabbitMQ exited with {self.process.returncode}; see {self.base}")
        return listening(self.port)

    def ctl(self, *args: str, timeout: float = 60) -> None:
        subprocess.run(
            [str(RABBITMQ_BIN / "rabbitmqctl"), "-q", "-n", self.node, *args],
            env=self.env,
            check=True,
            capture_output=True,
            timeout=timeout,
        )

    def add_vhost(self, vhost: str) -> None:
        self.ctl("add_vhost", vhost)
        self.ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")

    def stop(self, timeout: float = 60) -> None:
        """A clean shutdown (SIGTERM), as `systemctl stop` does: every connection is closed,
        durable queues and persistent messages are kept on disk."""
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None
        wait_until(lambda: not listening(self.port), 30, "the private RabbitMQ still listens")

    def restart(self, down_seconds: float = 3.0) -> None:
        self.stop()
        time.sleep(down_seconds)
        self.start()

    def kill(self) -> None:
        """SIGKILL, as a crashed machine: nothing is closed cleanly."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None

    def join(self, other: PrivateRabbit) -> None:
        """Join `other`'s cluster (this node's own data is reset)."""
        self.ctl("stop_app")
        self.ctl("reset")
        self.ctl("join_cluster", other.node, timeout=120)
        self.ctl("start_app", timeout=120)


class PrivatePostgres:
    """A PostgreSQL cluster of our own (initdb in a temporary directory), controlled by pg_ctl."""

    def __init__(self, base: Path) -> None:
        self.bin = postgres_bin()
        assert self.bin is not None
        self.base = base
        base.mkdir(exist_ok=True)
        self.data = base / "data"
        self.port = free_port()
        # initdb and postgres refuse to run as root
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user is not None:
            shutil.chown(base, user=self.user)
        self.options = f"-p {self.port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *command: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.bin / command[0]), *command[1:]],
            user=self.user,
            cwd=self.base,
            check=True,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def psql(self, sql: str) -> str:
        """One statement as the superuser over the socket; its result unaligned, without headers."""
        return self._run("psql", "-h", str(self.base), "-p", str(self.port), "-U", "postgres", "-XAtc", sql).stdout

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")

    def pg_ctl(self, action: str, *extra: str) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.base / "postgres.log"), "-w", action, *extra)

    def start(self) -> None:
        self.pg_ctl("start", "-o", self.options)
        wait_until(lambda: listening(self.port), 30, f"the private PostgreSQL did not come up on {self.port}")

    def stop(self) -> None:
        """`pg_ctl stop -m fast`: open transactions are rolled back, every session is cut."""
        self.pg_ctl("stop", "-m", "fast")

    def restart(self, down_seconds: float = 3.0) -> None:
        self.stop()
        time.sleep(down_seconds)
        self.start()

    def crash(self) -> None:
        """`pg_ctl stop -m immediate`: every server process quits at once, nothing is shut down
        cleanly (as a crashed machine; the next start would run crash recovery)."""
        self.pg_ctl("stop", "-m", "immediate")


class PrivateReplicatedPostgres:
    """A primary and a streaming standby made from it with `pg_basebackup -R`, each on its own port.

    Replication is synchronous (`synchronous_standby_names = '*'`), as the `ha` overlay's
    CloudNativePG cluster: a commit is acknowledged once the standby has the WAL, so a promoted
    standby has every transaction a client was told committed."""

    def __init__(self, base: Path) -> None:
        self.primary = PrivatePostgres(base / "primary")
        self.standby = PrivatePostgres(base / "standby")

    def start(self) -> None:
        self.primary.init()
        self.primary.start()
        self.primary._run(
            "pg_basebackup",
            *("-h", "127.0.0.1", "-p", str(self.primary.port), "-U", "postgres"),
            *("-D", str(self.standby.data), "-R", "-X", "stream", "--no-sync"),
        )
        self.standby.start()
        self.primary.psql("ALTER SYSTEM SET synchronous_standby_names = '*'")
        self.primary.psql("SELECT pg_reload_conf()")
        wait_until(
            lambda: self.primary.psql("SELECT sync_state FROM pg_stat_replication").strip() == "sync",
            30,
            "the standby did not become a synchronous standby",
        )

    def url(self, database: str, *, attrs: str = "read-write") -> str:
        """A libpq multi-host URL naming both servers. With `target_session_attrs=read-write` libpq
        skips the one in recovery, so it finds whichever is the primary now; with `prefer-standby`
        it takes the standby while there is one."""
        hosts = "&".join(f"host=127.0.0.1:{server.port}" for server in (self.primary, self.standby))
        return f"postgresql://postgres@/{database}?{hosts}&target_session_attrs={attrs}"

    def promote(self) -> None:
        self.standby.pg_ctl("promote")

    def close(self) -> None:
        for server in (self.standby, self.primary):
            with contextlib.suppress(Exception):
                server.pg_ctl("stop", "-m", "immediate")


class PrivateInfra:
    """Both instances in one temporary directory; `close()` stops them and removes it."""

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="disputes-restarts-"))
        self.base.chmod(0o755)  # the postgres user must reach its directory inside
        self.rabbit = PrivateRabbit(self.base / "rabbitmq")
        (self.base / "postgres").mkdir()
        self.postgres = PrivatePostgres(self.base / "postgres")

    def start(self) -> None:
        self.postgres.init()
        self.postgres.start()
        self.rabbit.start()

    def close(self, keep: bool = False) -> None:
        with contextlib.suppress(Exception):
            self.rabbit.stop()
        with contextlib.suppress(Exception):
            self.postgres.stop()
        if not keep:
            shutil.rmtree(self.base, ignore_errors=True)
