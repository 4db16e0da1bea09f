"""issue 7: clocks count on the responsible tenant's working-day calendar

Revision ID: b3d5f7a9c1e2
Revises: 7c3a9e21f0b4
Create Date: 2026-11-22 10:00:00

The tenant's corrections to the official calendar (days worked or taken off locally), kept on each
clock row as they came with the case (common/clock_watch.py, OwnCalendar).
"""
from alembic import op

from common.migrations import add_own_calendar, drop_own_calendar

revision = 'b3d5f7a9c1e2'
down_revision = '7c3a9e21f0b4'
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_own_calendar(op, "intake", "clocks")


def downgrade() -> None:
    drop_own_calendar(op, "intake", "clocks")
