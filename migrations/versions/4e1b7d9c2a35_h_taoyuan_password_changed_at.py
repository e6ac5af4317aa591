"""h-taoyuan: when a person's password was last set (004 §7), and the agency that commissioned an office (004 §9)

Revision ID: 4e1b7d9c2a35
Revises: e5a1c7d3b9f2
Create Date: 2026-11-30 08:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

import models.base


# revision identifiers, used by Alembic.
revision = '4e1b7d9c2a35'
down_revision = 'e5a1c7d3b9f2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('password_changed_at', models.base.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.add_column(sa.Column('commissioned_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_agency_commissioned_by_id_agency'), 'agency',
                                    ['commissioned_by_id'], ['id'])


def downgrade():
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_agency_commissioned_by_id_agency'), type_='foreignkey')
        batch_op.drop_column('commissioned_by_id')
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_column('password_changed_at')
