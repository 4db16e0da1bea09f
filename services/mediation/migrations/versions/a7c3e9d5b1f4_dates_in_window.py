"""issue 17: dates stored out of any plausible range are moved back into it

Revision ID: a7c3e9d5b1f4
Revises: c9e4a6b8d0f2
Create Date: 2026-12-04 15:00:00

Before the gateway bounded dates, a session could be scheduled at `9999-12-31T23:59:59-12:00`:
PostgreSQL stored it (year 10000 in UTC) but it cannot be read back, so the case and
`GET /api/v1/mediations` failed for every unit that sees it. Every date and time of the schema
outside 2000-01-01 .. ten years ahead is moved to the nearer edge (common.migrations.clamp_dates),
and the case's journal says what it was (`repair_date`), so its staff can set it right (a new
session). Not undone by the downgrade: the old values were unreadable.
"""
import json

import sqlalchemy as sa
from alembic import op

from common.migrations import clamp_dates

revision = 'a7c3e9d5b1f4'
down_revision = 'c9e4a6b8d0f2'
branch_labels = None
depends_on = None


def upgrade() -> None:
    for moved in clamp_dates(op, 'mediation'):
        if moved['complaint_id'] is None:
            continue
        op.get_bind().execute(
            sa.text(
                "INSERT INTO mediation.steps (complaint_id, at, actor, action, from_state, to_state, detail) "
                "SELECT complaint_id, now(), 'migration', 'repair_date', state, state, CAST(:detail AS jsonb) "
                "FROM mediation.cases WHERE complaint_id = :key"
            ),
            {
                'key': moved['complaint_id'],
                'detail': json.dumps({k: moved[k] for k in ('table', 'column', 'was', 'now')}),
            },
        )


def downgrade() -> None:
    pass
