"""SMS one-time codes for the parties' sign-in and e-confirmation (hashed); the business's credit code

Revision ID: b3c5d7e9f1a2
Revises: f16a3c5e7b92, b3d5f7a9c1e2 (also joins the two heads main has)
Create Date: 2026-12-04 16:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "b3c5d7e9f1a2"
down_revision = ("f16a3c5e7b92", "b3d5f7a9c1e2")  # main has two heads here: joined
branch_labels = None
depends_on = None

S = "notification"


def upgrade() -> None:
    # the business signs in with its credit code: learned from complaint.accepted.v1
    op.add_column("cases", sa.Column("business_credit_code", sa.String(18)), schema=S)
    op.create_index("ix_cases_business_credit_code", "cases", ["business_credit_code"], schema=S)
    op.create_table(
        "one_time_codes",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("party", sa.String(20), nullable=False),
        sa.Column("purpose", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(80), nullable=False),
        sa.Column("complaint_id", sa.Uuid()),
        sa.Column("phone_digest", sa.String(64), nullable=False),
        sa.Column("code_digest", sa.String(64), nullable=False),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True)),
        schema=S,
    )
    op.create_index("ix_one_time_codes_subject", "one_time_codes", ["party", "purpose", "subject", "created_at"], schema=S)
    op.create_index("ix_one_time_codes_phone", "one_time_codes", ["phone_digest", "created_at"], schema=S)
    op.create_index("ix_one_time_codes_client", "one_time_codes", ["client", "created_at"], schema=S)


def downgrade() -> None:
    op.drop_table("one_time_codes", schema=S)
    op.drop_index("ix_cases_business_credit_code", "cases", schema=S)
    op.drop_column("cases", "business_credit_code", schema=S)
