"""Container probes and start order for orchestrators (deploy/kubernetes, docker-compose.yml).

    python -m ops.probes ping SERVICE [--database]   # 0 when SERVICE answers its `ping` RPC
    python -m ops.probes migrated [--wait SECONDS]   # 0 when every schema is at its head revision

`ping` without `--database` is a liveness check: the process consumes and answers, whatever the
database does (restarting it would not bring the database back). With `--database` it is the
readiness check docker-compose's healthcheck makes. `migrated --wait` is what a service's init
container runs so it starts only after the migration Job has finished.
"""

from __future__ import annotations

import argparse
import time

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from common.config import settings
from common.db import make_engine
from ops.migrate import COMPONENTS, alembic_config


def ping(service: str, *, database: bool, timeout: float) -> bool:
    from nameko.standalone.rpc import ClusterRpcProxy

    proxy = ClusterRpcProxy({"AMQP_URI": settings().amqp_uri}, timeout=timeout)
    rpc = proxy.start()
    try:
        answer = getattr(rpc, service).ping()
    finally:
        proxy.stop()
    return bool(answer.get("database")) or not database


def behind(database_url: str) -> list[str]:
    """The components whose schema is not at its head revision (all of them when unreachable)."""
    engine = make_engine(database_url, pool_size=1)
    late = []
    try:
        with engine.connect() as connection:
            for component in COMPONENTS:
                heads = set(ScriptDirectory.from_config(alembic_config(component)).get_heads())
                context = MigrationContext.configure(connection, opts={"version_table_schema": component})
                if set(context.get_current_heads()) != heads:
                    late.append(component)
    finally:
        engine.dispose()
    return late


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m ops.probes")
    sub = parser.add_subparsers(dest="command", required=True)
    ping_parser = sub.add_parser("ping", help="the service answers its ping RPC")
    ping_parser.add_argument("service")
    ping_parser.add_argument("--database", action="store_true", help="and reaches its database")
    ping_parser.add_argument("--timeout", type=float, default=5)
    migrated = sub.add_parser("migrated", help="every schema is at its head revision")
    migrated.add_argument("--wait", type=float, default=0, help="seconds to keep checking")
    args = parser.parse_args()
    if args.command == "ping":
        raise SystemExit(0 if ping(args.service, database=args.database, timeout=args.timeout) else 1)
    deadline = time.monotonic() + args.wait
    while True:
        try:
            late = behind(settings().database_url)
        except Exception as exc:  # the database not up yet is one more reason to wait
            late = [repr(exc)]
        if not late or time.monotonic() >= deadline:
            break
        time.sleep(3)
    if late:
        raise SystemExit(f"not migrated: {', '.join(late)}")
    print("every schema is at head")


if __name__ == "__main__":
    main()
