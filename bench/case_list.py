"""Case list benchmark: pages of the staff console's case list over 100,000 cases in a city's subtree.

    .venv/bin/python -m bench.case_list [--cases 100000] [--repeat 30]

Builds intake's schema in its own database (`disputes_bench_caselist`, dropped and recreated) and
fills it directly (bulk INSERT ... SELECT from generate_series) with `--cases` complaints spread over
the 514 villages of 诸暨市 330681 (data/divisions/) and the past year: every status, channel and
category, Chinese names, phones, businesses and credit codes; an open case has its acknowledgement
and acceptance clocks (a tenth yellow, a twentieth red), a mediating one a mediation light now and
then (`case_lights`), one in twenty was passed up. Then times `services.intake.case_list.page` (what
GET /api/v1/complaints runs in intake: the count for X-Total-Count and one page of 50 rows with their
clocks and lights) in a scoped read-only transaction as the `disputes_scoped` role under row-level
security, like the service: `--repeat` times each for the city, the township 330681109 and a village,
with and without filters and searches. Prints p50 / p95 in milliseconds.

Figures: docs/performance.md, "Case list".
"""

from __future__ import annotations

import argparse
import csv
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from common.db import enter_scope, make_engine
from common.tenancy import CASE_ROLES, Scope
from services.intake import case_list

DATABASE = "disputes_bench_caselist"
CITY, TOWNSHIP, VILLAGE = "330681", "330681109", "330681109290"
VILLAGES = Path(__file__).resolve().parent.parent / "data" / "divisions" / "villages.csv"

FILL = """
INSERT INTO intake.complaints (id, tracking_no, channel, status, complainant, business,
    incident_division_code, category, summary, claim_amount, requests, responsible_unit_code,
    responsible_unit_name, responsible_tier, received_at, updated_at, status_at, complainant_phone,
    business_key, kind, flags, details, escalated_at)
SELECT md5(i::text)::uuid,
    'TS' || to_char(t.at, 'YYYYMMDD') || lpad(i::text, 6, '0'),
    (ARRAY['web','hotline','walk_in','email','agency'])[1 + i % 5],
    (ARRAY['routed','accepted','mediating','mediating','agreed','closed','refused','failed','terminated',
           'escalated','received','closed'])[1 + (i / 7) % 12],
    jsonb_build_object('name', (ARRAY['张','王','李','赵','钱','孙','周','吴','郑','冯'])[1 + i % 10]
        || (ARRAY['伟','芳','娜','敏','静','丽','强','磊','军','洋','勇','艳'])[1 + (i / 10) % 12],
        'phone', '139' || lpad((i * 7919 % 100000000)::text, 8, '0')),
    jsonb_build_object('name', (ARRAY['枫桥','诸暨','浣江','暨阳','陶朱'])[1 + i % 5] || '商行' || (i % 3000),
        'credit_code', '91330681MA2B' || lpad((i % 3000)::text, 5, '0') || 'X'),
    v.code,
    (ARRAY['product_quality','service_quality','after_sales','contract','price','online_shopping',
           'prepaid_card','food_safety','other'])[1 + i % 9],
    '商品质量问题，商家拒绝退货', (i % 5000) + 0.5, '{refund}', v.code, '村委会', 'village',
    t.at, t.at, t.at, '139' || lpad((i * 7919 % 100000000)::text, 8, '0'),
    'cc:91330681MA2B' || lpad((i % 3000)::text, 5, '0') || 'X', 'complaint', '[]'::jsonb, '{}'::jsonb,
    CASE WHEN i % 20 = 0 THEN t.at + interval '3 days' END
FROM generate_series(1, :n) AS i
CROSS JOIN LATERAL (SELECT now() - (i % 365) * interval '1 day' - (i % 86400) * interval '1 second' AS at) t
JOIN (SELECT code, row_number() OVER (ORDER BY code) - 1 AS k FROM unnest(CAST(:villages AS text[])) AS code) v
    ON v.k = i % :villages_n;

INSERT INTO intake.clocks (complaint_id, kind, unit, amount, added, started_at, deadline, status, colour,
    yellow_share, next_check_at)
SELECT c.id, k.kind, k.unit, k.amount, 0, c.received_at, c.received_at + k.span, 'running',
    CASE WHEN hashtext(c.tracking_no) % 20 = 0 THEN 'red' WHEN hashtext(c.tracking_no) % 10 = 0 THEN 'yellow'
         ELSE 'green' END,
    0.6666666666666666, c.received_at + k.span
FROM intake.complaints c,
     (VALUES ('acknowledgement', 'hours', 24, interval '20 hours'),
             ('acceptance', 'working_days', 7, interval '9 days')) AS k(kind, unit, amount, span)
WHERE c.status IN ('received', 'routed', 'escalated');

UPDATE intake.complaints c SET next_deadline = k.deadline
FROM (SELECT complaint_id, min(deadline) AS deadline FROM intake.clocks GROUP BY complaint_id) k
WHERE k.complaint_id = c.id;

INSERT INTO intake.case_lights (complaint_id, clock, colour, since)
SELECT id, 'mediation', CASE WHEN hashtext(tracking_no) % 2 = 0 THEN 'red' ELSE 'yellow' END, now()
FROM intake.complaints WHERE status = 'mediating' AND hashtext(tracking_no) % 8 = 0;

ANALYZE intake.complaints; ANALYZE intake.clocks; ANALYZE intake.case_lights;
"""

# (name, scope unit, query parameters as the gateway passes them)
CASES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("city, first page (newest first)", CITY, {}),
    ("city, page 40", CITY, {"offset": 2000}),
    ("city, nearest deadline first", CITY, {"sort": "deadline"}),
    ("city, status routed+escalated", CITY, {"status": ["routed", "escalated"]}),
    (
        "city, category + channel + this month",
        CITY,
        {"category": ["price"], "channel": ["hotline"], "received_from": None},
    ),
    ("city, red lights", CITY, {"light": ["red"]}),
    ("city, green lights", CITY, {"light": ["green"]}),
    ("city, escalated", CITY, {"escalated": True}),
    ("city, unit = township 330681109", CITY, {"unit": TOWNSHIP}),
    ("city, search name 王芳", CITY, {"q": "王芳"}),
    ("city, search phone tail", CITY, {"q": "7919"}),
    ("city, search case number prefix", CITY, {"q": "TS2026"}),
    ("city, search business 枫桥商行12", CITY, {"q": "枫桥商行12"}),
    ("city, search credit code", CITY, {"q": "91330681MA2B00012X"}),
    ("township, first page", TOWNSHIP, {}),
    ("village, first page", VILLAGE, {}),
)


def villages() -> list[str]:
    with VILLAGES.open(encoding="utf-8") as handle:
        return [row[0] for row in csv.reader(handle) if row and row[0].startswith(CITY)]


def prepare(url: str, cases: int) -> None:
    from ops.migrate import upgrade
    from tests.conftest import reset_database

    reset_database(url)
    upgrade(url, ["intake"])
    engine = make_engine(url, pool_size=1)
    codes = villages()
    started = time.perf_counter()
    with engine.begin() as conn:
        for statement in FILL.split(";\n"):
            if statement.strip():
                conn.execute(text(statement), {"n": cases, "villages": codes, "villages_n": len(codes)})
    print(f"filled {cases} cases over {len(codes)} villages in {time.perf_counter() - started:.1f} s")
    engine.dispose()


def timed_page(sessions, unit: str, raw: dict[str, Any]) -> tuple[float, int]:
    scope = Scope(unit=unit, user="bench", roles=CASE_ROLES)
    asked = case_list.parse(raw, scope)
    started = time.perf_counter()
    with sessions() as session, session.begin():
        enter_scope(session, scope)  # as intake's scoped read (UnitOfWork.scoped)
        total, _ = case_list.page(session, scope, asked, datetime.now(UTC))
    return (time.perf_counter() - started) * 1000, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--database-url", default=f"postgresql://postgres@127.0.0.1:5432/{DATABASE}")
    args = parser.parse_args()
    prepare(args.database_url, args.cases)
    engine = make_engine(args.database_url, pool_size=2)
    sessions = sessionmaker(engine)
    month_ago = (datetime.now(UTC).date().replace(day=1)).isoformat()
    print(f"{'list page (50 rows + count)':48} {'matches':>8} {'p50 ms':>8} {'p95 ms':>8}")
    for name, unit, raw in CASES:
        raw = {**raw, "received_from": month_ago} if "received_from" in raw else raw
        timed_page(sessions, unit, raw)  # warm the cache and the plan
        times, total = [], 0
        for _ in range(args.repeat):
            elapsed, total = timed_page(sessions, unit, raw)
            times.append(elapsed)
        p95 = statistics.quantiles(times, n=20)[-1] if len(times) >= 2 else times[0]
        print(f"{name:48} {total:>8} {statistics.median(times):>8.1f} {p95:>8.1f}", flush=True)
    engine.dispose()


if __name__ == "__main__":
    main()
