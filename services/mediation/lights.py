"""Mediation's clocks as the clock watcher (common/clock_watch.py) needs them, who holds each case,
and the running clocks counted for the open-case gauge, and the clocks a caller's units hold."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from common.clock_watch import HeldClocks, Holder, held_clock
from common.contracts import Unit
from common.tenancy import Scope, scope_clause
from services.mediation.models import Case, ClockRow


def holders(session: Session, rows: list[ClockRow]) -> dict[uuid.UUID, Holder]:
    """The case's unit and its mediator (the handler told of yellow; red also goes to the supervisor)."""
    found = session.execute(
        select(Case.complaint_id, Case.unit_code, Case.unit_name, Case.unit_tier, Case.mediator).where(
            Case.complaint_id.in_({row.complaint_id for row in rows})
        )
    )
    return {
        key: Holder(Unit(code=code, name=name, tier=tier), handler=mediator)
        for key, code, name, tier, mediator in found
    }


# running clocks by kind, colour, the case's tier and city, for the open-case gauge
_GROUPS = (ClockRow.kind, ClockRow.colour, Case.unit_tier, func.substr(Case.unit_code, 1, 6))
OPEN_CLOCKS = (
    select(*_GROUPS, func.count())
    .join(Case, Case.complaint_id == ClockRow.complaint_id)
    .where(ClockRow.stopped_at.is_(None))
    .group_by(*_GROUPS)
)


def held(session: Session, scope: Scope, asked: HeldClocks, now: datetime) -> list[dict]:
    """The running (or paused) clocks asked for of the cases the caller's units handle (not those
    they only view), the nearest deadline first."""
    query = asked.select(ClockRow, ClockRow.kind).join(Case, Case.complaint_id == ClockRow.complaint_id)
    found = session.execute(
        query.where(scope_clause(Case.unit_code, scope)).add_columns(
            Case.unit_code, Case.unit_name, Case.unit_tier, Case.tracking_no, Case.mediator
        )
    )
    return [
        _held(row, Unit(code=code, name=name, tier=tier), tracking_no, mediator, now)
        for row, code, name, tier, tracking_no, mediator in found
    ]


def of_case(session: Session, visible: ColumnElement[bool], key: uuid.UUID, now: datetime) -> list[dict]:
    """Every clock of the case, stopped ones too; none when the caller does not see it."""
    case = session.scalar(select(Case).where(Case.complaint_id == key, visible))
    if case is None:
        return []
    unit = Unit(code=case.unit_code, name=case.unit_name, tier=case.unit_tier)
    return [_held(row, unit, case.tracking_no, case.mediator, now) for row in case.clocks]


def _held(row: ClockRow, unit: Unit, tracking_no: str, mediator: str | None, now: datetime) -> dict:
    return held_clock(
        row.complaint_id,
        row.clock(),
        now,
        unit=unit,
        calendar=row.work_calendar(),
        yellow_share=row.yellow_share,
        tracking_no=tracking_no,
        handler=mediator,
    )
