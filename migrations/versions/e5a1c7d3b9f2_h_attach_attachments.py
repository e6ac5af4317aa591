"""h-attach: files carried by applications and steps (sealed bytes, hash, uploader, withdrawal)

Revision ID: e5a1c7d3b9f2
Revises: 7d2e9b4c1a60
Create Date: 2026-11-30 08:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

import models.base
import models.sealing


# revision identifiers, used by Alembic.
revision = 'e5a1c7d3b9f2'
down_revision = '7d2e9b4c1a60'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'attachment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('application_id', sa.Integer(), nullable=True),
        sa.Column('human_task_id', sa.Integer(), nullable=True),
        sa.Column('label', sa.String(length=200), nullable=True),
        sa.Column('field', sa.String(length=60), nullable=True),
        sa.Column('file_name', sa.String(length=255), nullable=False),
        sa.Column('media_type', sa.String(length=100), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('content', models.sealing.SealedBytes(), nullable=False),
        sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
        sa.Column('uploaded_at', models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('removed_at', models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('removed_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['application_id'], ['application.id'], name=op.f('fk_attachment_application_id_application')),
        sa.ForeignKeyConstraint(['human_task_id'], ['human_task.id'], name=op.f('fk_attachment_human_task_id_human_task')),
        sa.ForeignKeyConstraint(['removed_by_id'], ['person.id'], name=op.f('fk_attachment_removed_by_id_person')),
        sa.ForeignKeyConstraint(['uploaded_by_id'], ['person.id'], name=op.f('fk_attachment_uploaded_by_id_person')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_attachment')),
    )
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachment_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachment_sha256'), ['sha256'], unique=False)
        batch_op.create_index('ix_attachment_draft', ['uploaded_by_id', 'application_id'], unique=False)


def downgrade():
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_index('ix_attachment_draft')
        batch_op.drop_index(batch_op.f('ix_attachment_sha256'))
        batch_op.drop_index(batch_op.f('ix_attachment_application_id'))
    op.drop_table('attachment')
