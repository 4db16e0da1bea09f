"""issue 7: clock warning lights

Revision ID: 9e4b2c7d1a35
Revises: 5b7d1c2e9a40
Create Date: 2026-11-22 15:10:00

The watcher's columns on a clock (common/clock_watch.py): the colour last reported, the tenant's
yellow share, and when the colour next changes, with a partial index so a watcher pass reads only the
clocks due. Running clocks written before are due at once: the first pass sets their colour.
"""
from alembic import op

from common.migrations import add_clock_watch, drop_clock_watch

revision = '9e4b2c7d1a35'
down_revision = '5b7d1c2e9a40'
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_clock_watch(op, "mediation", "clocks", running="stopped_at IS NULL")


def downgrade() -> None:
    drop_clock_watch(op, "mediation", "clocks")
