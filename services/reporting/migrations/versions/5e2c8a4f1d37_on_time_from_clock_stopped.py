"""issue 9: on-time rates from the clocks' own verdicts (clock.stopped.v1)

Revision ID: 5e2c8a4f1d37
Revises: d20fe65faae8
Create Date: 2026-11-23 11:00:00

Reporting no longer derives whether the acknowledgement, the acceptance decision and the end notice
came in time from the times it saw (on the default limits and the official calendar): the services
that run the clocks publish each stop with its verdict, counted on the responsible tenant's limits
and working days. What the derivation kept goes: the acknowledgement time of a complaint and the end
notices. On-time figures already in the rollups stay as they were counted; a later rebuild from the
event log counts only the clock verdicts logged from this version on (older events carry none).
"""
from alembic import op
import sqlalchemy as sa

revision = '5e2c8a4f1d37'
down_revision = 'd20fe65faae8'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_reporting_end_notices_complaint_id', table_name='end_notices', schema='reporting')
    op.drop_table('end_notices', schema='reporting')
    op.drop_column('complaint_facts', 'ack_at', schema='reporting')


def downgrade() -> None:
    op.add_column('complaint_facts', sa.Column('ack_at', sa.DateTime(timezone=True), nullable=True), schema='reporting')
    op.create_table('end_notices',
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('complaint_id', sa.Uuid(), nullable=False),
    sa.Column('unit_code', sa.String(length=12), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('event_id'),
    schema='reporting'
    )
    op.create_index('ix_reporting_end_notices_complaint_id', 'end_notices', ['complaint_id'], schema='reporting')
