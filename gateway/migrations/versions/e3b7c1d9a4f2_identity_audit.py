"""identity audit trail: who created, changed, disabled or re-passworded which account, and which
agency API keys were issued, rotated or revoked (issue 18: every administrative change is audited)

Revision ID: e3b7c1d9a4f2
Revises: 9fedbaa8f25f
Create Date: 2026-12-04 16:25:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = 'e3b7c1d9a4f2'
down_revision = '9fedbaa8f25f'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=64), nullable=False),
    sa.Column('detail', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    schema='identity'
    )
    op.create_index('ix_identity_audit_tenant', 'audit', ['tenant'], unique=False, schema='identity', postgresql_ops={'tenant': 'text_pattern_ops'})


def downgrade() -> None:
    op.drop_index('ix_identity_audit_tenant', table_name='audit', schema='identity', postgresql_ops={'tenant': 'text_pattern_ops'})
    op.drop_table('audit', schema='identity')
