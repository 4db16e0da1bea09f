"""scope_covers as an expression PostgreSQL inlines (reporting performance issue)

Revision ID: d20fe65faae8
Revises: a105f4e17f52
Create Date: 2026-11-24 15:40:00

The same rule as before (the scope setting is a unit code and the row's code starts with it). The
version of a3f08c2d6e51 read the setting in sub-selects meant as InitPlans, but PostgreSQL does not
inline a SQL function whose body holds a sub-select: every row called the function through the
SQL-function executor, and the sub-selects ran per call (measured on the 10 M benchmark: a township's
1.54 M daily rows took 5.1 s with it, 1.9 s with this one, 1.3-2.5 s with no policy at all). Without
sub-selects the body is inlined into the policy: `current_setting` and the regular expression on a
stable value are cheap per row, and `starts_with` stays leakproof.
"""
from alembic import op

revision = 'd20fe65faae8'
down_revision = 'a105f4e17f52'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE OR REPLACE FUNCTION reporting.scope_covers(code text) RETURNS boolean
        LANGUAGE sql STABLE AS $$
            SELECT coalesce(current_setting('app.scope_unit', true), '') ~ '^[0-9]{6}([0-9]{3}([0-9]{3})?)?$'
               AND starts_with(code, current_setting('app.scope_unit', true))
        $$
    """)


def downgrade() -> None:
    op.execute("""
        CREATE OR REPLACE FUNCTION reporting.scope_covers(code text) RETURNS boolean
        LANGUAGE sql STABLE AS $$
            SELECT (SELECT coalesce(current_setting('app.scope_unit', true), '') ~ '^[0-9]{6}([0-9]{3}([0-9]{3})?)?$')
               AND starts_with(code, (SELECT current_setting('app.scope_unit', true)))
        $$
    """)
