"""h-atrest: chain the audit trail by hash; PostgreSQL refuses to change or remove its events

Existing events are chained in the order they were written (id), and the chain's head is set after them.

Revision ID: 8e3f2b6d1a07
Revises: 5c1e0a7b9d42
Create Date: 2026-11-30 03:10:00.000000

"""
import sqlalchemy as sa
from alembic import op

import models.base
from models import AUDIT_CHAIN_ID, AUDIT_GENESIS, audit_hash
from models.process import AUDIT_TRIGGERS

# revision identifiers, used by Alembic.
revision = '8e3f2b6d1a07'
down_revision = '5c1e0a7b9d42'
branch_labels = None
depends_on = None

BATCH = 2000

audit_event = sa.table(
    "audit_event", sa.column("id", sa.Integer), sa.column("event_type", sa.String),
    sa.column("actor_id", sa.Integer), sa.column("subject_type", sa.String), sa.column("subject_id", sa.Integer),
    sa.column("payload", sa.JSON), sa.column("created_at", models.base.UTCDateTime()),
    sa.column("seq", sa.Integer), sa.column("chain_hash", sa.String))


def upgrade():
    op.add_column('audit_event', sa.Column('seq', sa.Integer(), nullable=True))
    op.add_column('audit_event', sa.Column('chain_hash', sa.String(length=64), nullable=True))
    seq, previous = _chain_existing(op.get_bind())
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.alter_column('seq', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('chain_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_index(batch_op.f('ix_audit_event_seq'), ['seq'], unique=True)
    head = op.create_table(
        'audit_chain',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('chain_hash', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_chain')),
    )
    op.bulk_insert(head, [{"id": AUDIT_CHAIN_ID, "seq": seq, "chain_hash": previous}])
    if op.get_bind().dialect.name == "postgresql":
        for statements in AUDIT_TRIGGERS.values():
            for statement in statements:
                op.execute(statement)


def _chain_existing(bind) -> tuple[int, str]:
    seq, previous, last_id = 0, AUDIT_GENESIS, 0
    while rows := bind.execute(sa.select(audit_event).where(audit_event.c.id > last_id)
                               .order_by(audit_event.c.id).limit(BATCH)).all():
        for row in rows:
            seq += 1
            previous = audit_hash(previous, seq=seq, event_type=row.event_type, actor_id=row.actor_id,
                                  subject_type=row.subject_type, subject_id=row.subject_id, payload=row.payload,
                                  created_at=row.created_at)
            bind.execute(audit_event.update().where(audit_event.c.id == row.id)
                         .values(seq=seq, chain_hash=previous))
        last_id = rows[-1].id
    return seq, previous


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table, name in (("audit_event", "audit_event_append_only"), ("audit_event", "audit_event_no_truncate"),
                            ("audit_chain", "audit_chain_forward_only"), ("audit_chain", "audit_chain_no_truncate")):
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")
        op.execute("DROP FUNCTION IF EXISTS audit_chain_forward_only()")
    op.drop_table('audit_chain')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_seq'))
        batch_op.drop_column('chain_hash')
        batch_op.drop_column('seq')
