"""issue 20 (routing): one code for the remedy route 申请支持起诉

Revision ID: 5c8e2a1d9b47
Revises: 9d3f6b2a7c41
Create Date: 2026-12-04 22:30:00

Routing stored `support_for_litigation` where mediation stored `litigation_support` for the same
route; common/reference.py keeps `litigation_support`. Stored steps and decisions are translated;
the downgrade leaves them (the old code meant the same route, and a downgraded routing shows both).
"""
from alembic import op

revision = '5c8e2a1d9b47'
down_revision = '9d3f6b2a7c41'
branch_labels = None
depends_on = None

OLD, NEW = '"support_for_litigation"', '"litigation_support"'


def upgrade() -> None:
    for table in ("case_steps", "assignments", "handovers"):
        op.execute(
            f"UPDATE routing.{table} SET inputs = replace(inputs::text, '{OLD}', '{NEW}')::jsonb "
            f"WHERE inputs::text LIKE '%{OLD}%'"
        )


def downgrade() -> None:
    pass
