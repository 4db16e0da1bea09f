"""Routing tree benchmark: the whole national division table in memory, and decisions over it.

    .venv/bin/python -m bench.routing_tree [--folder ../shared/data/divisions] [--decisions 300000] [--runs 5]
    (or .venv/bin/python bench/routing_tree.py ...)

1. Load: every division of the national table (names) with **every** city, township and village
   onboarded (the worst case for memory: the platform rolled out nationwide), built the way the
   service builds it (`services.routing.tree.DivisionTree`), from the CSV files. Wall-clock seconds,
   and the process's resident memory before and after (`/proc/self/statm`; peak from `ru_maxrss`).
2. Decisions: `DivisionTree.decide` on a fixed mix of 50,000 complaints at random villages across the
   country (business place, incident place, platform sellers, claim amounts over both thresholds,
   safety categories, consumers in another township, agency matters), in one process, one thread,
   `--runs` times (median and best: the machine is shared): the tree's per-place cache warm, as in a
   running service that has seen these places. Then once over 100,000 other complaints, at places
   mostly new to the tree (the cache cold: the cost of a place seen for the first time), and the
   resident memory with the cache filled.

Targets (issue 5): loaded in under 3 s and under 500 MB; at least 100,000 decisions per second.
Figures: docs/performance.md, "Routing".
"""

from __future__ import annotations

import argparse
import gc
import os
import platform as pyplatform
import random
import resource
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

if not __package__:  # run as a file (python bench/routing_tree.py): import from the repository
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.routing.rules import Facts
from services.routing.tree import PLACE_CACHE_SIZE, DivisionTree

DEFAULT_FOLDER = Path(__file__).resolve().parents[2] / "shared" / "data" / "divisions"


def rss_mib() -> float:
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def facts_mix(villages: list[str], n: int, seed: int = 5) -> list[Facts]:
    rng = random.Random(seed)
    mix = []
    for i in range(n):
        place = rng.choice(villages)
        other = rng.choice(villages)
        kind = i % 8
        if kind == 0:
            mix.append(Facts(place, business_division_code=place, claim_amount=Decimal("399")))
        elif kind == 1:
            mix.append(Facts(place, business_operating_division_code=place, claim_amount=Decimal("8000")))
        elif kind == 2:
            mix.append(Facts(place, business_registered_division_code=place, claim_amount=Decimal("90000")))
        elif kind == 3:
            mix.append(Facts(place, business_division_code=place, safety_related=True, category="food_safety"))
        elif kind == 4:
            mix.append(Facts(place, business_division_code=place, complainant_division_code=other))
        elif kind == 5:
            mix.append(Facts(place, is_platform_shop=True, business_operating_division_code=other))
        elif kind == 6:
            mix.append(Facts(place, business_division_code=place, agency_type="police", category="public_order"))
        else:
            mix.append(Facts(place))  # no business address: the incident place
    return mix


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.routing_tree")
    parser.add_argument("--folder", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument("--decisions", type=int, default=300_000, help="decisions per run")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    gc.collect()
    before = rss_mib()
    started, cpu = time.perf_counter(), time.process_time()
    tree = DivisionTree.from_csv(args.folder, onboard=[""])  # every unit onboarded
    tree.agencies = {code: {"police": f"{code}-police"} for code in tree.units if len(code) == 6}
    load_seconds, load_cpu = time.perf_counter() - started, time.process_time() - cpu
    gc.collect()
    after = rss_mib()
    villages = [code for code in tree.units if len(code) == 12]
    mix = facts_mix(villages, 50_000)
    fresh = facts_mix(villages, 100_000, seed=6)  # other places (a few repeat the first mix's)
    # warm the per-unit policy and per-place caches the way a running service has them
    for facts in mix:
        tree.decide(facts)
    gc.collect()  # the garbage of building the mixes is not the decisions' cost
    decide = tree.decide
    n = args.decisions
    walls, cpus = [], []
    for _ in range(args.runs):
        started, cpu = time.perf_counter(), time.process_time()
        for i in range(n):
            decide(mix[i % len(mix)])
        walls.append(n / (time.perf_counter() - started))
        cpus.append(n / (time.process_time() - cpu))
    gc.collect()
    started, cpu = time.perf_counter(), time.process_time()
    for facts in fresh:
        decide(facts)
    cold_wall, cold_cpu = len(fresh) / (time.perf_counter() - started), len(fresh) / (time.process_time() - cpu)
    del fresh
    gc.collect()
    warm = rss_mib()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"python {pyplatform.python_version()} on {os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.1f}")
    print(f"divisions: {len(tree.names):,}  onboarded units: {len(tree.units):,}  villages: {len(villages):,}")
    print(f"tree load: {load_seconds:.2f} s wall, {load_cpu:.2f} s CPU  (target < 3 s)")
    print(
        f"memory: {before:.0f} MiB before, {after:.0f} MiB after (+{after - before:.0f} MiB), "
        f"{warm:.0f} MiB after the decisions (place cache at most {PLACE_CACHE_SIZE:,}), peak {peak:.0f} MiB"
        "  (target < 500 MB)"
    )
    print(
        f"decisions, cache warm: {args.runs} x {n:,}: median {statistics.median(walls):,.0f}, "
        f"best {max(walls):,.0f}, worst {min(walls):,.0f} per second; median {statistics.median(cpus):,.0f}, "
        f"best {max(cpus):,.0f} per CPU-second  (target >= 100,000)"
    )
    print(
        f"decisions, places new to the cache: {100_000:,}: {cold_wall:,.0f} per second, {cold_cpu:,.0f} per CPU-second"
    )


if __name__ == "__main__":
    main()
