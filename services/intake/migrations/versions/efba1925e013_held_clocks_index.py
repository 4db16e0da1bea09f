"""issue 7: the clocks near breach (GET /api/v1/clocks) read the running clocks by colour and deadline

Revision ID: efba1925e013
Revises: b3d5f7a9c1e2
Create Date: 2026-11-23 10:00:00

A partial index on the running clocks (common/clock_watch.py, held_index), so the list costs in
proportion to the running clocks of the colours asked, not to every clock ever kept.
"""
from alembic import op

from common.migrations import add_held_index, drop_held_index

revision = 'efba1925e013'
down_revision = 'b3d5f7a9c1e2'
branch_labels = None
depends_on = None

TABLES = ("clocks",)


def upgrade() -> None:
    for table in TABLES:
        add_held_index(op, "intake", table)


def downgrade() -> None:
    for table in TABLES:
        drop_held_index(op, "intake", table)
