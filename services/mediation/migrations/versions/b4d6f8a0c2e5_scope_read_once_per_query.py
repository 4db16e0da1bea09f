"""row-level security reads the scope once per query, not per row (issue 18)

Revision ID: b4d6f8a0c2e5
Revises: a7c3e9d5b1f4
Create Date: 2026-12-05 01:30:00

The same rules as f1a3c5e7b9d2, written with common/migrations.py `covered`: the scope setting is an
InitPlan instead of a `current_setting` and a regular expression per row. The child tables keep
their EXISTS on `cases`, which now reuses it.
"""
from alembic import op

from common.migrations import covered, enable_row_security

revision = 'b4d6f8a0c2e5'
down_revision = 'a7c3e9d5b1f4'
branch_labels = None
depends_on = None


def policies(own) -> dict[str, str]:
    """The unit-scoped tables' policies, with `own(column)` as the test of a unit code."""
    return {
        'cases': f"""
            {own('unit_code')}
            OR EXISTS (SELECT 1 FROM mediation.case_viewers v
                       WHERE v.complaint_id = cases.complaint_id AND {own('v.unit_code')})
        """,
        'case_viewers': own('unit_code'),
        'mediators': own('unit_code'),
    }


def upgrade() -> None:
    enable_row_security(op, 'mediation', policies(covered))


def downgrade() -> None:  # f1a3c5e7b9d2's, through 5b7d1c2e9a40's function
    enable_row_security(op, 'mediation', policies(lambda column: f'mediation.scope_covers({column})'))
