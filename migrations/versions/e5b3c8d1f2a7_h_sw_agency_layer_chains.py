"""h-sw: an agency layer's own chains (a form's process per agency); an agency commissioned by another; the
colleague an application is filed for

Revision ID: e5b3c8d1f2a7
Revises: e5a1c7d3b9f2
Create Date: 2026-11-30 08:40:00

"""
from alembic import op
import sqlalchemy as sa

import models.base


# revision identifiers, used by Alembic.
revision = 'e5b3c8d1f2a7'
down_revision = 'e5a1c7d3b9f2'
branch_labels = None
depends_on = None


def _foreign_keys(on: bool) -> None:
    """SQLite rebuilds a table to add a constraint: pause enforcement meanwhile (rows point at these tables)."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def _form_chain(name: str, *, with_agency: bool) -> None:
    columns = [sa.Column('id', sa.Integer(), nullable=False)] if with_agency else []
    columns += [sa.Column('form_key', sa.String(length=60), nullable=False)]
    if with_agency:
        columns += [sa.Column('agency_id', sa.Integer(), nullable=True)]
    columns += [
        sa.Column('definition_id', sa.Integer(), nullable=False),
        sa.Column('switched_by_id', sa.Integer(), nullable=True),
        sa.Column('switched_at', models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['definition_id'], ['process_definition.id'],
                                name=op.f('fk_form_chain_definition_id_process_definition')),
        sa.ForeignKeyConstraint(['switched_by_id'], ['person.id'], name=op.f('fk_form_chain_switched_by_id_person')),
    ]
    if with_agency:
        columns += [
            sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_form_chain_agency_id_agency')),
            sa.PrimaryKeyConstraint('id', name=op.f('pk_form_chain')),
            sa.UniqueConstraint('form_key', 'agency_id', name=op.f('uq_form_chain_form_key_agency_id')),
        ]
    else:
        columns += [sa.PrimaryKeyConstraint('form_key', name=op.f('pk_form_chain'))]
    op.create_table(name, *columns)


def _rows(sql: str) -> list[dict]:
    return [dict(r._mapping) for r in op.get_bind().execute(sa.text(sql))]


def _insert(rows: list[dict]) -> None:
    for row in rows:
        op.get_bind().execute(sa.text(
            "INSERT INTO form_chain (form_key, definition_id, switched_by_id, switched_at) "
            "VALUES (:form_key, :definition_id, :switched_by_id, :switched_at)"), row)


def upgrade():
    _foreign_keys(False)
    # The key changes (a form may have a row per agency): rebuild the small table, keeping the city's choices.
    rows = _rows("SELECT form_key, definition_id, switched_by_id, switched_at FROM form_chain")
    op.drop_table('form_chain')
    _form_chain('form_chain', with_agency=True)
    _insert(rows)
    with op.batch_alter_table('form_chain', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_form_chain_form_key'), ['form_key'], unique=False)
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.add_column(sa.Column('requester_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_application_requester_id_person'), 'person',
                                    ['requester_id'], ['id'])
    _foreign_keys(True)


def downgrade():
    _foreign_keys(False)
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_application_requester_id_person'), type_='foreignkey')
        batch_op.drop_column('requester_id')
    rows = _rows("SELECT form_key, definition_id, switched_by_id, switched_at FROM form_chain "
                 "WHERE agency_id IS NULL")
    op.drop_index(op.f('ix_form_chain_form_key'), table_name='form_chain')
    op.drop_table('form_chain')
    _form_chain('form_chain', with_agency=False)
    _insert(rows)
    _foreign_keys(True)
