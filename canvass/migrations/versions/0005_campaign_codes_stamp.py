"""campaign codes_stamp: lets app processes cache result codes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.add_column(sa.Column('codes_stamp', sa.String(length=32), nullable=False, server_default=sa.text("''")))
    # Existing campaigns get a stamp too, so their codes are cached from the start ('' means "do not cache").
    random_stamp = "md5(random()::text || id::text)" if op.get_bind().dialect.name == "postgresql" \
        else "lower(hex(randomblob(16)))"
    op.execute(f"UPDATE campaign SET codes_stamp = {random_stamp}")


def downgrade() -> None:
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.drop_column('codes_stamp')
