"""What the clock watcher (common/clock_watch.py) needs from mediation: who holds each case, and the
running clocks counted for the open-case gauge."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from common.clock_watch import Holder
from common.contracts import Unit
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
