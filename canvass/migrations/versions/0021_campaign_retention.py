"""Retention: a campaign's closed state and purge date (campaign.closed_at, closed_by_id, retention_days,
purge_after, purged_at, purged_by_id), and the tallies a purged campaign keeps (campaign_tally).

Revision ID: 0021
Revises: the latest revision before it (see _previous)
Create Date: 2026-12-03
"""

from pathlib import Path

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import canvass.models


def _previous() -> str:
    numbers = sorted(p.name[:4] for p in Path(__file__).parent.glob("[0-9][0-9][0-9][0-9]_*.py") if p.name[:4] < "0021")
    return numbers[-1]


revision = '0021'
down_revision = _previous()
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    with op.batch_alter_table('campaign') as batch:
        batch.add_column(sa.Column('closed_at', canvass.models.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column('closed_by_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('retention_days', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('purge_after', canvass.models.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column('purged_at', canvass.models.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column('purged_by_id', sa.Integer(), nullable=True))
        batch.create_index(batch.f('ix_campaign_purge_after'), ['purge_after'], unique=False)
        batch.create_foreign_key('fk_campaign_closed_by_id_user', 'user', ['closed_by_id'], ['id'],
                                 ondelete='SET NULL')
        batch.create_foreign_key('fk_campaign_purged_by_id_user', 'user', ['purged_by_id'], ['id'],
                                 ondelete='SET NULL')
    op.create_table(
        'campaign_tally',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('sheet', sa.String(length=32), nullable=False),
        sa.Column('table', JSON, nullable=False),
        sa.Column('made_at', canvass.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('campaign_id', 'sheet'),
    )


def downgrade() -> None:
    op.drop_table('campaign_tally')
    with op.batch_alter_table('campaign') as batch:
        batch.drop_constraint('fk_campaign_purged_by_id_user', type_='foreignkey')
        batch.drop_constraint('fk_campaign_closed_by_id_user', type_='foreignkey')
        batch.drop_index(batch.f('ix_campaign_purge_after'))
        for column in ('purged_by_id', 'purged_at', 'purge_after', 'retention_days', 'closed_by_id', 'closed_at'):
            batch.drop_column(column)
