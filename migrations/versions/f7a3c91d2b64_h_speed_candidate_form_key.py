"""h-speed: copy the application's form key onto each task candidate, so the inbox counts read one index

Existing candidate rows take the form key of their task's application.

Revision ID: f7a3c91d2b64
Revises: 4f7a2c9e1b63
Create Date: 2026-11-30 05:30:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f7a3c91d2b64'
down_revision = '4f7a2c9e1b63'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('task_candidate', sa.Column('form_key', sa.String(length=60), nullable=True))
    op.execute(
        "UPDATE task_candidate SET form_key = (SELECT application.form_key FROM human_task "
        "JOIN application ON application.id = human_task.application_id "
        "WHERE human_task.id = task_candidate.human_task_id)")
    with op.batch_alter_table('task_candidate', schema=None) as batch_op:
        batch_op.alter_column('form_key', existing_type=sa.String(length=60), nullable=False)
        batch_op.create_index('ix_task_candidate_person_open_form', ['person_id', 'is_open', 'form_key'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('task_candidate', schema=None) as batch_op:
        batch_op.drop_index('ix_task_candidate_person_open_form')
        batch_op.drop_column('form_key')
