"""issue 18: the light counts read the running yellow and red clocks from an index

Revision ID: a3c5e7f9b1d4
Revises: f2c8e4a6b1d3
Create Date: 2026-12-05 01:50:00

`count_lights` reads every running yellow and red clock of the scope (a city: 29,000 of them) by
`ix_clocks_held` (colour, deadline), and fetched each row from the table for its case. The index
now includes the case, so the scan is index-only: a city's light count 137 -> 125 ms as the scoped
role, its list filtered on yellow 137 -> 125 ms, on red 132 -> 111 ms. (A separate index led by the
case made the planner probe it once per case, and the yellow list slower: 190 ms.)
"""
from alembic import op
import sqlalchemy as sa

revision = 'a3c5e7f9b1d4'
down_revision = 'f2c8e4a6b1d3'
branch_labels = None
depends_on = None


def _held(include: list[str]) -> None:
    op.drop_index('ix_clocks_held', table_name='clocks', schema='intake')
    op.create_index(
        'ix_clocks_held', 'clocks', ['colour', 'deadline'], schema='intake',
        postgresql_where=sa.text('stopped_at IS NULL'), postgresql_include=include,
    )


def upgrade() -> None:
    _held(['complaint_id'])


def downgrade() -> None:
    _held([])
