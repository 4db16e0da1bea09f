"""Clock watcher benchmark: finding the clocks that change colour among a million open cases.

    .venv/bin/python -m bench.clock_watch [--cases 1000000] [--due 0,10,100,1000] [--repeat 5]

Builds intake's schema in its own database (`disputes_bench_clocks`, dropped and recreated), fills
it with `--cases` open, routed complaints, each with its acknowledgement and acceptance clocks
running (so twice as many clock rows), their next colour changes spread over the coming weeks the
way `common.clocks.next_change` spreads them. Then, for each `--due` count, makes that many clocks
due now and times one pass of the real watcher (`common.clock_watch.watch` over `intake.clocks`,
with the outbox writes of the events it publishes), and the plan PostgreSQL chose. Last, the
open-case gauge's count (`services.intake.lights.OPEN_CLOCKS`), which does read every open case,
and the clocks near breach the city holds (`GET /api/v1/clocks`: `services.intake.lights.held`,
yellow and red, the nearest 100), with every clock of those passes lit.

Target (issue 7): a pass costs in proportion to the clocks due, not to the open cases.
Figures: docs/performance.md, "Clock watcher".
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from common import clock_watch
from common.db import make_engine
from common.outbox import emit
from common.tenancy import Scope
from services.intake import complaints, lights
from services.intake.models import ClockRow, Outbox

DATABASE = "disputes_bench_clocks"


class BenchUnitOfWork:
    """What `clock_watch.watch` needs of a service's unit of work, without a nameko container."""

    def __init__(self, sessions: sessionmaker) -> None:
        self.sessions = sessions

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self.sessions() as session, session.begin():
            yield session

    def emit(self, session: Session, event) -> None:
        emit(session, Outbox, event, {})


def prepare(url: str) -> None:
    from ops.migrate import upgrade
    from tests.conftest import reset_database

    reset_database(url)
    upgrade(url, ["intake"])


FILL = """
INSERT INTO intake.complaints (id, tracking_no, channel, status, complainant, business,
    incident_division_code, category, summary, requests, responsible_unit_code, responsible_unit_name,
    responsible_tier, received_at, updated_at)
SELECT md5(i::text)::uuid, 'B' || i, 'web', 'routed', '{}'::jsonb, '{}'::jsonb, '330681101201', 'quality', 'bench',
    '{}', '330681101201', '村', 'village', now() - interval '1 day', now()
FROM generate_series(1, :n) AS i;
INSERT INTO intake.clocks (complaint_id, kind, unit, amount, added, started_at, deadline, status, colour,
    yellow_share, next_check_at)
SELECT md5(i::text)::uuid, k.kind, k.unit, k.amount, 0, now() - interval '1 day',
    now() + k.span * (1 + (i % 1000) / 1000.0), 'running', 'green', 0.6666666666666666,
    now() + interval '1 hour' + k.span * ((i % 1000) / 1000.0)
FROM generate_series(1, :n) AS i,
     (VALUES ('acknowledgement', 'hours', 24, interval '20 hours'),
             ('acceptance', 'working_days', 7, interval '9 days')) AS k(kind, unit, amount, span);
ANALYZE intake.complaints; ANALYZE intake.clocks;
"""


def make_due(engine, count: int) -> None:
    # a realistic due clock: its start and deadline put it past two thirds of its time now
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE intake.clocks SET started_at = now() - interval '20 hours', "
                "deadline = now() + interval '4 hours', next_check_at = now() - interval '1 second' "
                "WHERE (complaint_id, kind) IN (SELECT complaint_id, kind FROM intake.clocks "
                "WHERE kind = 'acknowledgement' AND colour = 'green' LIMIT :n)"
            ),
            {"n": count},
        )


def plan(engine) -> str:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "EXPLAIN SELECT * FROM intake.clocks WHERE next_check_at <= now() "
                "ORDER BY next_check_at LIMIT 500 FOR UPDATE SKIP LOCKED"
            )
        )
        return " / ".join(line.strip() for (line,) in rows if "Scan" in line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--due", default="0,10,100,1000")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    url = f"{args.server}/{DATABASE}"

    started = time.perf_counter()
    prepare(url)
    engine = make_engine(url, pool_size=2)
    with engine.begin() as conn:
        conn.execute(text(FILL), {"n": args.cases})
        clocks = conn.execute(text("SELECT count(*) FROM intake.clocks")).scalar()
    print(f"filled {args.cases:,} open cases, {clocks:,} running clocks in {time.perf_counter() - started:.1f} s")
    print(f"plan of a pass: {plan(engine)}")

    uow = BenchUnitOfWork(sessionmaker(engine, expire_on_commit=False))
    for due in (int(n) for n in args.due.split(",")):
        timings, told = [], 0
        for _ in range(args.repeat):
            make_due(engine, due)
            t0 = time.perf_counter()
            told = len(clock_watch.watch(uow, ClockRow, ClockRow.clock, lights.holders))
            timings.append((time.perf_counter() - t0) * 1000)
        print(
            f"due {due:>5}: pass median {statistics.median(timings):8.1f} ms, best {min(timings):8.1f} ms "
            f"({told} colour changes published per pass)"
        )

    gauge = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        with uow.transaction() as session:
            clock_watch.set_open_cases(session, lights.OPEN_CLOCKS)
        gauge.append((time.perf_counter() - t0) * 1000)
    print(f"open-case gauge recount: median {statistics.median(gauge):.0f} ms (reads every open case; every 30 s)")

    city = Scope(unit="330681")
    with engine.connect() as conn:
        lit = conn.execute(text("SELECT count(*) FROM intake.clocks WHERE colour <> 'green'")).scalar()
    listed, found = [], 0
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        with uow.transaction() as session:
            found = len(
                lights.held(
                    session, clock_watch.HeldClocks(), complaints.in_scope(city, with_viewers=False), datetime.now(UTC)
                )
            )
        listed.append((time.perf_counter() - t0) * 1000)
    print(f"clocks near breach of the city ({lit:,} lit): median {statistics.median(listed):.1f} ms for {found}")
    engine.dispose()


if __name__ == "__main__":
    main()
