"""issue 7: clock warning lights

Revision ID: 7c3a9e21f0b4
Revises: 5b1e7c4d9a20
Create Date: 2026-11-22 15:10:00

The watcher's columns on a clock (common/clock_watch.py): the colour last reported, the tenant's
yellow share, and when the colour next changes, with a partial index so a watcher pass reads only the
clocks due. Running clocks written before are due at once: the first pass sets their colour.
"""
from alembic import op

from common.migrations import add_clock_watch, drop_clock_watch

revision = '7c3a9e21f0b4'
down_revision = '5b1e7c4d9a20'
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_clock_watch(op, "intake", "clocks", running="status IN ('running', 'paused')")


def downgrade() -> None:
    drop_clock_watch(op, "intake", "clocks")
