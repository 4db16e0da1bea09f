"""The dashboard page in the browser: how long from opening `#/dashboard` until its figures and
charts are drawn, and how long each API call the page makes takes (as the browser saw it).

    .venv/bin/python -m bench.dashboard_page --url http://127.0.0.1:8000 [--user 330681] [--repeat 10]

Runs against a platform that is up (`make run`) and holds the data to measure (bench/reporting.py's
rollups, complaints filed for the case list); logs in as `--user` (the demo password), opens the
dashboard `--repeat` times in a fresh page on /usr/bin/chromium at 1366x768 and prints p50 / p95 of
the render time and of each call. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict

from playwright.sync_api import sync_playwright

from tests.conftest import DEMO_PASSWORD

CHROMIUM = "/usr/bin/chromium"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="the platform's base URL")
    parser.add_argument("--user", default="330681", help="who logs in (the city by default)")
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    console = f"{args.url.rstrip('/')}/console/"
    renders: list[float] = []
    calls: dict[str, list[float]] = defaultdict(list)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 768})
        page = context.new_page()
        page.goto(f"{console}#/cases")
        page.get_by_label("用户名").fill(args.user)
        page.get_by_label("密码").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="登录", exact=True).click()
        page.locator("#who").wait_for()

        def timed(response) -> None:  # each API call's time from request to the end of its answer
            if "/api/v1/" in response.url:
                timing = response.request.timing
                path = response.url.split("/api/v1", 1)[1].split("?", 1)[0]
                calls[path].append(timing["responseEnd"] - timing["requestStart"])

        page.on("response", timed)
        for _ in range(args.repeat):
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
    print(f"dashboard render ({args.user}), ms: p50 {p50:.0f}, p95 {p95:.0f}")
    for path, times in sorted(calls.items()):
        p50, p95 = statistics.median(times), percentile(times, 0.95)
        print(f"  {path:<40} n={len(times):<3} p50 {p50:6.0f} ms  p95 {p95:6.0f} ms")


if __name__ == "__main__":
    main()
