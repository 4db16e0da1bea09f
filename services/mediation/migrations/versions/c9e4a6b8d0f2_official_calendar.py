"""issue 17: mediation's copy of the platform's official calendar

Revision ID: c9e4a6b8d0f2
Revises: d9571e93f756
Create Date: 2026-12-04 15:00:00

Applied from routing's official_calendar.changed.v1 (common/official_calendar.py).
"""
from alembic import op

from common.migrations import add_official_calendar, drop_official_calendar

revision = 'c9e4a6b8d0f2'
down_revision = 'd9571e93f756'
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_official_calendar(op, "mediation")


def downgrade() -> None:
    drop_official_calendar(op, "mediation")
