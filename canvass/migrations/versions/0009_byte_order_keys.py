"""Doors' keys, external IDs, phone numbers and email addresses compared byte by byte on PostgreSQL (COLLATE "C")

They identify; nobody reads them sorted. Their indexes then compare with memcmp instead of the database's locale,
and an import's rows, sorted in Python, arrive in the indexes' own order whatever that locale is. SQLite already
compares text byte by byte: nothing changes there. Equality is the same under both (PostgreSQL's deterministic
collations break ties byte by byte), so no stored row becomes a duplicate of another.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24
"""

from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

COLUMNS = [('household', 'address_key', 300), ('household', 'building_key', 300), ('external_id', 'source', 32),
           ('external_id', 'value', 64), ('phone', 'e164', 20), ('email', 'address', 254)]


def _collate(collation: str | None) -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table, column, length in COLUMNS:
        op.alter_column(table, column, type_=sa.String(length, collation=collation),
                        existing_type=sa.String(length), existing_nullable=False)


def upgrade() -> None:
    _collate('C')


def downgrade() -> None:
    _collate('default')
