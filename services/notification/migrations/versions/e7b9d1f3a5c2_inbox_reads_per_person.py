"""inbox items are read per person: a unit's item one colleague read stays unread for the others

Revision ID: e7b9d1f3a5c2
Revises: c4a7e2d91f3b
Create Date: 2026-11-22 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "e7b9d1f3a5c2"
down_revision = "c4a7e2d91f3b"
branch_labels = None
depends_on = None

S = "notification"


def upgrade() -> None:
    op.create_table(
        "inbox_reads",
        sa.Column("message_id", sa.Uuid(), sa.ForeignKey(f"{S}.messages.id", ondelete="CASCADE"), nullable=False),
        sa.Column("reader", sa.String(64), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("message_id", "reader"),
        schema=S,
    )
    # who read what so far stays read for that person
    op.execute(
        "INSERT INTO notification.inbox_reads (message_id, reader, read_at) "
        "SELECT id, read_by, read_at FROM notification.messages WHERE read_at IS NOT NULL AND read_by IS NOT NULL"
    )
    op.drop_column("messages", "read_by", schema=S)
    op.drop_column("messages", "read_at", schema=S)


def downgrade() -> None:
    op.add_column("messages", sa.Column("read_at", sa.DateTime(timezone=True)), schema=S)
    op.add_column("messages", sa.Column("read_by", sa.String(64)), schema=S)
    op.execute(
        "UPDATE notification.messages m SET read_at = r.read_at, read_by = r.reader "
        "FROM (SELECT DISTINCT ON (message_id) message_id, reader, read_at FROM notification.inbox_reads "
        "ORDER BY message_id, read_at) r WHERE r.message_id = m.id"
    )
    op.drop_table("inbox_reads", schema=S)
