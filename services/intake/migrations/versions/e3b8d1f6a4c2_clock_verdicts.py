"""the verdicts of the reported clocks, so the case list opens the cases behind an on-time rate

Revision ID: e3b8d1f6a4c2
Revises: d7a2c4e6f801
Create Date: 2026-12-04 19:00:00

`clock_verdicts`: each `clock.stopped.v1` of a clock reporting counts (in time or late, the unit
answering for it, the day in China it stopped). Read scoped, like the lights: a verdict follows its
case. Existing cases have none: their stops happened before intake kept them.
"""
import sqlalchemy as sa
from alembic import op

revision = 'e3b8d1f6a4c2'
down_revision = 'd7a2c4e6f801'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "clock_verdicts",
        sa.Column("complaint_id", sa.Uuid(), primary_key=True),
        sa.Column("figure", sa.String(30), primary_key=True),
        sa.Column("stopped_at", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("stopped_on", sa.Date(), nullable=False),
        sa.Column("unit_code", sa.String(40), nullable=False),
        sa.Column("met", sa.Boolean(), nullable=False),
        schema="intake",
    )
    op.create_index("ix_clock_verdicts_figure_day", "clock_verdicts", ["figure", "stopped_on"], schema="intake")
    op.execute("GRANT SELECT ON intake.clock_verdicts TO disputes_scoped")
    op.execute("ALTER TABLE intake.clock_verdicts ENABLE ROW LEVEL SECURITY")
    op.execute("""
        CREATE POLICY scoped_read ON intake.clock_verdicts FOR SELECT TO disputes_scoped
        USING (EXISTS (SELECT 1 FROM intake.complaints c WHERE c.id = clock_verdicts.complaint_id))
    """)


def downgrade() -> None:
    op.drop_table("clock_verdicts", schema="intake")
