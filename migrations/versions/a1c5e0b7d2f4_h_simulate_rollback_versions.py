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


def _foreign_keys(on: bool) -> None:
    """SQLite rebuilds the table to drop a constraint: a rebuild under enforced foreign keys fails once
    applications point at the versions (the implicit DELETE of DROP TABLE), so enforcement pauses meanwhile."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def upgrade():
    _foreign_keys(False)
    with op.batch_alter_table('definition_version', schema=None) as batch_op:
        batch_op.add_column(sa.Column('restores_version', sa.Integer(), nullable=True))
        batch_op.drop_constraint(batch_op.f('uq_definition_version_definition_id_sha256'), type_='unique')
        batch_op.create_index(batch_op.f('ix_definition_version_definition_id'), ['definition_id', 'sha256'],
                              unique=False)
    _foreign_keys(True)


def downgrade():
    _foreign_keys(False)
    with op.batch_alter_table('definition_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_definition_version_definition_id'))
        batch_op.create_unique_constraint(batch_op.f('uq_definition_version_definition_id_sha256'),
                                          ['definition_id', 'sha256'])
        batch_op.drop_column('restores_version')
    _foreign_keys(True)
