"""intake issue 4: channels, Art 9 split, duplicates and abuse flags, decisions, clocks, evidence, tracking

Revision ID: 5b1e7c4d9a20
Revises: 12ec9c97a29b
Create Date: 2026-11-22 12:30:00

New columns on complaints (all nullable or defaulted, so rows written before stay valid), the
clocks of a case (indexed by status and deadline for the watchers of later issues), evidence file
records (the bytes live in the evidence store, never here) and failed public tracking lookups.
Clocks and evidence records follow their case under row-level security, like history.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '5b1e7c4d9a20'
down_revision = '12ec9c97a29b'
branch_labels = None
depends_on = None

CASE_TABLES = ('clocks', 'evidence')


def upgrade() -> None:
    op.alter_column('complaints', 'incident_division_code', existing_type=sa.String(length=12), nullable=True, schema='intake')
    op.alter_column('complaints', 'category', existing_type=sa.String(length=40), nullable=True, schema='intake')
    op.add_column('complaints', sa.Column('kind', sa.String(length=10), server_default='complaint', nullable=False), schema='intake')
    op.add_column('complaints', sa.Column('received_by', sa.String(length=64), nullable=True), schema='intake')
    op.add_column('complaints', sa.Column('source_tenant', sa.String(length=64), nullable=True), schema='intake')
    op.add_column('complaints', sa.Column('complainant_phone', sa.String(length=20), nullable=True), schema='intake')
    op.add_column('complaints', sa.Column('address_key', sa.String(length=200), nullable=True), schema='intake')
    op.add_column('complaints', sa.Column('business_key', sa.String(length=120), nullable=True), schema='intake')
    op.add_column('complaints', sa.Column('duplicate_of', sa.Uuid(), nullable=True), schema='intake')
    op.add_column('complaints', sa.Column('linked_id', sa.Uuid(), nullable=True), schema='intake')
    op.add_column('complaints', sa.Column('related_to', sa.Uuid(), nullable=True), schema='intake')
    op.add_column('complaints', sa.Column('flags', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False), schema='intake')
    op.add_column('complaints', sa.Column('details', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False), schema='intake')
    op.add_column('complaints', sa.Column('decision', postgresql.JSONB(astext_type=sa.Text()), nullable=True), schema='intake')
    op.create_foreign_key('fk_complaints_duplicate_of', 'complaints', 'complaints', ['duplicate_of'], ['id'], source_schema='intake', referent_schema='intake')
    for column in ('complainant_phone', 'address_key', 'business_key', 'duplicate_of', 'related_to'):
        op.create_index(op.f(f'ix_intake_complaints_{column}'), 'complaints', [column], unique=False, schema='intake')

    op.create_table('clocks',
    sa.Column('complaint_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('added', sa.Integer(), server_default='0', nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deadline', sa.DateTime(timezone=True), nullable=False),
    sa.Column('paused_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paused_total', sa.Interval(), server_default=sa.text("'0'::interval"), nullable=False),
    sa.Column('paused_counted', sa.Interval(), server_default=sa.text("'0'::interval"), nullable=False),
    sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['intake.complaints.id'], ),
    sa.PrimaryKeyConstraint('complaint_id', 'kind'),
    schema='intake'
    )
    op.create_index('ix_clocks_status_deadline', 'clocks', ['status', 'deadline'], unique=False, schema='intake')
    op.create_table('evidence',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('complaint_id', sa.Uuid(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('mime_type', sa.String(length=60), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_key', sa.String(length=200), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('uploaded_by', sa.String(length=64), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['intake.complaints.id'], ),
    sa.PrimaryKeyConstraint('id'),
    schema='intake'
    )
    op.create_index(op.f('ix_intake_evidence_complaint_id'), 'evidence', ['complaint_id'], unique=False, schema='intake')
    op.create_table('tracking_attempts',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('client', sa.String(length=64), nullable=False),
    sa.Column('tracking_no', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    schema='intake'
    )
    op.create_index('ix_tracking_attempts_client_at', 'tracking_attempts', ['client', 'at'], unique=False, schema='intake')
    op.create_index('ix_tracking_attempts_number_at', 'tracking_attempts', ['tracking_no', 'at'], unique=False, schema='intake')

    # staff reads of clocks and evidence records run scoped: they follow their case
    op.execute('GRANT SELECT ON ' + ', '.join(f'intake.{t}' for t in CASE_TABLES) + ' TO disputes_scoped')
    for table in CASE_TABLES:
        op.execute(f'ALTER TABLE intake.{table} ENABLE ROW LEVEL SECURITY')
        op.execute(f'DROP POLICY IF EXISTS scoped_read ON intake.{table}')
        op.execute(f"""
            CREATE POLICY scoped_read ON intake.{table} FOR SELECT TO disputes_scoped
            USING (EXISTS (SELECT 1 FROM intake.complaints c WHERE c.id = {table}.complaint_id))
        """)


def downgrade() -> None:
    for table in CASE_TABLES:
        op.execute(f'DROP POLICY IF EXISTS scoped_read ON intake.{table}')
    op.execute('REVOKE SELECT ON ' + ', '.join(f'intake.{t}' for t in CASE_TABLES) + ' FROM disputes_scoped')
    op.drop_index('ix_tracking_attempts_number_at', table_name='tracking_attempts', schema='intake')
    op.drop_index('ix_tracking_attempts_client_at', table_name='tracking_attempts', schema='intake')
    op.drop_table('tracking_attempts', schema='intake')
    op.drop_index(op.f('ix_intake_evidence_complaint_id'), table_name='evidence', schema='intake')
    op.drop_table('evidence', schema='intake')
    op.drop_index('ix_clocks_status_deadline', table_name='clocks', schema='intake')
    op.drop_table('clocks', schema='intake')
    for column in ('complainant_phone', 'address_key', 'business_key', 'duplicate_of', 'related_to'):
        op.drop_index(op.f(f'ix_intake_complaints_{column}'), table_name='complaints', schema='intake')
    op.drop_constraint('fk_complaints_duplicate_of', 'complaints', schema='intake', type_='foreignkey')
    for column in ('decision', 'details', 'flags', 'related_to', 'linked_id', 'duplicate_of', 'business_key',
                   'address_key', 'complainant_phone', 'source_tenant', 'received_by', 'kind'):
        op.drop_column('complaints', column, schema='intake')
    # uncompleted e-mail drafts keep their rows with placeholder values
    op.execute("UPDATE intake.complaints SET incident_division_code = '' WHERE incident_division_code IS NULL")
    op.execute("UPDATE intake.complaints SET category = 'other' WHERE category IS NULL")
    op.alter_column('complaints', 'category', existing_type=sa.String(length=40), nullable=False, schema='intake')
    op.alter_column('complaints', 'incident_division_code', existing_type=sa.String(length=12), nullable=False, schema='intake')
