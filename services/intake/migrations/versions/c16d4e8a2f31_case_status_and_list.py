"""issue 16: the case status follows mediation and escalation; the case list pages, sorts, searches

Revision ID: c16d4e8a2f31
Revises: b8d3f5a7c9e1
Create Date: 2026-12-04 15:00:00

New columns on `complaints`: `status_at` (the event time that set the status), `mediation_state` and
`mediation_at` (mediation's state as last told), `escalated_at` (first passed up), `next_deadline`
(the nearest deadline of intake's running clocks). `case_lights`: the yellow and red lights of the
clocks routing and mediation run. Indexes for the list's sort orders and searches. Existing rows:
`escalated_at` from their history, `next_deadline` from their running clocks.
"""
import sqlalchemy as sa
from alembic import op

revision = 'c16d4e8a2f31'
down_revision = 'b8d3f5a7c9e1'
branch_labels = None
depends_on = None

COLUMNS = ("status_at", "mediation_at", "escalated_at", "next_deadline")


def upgrade() -> None:
    for name in COLUMNS:
        op.add_column("complaints", sa.Column(name, sa.DateTime(timezone=True)), schema="intake")
    op.add_column("complaints", sa.Column("mediation_state", sa.String(30)), schema="intake")
    op.create_table(
        "case_lights",
        sa.Column("complaint_id", sa.Uuid(), primary_key=True),
        sa.Column("clock", sa.String(30), primary_key=True),
        sa.Column("colour", sa.String(10), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        schema="intake",
    )
    op.create_index("ix_case_lights_colour", "case_lights", ["colour", "complaint_id"], schema="intake")
    op.create_index("ix_complaints_received_at", "complaints", ["received_at"], schema="intake")
    op.create_index("ix_complaints_next_deadline", "complaints", ["next_deadline"], schema="intake")
    op.create_index(
        "ix_complaints_tracking_prefix",
        "complaints",
        ["tracking_no"],
        schema="intake",
        postgresql_ops={"tracking_no": "text_pattern_ops"},
    )
    op.execute("CREATE INDEX ix_complaints_phone_tail ON intake.complaints (right(complainant_phone, 4))")
    op.execute(
        "CREATE INDEX ix_complaints_credit_code ON intake.complaints ((business ->> 'credit_code') text_pattern_ops)"
    )
    op.execute(
        "UPDATE intake.complaints c SET escalated_at = h.at FROM "
        "(SELECT complaint_id, min(at) AS at FROM intake.history WHERE step = 'escalated' GROUP BY complaint_id) h "
        "WHERE h.complaint_id = c.id"
    )
    op.execute(
        "UPDATE intake.complaints c SET next_deadline = k.deadline FROM "
        "(SELECT complaint_id, min(deadline) AS deadline FROM intake.clocks WHERE status = 'running' "
        "GROUP BY complaint_id) k WHERE k.complaint_id = c.id"
    )
    # the case list reads the lights scoped: they follow their case, like clocks and evidence
    op.execute("GRANT SELECT ON intake.case_lights TO disputes_scoped")
    op.execute("ALTER TABLE intake.case_lights ENABLE ROW LEVEL SECURITY")
    op.execute("""
        CREATE POLICY scoped_read ON intake.case_lights FOR SELECT TO disputes_scoped
        USING (EXISTS (SELECT 1 FROM intake.complaints c WHERE c.id = case_lights.complaint_id))
    """)


def downgrade() -> None:
    for name in ("ix_complaints_credit_code", "ix_complaints_phone_tail", "ix_complaints_tracking_prefix",
                 "ix_complaints_next_deadline", "ix_complaints_received_at"):
        op.drop_index(name, table_name="complaints", schema="intake")
    op.execute("DROP POLICY IF EXISTS scoped_read ON intake.case_lights")
    op.drop_table("case_lights", schema="intake")
    for name in (*COLUMNS, "mediation_state"):
        op.drop_column("complaints", name, schema="intake")
