"""h-logs2: a heartbeat on query-log import jobs, so a job whose process died is found and ended; on PostgreSQL
the staging table query_log_stage UNLOGGED (work in progress, never the record: no WAL for its writes)

Revision ID: b9d3f1a7c2e5
Revises: c6d2f8a4b1e9
Create Date: 2026-11-30 10:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

import models.base

# revision identifiers, used by Alembic.
revision = 'b9d3f1a7c2e5'
down_revision = 'c6d2f8a4b1e9'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('query_log_import', schema=None) as batch_op:
        batch_op.add_column(sa.Column('heartbeat_at', models.base.UTCDateTime(timezone=True), nullable=True))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE query_log_stage SET UNLOGGED')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE query_log_stage SET LOGGED')
    with op.batch_alter_table('query_log_import', schema=None) as batch_op:
        batch_op.drop_column('heartbeat_at')
