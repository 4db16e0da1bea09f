"""issue 19: the settle-first lane's outcome and the acceptance verdict on the complaint facts

Revision ID: e7b2c9d4f1a6
Revises: 5e2c8a4f1d37
Create Date: 2026-12-04 16:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'e7b2c9d4f1a6'
down_revision = '5e2c8a4f1d37'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("complaint_facts", sa.Column("settle_first", sa.String(10)), schema="reporting")
    op.add_column("complaint_facts", sa.Column("settle_first_on_time", sa.Boolean()), schema="reporting")
    op.add_column("complaint_facts", sa.Column("closed_at", sa.DateTime(timezone=True)), schema="reporting")
    op.add_column("complaint_facts", sa.Column("acceptance_met", sa.Boolean()), schema="reporting")


def downgrade() -> None:
    for column in ("acceptance_met", "closed_at", "settle_first_on_time", "settle_first"):
        op.drop_column("complaint_facts", column, schema="reporting")
