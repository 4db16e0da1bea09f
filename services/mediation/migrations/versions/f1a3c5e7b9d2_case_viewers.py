"""issue 5: a unit that passed a mediation case up keeps a read-only view of it

Revision ID: f1a3c5e7b9d2
Revises: c4e6a8b0d2f3
Create Date: 2026-11-22 11:00:00

`case_viewers` as in intake; the scoped role sees a case whose responsible unit, or one of whose
viewers, lies in its subtree (the child tables follow their case as before). Cases moved before
this revision get their viewers from the journal's `move_unit` steps.
"""
import sqlalchemy as sa
from alembic import op

from common.migrations import disable_row_security, enable_row_security

revision = 'f1a3c5e7b9d2'
down_revision = 'c4e6a8b0d2f3'
branch_labels = None
depends_on = None

OWN = 'mediation.scope_covers(unit_code)'
VIEWED = (
    f'{OWN} OR EXISTS (SELECT 1 FROM mediation.case_viewers v '
    'WHERE v.complaint_id = cases.complaint_id AND mediation.scope_covers(v.unit_code))'
)


def upgrade() -> None:
    op.create_table(
        'case_viewers',
        sa.Column('complaint_id', sa.Uuid(), sa.ForeignKey('mediation.cases.complaint_id'), nullable=False),
        sa.Column('unit_code', sa.String(12), nullable=False),
        sa.Column('since', sa.DateTime(timezone=True), nullable=False),
        sa.Column('reason', sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint('complaint_id', 'unit_code'),
        schema='mediation',
    )
    op.create_index(
        'ix_case_viewers_unit', 'case_viewers', ['unit_code'], schema='mediation',
        postgresql_ops={'unit_code': 'text_pattern_ops'},
    )
    op.execute(
        "INSERT INTO mediation.case_viewers (complaint_id, unit_code, since, reason) "
        "SELECT complaint_id, detail->>'from_unit', min(at), left(min(coalesce(detail->>'trigger', '')), 40) "
        "FROM mediation.steps WHERE action = 'move_unit' AND detail ? 'from_unit' "
        "GROUP BY complaint_id, detail->>'from_unit'"
    )
    enable_row_security(op, 'mediation', {'cases': VIEWED, 'case_viewers': OWN})


def downgrade() -> None:
    disable_row_security(op, 'mediation', ['case_viewers'])
    enable_row_security(op, 'mediation', {'cases': OWN})
    op.drop_index('ix_case_viewers_unit', table_name='case_viewers', schema='mediation')
    op.drop_table('case_viewers', schema='mediation')
