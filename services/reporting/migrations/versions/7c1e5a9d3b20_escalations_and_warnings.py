"""escalations and early warnings (routing issue): per-unit escalation counts, warnings raised

Revision ID: 7c1e5a9d3b20
Revises: 40e6ab34a1f9
Create Date: 2026-11-22 12:40:00

Both tables are read by staff through `disputes_scoped` (row-level security, like complaint_facts):
an escalation is visible to the subtrees of the unit that passed it up and of the unit that got it;
a warning to its township and its city.
"""
from alembic import op
import sqlalchemy as sa

revision = '7c1e5a9d3b20'
down_revision = '40e6ab34a1f9'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('escalations',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('complaint_id', sa.Uuid(), nullable=False),
    sa.Column('from_unit', sa.String(length=12), nullable=False),
    sa.Column('from_tier', sa.String(length=10), nullable=False),
    sa.Column('to_unit', sa.String(length=12), nullable=False),
    sa.Column('trigger', sa.String(length=30), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    schema='reporting'
    )
    op.create_index('ix_escalations_from_unit', 'escalations', ['from_unit'], unique=False, schema='reporting', postgresql_ops={'from_unit': 'text_pattern_ops'})
    op.create_index(op.f('ix_reporting_escalations_complaint_id'), 'escalations', ['complaint_id'], unique=False, schema='reporting')
    op.create_table('early_warnings',
    sa.Column('warning_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('township_code', sa.String(length=9), nullable=True),
    sa.Column('city_code', sa.String(length=6), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('warning_id'),
    schema='reporting'
    )
    op.create_index(op.f('ix_reporting_early_warnings_city_code'), 'early_warnings', ['city_code'], unique=False, schema='reporting')
    for table, using in (
        ('escalations', 'reporting.scope_covers(from_unit) OR reporting.scope_covers(to_unit)'),
        ('early_warnings', 'reporting.scope_covers(township_code) OR reporting.scope_covers(city_code)'),
    ):
        op.execute(f'GRANT SELECT ON reporting.{table} TO disputes_scoped')
        op.execute(f'ALTER TABLE reporting.{table} ENABLE ROW LEVEL SECURITY')
        op.execute(f'DROP POLICY IF EXISTS scoped_read ON reporting.{table}')
        op.execute(f'CREATE POLICY scoped_read ON reporting.{table} FOR SELECT TO disputes_scoped USING ({using})')


def downgrade() -> None:
    for table in ('escalations', 'early_warnings'):
        op.execute(f'DROP POLICY IF EXISTS scoped_read ON reporting.{table}')
        op.execute(f'REVOKE SELECT ON reporting.{table} FROM disputes_scoped')
    op.drop_index(op.f('ix_reporting_early_warnings_city_code'), table_name='early_warnings', schema='reporting')
    op.drop_table('early_warnings', schema='reporting')
    op.drop_index(op.f('ix_reporting_escalations_complaint_id'), table_name='escalations', schema='reporting')
    op.drop_index('ix_escalations_from_unit', table_name='escalations', schema='reporting')
    op.drop_table('escalations', schema='reporting')
