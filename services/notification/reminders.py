"""Reminders to an agency that has not acknowledged a case handed over to it: every
AGENCY_REMINDER_SECONDS, at most AGENCY_MAX_REMINDERS times, and once more when its acknowledgement
clock turns yellow; none once it acknowledged or the handover lapsed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from common import reference
from common.config import NotificationSettings
from common.contracts import CaseRoutingStep
from common.db import UnitOfWork
from services.notification import contacts, delivery, planning
from services.notification import rules as R
from services.notification.models import AgencyHandover, CaseContact

_SETTINGS = NotificationSettings()
AGENCY_REMINDER_SECONDS = _SETTINGS.agency_reminder_seconds
AGENCY_MAX_REMINDERS = _SETTINGS.agency_max_reminders
REMINDER_NAMESPACE = uuid.UUID("6f1d3c2a-8b7e-4f60-9a51-2c4d8e9f0a17")


@dataclass(frozen=True)
class AgencyReminder:
    """Raised by notification's own timer while an agency has not acknowledged a handover."""

    complaint_id: uuid.UUID
    agency_tenant: str
    reminder: int


def track_handover(session: Session, event: CaseRoutingStep) -> None:
    """A handover requested starts the reminders; acknowledged or lapsed, they stop."""
    tenant = event.agency_tenant or event.target
    if event.step == "agency_handover_requested" and tenant:
        first = delivery.now() + timedelta(seconds=AGENCY_REMINDER_SECONDS)
        session.execute(
            insert(AgencyHandover)
            .values(
                complaint_id=event.complaint_id,
                agency_tenant=tenant,
                requested_at=event.at,
                reminders=0,
                next_reminder_at=first,
            )
            .on_conflict_do_update(
                index_elements=[AgencyHandover.complaint_id, AgencyHandover.agency_tenant],
                set_={"requested_at": event.at, "acknowledged_at": None, "reminders": 0, "next_reminder_at": first},
            )
        )
    elif event.step == "agency_acknowledged" or event.step in reference.AGENCY_RELEASING_STEPS:  # no more reminders
        for row in session.scalars(
            select(AgencyHandover).where(
                AgencyHandover.complaint_id == event.complaint_id, AgencyHandover.acknowledged_at.is_(None)
            )
        ):
            if event.step == "agency_acknowledged":
                row.acknowledged_at = event.at
            row.next_reminder_at = None


def remind_due(db: UnitOfWork, session: Session) -> list[delivery.Claim]:
    """Record the reminders due now (the timer's); the messages claimed to be sent."""
    due: list[delivery.Claim] = []
    rows = session.scalars(
        select(AgencyHandover)
        .where(AgencyHandover.acknowledged_at.is_(None), AgencyHandover.next_reminder_at <= delivery.now())
        .order_by(AgencyHandover.next_reminder_at)
        .limit(delivery.BATCH)
        .with_for_update(skip_locked=True)
    ).all()
    for row in rows:
        due += _remind(db, session, row)
    return due


def remind_on_yellow(db: UnitOfWork, session: Session, complaint_id: uuid.UUID) -> list[delivery.Claim]:
    """The agency's acknowledgement clock turned yellow (routing's watcher): remind the agency now,
    as the timer's next reminder (one counter, the timer's next one a full interval later), unless
    the timer reminded it within the last half interval or its reminders are used up."""
    due: list[delivery.Claim] = []
    rows = session.scalars(
        select(AgencyHandover)
        .where(AgencyHandover.complaint_id == complaint_id, AgencyHandover.acknowledged_at.is_(None))
        .with_for_update()
    ).all()
    interval = timedelta(seconds=AGENCY_REMINDER_SECONDS)
    for row in rows:
        if row.next_reminder_at is None:  # used up, or the handover lapsed
            continue
        last_sent = row.next_reminder_at - interval if row.reminders else None
        if last_sent is not None and delivery.now() - last_sent < interval / 2:
            continue
        due += _remind(db, session, row)
    return due


def _remind(db: UnitOfWork, session: Session, row: AgencyHandover) -> list[delivery.Claim]:
    """Record the next reminder of an unacknowledged agency handover; the messages claimed to be sent."""
    row.reminders += 1
    more = row.reminders < AGENCY_MAX_REMINDERS
    row.next_reminder_at = delivery.now() + timedelta(seconds=AGENCY_REMINDER_SECONDS) if more else None
    reminder = AgencyReminder(row.complaint_id, row.agency_tenant, row.reminders)
    event_id = uuid.uuid5(REMINDER_NAMESPACE, f"{row.complaint_id}:{row.agency_tenant}:{row.reminders}")
    case = session.get(CaseContact, row.complaint_id)
    facts = contacts.facts(case) if case is not None else planning.CaseFacts(complaint_id=row.complaint_id)
    return delivery.record(db, session, event_id, R.AGENCY_REMINDER, reminder, facts)
