"""issue 17: the platform's official calendar, and the years whose schedule was missing

Revision ID: a7c2e4f6b8d0
Revises: eacc1f2c618e
Create Date: 2026-12-04 15:00:00

`official_calendar`: a year per row, as the platform admin entered it (statutory holidays, bridging
days, make-up workdays); `official_calendar_notices`: a year whose schedule was missing on
1 December, said once.
"""
import sqlalchemy as sa
from alembic import op

from common.migrations import add_official_calendar, drop_official_calendar

revision = 'a7c2e4f6b8d0'
down_revision = 'eacc1f2c618e'
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_official_calendar(op, "routing")
    op.create_table(
        "official_calendar_notices",
        sa.Column("year", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("noticed_at", sa.DateTime(timezone=True), nullable=False),
        schema="routing",
    )


def downgrade() -> None:
    op.drop_table("official_calendar_notices", schema="routing")
    drop_official_calendar(op, "routing")
