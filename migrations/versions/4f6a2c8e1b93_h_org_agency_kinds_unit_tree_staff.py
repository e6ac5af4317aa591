"""h-org: an agency has a set of kinds; units form a tree; people carry a staff number and a status

Each agency's one kind becomes its first row in agency_kind.

Revision ID: 4f6a2c8e1b93
Revises: f3a9c1d7e2b8
Create Date: 2026-11-30 05:30:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '4f6a2c8e1b93'
down_revision = 'f3a9c1d7e2b8'
branch_labels = None
depends_on = None

KINDS = ('central', 'authority', 'requesting', 'bureau')


def _kind_type():
    return sa.Enum(*KINDS, name='agencykind', native_enum=False, length=20)


def upgrade():
    op.create_table(
        'agency_kind',
        sa.Column('agency_id', sa.Integer(), nullable=False),
        sa.Column('kind', _kind_type(), nullable=False),
        sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_agency_kind_agency_id_agency'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('agency_id', 'kind', name=op.f('pk_agency_kind')),
    )
    op.execute("INSERT INTO agency_kind (agency_id, kind) SELECT id, kind FROM agency")
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.drop_column('kind')
    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parent_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_unit_parent_id'), ['parent_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_unit_parent_id_unit'), 'unit', ['parent_id'], ['id'])
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('staff_number', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('status', sa.Enum('active', 'left', 'retired', name='personstatus',
                                                        native_enum=False, length=20),
                                      server_default='active', nullable=False))
        batch_op.add_column(sa.Column('status_on', sa.Date(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_person_staff_number'), ['staff_number'])


def downgrade():
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_person_staff_number'), type_='unique')
        batch_op.drop_column('status_on')
        batch_op.drop_column('status')
        batch_op.drop_column('staff_number')
    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_unit_parent_id_unit'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_unit_parent_id'))
        batch_op.drop_column('parent_id')
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', _kind_type(), nullable=True))
    # An agency of several kinds goes back to one of them.
    op.execute("UPDATE agency SET kind = (SELECT min(k.kind) FROM agency_kind k WHERE k.agency_id = agency.id)")
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.alter_column('kind', existing_type=_kind_type(), nullable=False)
    op.drop_table('agency_kind')
