"""h-logs: query-log imports as background jobs (state, progress, errors), their staging table; no index on
query_log.subject_hash (nothing reads by it, and its random keys cost most of an insert)

Revision ID: a4c8e2f61d37
Revises: 7d2e9b4c1a60
Create Date: 2026-11-30 08:40:00.000000

"""
import sqlalchemy as sa
from alembic import op

import models.base
import models.sealing

# revision identifiers, used by Alembic.
revision = 'a4c8e2f61d37'
down_revision = '7d2e9b4c1a60'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('query_log_import', schema=None) as batch_op:
        batch_op.add_column(sa.Column('state', sa.String(length=20), server_default='done', nullable=False))
        batch_op.add_column(sa.Column('progress_done', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('progress_total', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('error_count', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('errors', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('message', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('started_at', models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('finished_at', models.base.UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        'query_log_stage',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('import_id', sa.Integer(), nullable=False),
        sa.Column('agency_id', sa.Integer(), nullable=False),
        sa.Column('line', sa.Integer(), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('account', sa.String(length=80), nullable=False),
        sa.Column('queried_at', models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('item_code', sa.String(length=10), nullable=False),
        sa.Column('subject_id_sealed', models.sealing.SealedString(length=120), nullable=False),
        sa.Column('subject_hash', sa.String(length=64), nullable=False),
        sa.Column('case_number', sa.String(length=80), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('result', sa.String(length=200), nullable=True),
        sa.Column('person_id', sa.Integer(), nullable=True),
        sa.Column('registration_id', sa.Integer(), nullable=True),
        sa.Column('flags', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['import_id'], ['query_log_import.id'],
                                name=op.f('fk_query_log_stage_import_id_query_log_import')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_query_log_stage')),
    )
    with op.batch_alter_table('query_log_stage', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_query_log_stage_import_id'), ['import_id'], unique=False)
    with op.batch_alter_table('query_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_query_log_subject_hash'))


def downgrade():
    with op.batch_alter_table('query_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_query_log_subject_hash'), ['subject_hash'], unique=False)
    with op.batch_alter_table('query_log_stage', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_query_log_stage_import_id'))
    op.drop_table('query_log_stage')
    with op.batch_alter_table('query_log_import', schema=None) as batch_op:
        for column in ('finished_at', 'started_at', 'message', 'errors', 'error_count', 'progress_total',
                       'progress_done', 'state'):
            batch_op.drop_column(column)
