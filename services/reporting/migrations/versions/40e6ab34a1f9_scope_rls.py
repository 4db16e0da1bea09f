"""scope in depth: agency column and row-level security on the read model

Revision ID: 40e6ab34a1f9
Revises: 4441a77ececb
Create Date: 2026-11-22 12:05:00

Figures are read as the NOLOGIN role `disputes_scoped` with the caller's scope in the
per-transaction settings `app.scope_unit` / `app.scope_agency` (common/db.py `UnitOfWork.scoped`,
docs/tenancy.md). The owner (event handlers) bypasses row-level security.
"""
from alembic import op
import sqlalchemy as sa

from common.migrations import disable_row_security, enable_row_security, ensure_scoped_role, revoke_scoped_role

revision = '40e6ab34a1f9'
down_revision = '4441a77ececb'
branch_labels = None
depends_on = None

POLICIES = {'complaint_facts': 'reporting.scope_covers(unit_code) OR reporting.scope_agency_is(agency_tenant)'}


def upgrade() -> None:
    op.add_column('complaint_facts', sa.Column('agency_tenant', sa.String(length=64), nullable=True), schema='reporting')
    op.create_index(op.f('ix_reporting_complaint_facts_agency_tenant'), 'complaint_facts', ['agency_tenant'], unique=False, schema='reporting')

    ensure_scoped_role(op, 'reporting')
    enable_row_security(op, 'reporting', POLICIES)


def downgrade() -> None:
    disable_row_security(op, 'reporting', POLICIES)
    revoke_scoped_role(op, 'reporting')
    op.drop_index(op.f('ix_reporting_complaint_facts_agency_tenant'), table_name='complaint_facts', schema='reporting')
    op.drop_column('complaint_facts', 'agency_tenant', schema='reporting')
