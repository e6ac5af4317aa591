"""h-retention: legal holds on applications and the record of each approved destruction

Revision ID: 7d2e9b4c1a60
Revises: 9b2e6f4c1d58
Create Date: 2026-11-30 06:40:00.000000

"""
from alembic import op
import sqlalchemy as sa

import models.base


# revision identifiers, used by Alembic.
revision = '7d2e9b4c1a60'
down_revision = '9b2e6f4c1d58'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'legal_hold',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('application_id', sa.Integer(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('set_by_id', sa.Integer(), nullable=False),
        sa.Column('set_at', models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('released_by_id', sa.Integer(), nullable=True),
        sa.Column('released_at', models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('release_reason', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['application_id'], ['application.id'], name=op.f('fk_legal_hold_application_id_application')),
        sa.ForeignKeyConstraint(['released_by_id'], ['person.id'], name=op.f('fk_legal_hold_released_by_id_person')),
        sa.ForeignKeyConstraint(['set_by_id'], ['person.id'], name=op.f('fk_legal_hold_set_by_id_person')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_legal_hold')),
    )
    with op.batch_alter_table('legal_hold', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_legal_hold_application_id'), ['application_id'], unique=False)
    op.create_table(
        'destruction_record',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('list_id', sa.Integer(), nullable=False),
        sa.Column('agency_id', sa.Integer(), nullable=False),
        sa.Column('record_type', sa.String(length=40), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('ids', sa.JSON(), nullable=False),
        sa.Column('method', sa.String(length=200), nullable=False),
        sa.Column('approved_by_id', sa.Integer(), nullable=True),
        sa.Column('approved_at', models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('carried_out_at', models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_destruction_record_agency_id_agency')),
        sa.ForeignKeyConstraint(['approved_by_id'], ['person.id'], name=op.f('fk_destruction_record_approved_by_id_person')),
        sa.ForeignKeyConstraint(['list_id'], ['application.id'], name=op.f('fk_destruction_record_list_id_application')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_destruction_record')),
    )
    with op.batch_alter_table('destruction_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_destruction_record_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_destruction_record_list_id'), ['list_id'], unique=False)


def downgrade():
    with op.batch_alter_table('destruction_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_destruction_record_list_id'))
        batch_op.drop_index(batch_op.f('ix_destruction_record_agency_id'))
    op.drop_table('destruction_record')
    with op.batch_alter_table('legal_hold', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_legal_hold_application_id'))
    op.drop_table('legal_hold')
