"""issue 16: staff follow up a failed message: resent as another message, or the party told another way

Revision ID: f16a3c5e7b92
Revises: e7b9d1f3a5c2
Create Date: 2026-12-04 15:10:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "f16a3c5e7b92"
down_revision = "e7b9d1f3a5c2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("messages", sa.Column("resent_from", sa.Uuid()), schema="notification")
    op.add_column("messages", sa.Column("resent_as", sa.Uuid()), schema="notification")
    op.add_column("messages", sa.Column("told_otherwise", postgresql.JSONB()), schema="notification")


def downgrade() -> None:
    for name in ("told_otherwise", "resent_as", "resent_from"):
        op.drop_column("messages", name, schema="notification")
