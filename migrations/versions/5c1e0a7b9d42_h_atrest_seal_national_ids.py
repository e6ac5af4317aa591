"""h-atrest: seal ID numbers at rest, with keyed hashes for exact search

Encrypts what earlier versions stored in plain text: person.national_id (moved to national_id_sealed) and the
ID fields inside application.data; fills the keyed hashes; and removes ID numbers from the engine's saved
state (workflow_state), which no diagram reads. Needs the app's DATA_ENCRYPTION_KEY (``flask db upgrade``
runs inside the app, which hands the key to models.sealing).

Revision ID: 5c1e0a7b9d42
Revises: a1c5e0b7d2f4
Create Date: 2026-11-30 02:40:00.000000

"""
import json

import sqlalchemy as sa
from alembic import op

from models import sealing

# revision identifiers, used by Alembic.
revision = '5c1e0a7b9d42'
down_revision = 'a1c5e0b7d2f4'
branch_labels = None
depends_on = None

ID_FIELDS = ("national_id", "subject_national_id")  # the form fields holding an ID number, as of this revision
BATCH = 500

person = sa.table("person", sa.column("id", sa.Integer), sa.column("national_id", sa.String),
                  sa.column("national_id_sealed", sa.String), sa.column("national_id_hash", sa.String))
application = sa.table("application", sa.column("id", sa.Integer), sa.column("data", sa.JSON),
                       sa.column("workflow_state", sa.Text), sa.column("national_id_hash", sa.String))


def upgrade():
    op.add_column('person', sa.Column('national_id_sealed', sa.String(length=120), nullable=True))
    op.add_column('person', sa.Column('national_id_hash', sa.String(length=64), nullable=True))
    op.create_index('ix_person_national_id_hash', 'person', ['national_id_hash'], unique=False)
    op.add_column('application', sa.Column('national_id_hash', sa.String(length=64), nullable=True))
    op.create_index('ix_application_national_id_hash', 'application', ['national_id_hash'], unique=False)
    bind = op.get_bind()
    rows = bind.execute(sa.select(person.c.id, person.c.national_id).where(person.c.national_id.is_not(None))).all()
    for row in rows:
        bind.execute(person.update().where(person.c.id == row.id).values(
            national_id_sealed=sealing.seal(row.national_id), national_id_hash=sealing.digest(row.national_id)))
    op.drop_column('person', 'national_id')
    for rows in _batches(bind):
        for row in rows:
            _seal_application(bind, row)


def _batches(bind):
    last = 0
    while rows := bind.execute(sa.select(application.c.id, application.c.data, application.c.workflow_state)
                               .where(application.c.id > last).order_by(application.c.id).limit(BATCH)).all():
        yield rows
        last = rows[-1].id


def _seal_application(bind, row):
    data = dict(row.data or {})
    number = next((data[k] for k in ID_FIELDS if isinstance(data.get(k), str) and data[k]), None)
    for k in ID_FIELDS:
        if isinstance(data.get(k), str) and not sealing.is_sealed(data[k]):
            data[k] = sealing.seal(data[k])
    if number is not None and sealing.is_sealed(number):
        number = sealing.unseal(number)
    values = {"data": data, "national_id_hash": sealing.digest(number) if number else None}
    if row.workflow_state:
        state = json.loads(row.workflow_state)
        if _drop_ids(state):
            values["workflow_state"] = json.dumps(state)
    bind.execute(application.update().where(application.c.id == row.id).values(**values))


def _drop_ids(node) -> bool:
    """Remove ID fields wherever the saved engine state carries task data; True when something was removed."""
    removed = False
    if isinstance(node, dict):
        for k in ID_FIELDS:
            if k in node and (node[k] is None or isinstance(node[k], str)):
                del node[k]
                removed = True
        for value in node.values():
            removed = _drop_ids(value) or removed
    elif isinstance(node, list):
        for value in node:
            removed = _drop_ids(value) or removed
    return removed


def downgrade():
    # The ID numbers come back in plain text; the engine's saved state keeps none (it never needed them).
    op.add_column('person', sa.Column('national_id', sa.String(length=10), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(sa.select(person.c.id, person.c.national_id_sealed)
                        .where(person.c.national_id_sealed.is_not(None))).all()
    for row in rows:
        bind.execute(person.update().where(person.c.id == row.id).values(
            national_id=sealing.unseal(row.national_id_sealed)))
    for rows in _batches(bind):
        for row in rows:
            data = {k: sealing.unseal(v) if k in ID_FIELDS and sealing.is_sealed(v) else v
                    for k, v in (row.data or {}).items()}
            bind.execute(application.update().where(application.c.id == row.id).values(data=data))
    op.drop_index('ix_application_national_id_hash', table_name='application')
    op.drop_column('application', 'national_id_hash')
    op.drop_index('ix_person_national_id_hash', table_name='person')
    op.drop_column('person', 'national_id_hash')
    op.drop_column('person', 'national_id_sealed')
