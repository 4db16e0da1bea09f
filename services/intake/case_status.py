"""The case status follows the case (common/reference.py): intake keeps one status per case and
learns what happens after its own decision from the others' events.

- `mediation.transitioned.v1`: every transition carries mediation's new state; the state is kept
  (`mediation_state`) and mapped to the status (`reference.MEDIATION_STATUS`). `mediation.ended.v1`
  is not needed: an end is always a transition into an end state, published in the same transaction.
- `case.escalated.v1` (routing_events.record_escalation): `escalated` until the unit above accepts
  the case or mediation moves it on; routing's `ended_at_top` closes a case nobody accepted.

Events from different services arrive in any order: the latest by event time wins (`status_at`),
so a late event never overwrites a newer status. A status change adds a `status_changed` step.
Statuses a later event must not undo (a refusal, a duplicate, a report half, a draft) stay.

The yellow and red lights of the clocks routing and mediation run are mirrored in `case_lights`
(`clock.colour_changed.v1`, removed on `clock.stopped.v1`) for the case list's light filter.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from common import reference
from common.contracts import ClockColourChanged, ClockStopped, MediationTransitioned
from services.intake import lights
from services.intake.models import CaseLight, Complaint, HistoryEntry

# a later event never changes these: the case was not (or not as such) handled further
FINAL = frozenset(
    {reference.REFUSED, reference.DUPLICATE, reference.REPORT_RECEIVED, reference.DRAFT, reference.SETTLED}
)
# intake's own clocks: their lights are read from intake.clocks, not mirrored
OWN_CLOCKS = frozenset(kind.value for kind in lights.STARTED_AT_RECEIPT)


def set_status(session: Session, complaint: Complaint, status: str, at: datetime, **params: Any) -> bool:
    """Set the status as of `at` unless a newer one is already there; True when it changed."""
    if complaint.status in FINAL or (complaint.status_at is not None and at < complaint.status_at):
        return False
    complaint.status_at = at
    if status == complaint.status:
        return False
    previous, complaint.status = complaint.status, status
    complaint.updated_at = max(complaint.updated_at, at)
    session.add(
        HistoryEntry(
            complaint_id=complaint.id,
            at=at,
            step="status_changed",
            detail={"from": previous, "to": status, **params},
        )
    )
    return True


def record_mediation(session: Session, event: MediationTransitioned) -> None:
    complaint = session.get(Complaint, event.complaint_id, with_for_update=True)
    if complaint is None:
        raise LookupError(f"mediation moved unknown complaint {event.complaint_id}")
    if event.action in JUDICIAL_ACTIONS:
        record_judicial(session, complaint, event)
    if complaint.mediation_at is not None and event.at < complaint.mediation_at:
        return  # an older transition arriving late
    complaint.mediation_state, complaint.mediation_at = event.to_state, event.at
    status = reference.status_for_mediation(event.to_state)
    if status is not None:
        set_status(
            session, complaint, status, event.at, mediation_state=event.to_state, action=event.action, by="mediation"
        )


# 诉调对接: the application for judicial confirmation and the court's answer, by the transition's
# action (and the answer's `decision`); the case status stays the agreement's
JUDICIAL_ACTIONS: Final = frozenset({"apply_judicial_confirmation", "record_judicial_decision"})
# each status's history step, whose label (common/reference.py) the portal shows
JUDICIAL_STEPS: Final = {
    "applied": "judicial_confirmation_applied",
    "confirmed": "judicial_confirmed",
    "refused": "judicial_refused",
}


def record_judicial(session: Session, complaint: Complaint, event: MediationTransitioned) -> None:
    """A dated step for public tracking and `details.judicial` (what the portal shows: the court and
    its ruling number, never the reason, which may name people). An answer is never undone by a
    late-arriving application."""
    decision = event.detail.get("decision") if event.action == "record_judicial_decision" else None
    status = decision or "applied"
    if status not in JUDICIAL_STEPS:
        return
    step = JUDICIAL_STEPS[status]
    session.add(HistoryEntry(complaint_id=complaint.id, at=event.at, step=step, detail={"by": "mediation"}))
    earlier = complaint.details.get("judicial") or {}
    if decision is None and earlier.get("status") in ("confirmed", "refused"):
        return
    judicial = {
        **earlier,
        "status": status,
        "label": reference.HISTORY_STEPS[step][0],
        "court_name": event.detail.get("court_name") or earlier.get("court_name"),
        "at": event.at.isoformat(),
    }
    if decision:
        judicial["ruling_no"] = event.detail.get("ruling_no")
    complaint.details = {**complaint.details, "judicial": judicial}


def record_escalated(session: Session, complaint: Complaint, at: datetime) -> None:
    """Routing passed the case up (routing_events.record_escalation)."""
    complaint.escalated_at = complaint.escalated_at or at
    set_status(session, complaint, reference.ESCALATED, at, by="routing")


def record_ended_at_top(session: Session, complaint: Complaint, at: datetime) -> None:
    """Routing ended the case at the top tier with the remedy routes: a case nobody accepted is
    closed there; one mediated keeps mediation's outcome (terminated, failed)."""
    if complaint.decision is None:
        set_status(session, complaint, reference.CLOSED, at, by="routing")


def record_light(session: Session, event: ClockColourChanged) -> None:
    if event.clock in OWN_CLOCKS:
        return
    if event.colour not in ("yellow", "red"):
        session.execute(
            delete(CaseLight).where(CaseLight.complaint_id == event.complaint_id, CaseLight.clock == event.clock)
        )
        return
    row = {"complaint_id": event.complaint_id, "clock": event.clock, "colour": event.colour, "since": datetime.now(UTC)}
    session.execute(
        insert(CaseLight)
        .values(**row)
        .on_conflict_do_update(index_elements=["complaint_id", "clock"], set_={"colour": event.colour})
    )


def record_clock_stopped(session: Session, event: ClockStopped) -> None:
    """Another service's clock stopped (intake's own are recorded where intake stops them)."""
    lights.record_verdict(session, event)
    session.execute(
        delete(CaseLight).where(CaseLight.complaint_id == event.complaint_id, CaseLight.clock == event.clock)
    )
