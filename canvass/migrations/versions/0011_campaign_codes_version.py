"""campaign.codes_stamp is named codes_version: "stamp" named three different things.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Both engines rename a column in place (SQLite since 3.25): no copy of the table.
    op.execute('ALTER TABLE campaign RENAME COLUMN codes_stamp TO codes_version')


def downgrade() -> None:
    op.execute('ALTER TABLE campaign RENAME COLUMN codes_version TO codes_stamp')
