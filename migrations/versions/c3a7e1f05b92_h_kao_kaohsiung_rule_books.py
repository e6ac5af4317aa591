"""h-kao: Kaohsiung as its rule books say it (an agency's one-manager rule, admission and suspension)

Revision ID: c3a7e1f05b92
Revises: 4f6a2c8e1b93
Create Date: 2026-11-30 06:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c3a7e1f05b92'
down_revision = '4f6a2c8e1b93'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.add_column(sa.Column('single_manager_rule', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('admitted_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('legal_bases', sa.String(length=2000), nullable=True))
        batch_op.add_column(sa.Column('purposes', sa.String(length=2000), nullable=True))
        batch_op.add_column(sa.Column('suspended_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('suspension_reason', sa.String(length=2000), nullable=True))


def downgrade():
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.drop_column('suspension_reason')
        batch_op.drop_column('suspended_on')
        batch_op.drop_column('purposes')
        batch_op.drop_column('legal_bases')
        batch_op.drop_column('admitted_on')
        batch_op.drop_column('single_manager_rule')
