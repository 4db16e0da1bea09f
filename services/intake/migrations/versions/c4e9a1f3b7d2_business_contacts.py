"""issue 19: the business contacts the settle-first lane needs

Revision ID: c4e9a1f3b7d2
Revises: c16d4e8a2f31
Create Date: 2026-12-04 16:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'c4e9a1f3b7d2'
down_revision = 'c16d4e8a2f31'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "business_contacts",
        sa.Column("credit_code", sa.String(18), primary_key=True),
        sa.Column("phone", sa.String(20), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verified_by", sa.String(64), nullable=False),
        schema="intake",
    )


def downgrade() -> None:
    op.drop_table("business_contacts", schema="intake")
