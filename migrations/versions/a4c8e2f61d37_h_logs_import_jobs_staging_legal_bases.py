"""h-logs: query-log imports as background jobs (state, progress, errors), their staging table; no index on
query_log.subject_hash (nothing reads by it, and its random keys cost most of an insert); an agency's legal
bases kept once, as rows of its legal-basis table (the admission's free text moved into it)

Revision ID: a4c8e2f61d37
Revises: 4e1b7d9c2a35
Create Date: 2026-11-30 08:40:00.000000

"""
import re

import sqlalchemy as sa
from alembic import op

import models.base
import models.sealing

# revision identifiers, used by Alembic.
revision = 'a4c8e2f61d37'
down_revision = '4e1b7d9c2a35'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('query_log_import', schema=None) as batch_op:
        batch_op.add_column(sa.Column('state', sa.String(length=20), server_default='done', nullable=False))
        batch_op.add_column(sa.Column('progress_done', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('progress_total', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('error_count', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('errors', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('message', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('started_at', models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('finished_at', models.base.UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        'query_log_stage',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('import_id', sa.Integer(), nullable=False),
        sa.Column('agency_id', sa.Integer(), nullable=False),
        sa.Column('line', sa.Integer(), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('account', sa.String(length=80), nullable=False),
        sa.Column('queried_at', models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('item_code', sa.String(length=10), nullable=False),
        sa.Column('subject_id_sealed', models.sealing.SealedString(length=120), nullable=False),
        sa.Column('subject_hash', sa.String(length=64), nullable=False),
        sa.Column('case_number', sa.String(length=80), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('result', sa.String(length=200), nullable=True),
        sa.Column('person_id', sa.Integer(), nullable=True),
        sa.Column('registration_id', sa.Integer(), nullable=True),
        sa.Column('flags', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['import_id'], ['query_log_import.id'],
                                name=op.f('fk_query_log_stage_import_id_query_log_import')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_query_log_stage')),
    )
    with op.batch_alter_table('query_log_stage', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_query_log_stage_import_id'), ['import_id'], unique=False)
    with op.batch_alter_table('query_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_query_log_subject_hash'))
    with op.batch_alter_table('legal_basis', schema=None) as batch_op:
        batch_op.add_column(sa.Column('application_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_legal_basis_application_id_application'), 'application',
                                    ['application_id'], ['id'])
    _move_admission_bases()
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.drop_column('legal_bases')


def _split(text):
    """「甲法第一條；乙法第二條」 → each statute (split at ；, ; and new lines; 、 joins articles of one law)."""
    return [part.strip(" 　，,。") for part in re.split(r"[；;\n]+", text or "") if part.strip(" 　，,。")]


def _move_admission_bases():
    """Each agency's admitted free text becomes rows of its table, beside those already there (by statute)."""
    bind = op.get_bind()
    agencies = bind.execute(sa.text("SELECT id, legal_bases, purposes FROM agency WHERE legal_bases IS NOT NULL"))
    for agency_id, text, purposes in agencies.fetchall():
        known = {row[0] for row in bind.execute(sa.text("SELECT statute FROM legal_basis WHERE agency_id = :a"),
                                                {"a": agency_id})}
        for statute in _split(text):
            statute = statute[:200]
            if statute not in known:
                known.add(statute)
                bind.execute(sa.text("INSERT INTO legal_basis (agency_id, statute, purpose, active) "
                                     "VALUES (:a, :s, :p, :t)"), {"a": agency_id, "s": statute, "p": purposes,
                                                                   "t": True})


def downgrade():
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.add_column(sa.Column('legal_bases', sa.String(length=2000), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT agency_id, statute FROM legal_basis WHERE active ORDER BY agency_id, id"))
    joined = {}
    for agency_id, statute in rows.fetchall():
        joined.setdefault(agency_id, []).append(statute)
    for agency_id, statutes in joined.items():
        bind.execute(sa.text("UPDATE agency SET legal_bases = :t WHERE id = :a"),
                     {"t": "；".join(statutes)[:2000], "a": agency_id})
    with op.batch_alter_table('legal_basis', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_legal_basis_application_id_application'), type_='foreignkey')
        batch_op.drop_column('application_id')
    with op.batch_alter_table('query_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_query_log_subject_hash'), ['subject_hash'], unique=False)
    with op.batch_alter_table('query_log_stage', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_query_log_stage_import_id'))
    op.drop_table('query_log_stage')
    with op.batch_alter_table('query_log_import', schema=None) as batch_op:
        for column in ('finished_at', 'started_at', 'message', 'errors', 'error_count', 'progress_total',
                       'progress_done', 'state'):
            batch_op.drop_column(column)
