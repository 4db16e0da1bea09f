"""Reporting benchmark: subtree summaries over millions of synthetic complaints, and event ingest.

    .venv/bin/python -m bench.reporting [--rows 10000000] [--days 730] [--repeat 40] [--events 3000]

Runs in its own scratch database (`disputes_bench_report`, dropped and re-created first; only the
reporting schema is migrated). Steps:

1. Generate `--rows` synthetic complaints across the 诸暨市 tree (its 514 villages, data/divisions/)
   spread over `--days` days, with channel, category, status, business, decision and its duration,
   mediation outcome and duration, money recovered, call-back score, clocks: an UNLOGGED scratch table
   filled by `generate_series` in PostgreSQL.
2. Turn them into the daily and monthly rollups as ingest would (per village, then township and city
   by summing the rows below; months by summing days), in SQL, and fill `reporting.units`.
   Synthetic complaints are not written to `complaint_facts` (no unit figure reads it).
3. Time `queries.read_figures` (what GET /api/v1/reports/summary runs) for the city 330681, the
   township 330681109 and the village 330681109290, all time and one month, each `--repeat` times in
   a scoped transaction (the `disputes_scoped` role under row-level security, as the service does).
4. Ingest `--events` synthetic events through `ingest.consume` (one transaction per event with the
   inbox, like a handler) into the same tables: events per second with 1 and 4 threads.

Prints the figures and writes them as JSON to bench/results/reporting-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/disputes_bench_report"
CITY, TOWNSHIP, VILLAGE = "330681", "330681109", "330681109290"

CHANNELS = ["web", "hotline", "walk_in", "email", "agency"]
CATEGORIES = [
    "product_quality", "service_quality", "price", "contract", "false_advertising", "safety",
    "after_sales", "prepaid_card", "online_shopping", "food", "other",
]  # fmt: skip
STATUSES = ["routed", "accepted", "refused", "mediating", "agreed", "performed", "terminated", "withdrawn"]
GROUNDS = ["not_within_remit", "already_handled", "not_consumer_dispute", "time_barred", "other_legal_ground"]
OUTCOMES = ["agreement", "agreement", "agreement", "failed", "withdrawn", "consent_refused", "expired"]
TRIGGERS = ["tier_target_expired", "mediation_failed", "staff_request"]


def divisions() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    with open(ROOT / "data" / "divisions" / "streets.csv", encoding="utf-8") as f:
        townships = [(r["code"], r["name"]) for r in csv.DictReader(f) if r["code"].startswith(CITY)]
    with open(ROOT / "data" / "divisions" / "villages.csv", encoding="utf-8") as f:
        villages = [(r["code"], r["name"]) for r in csv.DictReader(f) if r["code"].startswith(CITY)]
    return townships, villages


def prepare(url: str) -> None:
    from common.migrations import upgrade
    from tests.conftest import reset_database

    reset_database(url)
    upgrade(url, ["reporting"])


GENERATE = """
CREATE UNLOGGED TABLE bench_c AS
SELECT u, rd, ch, cat, st, biz, claim, ack_ok, dec_h, accepted, ground, med, outcome, med_h, score,
       rd + (dec_h / 24)::int AS dec_day, rd + ((dec_h + med_h) / 24)::int AS end_day,
       CASE WHEN esc < 0.06 THEN (esc * 50)::int ELSE NULL END AS trig
FROM (
    SELECT (:villages)[1 + floor(random() * :nv)::int] AS u,
           (:start)::date + floor(random() * :days)::int AS rd,
           floor(random() * 5)::int AS ch,
           floor(random() * 11)::int AS cat,
           floor(random() * 8)::int AS st,
           floor(random() * 40)::int AS biz,
           round((random() * 2000)::numeric, 2) AS claim,
           random() < 0.985 AS ack_ok,
           -ln(1 - random()) * 40 AS dec_h,
           random() < 0.9 AS accepted,
           floor(random() * 5)::int AS ground,
           random() < 0.8 AS med,
           floor(random() * 7)::int AS outcome,
           -ln(1 - random()) * 300 AS med_h,
           CASE WHEN random() < 0.4 THEN 1 + floor(random() * 5)::int END AS score,
           random() AS esc
    FROM generate_series(1, :rows)
) g
"""

BOUNDS = "ARRAY[0,1,2,4,8,12,24,36,48,72,96,120,168,240,336,480,720,1080,1440,2160,4320]::float8[]"
BUCKET = f"coalesce(({BOUNDS})[width_bucket({{h}}, {BOUNDS}) + 1]::int::text, 'inf')"

CONTRIBUTIONS = f"""
INSERT INTO reporting.daily_rollups (unit_code, day, metric, key, n, amount)
SELECT u, day, metric, key, count(*), sum(amount) FROM (
    SELECT u, rd AS day, 'volume' AS metric, 'total' AS key, claim AS amount FROM bench_c
    UNION ALL SELECT u, rd, 'channel', (:channels)[ch + 1], 0 FROM bench_c
    UNION ALL SELECT u, rd, 'category', (:categories)[cat + 1], 0 FROM bench_c
    UNION ALL SELECT u, rd, 'status', (:statuses)[st + 1], 0 FROM bench_c
    UNION ALL SELECT u, rd, 'tier', 'village', 0 FROM bench_c
    UNION ALL SELECT u, date_trunc('month', rd)::date, 'business', 'B' || left(u, 9) || '-' || biz || '|商户', 0
              FROM bench_c
    UNION ALL SELECT u, rd, 'clock:acknowledgement', CASE WHEN ack_ok THEN 'met' ELSE 'missed' END, 0 FROM bench_c
    UNION ALL SELECT u, rd, 'arrived', 'routed', 0 FROM bench_c
    UNION ALL SELECT u, dec_day, 'decision', CASE WHEN accepted THEN 'accepted' ELSE 'refused' END, 0 FROM bench_c
    UNION ALL SELECT u, dec_day, 'refusal', (:grounds)[ground + 1], 0 FROM bench_c WHERE NOT accepted
    UNION ALL SELECT u, dec_day, 'clock:acceptance', CASE WHEN dec_h < 168 THEN 'met' ELSE 'missed' END, 0
              FROM bench_c
    UNION ALL SELECT u, dec_day, 'duration:decision', {BUCKET.format(h="dec_h")}, (dec_h * 3600)::numeric
              FROM bench_c
    UNION ALL SELECT u, end_day, 'mediation', (:outcomes)[outcome + 1], 0 FROM bench_c WHERE accepted AND med
    UNION ALL SELECT u, end_day, 'recovered', 'agreed', claim FROM bench_c WHERE accepted AND med AND outcome < 3
    UNION ALL SELECT u, end_day, 'clock:mediation', CASE WHEN outcome = 6 THEN 'missed' ELSE 'met' END, 0
              FROM bench_c WHERE accepted AND med
    UNION ALL SELECT u, end_day, 'clock:tier_target', 'met', 0 FROM bench_c WHERE accepted AND med
    UNION ALL SELECT u, end_day, 'clock:end_notice', 'met', 0 FROM bench_c WHERE accepted AND med
    UNION ALL SELECT u, end_day, 'duration:mediation', {BUCKET.format(h="med_h")}, (med_h * 3600)::numeric
              FROM bench_c WHERE accepted AND med
    UNION ALL SELECT u, end_day, 'satisfaction', score::text, score FROM bench_c
              WHERE accepted AND med AND score IS NOT NULL
    UNION ALL SELECT u, end_day, 'escalated_from:village', (:triggers)[trig % 3 + 1], 0 FROM bench_c
              WHERE trig IS NOT NULL
) c GROUP BY u, day, metric, key
"""

UP = """
INSERT INTO reporting.daily_rollups (unit_code, day, metric, key, n, amount)
SELECT left(unit_code, :length), day, metric, key, sum(n), sum(amount) FROM reporting.daily_rollups
WHERE length(unit_code) = :below GROUP BY 1, 2, 3, 4
"""


MONTHS = """
INSERT INTO reporting.monthly_rollups (unit_code, month, metric, key, n, amount)
SELECT unit_code, date_trunc('month', day)::date, metric, key, sum(n), sum(amount) FROM reporting.daily_rollups
GROUP BY 1, 2, 3, 4
"""


def generate(engine, rows: int, days: int) -> dict[str, float]:
    townships, villages = divisions()
    start = (datetime.now(UTC) - timedelta(days=days)).date()
    timings = {}
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL work_mem = '256MB'"))
        began = time.perf_counter()
        conn.execute(
            text(GENERATE),
            {"villages": [v for v, _ in villages], "nv": len(villages), "start": start, "days": days, "rows": rows},
        )
        timings["generate_s"] = time.perf_counter() - began
        began = time.perf_counter()
        conn.execute(
            text(CONTRIBUTIONS),
            {
                "channels": CHANNELS,
                "categories": CATEGORIES,
                "statuses": STATUSES,
                "grounds": GROUNDS,
                "outcomes": OUTCOMES,
                "triggers": TRIGGERS,
            },
        )
        conn.execute(text(UP), {"length": 9, "below": 12})
        conn.execute(text(UP), {"length": 6, "below": 9})
        conn.execute(text(MONTHS))
        conn.execute(text("DELETE FROM reporting.daily_rollups WHERE metric = 'business'"))  # kept per month only
        timings["rollups_s"] = time.perf_counter() - began
        units = [(CITY, "诸暨市", "city", None)]
        units += [(c, n, "township", CITY) for c, n in townships]
        units += [(c, n, "village", c[:9]) for c, n in villages]
        conn.execute(
            text("INSERT INTO reporting.units (code, name, tier, parent_code) VALUES (:c, :n, :t, :p)"),
            [{"c": c, "n": n, "t": t, "p": p} for c, n, t, p in units],
        )
        conn.execute(text("DROP TABLE bench_c"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("daily_rollups", "monthly_rollups"):
            conn.execute(text(f"VACUUM ANALYZE reporting.{table}"))
            timings[f"{table}_rows"] = conn.execute(text(f"SELECT count(*) FROM reporting.{table}")).scalar()
            size = conn.execute(text(f"SELECT pg_total_relation_size('reporting.{table}')")).scalar()
            timings[f"{table}_mb"] = round(size / 2**20)
    return timings


def scoped_figures(sessions, unit: str, first, last) -> dict[str, Any]:
    from common.db import SCOPED_ROLE
    from services.reporting import queries

    with sessions() as session, session.begin():
        session.execute(
            text(
                f"SET TRANSACTION READ ONLY; SET LOCAL ROLE {SCOPED_ROLE}; "
                "SELECT set_config('app.scope_unit', :u, true)"
            ),
            {"u": unit},
        )
        return queries.read_figures(session, unit, first, last)


def time_summaries(sessions, repeat: int) -> dict[str, Any]:
    from services.reporting.monthly import month_end, previous_month

    month = previous_month()
    results = {}
    for label, first, last in (("all time", None, None), (f"{month:%Y-%m}", month, month_end(month))):
        for unit in (CITY, TOWNSHIP, VILLAGE):
            scoped_figures(sessions, unit, first, last)  # warm
            samples = []
            for _ in range(repeat):
                began = time.perf_counter()
                figures = scoped_figures(sessions, unit, first, last)
                samples.append((time.perf_counter() - began) * 1000)
            samples.sort()
            results[f"{unit} {label}"] = {
                "total": figures["total"],
                "p50_ms": round(statistics.median(samples), 1),
                "p95_ms": round(samples[max(0, int(len(samples) * 0.95) - 1)], 1),
                "max_ms": round(samples[-1], 1),
            }
    return results


def synthetic_events(count: int) -> list[Any]:
    from common.contracts import (
        ComplaintAccepted,
        ComplaintReceived,
        ComplaintRouted,
        MediationEnded,
        MediationTransitioned,
        Unit,
    )

    _, villages = divisions()
    events: list[Any] = []
    now = datetime.now(UTC)
    i = 0
    while len(events) < count:
        code = villages[i % len(villages)][0]
        unit = Unit(code=code, name="v", tier="village")
        cid = uuid.uuid4()
        person = {"complainant_name": "某", "complainant_phone": "13800000000"}
        events += [
            ComplaintReceived(
                complaint_id=cid, tracking_no="T", channel="web", received_at=now, category="product_quality",
                claim_amount=Decimal("100"), incident_division_code=code, business_name="店", **person,
            ),
            ComplaintRouted(complaint_id=cid, unit=unit, rule="r", decided_at=now),
            ComplaintAccepted(
                complaint_id=cid, tracking_no="T", unit=unit, accepted_at=now, accepted_by="c",
                category="product_quality", business_name="店", **person,
            ),
            MediationTransitioned(
                complaint_id=cid, unit=unit, action="open", from_state="", to_state="awaiting_consent",
                actor="s", at=now,
            ),
            MediationEnded(complaint_id=cid, unit=unit, outcome="agreement", recovered_amount=Decimal("50"),
                           ended_at=now),
        ]  # fmt: skip
        i += 1
    return events[:count]


def ingest_rate(sessions, count: int, threads: int) -> float:
    from common.outbox import first_delivery
    from services.reporting import ingest
    from services.reporting.models import Inbox

    events = synthetic_events(count)
    # a complaint's events stay in one thread, in order (a mixed order is correct too, but retries)
    lanes: list[list[Any]] = [[] for _ in range(threads)]
    for n in range(0, len(events), 5):
        lanes[(n // 5) % threads].extend(events[n : n + 5])

    def run(lane: list[Any]) -> None:
        for event in lane:
            event_id = uuid.uuid4()
            with sessions() as session, session.begin():
                if first_delivery(session, Inbox, event_id, "bench"):
                    ingest.consume(session, event_id, event)

    began = time.perf_counter()
    workers = [threading.Thread(target=run, args=(lane,)) for lane in lanes]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return len(events) / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--database-url", default=DATABASE_URL)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database afterwards")
    args = parser.parse_args()

    from common.db import make_engine

    prepare(args.database_url)
    engine = make_engine(args.database_url, pool_size=6)
    sessions = sessionmaker(engine, expire_on_commit=False)
    result: dict[str, Any] = {"rows": args.rows, "days": args.days, "started": datetime.now(UTC).isoformat()}
    try:
        result["generation"] = generate(engine, args.rows, args.days)
        print(f"generated {args.rows:,} complaints: {result['generation']}", flush=True)
        result["summary"] = time_summaries(sessions, args.repeat)
        for name, figures in result["summary"].items():
            print(f"summary {name:24} {figures}", flush=True)
        result["ingest_events_per_s"] = {
            str(threads): round(ingest_rate(sessions, args.events, threads), 1) for threads in (1, 4)
        }
        print(f"ingest events/s by threads: {result['ingest_events_per_s']}", flush=True)
    finally:
        engine.dispose()
        if not args.keep:
            from sqlalchemy import create_engine
            from sqlalchemy.engine import make_url

            from common.db import sqlalchemy_url

            admin = create_engine(make_url(sqlalchemy_url(args.database_url)).set(database="postgres"),
                                  isolation_level="AUTOCOMMIT")  # fmt: skip
            name = make_url(sqlalchemy_url(args.database_url)).database
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    out = ROOT / "bench" / "results" / f"reporting-{datetime.now(UTC):%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2))
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
