"""issue 7: clocks count on the responsible tenant's working-day calendar

Revision ID: c4e6a8b0d2f3
Revises: 9e4b2c7d1a35
Create Date: 2026-11-22 10:00:00

The tenant's corrections to the official calendar (days worked or taken off locally), kept on each
clock row as they came with the case (common/clock_watch.py, OwnCalendar).
"""
from alembic import op

from common.migrations import add_own_calendar, drop_own_calendar

revision = 'c4e6a8b0d2f3'
down_revision = '9e4b2c7d1a35'
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_own_calendar(op, "mediation", "clocks")


def downgrade() -> None:
    drop_own_calendar(op, "mediation", "clocks")
