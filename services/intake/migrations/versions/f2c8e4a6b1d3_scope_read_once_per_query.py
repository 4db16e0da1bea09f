"""row-level security reads the scope once per query, not per row (issue 18, the dashboard)

Revision ID: f2c8e4a6b1d3
Revises: a8e4c1f7b250
Create Date: 2026-12-05 01:30:00

The same rules as d7a2c4e6f801, written with common/migrations.py `covered` and `agency_is`: the
scope settings are InitPlans, so a city's 100,000 cases no longer pay a `current_setting` and a
regular expression each. The tables that follow their case (clocks, case_lights, history, ...)
keep their EXISTS on `complaints`: it looks the case up by its key and now reuses these InitPlans.
"""
from alembic import op

from common.migrations import agency_is, covered, enable_row_security

revision = 'f2c8e4a6b1d3'
down_revision = 'a8e4c1f7b250'
branch_labels = None
depends_on = None


def policies(own, agency) -> dict[str, str]:
    """The policies of the case and its viewer rows, with `own(column)` as the test of a unit code
    and `agency(column)` as that of an agency's tenant id."""
    return {
        'complaints': f"""
            {own('responsible_unit_code')}
            OR EXISTS (SELECT 1 FROM intake.case_viewers v
                       WHERE v.complaint_id = complaints.id AND {own('v.unit_code')})
            OR {agency('agency_tenant')}
            OR {agency('source_tenant')}
        """,
        'case_viewers': own('unit_code'),
    }


def upgrade() -> None:
    enable_row_security(op, 'intake', policies(covered, agency_is))


def downgrade() -> None:  # d7a2c4e6f801's, through 12ec9c97a29b's functions
    enable_row_security(
        op,
        'intake',
        policies(lambda column: f'intake.scope_covers({column})', lambda column: f'intake.scope_agency_is({column})'),
    )
