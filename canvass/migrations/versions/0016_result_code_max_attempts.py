"""Re-contact rules: a result code says after how many attempts a person leaves the universe (max_attempts); the
default Not home and Inaccessible codes give up after 3, as field programs usually do.

Revision ID: 0016
Revises: the latest revision before it
Create Date: 2026-12-03
"""

from pathlib import Path

import sqlalchemy as sa
from alembic import op


def _previous() -> str:
    numbers = sorted(p.name[:4] for p in Path(__file__).parent.glob("[0-9][0-9][0-9][0-9]_*.py") if p.name[:4] < "0016")
    return numbers[-1]


revision = '0016'
down_revision = _previous()
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('result_code') as batch:
        batch.add_column(sa.Column('max_attempts', sa.Integer(), nullable=True))
    op.execute("UPDATE result_code SET max_attempts = 3 WHERE code IN ('NH', 'IN')")


def downgrade() -> None:
    with op.batch_alter_table('result_code') as batch:
        batch.drop_column('max_attempts')
