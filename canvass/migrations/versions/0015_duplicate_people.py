"""Duplicate people: pairs judged to be different people (not_duplicate), and merges with what they moved
(merge_record), so a merge can be undone.

Revision ID: 0015
Revises: the latest revision before it (see _previous)
Create Date: 2026-12-05
"""

from pathlib import Path

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import canvass.models


def _previous() -> str:
    """0012 to 0014 were reserved for changes landing beside this one: 0015 follows the latest of those present, so
    the chain stays one line in every checkout, whichever lands first."""
    numbers = sorted(p.name[:4] for p in Path(__file__).parent.glob("[0-9][0-9][0-9][0-9]_*.py") if p.name[:4] < "0015")
    return numbers[-1]


revision = '0015'
down_revision = _previous()
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table(
        'not_duplicate',
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('other_id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', canvass.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['decided_by_id'], ['user.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['other_id'], ['person.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('person_id', 'other_id'),
    )
    op.create_index(op.f('ix_not_duplicate_campaign_id'), 'not_duplicate', ['campaign_id'], unique=False)
    op.create_index(op.f('ix_not_duplicate_other_id'), 'not_duplicate', ['other_id'], unique=False)
    op.create_table(
        'merge_record',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('survivor_id', sa.Integer(), nullable=False),
        sa.Column('merged_id', sa.Integer(), nullable=False),
        sa.Column('reasons', JSON, nullable=False),
        sa.Column('moved', JSON, nullable=False),
        sa.Column('saved', JSON, nullable=False),
        sa.Column('merged_by_id', sa.Integer(), nullable=True),
        sa.Column('merged_at', canvass.models.UTCDateTime(), nullable=False),
        sa.Column('undone_at', canvass.models.UTCDateTime(), nullable=True),
        sa.Column('undone_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['merged_by_id'], ['user.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['undone_by_id'], ['user.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_merge_record_campaign_id'), 'merge_record', ['campaign_id'], unique=False)
    op.create_index(op.f('ix_merge_record_merged_id'), 'merge_record', ['merged_id'], unique=False)
    op.create_index(op.f('ix_merge_record_survivor_id'), 'merge_record', ['survivor_id'], unique=False)


def downgrade() -> None:
    op.drop_table('merge_record')
    op.drop_table('not_duplicate')
