"""Shifts and events volunteers sign up for (shift_event), their sign-ups and attendance (shift_signup), the turfs
handed out at a shift (shift_turf), and the public sign-up's throttle (shift_signup_attempt).

Revision ID: 0018
Revises: the latest revision before it (see _previous)
Create Date: 2026-12-03
"""

from pathlib import Path

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import canvass.models


def _previous() -> str:
    numbers = sorted(p.name[:4] for p in Path(__file__).parent.glob("[0-9][0-9][0-9][0-9]_*.py") if p.name[:4] < "0018")
    return numbers[-1]


revision = '0018'
down_revision = _previous()
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table(
        'shift_event',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('title', sa.String(length=120), nullable=False),
        sa.Column('address', sa.String(length=300), nullable=False),
        sa.Column('directions', sa.Text(), nullable=False),
        sa.Column('starts_at', canvass.models.UTCDateTime(), nullable=False),
        sa.Column('ends_at', canvass.models.UTCDateTime(), nullable=False),
        sa.Column('head_count', sa.Integer(), nullable=False),
        sa.Column('languages_needed', JSON, nullable=False),
        sa.Column('signup_code', sa.String(length=16), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', canvass.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('signup_code'),
    )
    op.create_index(op.f('ix_shift_event_campaign_id'), 'shift_event', ['campaign_id'], unique=False)
    op.create_index(op.f('ix_shift_event_starts_at'), 'shift_event', ['starts_at'], unique=False)
    op.create_table(
        'shift_signup',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('shift_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('signed_up_at', canvass.models.UTCDateTime(), nullable=False),
        sa.Column('checked_in_at', canvass.models.UTCDateTime(), nullable=True),
        sa.Column('checked_in_by_id', sa.Integer(), nullable=True),
        sa.Column('turf_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['shift_id'], ['shift_event.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['checked_in_by_id'], ['user.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['turf_id'], ['turf.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('shift_id', 'user_id'),
    )
    op.create_index(op.f('ix_shift_signup_shift_id'), 'shift_signup', ['shift_id'], unique=False)
    op.create_index(op.f('ix_shift_signup_user_id'), 'shift_signup', ['user_id'], unique=False)
    op.create_table(
        'shift_turf',
        sa.Column('shift_id', sa.Integer(), nullable=False),
        sa.Column('turf_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['shift_id'], ['shift_event.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['turf_id'], ['turf.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('shift_id', 'turf_id'),
    )
    op.create_index(op.f('ix_shift_turf_turf_id'), 'shift_turf', ['turf_id'], unique=False)
    op.create_table(
        'shift_signup_attempt',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('remote_addr', sa.String(length=64), nullable=False),
        sa.Column('at', canvass.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_shift_signup_attempt_remote_addr'), 'shift_signup_attempt', ['remote_addr'],
                    unique=False)
    op.create_index(op.f('ix_shift_signup_attempt_at'), 'shift_signup_attempt', ['at'], unique=False)


def downgrade() -> None:
    op.drop_table('shift_signup_attempt')
    op.drop_table('shift_turf')
    op.drop_table('shift_signup')
    op.drop_table('shift_event')
