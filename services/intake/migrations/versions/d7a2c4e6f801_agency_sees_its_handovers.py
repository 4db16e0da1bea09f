"""an agency reads the cases it handed over (source_tenant), not only those handed to it

Revision ID: d7a2c4e6f801
Revises: c4e9a1f3b7d2
Create Date: 2026-12-04 16:20:00

A police station that files a case through its API key follows what became of it: the case policy
of the scoped role also admits rows whose `source_tenant` is the agency (services/intake/complaints.py
`in_scope` says the same in the query).
"""
from alembic import op

from common.migrations import enable_row_security

revision = 'd7a2c4e6f801'
down_revision = 'c4e9a1f3b7d2'
branch_labels = None
depends_on = None

CASES = """
        intake.scope_covers(responsible_unit_code)
        OR EXISTS (SELECT 1 FROM intake.case_viewers v
                   WHERE v.complaint_id = complaints.id AND intake.scope_covers(v.unit_code))
        OR intake.scope_agency_is(agency_tenant)
"""


def upgrade() -> None:
    op.create_index('ix_intake_complaints_source_tenant', 'complaints', ['source_tenant'], schema='intake')
    enable_row_security(op, 'intake', {'complaints': CASES + "        OR intake.scope_agency_is(source_tenant)\n"})


def downgrade() -> None:
    enable_row_security(op, 'intake', {'complaints': CASES})
    op.drop_index('ix_intake_complaints_source_tenant', table_name='complaints', schema='intake')
