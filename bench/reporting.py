"""Reporting benchmark: subtree summaries over millions of synthetic complaints, and event ingest.

    .venv/bin/python -m bench.reporting [--rows 10000000] [--days 730] [--repeat 40] [--events 3000]
                                        [--from-complaints] [--processes 1,2] [--keep]

Runs in its own scratch database (`disputes_bench_report`, dropped and re-created first; only the
reporting schema is migrated) and vhost (`disputes_bench_report`). Steps:

1. Rollups for `--rows` synthetic complaints across the 诸暨市 tree (its 514 villages, data/divisions/)
   over `--days` days. By default the village rows are synthesized directly: for every village, day,
   metric and key, a count drawn around what `--rows` complaints give it on average (uniform on 0..2x
   the mean, zero rows left out), with the key spread of the complaint generator below; businesses per
   month. With `--from-complaints`, an UNLOGGED table of `--rows` complaints is filled by
   `generate_series` and turned into contributions in SQL as ingest would (the 1 M run's method; about
   ten times slower). Either way the township and city rows are the sums of the rows below, months
   the sums of days, years the sums of months, as `folding.fold` adds them; `reporting.units` is filled.
2. Time `views.read_figures` (what GET /api/v1/reports/summary runs) for the city 330681, the
   township 330681109 and the village 330681109290: all time, last month, and a period with days,
   months and a whole year in it; each `--repeat` times in a scoped transaction (the
   `disputes_scoped` role under row-level security, as the service does).
3. Ingest `--events` synthetic events (six per complaint: received, routed, acknowledgement sent,
   accepted, mediation opened, ended) through `folding.receive` (what every handler runs: one
   transaction per event with the inbox) with 1 and 4 threads, then fold what they appended.
4. The real service path: `nameko run` of the reporting service (`--processes`, e.g. 1 and 2 processes,
   `MAX_WORKERS` 10 each) on the scratch database and vhost; `--events` envelopes published to its
   queues; events/s from the first publish until every event is in the inbox, and until every delta
   is folded into the rollups (the service's own fold timer).

Prints the figures and writes them as JSON to bench/results/reporting-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import math
import os
import signal
import statistics
import subprocess
import sys
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
AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/disputes_bench_report"
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
    from ops.migrate import upgrade
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
INSERT INTO reporting.{table} (unit_code, {period}, metric, key, n, amount)
SELECT left(unit_code, :length), {period}, metric, key, sum(n), sum(amount) FROM reporting.{table}
WHERE length(unit_code) = :below GROUP BY 1, 2, 3, 4
"""

MONTHS = """
INSERT INTO reporting.monthly_rollups (unit_code, month, metric, key, n, amount)
SELECT unit_code, date_trunc('month', day::timestamp)::date, metric, key, sum(n), sum(amount)
FROM reporting.daily_rollups GROUP BY 1, 2, 3, 4
"""

YEARS = """
INSERT INTO reporting.yearly_rollups (unit_code, year, metric, key, n, amount)
SELECT unit_code, date_trunc('year', month::timestamp)::date, metric, key, sum(n), sum(amount)
FROM reporting.monthly_rollups GROUP BY 1, 2, 3, 4
"""

# villages x days x keys: each count uniform on 0..2*mean (its mean), rows in primary-key order
SYNTH_DAYS = """
INSERT INTO reporting.daily_rollups (unit_code, day, metric, key, n, amount)
SELECT u, day, metric, key, n, n * per FROM (
    SELECT v.u, d::date AS day, k.metric, k.key, floor(random() * (2 * k.mean + 1))::bigint AS n, k.per
    FROM unnest(CAST(:villages AS text[])) AS v(u)
    CROSS JOIN generate_series(CAST(:start AS date), CAST(:end AS date), interval '1 day') AS d
    CROSS JOIN unnest(CAST(:metrics AS text[]), CAST(:keys AS text[]), CAST(:means AS float8[]),
                      CAST(:pers AS numeric[])) AS k(metric, key, mean, per)
) g WHERE n > 0 ORDER BY 1, 2, 3, 4
"""

# businesses per village and month: the township's `--businesses` businesses
SYNTH_BUSINESSES = """
INSERT INTO reporting.monthly_rollups (unit_code, month, metric, key, n, amount)
SELECT u, month, 'business', key, n, 0 FROM (
    SELECT v.u, m::date AS month, 'B' || left(v.u, 9) || '-' || b || '|商户' AS key,
           floor(random() * (2 * :mean + 1))::bigint AS n
    FROM unnest(CAST(:villages AS text[])) AS v(u)
    CROSS JOIN generate_series(CAST(:start AS date), CAST(:end AS date), interval '1 month') AS m
    CROSS JOIN generate_series(0, :businesses - 1) AS b
) g WHERE n > 0
"""

DECISION_HOURS, MEDIATION_HOURS = 40.0, 300.0  # means of the exponential durations, as GENERATE
HOUR_BOUNDS = (0, 1, 2, 4, 8, 12, 24, 36, 48, 72, 96, 120, 168, 240, 336, 480, 720, 1080, 1440, 2160, 4320)


def key_spread() -> list[tuple[str, str, float, float]]:
    """(metric, key, contributions per complaint, amount per contribution): what GENERATE and
    CONTRIBUTIONS give on average, so synthesized rows have the same keys and proportions."""
    import math

    mediated = 0.9 * 0.8
    spread = [("volume", "total", 1.0, 1000.0), ("tier", "village", 1.0, 0.0), ("arrived", "routed", 1.0, 0.0)]
    spread += [("channel", c, 1 / len(CHANNELS), 0.0) for c in CHANNELS]
    spread += [("category", c, 1 / len(CATEGORIES), 0.0) for c in CATEGORIES]
    spread += [("status", c, 1 / len(STATUSES), 0.0) for c in STATUSES]
    spread += [("clock:acknowledgement", "met", 0.985, 0.0), ("clock:acknowledgement", "missed", 0.015, 0.0)]
    spread += [("decision", "accepted", 0.9, 0.0), ("decision", "refused", 0.1, 0.0)]
    spread += [("refusal", g, 0.1 / len(GROUNDS), 0.0) for g in GROUNDS]
    late = math.exp(-168 / DECISION_HOURS)
    spread += [("clock:acceptance", "met", 1 - late, 0.0), ("clock:acceptance", "missed", late, 0.0)]
    for metric, mean, share in (("duration:decision", DECISION_HOURS, 1.0), ("duration:mediation", MEDIATION_HOURS,
                                                                             mediated)):  # fmt: skip
        bounds = (*HOUR_BOUNDS, math.inf)
        for low, high in itertools.pairwise(bounds):
            p = math.exp(-low / mean) - (0.0 if high == math.inf else math.exp(-high / mean))
            key = "inf" if high == math.inf else str(high)
            middle = (low + (high if high != math.inf else low * 2)) / 2 * 3600
            spread.append((metric, key, share * p, middle))
    for outcome in sorted(set(OUTCOMES)):
        spread.append(("mediation", outcome, mediated * OUTCOMES.count(outcome) / len(OUTCOMES), 0.0))
    spread.append(("recovered", "agreed", mediated * 3 / 7, 1000.0))
    spread += [("clock:mediation", "met", mediated * 6 / 7, 0.0), ("clock:mediation", "missed", mediated / 7, 0.0)]
    spread += [("clock:tier_target", "met", mediated, 0.0), ("clock:end_notice", "met", mediated, 0.0)]
    spread += [("satisfaction", str(score), mediated * 0.4 / 5, float(score)) for score in range(1, 6)]
    spread += [("escalated_from:village", t, 0.06 / len(TRIGGERS), 0.0) for t in TRIGGERS]
    return sorted(spread)


def synthesize(conn, villages: list[str], rows: int, days: int, start, businesses: int) -> None:
    """The village rows directly (see the module's docstring), a chunk of villages per statement."""
    per_day = rows / (len(villages) * days)
    spread = [(m, k, share * per_day, per) for m, k, share, per in key_spread() if share * per_day >= 0.005]
    columns = {
        "metrics": [m for m, *_ in spread],
        "keys": [k for _, k, *_ in spread],
        "means": [mean for *_, mean, _ in spread],
        "pers": [Decimal(str(round(per, 2))) for *_, per in spread],
    }
    end = start + timedelta(days=days - 1)
    chunk = 32
    for i in range(0, len(villages), chunk):
        conn.execute(text(SYNTH_DAYS), {"villages": villages[i : i + chunk], "start": start, "end": end, **columns})
        print(f"  villages {min(i + chunk, len(villages))}/{len(villages)} ({time.strftime('%X')})", flush=True)
    months_ = (start.replace(day=1), end.replace(day=1))
    mean = rows / len(villages) / (days / 30.4) / businesses
    conn.execute(
        text(SYNTH_BUSINESSES),
        {"villages": villages, "start": months_[0], "end": months_[1], "mean": mean, "businesses": businesses},
    )


def generate(engine, rows: int, days: int, from_complaints: bool = False, businesses: int = 40) -> dict[str, float]:
    townships, villages = divisions()
    start = (datetime.now(UTC) - timedelta(days=days)).date()
    timings: dict[str, Any] = {"method": "complaints" if from_complaints else "synthesized rollups"}
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL work_mem = '1GB'"))
        began = time.perf_counter()
        if from_complaints:
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
            conn.execute(text("DROP TABLE bench_c"))
        else:
            synthesize(conn, sorted(v for v, _ in villages), rows, days, start, businesses)
        timings["villages_s"] = time.perf_counter() - began
        began = time.perf_counter()
        for length, below in ((9, 12), (6, 9)):
            conn.execute(text(UP.format(table="daily_rollups", period="day")), {"length": length, "below": below})
        conn.execute(text(MONTHS))
        if from_complaints:  # businesses went through the daily rows: kept per month only
            conn.execute(text("DELETE FROM reporting.daily_rollups WHERE metric = 'business'"))
        else:  # synthesized per village and month: add them up
            for length, below in ((9, 12), (6, 9)):
                conn.execute(
                    text(UP.format(table="monthly_rollups", period="month").replace("GROUP BY", "AND metric = "
                                                                                   "'business' GROUP BY")),
                    {"length": length, "below": below},
                )  # fmt: skip
        conn.execute(text(YEARS))
        timings["rollups_s"] = time.perf_counter() - began
        units = [(CITY, "诸暨市", "city", None)]
        units += [(c, n, "township", CITY) for c, n in townships]
        units += [(c, n, "village", c[:9]) for c, n in villages]
        conn.execute(
            text("INSERT INTO reporting.units (code, name, tier, parent_code) VALUES (:c, :n, :t, :p)"),
            [{"c": c, "n": n, "t": t, "p": p} for c, n, t, p in units],
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        began = time.perf_counter()
        for table in ("daily_rollups", "monthly_rollups", "yearly_rollups", "units"):
            conn.execute(text(f"VACUUM ANALYZE reporting.{table}"))
        timings["vacuum_s"] = time.perf_counter() - began
        for table in ("daily_rollups", "monthly_rollups", "yearly_rollups"):
            timings[f"{table}_rows"] = conn.execute(text(f"SELECT count(*) FROM reporting.{table}")).scalar()
            size = conn.execute(text(f"SELECT pg_total_relation_size('reporting.{table}')")).scalar()
            timings[f"{table}_mb"] = round(size / 2**20)
        timings["complaints"] = conn.execute(
            text("SELECT sum(n) FROM reporting.yearly_rollups WHERE unit_code = :c AND metric = 'volume'"), {"c": CITY}
        ).scalar()
    return timings


def scoped_figures(sessions, unit: str, first, last) -> dict[str, Any]:
    from common.db import SCOPED_ROLE
    from services.reporting import views

    with sessions() as session, session.begin():
        session.execute(
            text(
                f"SET TRANSACTION READ ONLY; SET LOCAL ROLE {SCOPED_ROLE}; "
                "SELECT set_config('app.scope_unit', :u, true)"
            ),
            {"u": unit},
        )
        return views.read_figures(session, unit, first, last)


def time_summaries(sessions, repeat: int, days: int) -> dict[str, Any]:
    from services.reporting.monthly import month_end, previous_month

    month = previous_month()
    today = datetime.now(UTC).date()
    # days at both ends, whole months and (over two years) a whole year between
    mixed = (today - timedelta(days=days - 17), today - timedelta(days=10))
    results = {}
    for label, first, last in (
        ("all time", None, None),
        (f"{month:%Y-%m}", month, month_end(month)),
        (f"{mixed[0]}..{mixed[1]}", *mixed),
    ):
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
                "p95_ms": round(samples[max(0, math.ceil(len(samples) * 0.95) - 1)], 1),
                "max_ms": round(samples[-1], 1),
            }
            print(f"summary {unit:12} {label:24} {results[f'{unit} {label}']}", flush=True)
    return results


def synthetic_events(count: int) -> list[Any]:
    """Six events per complaint (received, routed, acknowledgement clock stopped in time, accepted,
    mediation opened, ended with an agreement), complaints spread over the villages, in order."""
    from common.contracts import (
        ClockStopped,
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
            ClockStopped(
                complaint_id=cid, clock="acknowledgement", unit_code=code, tier="none", started_at=now,
                deadline=now + timedelta(hours=24), stopped_at=now, met=True,
            ),
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


PER_COMPLAINT = 6


def _handlers() -> dict[Any, str]:
    from common.contracts import (
        ClockStopped,
        ComplaintAccepted,
        ComplaintReceived,
        ComplaintRouted,
        MediationEnded,
        MediationTransitioned,
    )

    return {
        ComplaintReceived: "on_complaint_received",
        ComplaintRouted: "on_complaint_routed",
        ClockStopped: "on_clock_stopped",
        ComplaintAccepted: "on_complaint_accepted",
        MediationTransitioned: "on_mediation_transitioned",
        MediationEnded: "on_mediation_ended",
    }


def pending_deltas(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM reporting.rollup_deltas")).scalar()


def ingest_rate(engine, sessions, count: int, threads: int) -> dict[str, float]:
    """`folding.receive` in `threads` threads (a complaint's events in one thread, in order), then one
    fold of everything they appended."""
    from services.reporting import folding

    events = synthetic_events(count)
    lanes: list[list[Any]] = [[] for _ in range(threads)]
    for n in range(0, len(events), PER_COMPLAINT):
        lanes[(n // PER_COMPLAINT) % threads].extend(events[n : n + PER_COMPLAINT])

    def run(lane: list[Any]) -> None:
        for event in lane:
            with sessions() as session, session.begin():
                folding.receive(session, uuid.uuid4(), event, "bench")

    began = time.perf_counter()
    workers = [threading.Thread(target=run, args=(lane,)) for lane in lanes]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - began
    deltas = pending_deltas(engine)
    began = time.perf_counter()
    with sessions() as session, session.begin():
        folding.fold_all(session)
    return {
        "events_per_s": round(len(events) / elapsed, 1),
        "deltas": deltas,
        "fold_s": round(time.perf_counter() - began, 2),
    }


def service_rate(engine, database_url: str, amqp_uri: str, count: int, processes: int) -> dict[str, Any]:
    """The reporting service as it runs (`nameko run`, `processes` of them, MAX_WORKERS 10 each) on the
    scratch database and vhost: `count` envelopes published to its queues, timed until all are in the
    inbox and until the service's fold timer has folded every delta."""
    from kombu import Connection, Exchange

    from ops.run import SERVICES

    queues = {c.type: f"evt-{c.source}-{c.type}--reporting.{handler}" for c, handler in _handlers().items()}
    events = synthetic_events(count)
    with engine.begin() as conn:
        before = conn.execute(text("SELECT count(*) FROM reporting.inbox")).scalar()
    log_dir = ROOT / "var" / "bench-log"
    log_dir.mkdir(parents=True, exist_ok=True)
    nameko = str(Path(sys.executable).with_name("nameko"))
    env = {**os.environ, "DATABASE_URL": database_url, "AMQP_URI": amqp_uri, "MAX_WORKERS": "10",
           "LOG_LEVEL": "WARNING", "METRICS_PORT": "0", "OTEL_TRACES_EXPORTER": "none"}  # fmt: skip
    command = [nameko, "run", "--config", str(ROOT / "deploy" / "nameko.yaml"), SERVICES["reporting"]]
    running = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=(log_dir / f"reporting-{i}.log").open("ab"),
                         stderr=subprocess.STDOUT, start_new_session=True)
        for i in range(processes)
    ]  # fmt: skip
    try:
        with Connection(amqp_uri) as conn:
            deadline = time.monotonic() + 60
            channel = conn.channel()
            while True:  # until every process consumes every queue
                try:
                    consumers = [channel.queue_declare(queue=q, passive=True).consumer_count for q in queues.values()]
                except Exception:  # not declared yet
                    channel = conn.channel()
                    consumers = [0]
                if min(consumers) >= processes:
                    break
                if time.monotonic() > deadline or any(p.poll() is not None for p in running):
                    raise RuntimeError(f"the reporting service did not start; see {log_dir}")
                time.sleep(0.2)
            producer = conn.Producer(serializer="json")
            cpu_before = sum(_cpu_seconds(p.pid) for p in running)
            began = time.perf_counter()
            for event in events:
                producer.publish(event.envelope(), exchange=Exchange("", type="direct"), routing_key=queues[event.type])
            published = time.perf_counter() - began
        deadline = time.monotonic() + 600
        with engine.connect() as conn:
            while conn.execute(text("SELECT count(*) FROM reporting.inbox")).scalar() - before < len(events):
                if time.monotonic() > deadline:
                    raise RuntimeError("events not all handled after 10 minutes")
                conn.commit()
                time.sleep(0.05)
            handled = time.perf_counter() - began
            conn.commit()
            left_at_end = conn.execute(text("SELECT count(*) FROM reporting.rollup_deltas")).scalar()
            while conn.execute(text("SELECT count(*) FROM reporting.rollup_deltas")).scalar():
                if time.monotonic() > deadline:
                    raise RuntimeError("deltas not all folded after 10 minutes")
                conn.commit()
                time.sleep(0.05)
            folded = time.perf_counter() - began
        cpu = sum(_cpu_seconds(p.pid) for p in running) - cpu_before
    finally:
        for process in running:
            process.send_signal(signal.SIGTERM)
        for process in running:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    return {
        "processes": processes,
        "events": len(events),
        "publish_s": round(published, 2),
        "events_per_s": round(len(events) / handled, 1),
        "deltas_pending_when_all_handled": left_at_end,
        "all_folded_s": round(folded, 2),
        "events_per_s_folded": round(len(events) / folded, 1),
        # the service processes' own CPU (user + system) per event, the fold included
        "service_cpu_ms_per_event": round(cpu * 1000 / len(events), 2),
    }


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drop_database(url: str) -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from common.db import sqlalchemy_url

    admin = create_engine(make_url(sqlalchemy_url(url)).set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = make_url(sqlalchemy_url(url)).database
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--businesses", type=int, default=40, help="businesses per township (synthesized rows)")
    parser.add_argument("--from-complaints", action="store_true", help="generate complaint rows first (slow)")
    parser.add_argument("--processes", default="1,2", help="service processes to run, e.g. 1,2 (empty: none)")
    parser.add_argument("--threads", default="1,4", help="in-process ingest threads, e.g. 1,4 (empty: none)")
    parser.add_argument("--database-url", default=DATABASE_URL)
    parser.add_argument("--amqp-uri", default=AMQP_URI)
    parser.add_argument("--reuse", action="store_true", help="keep the scratch database's rollups (--keep before)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database afterwards")
    args = parser.parse_args()

    from common.db import make_engine

    if not args.reuse:
        prepare(args.database_url)
    engine = make_engine(args.database_url, pool_size=6)
    sessions = sessionmaker(engine, expire_on_commit=False)
    result: dict[str, Any] = {"rows": args.rows, "days": args.days, "started": datetime.now(UTC).isoformat()}
    try:
        if not args.reuse:
            result["generation"] = generate(engine, args.rows, args.days, args.from_complaints, args.businesses)
            print(f"generated {args.rows:,} complaints: {result['generation']}", flush=True)
        result["summary"] = time_summaries(sessions, args.repeat, args.days)
        result["ingest"] = {}
        for threads in [int(t) for t in args.threads.split(",") if t]:
            result["ingest"][f"{threads} threads"] = ingest_rate(engine, sessions, args.events, threads)
            print(f"folding.receive, {threads} thread(s): {result['ingest'][f'{threads} threads']}", flush=True)
        if args.processes:
            from tests.conftest import reset_vhost

            reset_vhost(args.amqp_uri)
        for processes in [int(p) for p in args.processes.split(",") if p]:
            figures = service_rate(engine, args.database_url, args.amqp_uri, args.events, processes)
            result["ingest"][f"service, {processes} process(es)"] = figures
            print(f"service, {processes} process(es): {figures}", flush=True)
    finally:
        engine.dispose()
        if not args.keep:
            drop_database(args.database_url)
    out = ROOT / "bench" / "results" / f"reporting-{datetime.now(UTC):%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
