"""A volunteer's path: the shift leader marker on a sign-up (shift_signup.leader), set by a lead on the roster.

Revision ID: 0020
Revises: the latest revision before it (see _previous)
Create Date: 2026-12-03
"""

from pathlib import Path

import sqlalchemy as sa
from alembic import op


def _previous() -> str:
    numbers = sorted(p.name[:4] for p in Path(__file__).parent.glob("[0-9][0-9][0-9][0-9]_*.py") if p.name[:4] < "0020")
    return numbers[-1]


revision = '0020'
down_revision = _previous()
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('shift_signup') as batch:
        batch.add_column(sa.Column('leader', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('shift_signup') as batch:
        batch.drop_column('leader')
