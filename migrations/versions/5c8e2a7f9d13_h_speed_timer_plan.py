"""h-speed: an application's waiting timers in their own column (the timer plan)

Waiting applications saved before this revision have no plan: their next timer wakes them through the
engine as before, and that save writes the plan (workflows.runtime.sync), so no state is rewritten here.

Revision ID: 5c8e2a7f9d13
Revises: a4c8e2d9b317
Create Date: 2026-11-30 08:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5c8e2a7f9d13'
down_revision = 'a4c8e2d9b317'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.add_column(sa.Column('timer_plan', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.drop_column('timer_plan')
