"""Vote history: elections, who voted in them, and when each person registered.

Revision ID: 0014
Revises: the latest revision before it (see _previous)
Create Date: 2026-12-05
"""

from pathlib import Path

import sqlalchemy as sa
from alembic import op


def _previous() -> str:
    """0012 and 0013 were reserved for changes landing beside this one: 0014 follows the latest of those present,
    so the chain stays one line in every checkout, whichever lands first."""
    numbers = sorted(p.name[:4] for p in Path(__file__).parent.glob("[0-9][0-9][0-9][0-9]_*.py") if p.name[:4] < "0014")
    return numbers[-1]


revision = '0014'
down_revision = _previous()
branch_labels = None
depends_on = None



def upgrade() -> None:
    # A column added in place on both engines: no copy of the person table.
    op.add_column('person', sa.Column('registered_on', sa.Date(), nullable=True))
    op.create_table(
        'election',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('held_on', sa.Date(), nullable=False),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('campaign_id', 'kind', 'held_on'),
    )
    op.create_table(
        'vote',
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('election_id', sa.Integer(), nullable=False),
        sa.Column('method', sa.String(length=1), server_default=sa.text("''"), nullable=False),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('person_id', 'election_id'),
        sqlite_with_rowid=False,
    )
    op.create_index('ix_vote_election_person', 'vote', ['election_id', 'person_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_vote_election_person', table_name='vote')
    op.drop_table('vote')
    op.drop_table('election')
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_column('registered_on')
