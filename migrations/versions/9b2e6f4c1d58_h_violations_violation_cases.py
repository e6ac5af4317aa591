"""h-violations: violation cases opened from query-log flags and sampling problems

Revision ID: 9b2e6f4c1d58
Revises: c3a7e1f05b92
Create Date: 2026-11-30 06:40:00

"""
from alembic import op
import sqlalchemy as sa

import models.base


# revision identifiers, used by Alembic.
revision = '9b2e6f4c1d58'
down_revision = 'c3a7e1f05b92'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('violation_case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('log_id', sa.Integer(), nullable=False),
    sa.Column('flag', sa.String(length=40), nullable=True),
    sa.Column('draw_id', sa.Integer(), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('report_due', sa.Date(), nullable=False),
    sa.Column('joint_audit_id', sa.Integer(), nullable=True),
    sa.Column('opened_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_violation_case_agency_id_agency')),
    sa.ForeignKeyConstraint(['application_id'], ['application.id'],
                            name=op.f('fk_violation_case_application_id_application')),
    sa.ForeignKeyConstraint(['joint_audit_id'], ['application.id'],
                            name=op.f('fk_violation_case_joint_audit_id_application')),
    sa.ForeignKeyConstraint(['draw_id'], ['sampling_draw.id'], name=op.f('fk_violation_case_draw_id_sampling_draw')),
    sa.ForeignKeyConstraint(['log_id'], ['query_log.id'], name=op.f('fk_violation_case_log_id_query_log')),
    sa.ForeignKeyConstraint(['opened_by_id'], ['person.id'], name=op.f('fk_violation_case_opened_by_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_violation_case')),
    sa.UniqueConstraint('application_id', name=op.f('uq_violation_case_application_id'))
    )
    with op.batch_alter_table('violation_case', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_violation_case_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_violation_case_log_id'), ['log_id'], unique=False)


def downgrade():
    with op.batch_alter_table('violation_case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_violation_case_log_id'))
        batch_op.drop_index(batch_op.f('ix_violation_case_agency_id'))
    op.drop_table('violation_case')
