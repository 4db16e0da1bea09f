"""rollup deltas and yearly rollups (reporting performance issue)

Revision ID: a105f4e17f52
Revises: a3f08c2d6e51
Create Date: 2026-11-24 15:10:00

Handlers no longer update the rollups: each appends its contributions, at its own unit only, to
`rollup_deltas` (insert-only, so concurrent handlers share no row), and `ingest.fold` moves them in
batches into the daily, monthly and the new yearly rollups of the unit and every unit above it.
Reads add the deltas not folded yet (a prefix range on `unit_code`, text_pattern_ops). Both tables
are read by staff through `disputes_scoped` under row-level security, as the other rollups.
`yearly_rollups` is filled from `monthly_rollups` here; deltas start empty. `ix_daily_rollups_cover`
serves the per-child-unit figures over days (a few metrics of each child) from the index alone.
"""
from alembic import op
import sqlalchemy as sa

revision = 'a105f4e17f52'
down_revision = 'a3f08c2d6e51'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('yearly_rollups',
    sa.Column('unit_code', sa.String(length=12), nullable=False),
    sa.Column('year', sa.Date(), nullable=False),
    sa.Column('metric', sa.String(length=40), nullable=False),
    sa.Column('key', sa.String(length=130), nullable=False),
    sa.Column('n', sa.BigInteger(), nullable=False, server_default='0'),
    sa.Column('amount', sa.Numeric(20, 2), nullable=False, server_default='0'),
    sa.PrimaryKeyConstraint('unit_code', 'year', 'metric', 'key'),
    schema='reporting'
    )
    op.create_table('rollup_deltas',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('unit_code', sa.String(length=12), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('metric', sa.String(length=40), nullable=False),
    sa.Column('key', sa.String(length=130), nullable=False),
    sa.Column('n', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.Numeric(20, 2), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    schema='reporting'
    )
    op.create_index('ix_rollup_deltas_unit', 'rollup_deltas', ['unit_code', 'day'], schema='reporting',
                    postgresql_ops={'unit_code': 'text_pattern_ops'})
    op.create_index('ix_daily_rollups_cover', 'daily_rollups', ['unit_code', 'metric', 'day', 'key'],
                    schema='reporting', postgresql_include=['n', 'amount'])
    op.execute("""
        INSERT INTO reporting.yearly_rollups (unit_code, year, metric, key, n, amount)
        SELECT unit_code, date_trunc('year', month)::date, metric, key, sum(n), sum(amount)
        FROM reporting.monthly_rollups GROUP BY 1, 2, 3, 4
    """)
    for table in ('yearly_rollups', 'rollup_deltas'):
        op.execute(f'GRANT SELECT ON reporting.{table} TO disputes_scoped')
        op.execute(f'ALTER TABLE reporting.{table} ENABLE ROW LEVEL SECURITY')
        op.execute(f'DROP POLICY IF EXISTS scoped_read ON reporting.{table}')
        op.execute(f'CREATE POLICY scoped_read ON reporting.{table} FOR SELECT TO disputes_scoped '
                   'USING (reporting.scope_covers(unit_code))')


# the deltas not folded yet, added to the daily and monthly rollups (as ingest.fold) before the table goes
FOLD_INTO = """
INSERT INTO reporting.{table} AS r (unit_code, {period}, metric, key, n, amount)
SELECT left(d.unit_code, l.length), date_trunc('{unit}', d.day::timestamp)::date, d.metric, d.key, sum(d.n), sum(d.amount)
FROM reporting.rollup_deltas d JOIN (VALUES (6), (9), (12)) AS l(length) ON l.length <= length(d.unit_code)
WHERE {where} GROUP BY 1, 2, 3, 4
ON CONFLICT (unit_code, {period}, metric, key) DO UPDATE SET n = r.n + excluded.n, amount = r.amount + excluded.amount
"""


def downgrade() -> None:
    op.execute('LOCK TABLE reporting.rollup_deltas IN EXCLUSIVE MODE')
    op.execute(FOLD_INTO.format(table='daily_rollups', period='day', unit='day', where="d.metric <> 'business'"))
    op.execute(FOLD_INTO.format(table='monthly_rollups', period='month', unit='month', where='true'))
    for table in ('yearly_rollups', 'rollup_deltas'):
        op.execute(f'DROP POLICY IF EXISTS scoped_read ON reporting.{table}')
        op.execute(f'REVOKE SELECT ON reporting.{table} FROM disputes_scoped')
    op.drop_index('ix_rollup_deltas_unit', table_name='rollup_deltas', schema='reporting')
    op.drop_index('ix_daily_rollups_cover', table_name='daily_rollups', schema='reporting')
    op.drop_table('rollup_deltas', schema='reporting')
    op.drop_table('yearly_rollups', schema='reporting')
