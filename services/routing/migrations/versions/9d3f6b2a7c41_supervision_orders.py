"""issue 18 (routing): supervision orders (督办) and their steps

Revision ID: 9d3f6b2a7c41
Revises: a7c2e4f6b8d0
Create Date: 2026-12-04 15:20:00

A supervision order is a stored clock (common/clock_watch.py, one per order, of the kind
`supervision`) with what was ordered, answered and decided; its steps are its history. Indexes: the
watcher's (due) and the clocks near breach (held), the sender's and the ordered unit's subtree
(prefix matches), the case.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from common.migrations import add_held_index, drop_held_index

revision = '9d3f6b2a7c41'
down_revision = 'a7c2e4f6b8d0'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'supervision_orders',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('complaint_id', sa.Uuid(), nullable=False),
        sa.Column('from_unit', sa.String(length=12), nullable=False),
        sa.Column('sent_by', sa.String(length=64), nullable=False),
        sa.Column('unit_code', sa.String(length=12), nullable=False),
        sa.Column('tier', sa.String(length=10), nullable=False),
        sa.Column('follows_case', sa.Boolean(), nullable=False),
        sa.Column('instruction', sa.Text(), nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('answer', sa.Text(), nullable=True),
        sa.Column('attachments', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('answered_by', sa.String(length=64), nullable=True),
        sa.Column('return_reason', sa.Text(), nullable=True),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('overdue_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('unit', sa.String(length=20), nullable=False),
        sa.Column('amount', sa.Integer(), nullable=False),
        sa.Column('added', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('deadline', sa.DateTime(timezone=True), nullable=False),
        sa.Column('paused_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('paused_total', sa.Interval(), nullable=False),
        sa.Column('paused_counted', sa.Interval(), nullable=False),
        sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('colour', sa.String(length=6), server_default='green', nullable=False),
        sa.Column('yellow_share', sa.Float(), server_default=sa.text(repr(2 / 3)), nullable=False),
        sa.Column('next_check_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        schema='routing',
    )
    op.create_index('ix_routing_supervision_orders_complaint_id', 'supervision_orders', ['complaint_id'], schema='routing')
    op.create_index('ix_supervision_orders_next_check', 'supervision_orders', ['next_check_at'], schema='routing', postgresql_where=sa.text('next_check_at IS NOT NULL'))
    add_held_index(op, 'routing', 'supervision_orders')
    op.create_index('ix_supervision_orders_from', 'supervision_orders', ['from_unit'], schema='routing', postgresql_ops={'from_unit': 'text_pattern_ops'})
    op.create_index('ix_supervision_orders_unit', 'supervision_orders', ['unit_code'], schema='routing', postgresql_ops={'unit_code': 'text_pattern_ops'})

    op.create_table(
        'supervision_steps',
        sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column('order_id', sa.Uuid(), nullable=False),
        sa.Column('step', sa.String(length=20), nullable=False),
        sa.Column('unit_code', sa.String(length=12), nullable=False),
        sa.Column('detail', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column('actor', sa.String(length=64), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        schema='routing',
    )
    op.create_index('ix_routing_supervision_steps_order_id', 'supervision_steps', ['order_id'], schema='routing')


def downgrade() -> None:
    op.drop_index('ix_routing_supervision_steps_order_id', table_name='supervision_steps', schema='routing')
    op.drop_table('supervision_steps', schema='routing')
    for name in ('ix_supervision_orders_unit', 'ix_supervision_orders_from', 'ix_supervision_orders_next_check',
                 'ix_routing_supervision_orders_complaint_id'):
        op.drop_index(name, table_name='supervision_orders', schema='routing')
    drop_held_index(op, 'routing', 'supervision_orders')
    op.drop_table('supervision_orders', schema='routing')
