"""h-deploy: each process names the form it starts; a form's live chain; a failed decision kept for its retry

Revision ID: 5d2a9c7e3b18
Revises: 7c24f92742a6
Create Date: 2026-11-30 05:30:00

"""
from alembic import op
import sqlalchemy as sa

import models.base


# revision identifiers, used by Alembic.
revision = '5d2a9c7e3b18'
down_revision = '7c24f92742a6'
branch_labels = None
depends_on = None


def _foreign_keys(on: bool) -> None:
    """SQLite rebuilds a table to add a constraint: pause enforcement meanwhile (rows point at these tables)."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def upgrade():
    _foreign_keys(False)
    # Every process deployed so far is keyed as its form (the deploy refused any other key until now).
    with op.batch_alter_table('process_definition', schema=None) as batch_op:
        batch_op.add_column(sa.Column('form_key', sa.String(length=60), nullable=True))
    op.execute("UPDATE process_definition SET form_key = key")
    with op.batch_alter_table('process_definition', schema=None) as batch_op:
        batch_op.alter_column('form_key', existing_type=sa.String(length=60), nullable=False)
        batch_op.create_index(batch_op.f('ix_process_definition_form_key'), ['form_key'], unique=False)
    op.create_table(
        'form_chain',
        sa.Column('form_key', sa.String(length=60), nullable=False),
        sa.Column('definition_id', sa.Integer(), nullable=False),
        sa.Column('switched_by_id', sa.Integer(), nullable=True),
        sa.Column('switched_at', models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['definition_id'], ['process_definition.id'],
                                name=op.f('fk_form_chain_definition_id_process_definition')),
        sa.ForeignKeyConstraint(['switched_by_id'], ['person.id'], name=op.f('fk_form_chain_switched_by_id_person')),
        sa.PrimaryKeyConstraint('form_key', name=op.f('pk_form_chain')),
    )
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('decision', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('decided_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_incident_decided_by_id_person'), 'person', ['decided_by_id'],
                                    ['id'])
    _foreign_keys(True)


def downgrade():
    _foreign_keys(False)
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_incident_decided_by_id_person'), type_='foreignkey')
        batch_op.drop_column('decided_by_id')
        batch_op.drop_column('decision')
    op.drop_table('form_chain')
    with op.batch_alter_table('process_definition', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_process_definition_form_key'))
        batch_op.drop_column('form_key')
    _foreign_keys(True)
