"""issue 17: intake's copy of the platform's official calendar

Revision ID: b8d3f5a7c9e1
Revises: efba1925e013
Create Date: 2026-12-04 15:00:00

Applied from routing's official_calendar.changed.v1 (common/official_calendar.py).
"""
from alembic import op

from common.migrations import add_official_calendar, drop_official_calendar

revision = 'b8d3f5a7c9e1'
down_revision = 'efba1925e013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_official_calendar(op, "intake")


def downgrade() -> None:
    drop_official_calendar(op, "intake")
