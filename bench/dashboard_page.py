"""The city dashboard over `--cases` cases: the gateway calls the page makes on opening, timed as the
browser makes them, cold and warm; and, when the console is built, the page's render in chromium.

    .venv/bin/python -m bench.dashboard_page [--cases 100000] [--repeat 20] [--user 330681] [--no-browser]
        [--reuse [--pg-dir DIR]]

Runs on a PostgreSQL cluster of its own (tests/private_infra.py, in var/bench-dashboard-pg or
`--pg-dir`; default settings but `fsync=off`: the shared server's 100 connections are taken by other
test runs) and its own vhost (`disputes_bench_dashboard`, re-created). Migrates every schema,
onboards the demo tenants, then fills the read models the dashboard reads with bulk SQL: intake's
cases, clocks and lights (bench/case_list.py's fill: `--cases` cases over the 514 villages of 诸暨市
and the past year), reporting's rollups for as many complaints (bench/reporting.py's synthesis) and
routing's early warnings (business warnings on credit codes of the cases, category warnings on
townships). Starts the whole platform on free ports and logs in as `--user`.

One page open is `page_calls()`: the calls of `web/console/src/views/DashboardView.vue`'s `load()`,
in the same order and concurrency, over at most six connections (chromium's limit per host on
HTTP/1.1). Cold: the first open after the platform started (new connections, the services' caches
empty, the unit names not yet known). Warm: `--repeat` opens after it. Prints the page's p50 / p95
and each call's. Then, with web/console/dist built (`make web`), opens `#/dashboard` `--repeat` times
in chromium and prints the time until its figures and charts are drawn.

Figures: docs/performance.md, "Dashboard". Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from bench import case_list, reporting
from common.db import make_engine
from ops.run import CONSOLE_BUILD, ROOT
from tests.conftest import DEMO_PASSWORD, platform_env, platform_running, reset_database, reset_vhost
from tests.private_infra import PrivatePostgres

PG_DIR = ROOT / "var" / "bench-dashboard-pg"
AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/disputes_bench_dashboard"
LOG_DIR = ROOT / "var" / "bench-dashboard-log"
CHROMIUM = "/usr/bin/chromium"
BROWSER_CONNECTIONS = 6  # chromium's connections per host over HTTP/1.1

# routing's early warnings: the busiest credit codes of case_list's fill (one case in 3,000 each),
# and a category in each of the first townships
WARNINGS = """
INSERT INTO routing.warnings (id, kind, key, township_code, city_code, count, threshold, window_days,
    raised_at, complaint_ids)
SELECT md5('w' || w.key || w.township)::uuid, w.kind, w.key, w.township, '330681', w.n, 5, 30,
    now() - w.k * interval '1 hour', w.ids
FROM (
    SELECT 'business' AS kind, business->>'credit_code' AS key,
           min(left(responsible_unit_code, 9)) AS township, count(*) AS n,
           jsonb_agg(id::text) AS ids, row_number() OVER (ORDER BY business->>'credit_code') AS k
    FROM intake.complaints
    WHERE business->>'credit_code' IN (SELECT DISTINCT business->>'credit_code' FROM intake.complaints
                                       ORDER BY 1 LIMIT :business)
    GROUP BY business->>'credit_code'
    UNION ALL
    SELECT 'category', min(category),
           left(responsible_unit_code, 9), count(*), jsonb_agg(id::text),
           100 + row_number() OVER (ORDER BY left(responsible_unit_code, 9))
    FROM intake.complaints
    WHERE category = 'price' AND received_at > now() - interval '30 days'
    GROUP BY left(responsible_unit_code, 9)
    ORDER BY 6 LIMIT :total
) w
"""


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def fill(url: str, cases: int, business_warnings: int, category_warnings: int) -> None:
    started = time.perf_counter()
    engine = make_engine(url, pool_size=1)
    codes = case_list.villages()
    with engine.begin() as conn:
        for statement in case_list.FILL.split(";\n"):
            if statement.strip():
                conn.execute(text(statement), {"n": cases, "villages": codes, "villages_n": len(codes)})
        conn.execute(text(WARNINGS), {"business": business_warnings, "total": business_warnings + category_warnings})
        conn.execute(text("ANALYZE routing.warnings"))
    print(f"intake: {cases} cases, routing: warnings, in {time.perf_counter() - started:.0f} s", flush=True)
    started = time.perf_counter()
    timings = reporting.generate(engine, cases, 365)
    print(f"reporting: rollups of {timings['complaints']} complaints in {time.perf_counter() - started:.0f} s")
    engine.dispose()


class Page:
    """One browser tab's calls: the bearer token, at most six connections, the unit names it has learned."""

    def __init__(self, url: str, token: str) -> None:
        self.client = httpx.AsyncClient(
            base_url=f"{url}/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            limits=httpx.Limits(max_connections=BROWSER_CONNECTIONS),
            timeout=60,
        )
        self.unit_names: set[str] = set()
        self.calls: list[tuple[str, float]] = []
        self.failed: list[str] = []  # the calls answered with an error (the page shows an error)

    async def get(self, path: str, name: str | None = None, **query: Any) -> httpx.Response:
        started = time.perf_counter()
        response = await self.client.get(path, params=query)
        self.calls.append((name or path, (time.perf_counter() - started) * 1000))
        if response.status_code >= 400:
            self.failed.append(f"{name or path}: {response.status_code}")
        return response

    async def learn_unit_names(self, codes: list[str]) -> None:
        unknown = sorted({c for c in codes if c} - self.unit_names)
        await asyncio.gather(*(self.get(f"/tenants/{code}", "/tenants/{code}") for code in unknown))
        self.unit_names.update(unknown)

    async def warnings(self) -> None:
        raised = (await self.get("/warnings")).json()
        await asyncio.gather(
            *(
                self.get("/complaints", "/complaints?q=<credit code>", q=w["key"], limit=1)
                for w in raised
                if w["kind"] == "business"
            )
        )

    async def summary(self) -> None:
        answer = await self.get("/reports/summary")
        if answer.status_code == 200:
            summary = answer.json()
            named = {code for code, name in {**summary["names"], summary["unit"]: summary["name"]}.items() if name}
            self.unit_names |= named  # the view keeps the names the summary gives
            escalation = [u["unit"] for u in summary["escalation"]["units"]]
            await self.learn_unit_names([summary["unit"], *summary["by_unit"], *escalation])

    async def page_calls(self) -> None:
        """DashboardView.vue's load() for the default period (all time): every call at once."""
        await asyncio.gather(
            self.summary(),
            self.get("/reports/trend"),
            self.get("/supervision-orders", overdue="true", limit=500),
            self.get("/complaints/lights"),
            self.warnings(),
        )

    async def open(self) -> tuple[float, list[tuple[str, float]], list[str]]:
        self.calls, self.failed = [], []
        started = time.perf_counter()
        await self.page_calls()
        return (time.perf_counter() - started) * 1000, self.calls, self.failed


async def measure_calls(url: str, user: str, password: str, repeat: int) -> None:
    async with httpx.AsyncClient(base_url=url) as client:
        answer = await client.post("/api/v1/auth/token", data={"username": user, "password": password})
        answer.raise_for_status()
    page = Page(url, answer.json()["access_token"])
    try:
        cold, cold_calls, cold_failed = await page.open()
        pages: list[float] = []
        calls: dict[str, list[float]] = defaultdict(list)
        failed: list[str] = []
        for _ in range(repeat):
            elapsed, timed, errors = await page.open()
            pages.append(elapsed)
            failed += errors
            for name, ms in timed:
                calls[name].append(ms)
    finally:
        await page.client.aclose()
    print(f"\ndashboard calls of {user} (all time), cold: {cold:.0f} ms; failed: {', '.join(cold_failed) or 'none'}")
    for name, ms in sorted(cold_calls, key=lambda c: -c[1])[:8]:
        print(f"  {name:<36} {ms:6.0f} ms")
    print(f"warm, {repeat} opens: p50 {statistics.median(pages):.0f} ms, p95 {percentile(pages, 0.95):.0f} ms")
    if failed:
        print(f"  failed calls: {len(failed)} ({', '.join(sorted(set(failed)))})")
    for name, times in sorted(calls.items()):
        p50, p95 = statistics.median(times), percentile(times, 0.95)
        print(f"  {name:<36} n={len(times):<4} p50 {p50:6.0f} ms  p95 {p95:6.0f} ms")


def measure_render(url: str, user: str, password: str, repeat: int) -> None:
    """The page in chromium: from navigating to `#/dashboard` until its figures and charts are drawn."""
    from playwright.sync_api import sync_playwright

    console = f"{url}/console/"
    renders: list[float] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 768}).new_page()
        page.goto(f"{console}#/cases")
        page.get_by_label("用户名").fill(user)
        page.get_by_label("密码").fill(password)
        page.get_by_role("button", name="登录", exact=True).click()
        page.locator("#who").wait_for()
        for _ in range(repeat):
            page.goto(f"{console}#/cases")
            page.locator("#case-table").wait_for()
            started = time.perf_counter()
            page.goto(f"{console}#/dashboard")
            page.locator("#overdue-orders").wait_for()
            page.locator(".figure-chart canvas").last.wait_for()
            page.wait_for_load_state("networkidle")
            renders.append((time.perf_counter() - started) * 1000)
        browser.close()
    p50, p95 = statistics.median(renders), percentile(renders, 0.95)
    print(f"\ndashboard render in chromium ({user}), {repeat} opens: p50 {p50:.0f} ms, p95 {p95:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--user", default="330681", help="who logs in (the city by default)")
    parser.add_argument("--business-warnings", type=int, default=8)
    parser.add_argument("--category-warnings", type=int, default=4)
    parser.add_argument("--reuse", action="store_true", help="keep the cluster an earlier run filled (migrated again)")
    parser.add_argument(
        "--pg-dir", type=Path, default=PG_DIR, help="the cluster's directory (another checkout's, with --reuse)"
    )
    parser.add_argument("--no-browser", action="store_true", help="only the calls, not the render in chromium")
    args = parser.parse_args()
    fresh = not (args.reuse and (args.pg_dir / "data").exists())
    if fresh:
        shutil.rmtree(args.pg_dir, ignore_errors=True)
    cluster = PrivatePostgres(args.pg_dir)
    if fresh:
        cluster.init()
    cluster.start()
    try:
        url = cluster.url("disputes_bench_dashboard")
        if fresh:
            reset_database(url)
        reset_vhost(AMQP_URI)
        env = platform_env(url, AMQP_URI)
        if fresh:
            fill(url, args.cases, args.business_warnings, args.category_warnings)
        with platform_running(env, LOG_DIR, timeout=120) as platform:
            print(f"platform up at {platform.url} ({datetime.now(UTC):%H:%M} UTC, load {os.getloadavg()[0]:.1f})")
            asyncio.run(measure_calls(platform.url, args.user, DEMO_PASSWORD, args.repeat))
            if not args.no_browser and CONSOLE_BUILD.exists():
                measure_render(platform.url, args.user, DEMO_PASSWORD, args.repeat)
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
