"""h-taoyuan: when a person's password was last set (004 §7), and the agency that commissioned an office (004 §9)

Revision ID: 4e1b7d9c2a35
Revises: e5b3c8d1f2a7
Create Date: 2026-11-30 08:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

import models.base


# revision identifiers, used by Alembic.
revision = '4e1b7d9c2a35'
down_revision = 'e5b3c8d1f2a7'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('password_changed_at', models.base.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_column('password_changed_at')
