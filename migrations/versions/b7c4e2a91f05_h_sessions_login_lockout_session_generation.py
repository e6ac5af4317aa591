"""h-sessions: log-in lockout and the session generation on person

Revision ID: b7c4e2a91f05
Revises: d87d98cf9a51
Create Date: 2026-11-25 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import models.base


# revision identifiers, used by Alembic.
revision = 'b7c4e2a91f05'
down_revision = 'd87d98cf9a51'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('failed_logins_since', models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('locked_until', models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('session_generation', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_column('session_generation')
        batch_op.drop_column('locked_until')
        batch_op.drop_column('failed_logins_since')
        batch_op.drop_column('failed_logins')
