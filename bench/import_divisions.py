"""Division import benchmark: the whole national table, as `import-divisions` loads it.

    .venv/bin/python -m bench.import_divisions [--folder ../shared/data/divisions] [--keep]

Creates a scratch database `disputes_bench_import` (dropped first, and again at the end unless
`--keep`), migrates the routing schema into it, then runs the real command line twice, each in a
child process of its own so the figures are the command's and nothing else's:

1. `python -m services.routing.registry import-divisions <folder>` into the empty table;
2. the same again over the loaded table (nothing changed: the re-import of a new edition).

For each run it prints the rows imported, the wall-clock seconds and the peak resident memory of
the process (`ru_maxrss` from `os.wait4`, i.e. `resource.getrusage` of that child). PostgreSQL's
own memory is not in the figure.
"""

from __future__ import annotations

import argparse
import os
import platform as pyplatform
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from common.db import sqlalchemy_url
from ops.infra import ensure_postgres
from ops.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/disputes_bench_import"
NATIONAL = ROOT.parent / "shared" / "data" / "divisions"


def _admin(url: str):
    return create_engine(make_url(sqlalchemy_url(url)).set(database="postgres"), isolation_level="AUTOCOMMIT")


def recreate(url: str, *, create: bool = True) -> None:
    name = make_url(sqlalchemy_url(url)).database
    admin = _admin(url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if create:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def run_import(url: str, folder: Path) -> tuple[int, float, float, float]:
    """Rows, wall seconds, peak RSS in MiB, CPU seconds of one import-divisions process."""
    env = dict(os.environ, DATABASE_URL=url)
    command = [sys.executable, "-m", "services.routing.registry", "import-divisions", str(folder)]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    output = process.stdout.read().decode() if process.stdout else ""
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"import-divisions failed with {process.returncode}: {output}")
    match = re.search(r"imported (\d+) divisions", output)
    rows = int(match.group(1)) if match else -1
    # ru_maxrss is in KiB on Linux
    return rows, seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.import_divisions")
    parser.add_argument("--folder", type=Path, default=NATIONAL, help="china-division CSV folder (default: national)")
    parser.add_argument("--database-url", default=DATABASE_URL)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database afterwards")
    args = parser.parse_args()

    ensure_postgres(args.database_url)
    recreate(args.database_url)
    try:
        upgrade(args.database_url, ["routing"])
        results = [("fresh import", *run_import(args.database_url, args.folder))]
        results.append(("re-import, unchanged", *run_import(args.database_url, args.folder)))
        engine = create_engine(sqlalchemy_url(args.database_url))
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT count(*) FROM routing.divisions")).scalar_one()
            size = conn.execute(text("SELECT pg_total_relation_size('routing.divisions')")).scalar_one()
        engine.dispose()
    finally:
        if not args.keep:
            recreate(args.database_url, create=False)

    print(f"division import: {args.folder}")
    machine = pyplatform.processor() or pyplatform.machine()
    print(f"machine: {machine}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, Python {sys.version.split()[0]}")
    print(f"{'run':<22} {'rows':>9} {'seconds':>8} {'peak RSS MiB':>13} {'CPU s':>6}")
    for name, rows, seconds, rss, cpu in results:
        print(f"{name:<22} {rows:>9} {seconds:>8.2f} {rss:>13.1f} {cpu:>6.2f}")
    print(f"stored: {stored} rows, table with indexes {size / 2**20:.0f} MiB")
    this = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"(this benchmark process itself peaked at {this:.0f} MiB)")


if __name__ == "__main__":
    main()
