"""issue 7 (routing): clock warning lights; handover clocks; declined take-over requests

Revision ID: 4f2a9c6e1b73
Revises: dd5bc39f2e95
Create Date: 2026-11-22 16:40:00

The watcher's columns on the tier clocks (common/clock_watch.py): the colour last reported, the
tenant's yellow share and when the colour next changes, with a partial index so a watcher pass reads
only the clocks due. It replaces the index on the deadline of running clocks: a tier clock is
escalated when the watcher sees it turn red. Running clocks written before are due at once.

The handovers' clocks (`case_clocks`, a common.clock_watch.StoredClock per case and kind): the
agency's acknowledgement (3 working days) and the Art 33 authority dispute (7 working days). Open
handovers written before get theirs here: an agency handover counted from its request on the
official calendar, a contest from its `contested` step with the deadline it already had; both due
at once. The contest-deadline index goes: the watcher finds expired contests.
"""
from datetime import timedelta

from alembic import op
import sqlalchemy as sa

from common.migrations import add_clock_watch, drop_clock_watch

revision = '4f2a9c6e1b73'
down_revision = 'dd5bc39f2e95'
branch_labels = None
depends_on = None

TIERS = {6: 'city', 9: 'township', 12: 'village'}


def upgrade() -> None:
    add_clock_watch(op, "routing", "tier_clocks", running="stopped_at IS NULL")
    op.drop_index('ix_tier_clocks_due', table_name='tier_clocks', schema='routing')

    op.add_column('handovers', sa.Column('decline_reason', sa.Text(), nullable=True), schema='routing')
    op.drop_index('ix_handovers_contest_due', table_name='handovers', schema='routing')

    op.create_table(
        'case_clocks',
        sa.Column('complaint_id', sa.Uuid(), nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('handover_id', sa.BigInteger(), nullable=True),
        sa.Column('unit_code', sa.String(length=12), nullable=False),
        sa.Column('tier', sa.String(length=10), nullable=False),
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
        sa.PrimaryKeyConstraint('complaint_id', 'kind'),
        schema='routing',
    )
    op.create_index('ix_case_clocks_next_check', 'case_clocks', ['next_check_at'], schema='routing', postgresql_where=sa.text('next_check_at IS NOT NULL'))
    _backfill()


def _backfill() -> None:
    from common.workdays import DEFAULT_CALENDAR

    bind = op.get_bind()
    insert = sa.text(
        "INSERT INTO routing.case_clocks (complaint_id, kind, handover_id, unit_code, tier, unit, amount, added,"
        " started_at, deadline, paused_total, paused_counted, next_check_at)"
        " VALUES (:complaint_id, :kind, :id, :unit_code, :tier, 'working_days', :amount, 0, :started_at, :deadline,"
        " interval '0', interval '0', now()) ON CONFLICT DO NOTHING"
    )
    agency = bind.execute(sa.text(
        "SELECT id, complaint_id, from_unit, requested_at FROM routing.handovers"
        " WHERE kind = 'agency' AND state = 'pending' ORDER BY id DESC"
    )).mappings().all()
    for h in agency:
        bind.execute(insert, {
            'complaint_id': h['complaint_id'], 'kind': 'agency_handover_ack', 'id': h['id'],
            'unit_code': h['from_unit'], 'tier': TIERS.get(len(h['from_unit']), 'city'), 'amount': 3,
            'started_at': h['requested_at'], 'deadline': DEFAULT_CALENDAR.add_working_days(h['requested_at'], 3),
        })
    contested = bind.execute(sa.text(
        "SELECT h.id, h.complaint_id, h.decider, h.contest_deadline, coalesce(("
        "  SELECT max(s.at) FROM routing.case_steps s WHERE s.complaint_id = h.complaint_id AND s.step = 'contested'"
        "), h.requested_at) AS started_at FROM routing.handovers h"
        " WHERE h.state = 'contested' AND h.decider IS NOT NULL AND h.contest_deadline IS NOT NULL ORDER BY h.id DESC"
    )).mappings().all()
    for h in contested:
        started = min(h['started_at'], h['contest_deadline'] - timedelta(seconds=1))
        bind.execute(insert, {
            'complaint_id': h['complaint_id'], 'kind': 'authority_dispute', 'id': h['id'],
            'unit_code': h['decider'], 'tier': TIERS.get(len(h['decider']), 'city'), 'amount': 7,
            'started_at': started, 'deadline': h['contest_deadline'],
        })
    # a contest that already ran out was reported by the timer before: its light starts red
    op.execute(
        "UPDATE routing.case_clocks c SET colour = 'red', next_check_at = NULL FROM routing.handovers h"
        " WHERE c.handover_id = h.id AND c.kind = 'authority_dispute' AND h.contest_expired"
    )


def downgrade() -> None:
    op.drop_index('ix_case_clocks_next_check', table_name='case_clocks', schema='routing')
    op.drop_table('case_clocks', schema='routing')
    op.create_index('ix_handovers_contest_due', 'handovers', ['contest_deadline'], schema='routing', postgresql_where=sa.text("state = 'contested' AND NOT contest_expired"))
    op.drop_column('handovers', 'decline_reason', schema='routing')
    op.create_index('ix_tier_clocks_due', 'tier_clocks', ['deadline'], schema='routing', postgresql_where=sa.text('stopped_at IS NULL'))
    drop_clock_watch(op, "routing", "tier_clocks")
