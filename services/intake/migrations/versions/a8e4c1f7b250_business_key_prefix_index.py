"""issue 18: a credit-code search serves itself from an index under row-level security

Revision ID: a8e4c1f7b250
Revises: a9f4c7e2d1b6
Create Date: 2026-12-04 22:30:00

The case list searched credit codes with `(business ->> 'credit_code') LIKE 'X%'`. Neither `->>` nor
LIKE is leakproof, so as the scoped role PostgreSQL tested every case of the scope against the
policy first and the expression index was never used: 0.8 s for a city of 100,000 cases, once per
early warning on the dashboard. The search now asks `starts_with(business_key, 'cc:X')`
(`business_key` is 'cc:' and the credit code whenever the business has one; starts_with is
leakproof) on this index; rows filed before `business_key` existed get their key.
"""

from alembic import op

revision = "a8e4c1f7b250"
down_revision = "a9f4c7e2d1b6"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "UPDATE intake.complaints SET business_key = 'cc:' || (business ->> 'credit_code') "
        "WHERE business_key IS NULL AND coalesce(business ->> 'credit_code', '') <> ''"
    )
    op.create_index(
        "ix_complaints_business_key_prefix",
        "complaints",
        ["business_key"],
        schema="intake",
        postgresql_ops={"business_key": "text_pattern_ops"},
    )


def downgrade() -> None:
    op.drop_index("ix_complaints_business_key_prefix", table_name="complaints", schema="intake")
