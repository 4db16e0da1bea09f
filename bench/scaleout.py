"""Scale-out benchmark: routed complaints per second with 1, 2 and 3 processes of every service.

    .venv/bin/python -m bench.scaleout [--processes 1 2 3] [--seconds 15] [--concurrency 32] [--quorum]

For each count N it starts the whole platform with `SERVICE_PROCESSES` N of every service (one
gateway), in bench.submit's own database and vhost (dropped and re-created each round, under the
same advisory lock, so it never meets a bench.submit run), and runs bench.submit's closed loop:
`--concurrency` submitters for `--seconds`, then waits until every complaint is routed and every
queue is empty. It prints routed complaints per second (first received .. last routed), the cores
busy meanwhile and the CPU milliseconds per routed complaint, by service and in total, so the
scaling per core is known. `--quorum` runs with AMQP_QUORUM_QUEUES=1. Results go to
bench/results/scaleout-<timestamp>.json too. Figures and how to read them: docs/deploy.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import time
from datetime import datetime
from typing import Any

from bench.submit import (
    AMQP_URI,
    DATABASE_URL,
    LOG_DIR,
    RESULTS_DIR,
    CpuMeter,
    Payloads,
    _run,
    bench_env,
    check_alive,
    clear_logs,
    closed_loop,
    code_fingerprint,
    cpu_ms_per_item,
    exclusive_run,
    free_port,
    reset_database,
    reset_vhost,
    wait_quiet,
    wait_routed,
)
from ops.migrate import upgrade
from ops.run import SERVICES, Platform, load_tenants


def by_service(cpu_ms: dict[str, float]) -> dict[str, float]:
    """CPU ms per complaint with a service's processes added up (`routing`, `routing.2` -> routing)."""
    totals: dict[str, float] = {}
    for name, ms in cpu_ms.items():
        key = re.sub(r"\.\d+$", "", name)
        totals[key] = round(totals.get(key, 0.0) + ms, 1)
    return dict(sorted(totals.items(), key=lambda kv: -kv[1]))


def one_round(processes: int, args: argparse.Namespace, payloads: Payloads) -> dict[str, Any]:
    password = secrets.token_urlsafe(12)
    env = bench_env(password)
    env["SERVICE_PROCESSES"] = ",".join(f"{name}={processes}" for name in SERVICES)
    env["AMQP_QUORUM_QUEUES"] = "1" if args.quorum else "0"
    reset_database(DATABASE_URL)
    reset_vhost(AMQP_URI)
    upgrade(DATABASE_URL)
    load_tenants(DATABASE_URL, demo=True, password=password)
    clear_logs(LOG_DIR)
    platform = Platform(env=env, port=free_port(), log_dir=LOG_DIR)
    try:
        print(f"{processes} process(es) per service: starting ...", flush=True)
        platform.start()
        platform.wait_healthy(timeout=240)
        meter = CpuMeter(lambda: {name: p.pid for name, p in platform.processes.items()})
        _run(lambda: closed_loop(platform.url, payloads, args.concurrency, 3), 120)  # warm-up
        wait_quiet(AMQP_URI, args.routed_wait)
        check_alive(platform.processes)
        print(f"  closed loop, {args.concurrency} submitters for {args.seconds:g} s ...", flush=True)
        meter.start()
        phase = _run(lambda: closed_loop(platform.url, payloads, args.concurrency, args.seconds), args.seconds + 60)
        load = meter.stop()
        meter.start()
        routing = wait_routed(DATABASE_URL, phase.pop("ids"), args.routed_wait)
        wait_quiet(AMQP_URI, args.routed_wait)
        drain = meter.stop()
        check_alive(platform.processes)
    finally:
        platform.stop()
    cpu_ms = cpu_ms_per_item([load, drain], routing["routed"])
    return {
        "processes_per_service": processes,
        "accepted": phase["accepted"],
        "errors": phase["errors"],
        "routed": routing["routed"],
        "all_routed": routing["all_routed"],
        "routed_per_second": routing.get("routed_per_second"),
        "machine_busy_cores": load["machine_busy_cores"],
        "not_ours_cores": load["cores_by_process"].get("not ours (rest of the machine)"),
        "cpu_ms_per_routed_complaint": cpu_ms["total"],
        "cpu_ms_by_service": by_service({k: v for k, v in cpu_ms.items() if k != "total"}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scaleout")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--routed-wait", type=float, default=300)
    parser.add_argument("--quorum", action="store_true", help="AMQP_QUORUM_QUEUES=1")
    args = parser.parse_args()
    payloads = Payloads()
    started = datetime.now()
    results: dict[str, Any] = {
        "started_at": started.isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "code_fingerprint": code_fingerprint(),
        "parameters": vars(args),
        "rounds": [],
    }
    with exclusive_run(DATABASE_URL):
        for processes in args.processes:
            results["rounds"].append(one_round(processes, args, payloads))
            time.sleep(2)
    print(f"\nscale-out, {started:%Y-%m-%d %H:%M}, {results['cpus']} CPUs, code {results['code_fingerprint']}")
    print("processes/service  routed/s  routed  cores busy (not ours)  CPU ms/complaint  by service")
    for r in results["rounds"]:
        services = ", ".join(f"{k} {v:g}" for k, v in r["cpu_ms_by_service"].items() if v >= 0.5)
        print(
            f"{r['processes_per_service']:>17}  {r['routed_per_second'] or 0:>8}  {r['routed']:>6}"
            f"  {r['machine_busy_cores']:>10} ({r['not_ours_cores']})"
            f"  {r['cpu_ms_per_routed_complaint']:>16}  {services}"
        )
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"scaleout-{started:%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
