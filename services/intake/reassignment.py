"""Applying routing's `case.reassigned.v1` to the case record: the new responsible unit, and a
`reassigned` step in the history saying from where, to where, why and on whose action.

Events may arrive out of order (retries, several workers): a reassignment of a case whose routing
intake has not applied yet must not be overwritten by that older decision, so it is refused with
`NotRoutedYet` and the handler's retry policy brings it back once `complaint.routed.v1` is in. A
reassignment away from a unit that is no longer responsible (a later move already applied) is
recorded in the history but changes nothing.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from common.contracts import CaseReassigned
from services.intake.models import Complaint, HistoryEntry

REASSIGNED = "reassigned"


class NotRoutedYet(RuntimeError):
    """The case has no responsible unit yet: retry after `complaint.routed.v1` was applied."""


def record_reassignment(session: Session, event: CaseReassigned) -> bool:
    """Apply the move; True when the responsible unit changed."""
    complaint = session.get(Complaint, event.complaint_id, with_for_update=True)
    if complaint is None:
        raise LookupError(f"routing reassigned unknown complaint {event.complaint_id}")
    if complaint.responsible_unit_code is None:
        raise NotRoutedYet(f"complaint {event.complaint_id} is not routed yet; the reassignment waits for it")
    applies = complaint.responsible_unit_code == event.from_unit.code
    if applies:
        complaint.responsible_unit_code = event.to_unit.code
        complaint.responsible_unit_name = event.to_unit.name
        complaint.responsible_tier = event.to_unit.tier
        complaint.updated_at = max(complaint.updated_at, event.at)
    detail = {
        "from": event.from_unit.model_dump(),
        "to": event.to_unit.model_dump(),
        "reason": event.reason,
        "actor": event.actor,
    }
    if not applies:
        detail["superseded"] = True  # the case had already moved on: history only
    session.add(HistoryEntry(complaint_id=complaint.id, at=event.at, step=REASSIGNED, detail=detail))
    return applies
