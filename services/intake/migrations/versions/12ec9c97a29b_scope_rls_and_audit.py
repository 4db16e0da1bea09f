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

revision = '12ec9c97a29b'
down_revision = '37105b17028a'
branch_labels = None
depends_on = None

SCOPED_TABLES = ('complaints', 'history', 'case_viewers', 'personal_data_access')

# create the role once per cluster (reporting's migration runs the same block), tolerate a
# concurrent creator, and let the migrating (owner) role switch to it with SET ROLE
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

    op.execute(CREATE_SCOPED_ROLE)
    # the two tests of the scope, as SQL: a unit prefix (only a well-formed division code counts,
    # so an empty or odd setting matches nothing) and an agency id
    op.execute("""
        CREATE OR REPLACE FUNCTION intake.scope_covers(code text) RETURNS boolean
        LANGUAGE sql STABLE AS $$
            SELECT coalesce(current_setting('app.scope_unit', true), '') ~ '^[0-9]{6}([0-9]{3}([0-9]{3})?)?$'
               AND starts_with(code, current_setting('app.scope_unit', true))
        $$
    """)
    op.execute("""
        CREATE OR REPLACE FUNCTION intake.scope_agency_is(tenant text) RETURNS boolean
        LANGUAGE sql STABLE AS $$
            SELECT coalesce(current_setting('app.scope_agency', true), '') <> ''
               AND tenant = current_setting('app.scope_agency', true)
        $$
    """)
    op.execute('GRANT USAGE ON SCHEMA intake TO disputes_scoped')
    op.execute('GRANT SELECT ON ' + ', '.join(f'intake.{t}' for t in SCOPED_TABLES) + ' TO disputes_scoped')
    for table in SCOPED_TABLES:
        op.execute(f'ALTER TABLE intake.{table} ENABLE ROW LEVEL SECURITY')
        op.execute(f'DROP POLICY IF EXISTS scoped_read ON intake.{table}')
    # a case: its responsible unit in the subtree, a viewer row in the subtree, or handed to the agency
    op.execute("""
        CREATE POLICY scoped_read ON intake.complaints FOR SELECT TO disputes_scoped USING (
            intake.scope_covers(responsible_unit_code)
            OR EXISTS (SELECT 1 FROM intake.case_viewers v
                       WHERE v.complaint_id = complaints.id AND intake.scope_covers(v.unit_code))
            OR intake.scope_agency_is(agency_tenant)
        )
    """)
    op.execute("""
        CREATE POLICY scoped_read ON intake.case_viewers FOR SELECT TO disputes_scoped
        USING (intake.scope_covers(unit_code))
    """)
    # history and audit rows follow their case (the subquery is itself filtered by the case policy)
    for table in ('history', 'personal_data_access'):
        op.execute(f"""
            CREATE POLICY scoped_read ON intake.{table} FOR SELECT TO disputes_scoped
            USING (EXISTS (SELECT 1 FROM intake.complaints c WHERE c.id = {table}.complaint_id))
        """)


def downgrade() -> None:
    # the role stays: it is shared by other schemas and databases of the cluster
    for table in SCOPED_TABLES:
        op.execute(f'DROP POLICY IF EXISTS scoped_read ON intake.{table}')
        op.execute(f'ALTER TABLE intake.{table} DISABLE ROW LEVEL SECURITY')
    op.execute('REVOKE SELECT ON ' + ', '.join(f'intake.{t}' for t in SCOPED_TABLES) + ' FROM disputes_scoped')
    op.execute('REVOKE USAGE ON SCHEMA intake FROM disputes_scoped')
    op.execute('DROP FUNCTION IF EXISTS intake.scope_covers(text)')
    op.execute('DROP FUNCTION IF EXISTS intake.scope_agency_is(text)')
    op.drop_index(op.f('ix_intake_personal_data_access_complaint_id'), table_name='personal_data_access', schema='intake')
    op.drop_index(op.f('ix_intake_personal_data_access_at'), table_name='personal_data_access', schema='intake')
    op.drop_table('personal_data_access', schema='intake')
    op.drop_index('ix_case_viewers_unit', table_name='case_viewers', schema='intake', postgresql_ops={'unit_code': 'text_pattern_ops'})
    op.drop_table('case_viewers', schema='intake')
    op.drop_index(op.f('ix_intake_complaints_agency_tenant'), table_name='complaints', schema='intake')
    op.drop_column('complaints', 'agency_tenant', schema='intake')
