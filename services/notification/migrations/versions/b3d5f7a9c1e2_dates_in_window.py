"""issue 17: dates stored out of any plausible range are moved back into it

Revision ID: b3d5f7a9c1e2
Revises: f16a3c5e7b92
Create Date: 2026-12-04 15:00:00

A signed delivery report could carry a time before year 1 in UTC (`0001-01-01T00:00:00+14:00`),
stored but not readable back. Every date and time of the schema outside 2000-01-01 .. ten years
ahead is moved to the nearer edge (common.migrations.clamp_dates). Not undone by the downgrade.
"""
from alembic import op

from common.migrations import clamp_dates

revision = 'b3d5f7a9c1e2'
down_revision = 'f16a3c5e7b92'
branch_labels = None
depends_on = None


def upgrade() -> None:
    clamp_dates(op, 'notification')


def downgrade() -> None:
    pass
