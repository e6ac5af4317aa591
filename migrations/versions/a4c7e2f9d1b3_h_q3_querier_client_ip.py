"""h-q3: the client IP a querier connects from (000 附表三's item sheet, 連線勞保查詢系統之電腦合法 IP) kept on
the querier's WebIR account

Revision ID: a4c7e2f9d1b3
Revises: d4e8a1c6f2b7
Create Date: 2026-11-30 12:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a4c7e2f9d1b3'
down_revision = 'd4e8a1c6f2b7'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('webir_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_ip', sa.String(length=45), nullable=True))


def downgrade():
    with op.batch_alter_table('webir_account', schema=None) as batch_op:
        batch_op.drop_column('client_ip')
