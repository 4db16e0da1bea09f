"""delivery: rules, channels, states, case contacts, tenant overrides, agency handovers

Revision ID: c4a7e2d91f3b
Revises: 8eb270b320b4
Create Date: 2026-11-30 10:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "c4a7e2d91f3b"
down_revision = "8eb270b320b4"
branch_labels = None
depends_on = None

S = "notification"


def upgrade() -> None:
    op.add_column("messages", sa.Column("event_type", sa.String(80), nullable=False, server_default=""), schema=S)
    op.add_column("messages", sa.Column("unit_code", sa.String(64)), schema=S)
    op.add_column("messages", sa.Column("recipient_key", sa.String(120)), schema=S)
    op.execute("UPDATE notification.messages SET recipient_key = recipient_role")
    op.alter_column("messages", "recipient_key", nullable=False, schema=S)
    op.add_column("messages", sa.Column("subject", sa.Text()), schema=S)
    op.add_column("messages", sa.Column("payload", postgresql.JSONB(astext_type=sa.Text())), schema=S)
    op.add_column(
        "messages", sa.Column("time_critical", sa.Boolean(), nullable=False, server_default=sa.false()), schema=S
    )
    op.add_column("messages", sa.Column("next_attempt_at", sa.DateTime(timezone=True)), schema=S)
    op.add_column("messages", sa.Column("delivered_at", sa.DateTime(timezone=True)), schema=S)
    op.add_column("messages", sa.Column("failed_at", sa.DateTime(timezone=True)), schema=S)
    op.add_column("messages", sa.Column("read_at", sa.DateTime(timezone=True)), schema=S)
    op.add_column("messages", sa.Column("read_by", sa.String(64)), schema=S)
    op.alter_column("messages", "complaint_id", nullable=True, schema=S)
    op.drop_constraint("messages_event_id_template_recipient_role_key", "messages", schema=S)
    op.create_unique_constraint(
        "uq_messages_event_recipient", "messages", ["event_id", "recipient_key", "template", "channel"], schema=S
    )
    op.create_index(
        "ix_messages_due", "messages", ["next_attempt_at"], schema=S, postgresql_where=sa.text("state = 'queued'")
    )
    op.create_index(
        "ix_messages_inbox",
        "messages",
        ["recipient_address", "created_at"],
        schema=S,
        postgresql_where=sa.text("channel = 'inbox'"),
    )
    op.create_table(
        "cases",
        sa.Column("complaint_id", sa.Uuid(), primary_key=True),
        sa.Column("tracking_no", sa.String(40)),
        sa.Column("category", sa.String(40)),
        sa.Column("division_code", sa.String(12)),
        sa.Column("complainant_name", sa.String(50)),
        sa.Column("complainant_phone", sa.String(20)),
        sa.Column("complainant_email", sa.String(254)),
        sa.Column("business_name", sa.String(100)),
        sa.Column("business_phone", sa.String(20)),
        sa.Column("business_email", sa.String(254)),
        sa.Column("unit_code", sa.String(12)),
        sa.Column("unit_name", sa.String(100)),
        sa.Column("unit_tier", sa.String(12)),
        sa.Column("mediator", sa.String(64)),
        sa.Column("agency_tenant", sa.String(64)),
        sa.Column("updated_at", sa.DateTime(timezone=True)),
        schema=S,
    )
    op.create_table(
        "tenant_settings",
        sa.Column("tenant_code", sa.String(64), primary_key=True),
        sa.Column("settings", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        schema=S,
    )
    op.create_table(
        "template_overrides",
        sa.Column("tenant_code", sa.String(64), primary_key=True),
        sa.Column("template", sa.String(40), primary_key=True),
        sa.Column("subject", sa.Text()),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        schema=S,
    )
    op.create_table(
        "agency_handovers",
        sa.Column("complaint_id", sa.Uuid(), primary_key=True),
        sa.Column("agency_tenant", sa.String(64), primary_key=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True)),
        sa.Column("reminders", sa.Integer(), nullable=False),
        sa.Column("next_reminder_at", sa.DateTime(timezone=True)),
        schema=S,
    )
    op.create_index(
        "ix_agency_handovers_due",
        "agency_handovers",
        ["next_reminder_at"],
        schema=S,
        postgresql_where=sa.text("acknowledged_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_agency_handovers_due", table_name="agency_handovers", schema=S)
    op.drop_table("agency_handovers", schema=S)
    op.drop_table("template_overrides", schema=S)
    op.drop_table("tenant_settings", schema=S)
    op.drop_table("cases", schema=S)
    op.drop_index("ix_messages_inbox", table_name="messages", schema=S)
    op.drop_index("ix_messages_due", table_name="messages", schema=S)
    op.drop_constraint("uq_messages_event_recipient", "messages", schema=S)
    op.execute("DELETE FROM notification.messages WHERE complaint_id IS NULL")
    op.create_unique_constraint(
        "messages_event_id_template_recipient_role_key",
        "messages",
        ["event_id", "template", "recipient_role"],
        schema=S,
    )
    op.alter_column("messages", "complaint_id", nullable=False, schema=S)
    for column in (
        "read_by",
        "read_at",
        "failed_at",
        "delivered_at",
        "next_attempt_at",
        "time_critical",
        "payload",
        "subject",
        "recipient_key",
        "unit_code",
        "event_type",
    ):
        op.drop_column("messages", column, schema=S)
