"""h-inbox: copy the task's step id and name onto each task candidate, so the inbox's counts per form and step
read one index (no row of human_task or application per open step)

Existing candidate rows take the step and name of their task. The index on (person, open, form) is replaced by
one on (person, open, form, step, step name), which serves the counts per form as well.

Revision ID: d4e8a1c6f2b7
Revises: b9d3f1a7c2e5
Create Date: 2026-11-30 12:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd4e8a1c6f2b7'
down_revision = 'b9d3f1a7c2e5'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('task_candidate', sa.Column('step', sa.String(length=100), nullable=True))
    op.add_column('task_candidate', sa.Column('step_name', sa.String(length=200), nullable=True))
    op.execute(
        "UPDATE task_candidate SET "
        "step = (SELECT human_task.step FROM human_task WHERE human_task.id = task_candidate.human_task_id), "
        "step_name = (SELECT human_task.name FROM human_task WHERE human_task.id = task_candidate.human_task_id)")
    with op.batch_alter_table('task_candidate', schema=None) as batch_op:
        batch_op.alter_column('step', existing_type=sa.String(length=100), nullable=False)
        batch_op.alter_column('step_name', existing_type=sa.String(length=200), nullable=False)
        batch_op.drop_index('ix_task_candidate_person_open_form')
        batch_op.create_index('ix_task_candidate_person_open_step',
                              ['person_id', 'is_open', 'form_key', 'step', 'step_name'], unique=False)


def downgrade():
    with op.batch_alter_table('task_candidate', schema=None) as batch_op:
        batch_op.drop_index('ix_task_candidate_person_open_step')
        batch_op.create_index('ix_task_candidate_person_open_form', ['person_id', 'is_open', 'form_key'],
                              unique=False)
        batch_op.drop_column('step_name')
        batch_op.drop_column('step')
