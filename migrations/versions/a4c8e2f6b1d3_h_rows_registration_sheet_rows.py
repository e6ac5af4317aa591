"""h-rows: the 查調資料登記表's lines (000 附表一) in registration_row, and the line a logged query matched

Each existing registration's single subject and item become its line 1 (the sealed number moves as it is: it
is not unsealed here), so reconciliation of old registrations keeps working.

Revision ID: a4c8e2f6b1d3
Revises: a4c7e2f9d1b3
Create Date: 2026-11-30 12:00:00.000000

"""
import json
from datetime import date

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a4c8e2f6b1d3'
down_revision = 'a4c7e2f9d1b3'
branch_labels = None
depends_on = None


def upgrade():
    rows = op.create_table(
        'registration_row',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('application_id', sa.Integer(), nullable=False),
        sa.Column('line', sa.Integer(), nullable=False),
        sa.Column('query_date', sa.Date(), nullable=True),
        sa.Column('item', sa.String(length=10), nullable=True),
        sa.Column('subject_hash', sa.String(length=64), nullable=False),
        sa.Column('subject_id_sealed', sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(['application_id'], ['application.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('application_id', 'line'),
    )
    with op.batch_alter_table('registration_row', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registration_row_subject_hash'), ['subject_hash'], unique=False)
    for table in ('query_log', 'query_log_stage'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('registration_line', sa.Integer(), nullable=True))
    bind = op.get_bind()
    found = bind.execute(sa.text(
        "SELECT id, data, national_id_hash FROM application WHERE form_key = 'query_registration'"))
    lines = [_line_one(app_id, data, subject_hash) for app_id, data, subject_hash in found]
    if lines:
        op.bulk_insert(rows, lines)
    bind.execute(sa.text("UPDATE query_log SET registration_line = 1 WHERE registration_id IS NOT NULL"))


def _line_one(app_id, data, subject_hash):
    data = json.loads(data) if isinstance(data, str) else (data or {})
    day = data.get('query_date')
    try:
        day = date.fromisoformat(day) if day else None
    except (TypeError, ValueError):
        day = None
    return {'application_id': app_id, 'line': 1, 'query_date': day, 'item': data.get('item'),
            'subject_hash': subject_hash or '', 'subject_id_sealed': data.get('subject_national_id')}


def downgrade():
    for table in ('query_log_stage', 'query_log'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('registration_line')
    with op.batch_alter_table('registration_row', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registration_row_subject_hash'))
    op.drop_table('registration_row')
