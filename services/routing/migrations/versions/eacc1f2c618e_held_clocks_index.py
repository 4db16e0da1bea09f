"""issue 7: the clocks near breach (GET /api/v1/clocks) read the running clocks by colour and deadline

Revision ID: eacc1f2c618e
Revises: 4f2a9c6e1b73
Create Date: 2026-11-23 10:00:00

A partial index on the running clocks (common/clock_watch.py, held_index), so the list costs in
proportion to the running clocks of the colours asked, not to every clock ever kept.
"""
from alembic import op

from common.migrations import add_held_index, drop_held_index

revision = 'eacc1f2c618e'
down_revision = '4f2a9c6e1b73'
branch_labels = None
depends_on = None

TABLES = ("tier_clocks", "case_clocks")


def upgrade() -> None:
    for table in TABLES:
        add_held_index(op, "routing", table)


def downgrade() -> None:
    for table in TABLES:
        drop_held_index(op, "routing", table)
