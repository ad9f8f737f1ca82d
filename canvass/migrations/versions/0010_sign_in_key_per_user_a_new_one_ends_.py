"""A sign-in key per user, in every sign-in cookie: logging out (or a new password) gives a new one, which ends
every session of that user, remember-me cookies included. Until now a session only ended with the password.

Existing users get a random key: everyone signs in once more after the upgrade.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from alembic import op
import sqlalchemy as sa

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sign_in_key', sa.String(length=32), nullable=True))
    random_key = "lower(hex(randomblob(16)))" if op.get_bind().dialect.name == 'sqlite' else \
        "md5(random()::text || clock_timestamp()::text || id::text)"
    op.execute(f'UPDATE "user" SET sign_in_key = {random_key}')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.alter_column('sign_in_key', existing_type=sa.String(length=32), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('sign_in_key')
