"""Make sure the local PostgreSQL and RabbitMQ are up, with this platform's database and vhost.

Starts them when they are installed but stopped (the commands of this machine kind), then creates
the database named in DATABASE_URL and the vhost named in AMQP_URI if they are missing.

    python -m ops.infra            # for the URLs in the environment
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time
from urllib.parse import unquote, urlparse

from common.config import settings


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _wait_for(host: str, port: int, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not _listening(host, port):
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not come up on {host}:{port} within {seconds:.0f}s")
        time.sleep(0.5)


def ensure_postgres(url: str) -> None:
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 5432
    if not _listening(host, port):
        versions = sorted(os.path.basename(p) for p in glob.glob("/etc/postgresql/*"))
        if not versions or not shutil.which("pg_ctlcluster"):
            raise SystemExit(f"PostgreSQL is not running on {host}:{port} and is not installed here")
        print(f"starting PostgreSQL {versions[-1]} ...", flush=True)
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"], check=True)
        _wait_for(host, port, "PostgreSQL")
    ensure_database(url)


def ensure_database(url: str) -> None:
    import psycopg2

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = psycopg2.connect(
        host=parsed.hostname,
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password,
        dbname="postgres",
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def ensure_rabbitmq(uri: str) -> None:
    parsed = urlparse(uri)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 5672
    if not _listening(host, port):
        if not shutil.which("rabbitmq-server"):
            raise SystemExit(f"RabbitMQ is not running on {host}:{port} and is not installed here")
        print("starting RabbitMQ ...", flush=True)
        subprocess.run(["rabbitmq-server", "-detached"], check=True)
        _wait_for(host, port, "RabbitMQ", seconds=120)
    vhost = unquote(parsed.path[1:]) if len(parsed.path) > 1 else "/"
    if vhost != "/" and shutil.which("rabbitmqctl"):
        ensure_vhost(vhost, parsed.username or "guest")


def ensure_vhost(vhost: str, user: str) -> None:
    listed = subprocess.run(["rabbitmqctl", "-q", "list_vhosts"], capture_output=True, text=True, timeout=60)
    if vhost in listed.stdout.split():
        return
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", vhost], check=True, timeout=60)
    subprocess.run(
        ["rabbitmqctl", "-q", "set_permissions", "-p", vhost, user, ".*", ".*", ".*"], check=True, timeout=60
    )


def ensure_all() -> None:
    config = settings()
    ensure_postgres(config.database_url)
    ensure_rabbitmq(config.amqp_uri)


if __name__ == "__main__":
    ensure_all()
    print("PostgreSQL and RabbitMQ are ready")
