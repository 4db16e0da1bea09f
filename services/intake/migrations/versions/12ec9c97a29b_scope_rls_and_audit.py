"""scope in depth: agency column, read-only viewers, personal-data audit, row-level security

Revision ID: 12ec9c97a29b
Revises: 37105b17028a
Create Date: 2026-11-22 12:05:00

Staff-facing reads run as the NOLOGIN role `disputes_scoped` with the caller's scope in the
per-transaction settings `app.scope_unit` (a division code: its subtree) or `app.scope_agency` (an
agency tenant id: the cases handed to it); see common/db.py `UnitOfWork.scoped` and docs/tenancy.md.
The owner (event handlers, migrations) bypasses row-level security; the scoped role sees only what
the policies below allow, whatever the query says.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from common.migrations import disable_row_security, enable_row_security, ensure_scoped_role, revoke_scoped_role

revision = '12ec9c97a29b'
down_revision = '37105b17028a'
branch_labels = None
depends_on = None

# a case: its responsible unit in the subtree, a viewer row in the subtree, or handed to the agency;
# history and audit rows follow their case (the subquery is itself filtered by the case policy)
POLICIES = {
    'complaints': """
        intake.scope_covers(responsible_unit_code)
        OR EXISTS (SELECT 1 FROM intake.case_viewers v
                   WHERE v.complaint_id = complaints.id AND intake.scope_covers(v.unit_code))
        OR intake.scope_agency_is(agency_tenant)
    """,
    'history': 'EXISTS (SELECT 1 FROM intake.complaints c WHERE c.id = history.complaint_id)',
    'case_viewers': 'intake.scope_covers(unit_code)',
    'personal_data_access': 'EXISTS (SELECT 1 FROM intake.complaints c WHERE c.id = personal_data_access.complaint_id)',
}


def upgrade() -> None:
    op.add_column('complaints', sa.Column('agency_tenant', sa.String(length=64), nullable=True), schema='intake')
    op.create_index(op.f('ix_intake_complaints_agency_tenant'), 'complaints', ['agency_tenant'], unique=False, schema='intake')
    op.create_table('case_viewers',
    sa.Column('complaint_id', sa.Uuid(), nullable=False),
    sa.Column('unit_code', sa.String(length=12), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['intake.complaints.id'], ),
    sa.PrimaryKeyConstraint('complaint_id', 'unit_code'),
    schema='intake'
    )
    op.create_index('ix_case_viewers_unit', 'case_viewers', ['unit_code'], unique=False, schema='intake', postgresql_ops={'unit_code': 'text_pattern_ops'})
    op.create_table('personal_data_access',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=False),
    sa.Column('complaint_id', sa.Uuid(), nullable=False),
    sa.Column('fields', postgresql.ARRAY(sa.String(length=20)), nullable=False),
    sa.Column('endpoint', sa.String(length=80), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['intake.complaints.id'], ),
    sa.PrimaryKeyConstraint('id'),
    schema='intake'
    )
    op.create_index(op.f('ix_intake_personal_data_access_at'), 'personal_data_access', ['at'], unique=False, schema='intake')
    op.create_index(op.f('ix_intake_personal_data_access_complaint_id'), 'personal_data_access', ['complaint_id'], unique=False, schema='intake')

    ensure_scoped_role(op, 'intake')
    enable_row_security(op, 'intake', POLICIES)


def downgrade() -> None:
    disable_row_security(op, 'intake', POLICIES)
    revoke_scoped_role(op, 'intake')
    op.drop_index(op.f('ix_intake_personal_data_access_complaint_id'), table_name='personal_data_access', schema='intake')
    op.drop_index(op.f('ix_intake_personal_data_access_at'), table_name='personal_data_access', schema='intake')
    op.drop_table('personal_data_access', schema='intake')
    op.drop_index('ix_case_viewers_unit', table_name='case_viewers', schema='intake', postgresql_ops={'unit_code': 'text_pattern_ops'})
    op.drop_table('case_viewers', schema='intake')
    op.drop_index(op.f('ix_intake_complaints_agency_tenant'), table_name='complaints', schema='intake')
    op.drop_column('complaints', 'agency_tenant', schema='intake')
