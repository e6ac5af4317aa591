"""h-tp2: a violation case opened by 社會局's 稽核紀錄表 (003 §8 ¶2): it names the audit record, not a log row

Revision ID: c6d2f8a4b1e9
Revises: a4c8e2f61d37
Create Date: 2026-11-30 10:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c6d2f8a4b1e9'
down_revision = 'a4c8e2f61d37'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('violation_case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('audit_record_id', sa.Integer(), nullable=True))
        batch_op.alter_column('log_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_unique_constraint(batch_op.f('uq_violation_case_audit_record_id'), ['audit_record_id'])
        batch_op.create_foreign_key(batch_op.f('fk_violation_case_audit_record_id_application'), 'application',
                                    ['audit_record_id'], ['id'])


def downgrade():
    with op.batch_alter_table('violation_case', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_violation_case_audit_record_id_application'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_violation_case_audit_record_id'), type_='unique')
        batch_op.alter_column('log_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('audit_record_id')
