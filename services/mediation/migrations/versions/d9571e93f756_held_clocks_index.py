"""issue 7: the clocks near breach (GET /api/v1/clocks) read the running clocks by colour and deadline

Revision ID: d9571e93f756
Revises: f1a3c5e7b9d2
Create Date: 2026-11-23 10:00:00

A partial index on the running clocks (common/clock_watch.py, held_index), so the list costs in
proportion to the running clocks of the colours asked, not to every clock ever kept.
"""
from alembic import op

from common.migrations import add_held_index, drop_held_index

revision = 'd9571e93f756'
down_revision = 'f1a3c5e7b9d2'
branch_labels = None
depends_on = None

TABLES = ("clocks",)


def upgrade() -> None:
    for table in TABLES:
        add_held_index(op, "mediation", table)


def downgrade() -> None:
    for table in TABLES:
        drop_held_index(op, "mediation", table)
