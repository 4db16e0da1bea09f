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

revision = '40e6ab34a1f9'
down_revision = '4441a77ececb'
branch_labels = None
depends_on = None

# the same block as intake's migration: whichever runs first creates the role
CREATE_SCOPED_ROLE = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'disputes_scoped') THEN
        BEGIN
            CREATE ROLE disputes_scoped NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END IF;
    IF NOT pg_has_role(current_user, 'disputes_scoped', 'MEMBER') THEN
        EXECUTE format('GRANT disputes_scoped TO %I', current_user);
    END IF;
END
$$
"""


def upgrade() -> None:
    op.add_column('complaint_facts', sa.Column('agency_tenant', sa.String(length=64), nullable=True), schema='reporting')
    op.create_index(op.f('ix_reporting_complaint_facts_agency_tenant'), 'complaint_facts', ['agency_tenant'], unique=False, schema='reporting')

    op.execute(CREATE_SCOPED_ROLE)
    op.execute("""
        CREATE OR REPLACE FUNCTION reporting.scope_covers(code text) RETURNS boolean
        LANGUAGE sql STABLE AS $$
            SELECT coalesce(current_setting('app.scope_unit', true), '') ~ '^[0-9]{6}([0-9]{3}([0-9]{3})?)?$'
               AND starts_with(code, current_setting('app.scope_unit', true))
        $$
    """)
    op.execute("""
        CREATE OR REPLACE FUNCTION reporting.scope_agency_is(tenant text) RETURNS boolean
        LANGUAGE sql STABLE AS $$
            SELECT coalesce(current_setting('app.scope_agency', true), '') <> ''
               AND tenant = current_setting('app.scope_agency', true)
        $$
    """)
    op.execute('GRANT USAGE ON SCHEMA reporting TO disputes_scoped')
    op.execute('GRANT SELECT ON reporting.complaint_facts TO disputes_scoped')
    op.execute('ALTER TABLE reporting.complaint_facts ENABLE ROW LEVEL SECURITY')
    op.execute('DROP POLICY IF EXISTS scoped_read ON reporting.complaint_facts')
    op.execute("""
        CREATE POLICY scoped_read ON reporting.complaint_facts FOR SELECT TO disputes_scoped
        USING (reporting.scope_covers(unit_code) OR reporting.scope_agency_is(agency_tenant))
    """)


def downgrade() -> None:
    op.execute('DROP POLICY IF EXISTS scoped_read ON reporting.complaint_facts')
    op.execute('ALTER TABLE reporting.complaint_facts DISABLE ROW LEVEL SECURITY')
    op.execute('REVOKE SELECT ON reporting.complaint_facts FROM disputes_scoped')
    op.execute('REVOKE USAGE ON SCHEMA reporting FROM disputes_scoped')
    op.execute('DROP FUNCTION IF EXISTS reporting.scope_covers(text)')
    op.execute('DROP FUNCTION IF EXISTS reporting.scope_agency_is(text)')
    op.drop_index(op.f('ix_reporting_complaint_facts_agency_tenant'), table_name='complaint_facts', schema='reporting')
    op.drop_column('complaint_facts', 'agency_tenant', schema='reporting')
