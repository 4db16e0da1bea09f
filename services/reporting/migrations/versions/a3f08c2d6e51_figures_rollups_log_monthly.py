"""figures (reporting issue): fact columns, daily subtree rollups, mediation endings and end notices,
the append-only event log, monthly reports and unit names

Revision ID: a3f08c2d6e51
Revises: 7c1e5a9d3b20
Create Date: 2026-11-23 09:00:00

`daily_rollups` (and `monthly_rollups`, the same per month, for whole months of a period) hold, per unit and day, the figures of the unit's whole subtree (every contribution
is added to the unit, its township and its city), so a subtree summary reads one unit's rows. Staff
read it, `monthly_reports` and `units` through `disputes_scoped` (row-level security, as
complaint_facts). `event_log` is append-only: a trigger refuses UPDATE and DELETE (the rebuild
truncates the model, never the log). No table holds personal data (docs/reporting.md).
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = 'a3f08c2d6e51'
down_revision = '7c1e5a9d3b20'
branch_labels = None
depends_on = None


def upgrade() -> None:
    for name, type_ in (
        ('status_at', sa.DateTime(timezone=True)),
        ('business_key', sa.String(length=130)),
        ('business_name', sa.String(length=100)),
        ('accepted_at', sa.DateTime(timezone=True)),
        ('decided_at', sa.DateTime(timezone=True)),
        ('decided_unit', sa.String(length=12)),
        ('decision', sa.String(length=10)),
        ('refusal_ground', sa.String(length=40)),
        ('ack_at', sa.DateTime(timezone=True)),
    ):
        op.add_column('complaint_facts', sa.Column(name, type_, nullable=True), schema='reporting')

    op.create_table('daily_rollups',
    sa.Column('unit_code', sa.String(length=12), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('metric', sa.String(length=40), nullable=False),
    sa.Column('key', sa.String(length=130), nullable=False),
    sa.Column('n', sa.BigInteger(), nullable=False, server_default='0'),
    sa.Column('amount', sa.Numeric(20, 2), nullable=False, server_default='0'),
    sa.PrimaryKeyConstraint('unit_code', 'day', 'metric', 'key'),
    schema='reporting'
    )
    op.create_table('monthly_rollups',
    sa.Column('unit_code', sa.String(length=12), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('metric', sa.String(length=40), nullable=False),
    sa.Column('key', sa.String(length=130), nullable=False),
    sa.Column('n', sa.BigInteger(), nullable=False, server_default='0'),
    sa.Column('amount', sa.Numeric(20, 2), nullable=False, server_default='0'),
    sa.PrimaryKeyConstraint('unit_code', 'month', 'metric', 'key'),
    schema='reporting'
    )
    # index-only scans for subtree summaries: whole months of a unit by metric (historical months
    # are all-visible once vacuumed, so their rows are read from the index alone)
    op.create_index('ix_monthly_rollups_cover', 'monthly_rollups', ['unit_code', 'metric', 'month', 'key'],
                    schema='reporting', postgresql_include=['n', 'amount'])
    op.create_table('mediation_endings',
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('complaint_id', sa.Uuid(), nullable=False),
    sa.Column('unit_code', sa.String(length=12), nullable=False),
    sa.Column('outcome', sa.String(length=30), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('event_id'),
    schema='reporting'
    )
    op.create_index('ix_reporting_mediation_endings_complaint_id', 'mediation_endings', ['complaint_id'], schema='reporting')
    op.create_table('end_notices',
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('complaint_id', sa.Uuid(), nullable=False),
    sa.Column('unit_code', sa.String(length=12), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('event_id'),
    schema='reporting'
    )
    op.create_index('ix_reporting_end_notices_complaint_id', 'end_notices', ['complaint_id'], schema='reporting')
    op.create_table('event_log',
    sa.Column('seq', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('type', sa.String(length=80), nullable=False),
    sa.Column('envelope', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('logged_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('seq'),
    sa.UniqueConstraint('event_id', 'type', name='uq_event_log_event'),
    schema='reporting'
    )
    op.create_table('monthly_reports',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('unit_code', sa.String(length=12), nullable=False),
    sa.Column('parent_code', sa.String(length=12), nullable=True),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('generated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('generated_by', sa.String(length=20), nullable=False),
    sa.Column('figures', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('unit_code', 'month', name='uq_monthly_reports_unit_month'),
    schema='reporting'
    )
    op.create_index('ix_monthly_reports_parent', 'monthly_reports', ['parent_code', 'month'], schema='reporting')
    op.create_table('units',
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=True),
    sa.Column('tier', sa.String(length=10), nullable=False),
    sa.Column('parent_code', sa.String(length=12), nullable=True),
    sa.PrimaryKeyConstraint('code'),
    schema='reporting'
    )
    op.create_index('ix_units_parent', 'units', ['parent_code'], schema='reporting')
    # the same rule as 40e6ab34a1f9's, with the setting read and checked once per query (InitPlans)
    # instead of once per row: a city's summary passes tens of thousands of rollup rows through it
    op.execute("""
        CREATE OR REPLACE FUNCTION reporting.scope_covers(code text) RETURNS boolean
        LANGUAGE sql STABLE AS $$
            SELECT (SELECT coalesce(current_setting('app.scope_unit', true), '') ~ '^[0-9]{6}([0-9]{3}([0-9]{3})?)?$')
               AND starts_with(code, (SELECT current_setting('app.scope_unit', true)))
        $$
    """)
    op.execute("""
        CREATE OR REPLACE FUNCTION reporting.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'reporting.event_log is append-only';
        END
        $$
    """)
    op.execute("""
        CREATE TRIGGER event_log_append_only BEFORE UPDATE OR DELETE ON reporting.event_log
        FOR EACH ROW EXECUTE FUNCTION reporting.refuse_change()
    """)
    for table, using in (
        ('daily_rollups', 'reporting.scope_covers(unit_code)'),
        ('monthly_rollups', 'reporting.scope_covers(unit_code)'),
        ('monthly_reports', 'reporting.scope_covers(unit_code)'),
        ('units', 'reporting.scope_covers(code)'),
    ):
        op.execute(f'GRANT SELECT ON reporting.{table} TO disputes_scoped')
        op.execute(f'ALTER TABLE reporting.{table} ENABLE ROW LEVEL SECURITY')
        op.execute(f'DROP POLICY IF EXISTS scoped_read ON reporting.{table}')
        op.execute(f'CREATE POLICY scoped_read ON reporting.{table} FOR SELECT TO disputes_scoped USING ({using})')


def downgrade() -> None:
    for table in ('daily_rollups', 'monthly_rollups', 'monthly_reports', 'units'):
        op.execute(f'DROP POLICY IF EXISTS scoped_read ON reporting.{table}')
        op.execute(f'REVOKE SELECT ON reporting.{table} FROM disputes_scoped')
    op.execute("""
        CREATE OR REPLACE FUNCTION reporting.scope_covers(code text) RETURNS boolean
        LANGUAGE sql STABLE AS $$
            SELECT coalesce(current_setting('app.scope_unit', true), '') ~ '^[0-9]{6}([0-9]{3}([0-9]{3})?)?$'
               AND starts_with(code, current_setting('app.scope_unit', true))
        $$
    """)
    op.execute('DROP TRIGGER IF EXISTS event_log_append_only ON reporting.event_log')
    op.execute('DROP FUNCTION IF EXISTS reporting.refuse_change()')
    op.drop_index('ix_units_parent', table_name='units', schema='reporting')
    op.drop_table('units', schema='reporting')
    op.drop_index('ix_monthly_reports_parent', table_name='monthly_reports', schema='reporting')
    op.drop_table('monthly_reports', schema='reporting')
    op.drop_table('event_log', schema='reporting')
    op.drop_index('ix_reporting_end_notices_complaint_id', table_name='end_notices', schema='reporting')
    op.drop_table('end_notices', schema='reporting')
    op.drop_index('ix_reporting_mediation_endings_complaint_id', table_name='mediation_endings', schema='reporting')
    op.drop_table('mediation_endings', schema='reporting')
    op.drop_index('ix_monthly_rollups_cover', table_name='monthly_rollups', schema='reporting')
    op.drop_table('monthly_rollups', schema='reporting')
    op.drop_table('daily_rollups', schema='reporting')
    for name in ('ack_at', 'refusal_ground', 'decision', 'decided_unit', 'decided_at', 'accepted_at',
                 'business_name', 'business_key', 'status_at'):
        op.drop_column('complaint_facts', name, schema='reporting')
