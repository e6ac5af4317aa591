"""h-simulate: a rollback stores an earlier version's content again as a new version

Revision ID: a1c5e0b7d2f4
Revises: 7c4d2e8f1a36
Create Date: 2026-11-30 03:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a1c5e0b7d2f4'
down_revision = '7c4d2e8f1a36'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('definition_version', schema=None) as batch_op:
        batch_op.add_column(sa.Column('restores_version', sa.Integer(), nullable=True))
        batch_op.drop_constraint(batch_op.f('uq_definition_version_definition_id_sha256'), type_='unique')
        batch_op.create_index(batch_op.f('ix_definition_version_definition_id'), ['definition_id', 'sha256'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('definition_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_definition_version_definition_id'))
        batch_op.create_unique_constraint(batch_op.f('uq_definition_version_definition_id_sha256'),
                                          ['definition_id', 'sha256'])
        batch_op.drop_column('restores_version')
