"""row-level security reads the scope once per query, not per row (issue 18)

Revision ID: c5e7a9b1d3f6
Revises: e7b2c9d4f1a6
Create Date: 2026-12-05 01:30:00

The same rules as before, written with common/migrations.py `covered` and `agency_is`: the scope
settings are InitPlans, instead of d20fe65faae8's inlined `current_setting` and regular expression
per row.
"""
from alembic import op

from common.migrations import agency_is, covered, enable_row_security

revision = 'c5e7a9b1d3f6'
down_revision = 'e7b2c9d4f1a6'
branch_labels = None
depends_on = None

BY_UNIT_CODE = ('daily_rollups', 'monthly_rollups', 'yearly_rollups', 'rollup_deltas', 'monthly_reports')


def policies(own, agency) -> dict[str, str]:
    """Every reporting policy, with `own(column)` as the test of a unit code and `agency(column)` as
    that of an agency's tenant id."""
    return {
        'complaint_facts': f"{own('unit_code')} OR {agency('agency_tenant')}",
        **{table: own('unit_code') for table in BY_UNIT_CODE},
        'units': own('code'),
        'escalations': f"{own('from_unit')} OR {own('to_unit')}",
        'early_warnings': f"{own('township_code')} OR {own('city_code')}",
    }


def upgrade() -> None:
    enable_row_security(op, 'reporting', policies(covered, agency_is))


def downgrade() -> None:  # through the functions of 40e6ab34a1f9 and d20fe65faae8
    enable_row_security(
        op,
        'reporting',
        policies(lambda column: f'reporting.scope_covers({column})', lambda column: f'reporting.scope_agency_is({column})'),
    )
