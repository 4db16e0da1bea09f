"""issue 20 (intake): one code for the remedy route 申请支持起诉 in the case history

Revision ID: a9f4c7e2d1b6
Revises: e3b8d1f6a4c2
Create Date: 2026-12-04 22:30:00

The history copied routing's `support_for_litigation` into the details of `ended_at_top`;
common/reference.py keeps mediation's `litigation_support` for the same route. The downgrade leaves
the rows (both codes meant the same route).
"""
from alembic import op

revision = 'a9f4c7e2d1b6'
down_revision = 'e3b8d1f6a4c2'
branch_labels = None
depends_on = None

OLD, NEW = '"support_for_litigation"', '"litigation_support"'


def upgrade() -> None:
    op.execute(
        f"UPDATE intake.history SET detail = replace(detail::text, '{OLD}', '{NEW}')::jsonb "
        f"WHERE detail::text LIKE '%{OLD}%'"
    )


def downgrade() -> None:
    pass
