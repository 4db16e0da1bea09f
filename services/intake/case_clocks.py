"""The clocks of a case, stored in `intake.clocks` (one row per kind) and read back as
`common.clocks.Clock` values.

Intake starts two at receipt: the acknowledgement (24 hours, met when notification records the
acknowledgement message) and the acceptance decision (7 working days, Art 15, counted the Art 45
way on the official calendar; met when the responsible unit accepts or refuses). Rows carry a
`status` (running | paused | met | late) and an indexed `deadline`, so a watcher finds the due ones
with `WHERE status = 'running' AND deadline < now()`.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from common import clocks
from common.clocks import DEFAULT_RULES, Clock, ClockKind, ClockUnit
from services.intake.models import ClockRow

RUNNING = "running"
PAUSED = "paused"
MET = "met"
LATE = "late"

STARTED_AT_RECEIPT = (ClockKind.ACKNOWLEDGEMENT, ClockKind.ACCEPTANCE)


def start(session: Session, complaint_id: uuid.UUID, kind: ClockKind, at: datetime) -> ClockRow:
    clock = clocks.start_clock(DEFAULT_RULES[kind], at)
    row = ClockRow(
        complaint_id=complaint_id,
        kind=kind.value,
        unit=clock.unit.value,
        amount=clock.amount,
        added=0,
        started_at=clock.started_at,
        deadline=clock.deadline,
        status=RUNNING,
    )
    session.add(row)
    return row


def to_clock(row: ClockRow) -> Clock:
    return Clock(
        kind=ClockKind(row.kind),
        unit=ClockUnit(row.unit),
        amount=row.amount,
        started_at=row.started_at,
        deadline=row.deadline,
        paused_at=row.paused_at,
        paused_total=row.paused_total or timedelta(0),
        stopped_at=row.stopped_at,
        paused_counted=row.paused_counted or timedelta(0),
        added=row.added or 0,
    )


def stop(row: ClockRow, at: datetime) -> bool:
    """Stop a running clock at `at` (not before it started); False when it was no longer running."""
    if row.status != RUNNING:
        return False
    stopped = clocks.stop(to_clock(row), max(at, row.started_at))
    row.stopped_at = stopped.stopped_at
    row.status = MET if stopped.met else LATE
    return True


def find(rows: list[ClockRow], kind: ClockKind) -> ClockRow | None:
    return next((row for row in rows if row.kind == kind.value), None)


def views(rows: list[ClockRow], now: datetime) -> list[dict]:
    return [{**clocks.to_dict(to_clock(row), now), "status": row.status} for row in rows]
