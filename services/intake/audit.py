"""The personal-data audit log: every read that returned a complainant's data unmasked is recorded
(who, when, which case, which fields, through which entrypoint), and tenant admins read the
accesses to the cases of their subtree."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from common.audit import MAX_ROWS, access_row
from common.db import UnitOfWork
from common.tenancy import Scope
from services.intake.complaints import in_scope
from services.intake.models import Complaint, PersonalDataAccess


def record_access(
    session: Session, scope: Scope, complaint_id: uuid.UUID, fields: list[str], endpoint: str
) -> PersonalDataAccess:
    row = PersonalDataAccess(
        at=datetime.now(UTC),
        username=scope.user,
        tenant=scope.tenant,
        complaint_id=complaint_id,
        fields=list(fields),
        endpoint=endpoint,
    )
    session.add(row)
    return row


def record_shown(db: UnitOfWork, scope: Scope, complaint_id: uuid.UUID, fields: list[str], endpoint: str) -> None:
    """Audit a read that showed `fields` unmasked (none: nothing to audit). Its own owner
    transaction, after the read-only scoped one: if the write fails, the caller gets no data."""
    if fields:
        with db.transaction() as session:
            record_access(session, scope, complaint_id, fields, endpoint)


def accesses(
    session: Session, scope: Scope | None, *, since: datetime | None, until: datetime | None, limit: int
) -> list[dict[str, Any]]:
    """Accesses to cases the caller's tenant is responsible for (its subtree; for an agency, the
    cases handed to it), newest first. Viewer rows do not count: a unit that passed a case up does
    not audit the unit that took it."""
    query = (
        select(PersonalDataAccess)
        .join(Complaint, Complaint.id == PersonalDataAccess.complaint_id)
        .where(in_scope(scope, with_viewers=False))
    )
    if since is not None:
        query = query.where(PersonalDataAccess.at >= since)
    if until is not None:
        query = query.where(PersonalDataAccess.at < until)
    query = query.order_by(PersonalDataAccess.at.desc(), PersonalDataAccess.id.desc()).limit(
        max(1, min(limit, MAX_ROWS))
    )
    return [access_row(row) for row in session.scalars(query)]
