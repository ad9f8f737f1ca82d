"""job.queue_id (its procrastinate job on PostgreSQL) and job.runner (the process running it).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from alembic import op
import sqlalchemy as sa

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Both engines add a column in place: no copy of the table.
    op.add_column('job', sa.Column('queue_id', sa.BigInteger(), nullable=True))
    op.add_column('job', sa.Column('runner', sa.String(length=120), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.drop_column('runner')
        batch_op.drop_column('queue_id')
