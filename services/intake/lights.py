"""The clocks of a case, stored in `intake.clocks` (one row per kind, a `common.clock_watch.StoredClock`).

Intake starts two at receipt: the acknowledgement (24 hours, stopped when notification records the
acknowledgement message sent or delivered: met in time, late when quiet hours held it past) and the
acceptance decision (7 working days, Art 15, counted the Art 45 way on the official calendar; met when
the responsible unit accepts or refuses). When routing names the responsible unit, its tenant's
stricter limits, yellow share and working-day calendar apply (`apply_policy`). Rows carry a `status`
(running | paused | met | late); the watcher (`IntakeService.watch_clocks`) turns them yellow
and red through `next_check_at`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, object_session
from sqlalchemy.sql.elements import ColumnElement

from common import clock_watch, clocks, metrics, reference
from common.clock_watch import DEFAULT_YELLOW_SHARE, HeldClocks, Holder, held_clock
from common.clocks import DEFAULT_RULES, ClockKind, ClockRule
from common.contracts import ClockPolicy, ClockStopped, Unit
from common.workdays import local_date
from services.intake.models import ClockRow, ClockVerdict, Complaint, Outbox

RUNNING = "running"
PAUSED = "paused"
MET = "met"
LATE = "late"

STARTED_AT_RECEIPT = (ClockKind.ACKNOWLEDGEMENT, ClockKind.ACCEPTANCE)


def start(session: Session, complaint_id: uuid.UUID, kind: ClockKind, at: datetime) -> ClockRow:
    row = ClockRow(complaint_id=complaint_id, kind=kind.value, status=RUNNING)
    row.store(clocks.start_clock(DEFAULT_RULES[kind], at), datetime.now(UTC))
    session.add(row)
    return row


def stop(row: ClockRow, at: datetime, measured_for: Complaint | None = None) -> bool:
    """Stop a running clock at `at` (not before it started); False when it was no longer running.

    `measured_for` is the case whose commitment this was: the stop is measured and published
    (`clock_watch.stopped`); without it (a duplicate filing's clocks are given up, not met) nothing is."""
    if row.status != RUNNING:
        return False
    reported_red = row.colour == "red"
    stopped = clocks.stop(row.clock(), max(at, row.started_at))
    row.store(stopped, datetime.now(UTC))
    row.status = MET if stopped.met else LATE
    if measured_for is not None:
        # the acknowledgement is the platform's own commitment, before any unit is responsible
        tier = metrics.NO_TIER if row.kind == ClockKind.ACKNOWLEDGEMENT else measured_for.responsible_tier
        session = object_session(row)
        event = clock_watch.stopped(
            session,
            Outbox,
            row.complaint_id,
            stopped,
            unit_code=measured_for.responsible_unit_code or measured_for.incident_division_code,
            tier=tier or metrics.NO_TIER,
            breach_counted=reported_red,
        )
        record_verdict(session, event)  # here, not when the event comes back: one delivery less
    return True


def record_verdict(session: Session, event: ClockStopped) -> None:
    """A stopped clock's verdict (met or late) for the figures intake shows, when it is one of them."""
    figure = reference.REPORTED_CLOCKS.get(event.clock)
    if figure is None:
        return
    verdict = {
        "complaint_id": event.complaint_id,
        "figure": figure,
        "stopped_at": event.stopped_at,
        "stopped_on": local_date(event.stopped_at),
        "unit_code": event.unit_code,
        "met": event.met,
    }
    session.execute(insert(ClockVerdict).values(**verdict).on_conflict_do_nothing())


def apply_policy(rows: list[ClockRow], policy: ClockPolicy, now: datetime) -> None:
    """The responsible unit's tenant may be stricter than the defaults (never laxer): a running clock
    gets the shorter limit and the tenant's working-day calendar, counted from its start, and the
    tenant's yellow share."""
    limits = {
        ClockKind.ACKNOWLEDGEMENT: policy.acknowledgement_hours,
        ClockKind.ACCEPTANCE: policy.acceptance_working_days,
    }
    for row in rows:
        if row.status != RUNNING or ClockKind(row.kind) not in limits:
            continue
        default = DEFAULT_RULES[ClockKind(row.kind)]
        row.yellow_share = policy.yellow_share
        row.count_on(policy.working_days)
        # these two clocks are never paused nor extended: start them again from their start
        rule = ClockRule(default.kind, min(default.amount, limits[ClockKind(row.kind)]), default.unit)
        row.store(clocks.start_clock(rule, row.started_at, row.work_calendar()), now)


def refresh_deadline(session: Session, complaint_id: uuid.UUID) -> None:
    """Keep the case's `next_deadline` (the nearest deadline of its running clocks) for the case
    list's sort: after any clock of the case started, stopped or changed its limit."""
    session.flush()
    nearest = (
        select(func.min(ClockRow.deadline))
        .where(ClockRow.complaint_id == complaint_id, ClockRow.status == RUNNING)
        .scalar_subquery()
    )
    session.execute(update(Complaint).where(Complaint.id == complaint_id).values(next_deadline=nearest))


def find(rows: list[ClockRow], kind: ClockKind) -> ClockRow | None:
    return next((row for row in rows if row.kind == kind.value), None)


def views(rows: list[ClockRow], now: datetime, holder: dict[str, Any] | None) -> list[dict]:
    """The case's clocks as the case view shows them, held by the responsible unit (`holder`, None
    before routing), in the same shape as routing's and mediation's (`clock_watch.held_clock`)."""
    return [
        {
            **clocks.to_dict(
                row.clock(), now, yellow_share=row.yellow_share or DEFAULT_YELLOW_SHARE, calendar=row.work_calendar()
            ),
            "status": row.status,
            "unit": holder,
            "handler": None,
        }
        for row in rows
    ]


def held(session: Session, asked: HeldClocks, responsible: ColumnElement[bool], now: datetime) -> list[dict]:
    """The running clocks asked for of the cases `responsible` selects (the caller's own, not those
    it only views), the nearest deadline first."""
    query = asked.select(ClockRow, ClockRow.kind).join(Complaint, Complaint.id == ClockRow.complaint_id)
    found = session.execute(
        query.where(responsible).add_columns(
            Complaint.tracking_no,
            Complaint.responsible_unit_code,
            Complaint.responsible_unit_name,
            Complaint.responsible_tier,
        )
    )
    return [
        held_clock(
            row.complaint_id,
            row.clock(),
            now,
            unit=Unit(code=code, name=name or "", tier=tier or ""),
            calendar=row.work_calendar(),
            yellow_share=row.yellow_share,
            tracking_no=tracking_no,
        )
        for row, tracking_no, code, name, tier in found
    ]


def holders(session: Session, rows: list[ClockRow]) -> dict[uuid.UUID, Holder]:
    """Who the watcher tells about these clocks: the responsible unit (intake knows no handler)."""
    found = session.execute(
        select(
            Complaint.id, Complaint.responsible_unit_code, Complaint.responsible_unit_name, Complaint.responsible_tier
        ).where(Complaint.id.in_({row.complaint_id for row in rows}))
    )
    return {
        key: Holder(Unit(code=code, name=name or "", tier=tier or "") if code else None)
        for key, code, name, tier in found
    }


# running clocks by kind, colour, responsible tier and city, for the open-case gauge
_GROUPS = (
    ClockRow.kind,
    ClockRow.colour,
    Complaint.responsible_tier,
    func.substr(Complaint.responsible_unit_code, 1, 6),
)
OPEN_CLOCKS = (
    select(*_GROUPS, func.count())
    .join(Complaint, Complaint.id == ClockRow.complaint_id)
    .where(ClockRow.status.in_((RUNNING, PAUSED)))
    .group_by(*_GROUPS)
)
