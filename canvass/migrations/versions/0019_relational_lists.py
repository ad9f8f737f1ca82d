"""Relational lists: the people each volunteer knows (relational_person), the contacts logged with them
(contact_attempt.relational_id), and room for the "relational" channel's name in contact_attempt and script.

Revision ID: 0019
Revises: the latest revision before it (see _previous)
Create Date: 2026-12-03
"""

from pathlib import Path

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import canvass.models


def _previous() -> str:
    numbers = sorted(p.name[:4] for p in Path(__file__).parent.glob("[0-9][0-9][0-9][0-9]_*.py") if p.name[:4] < "0019")
    return numbers[-1]


revision = '0019'
down_revision = _previous()
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def _key(length: int):
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        'relational_person',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=160), nullable=False),
        sa.Column('first_name', sa.String(length=80), nullable=False),
        sa.Column('last_name', sa.String(length=80), nullable=False),
        sa.Column('phone', _key(20), nullable=False),
        sa.Column('phones', JSON, nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('city', sa.String(length=80), nullable=False),
        sa.Column('age', sa.Integer(), nullable=True),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('source', sa.String(length=8), nullable=False),
        sa.Column('dedupe_key', _key(120), nullable=False),
        sa.Column('match', sa.String(length=12), nullable=False),
        sa.Column('suggested_id', sa.Integer(), nullable=True),
        sa.Column('person_id', sa.Integer(), nullable=True),
        sa.Column('created_at', canvass.models.UTCDateTime(), nullable=False),
        sa.Column('matched_at', canvass.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['suggested_id'], ['person.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('campaign_id', 'user_id', 'dedupe_key'),
    )
    op.create_index(op.f('ix_relational_person_campaign_id'), 'relational_person', ['campaign_id'], unique=False)
    op.create_index(op.f('ix_relational_person_user_id'), 'relational_person', ['user_id'], unique=False)
    op.create_index(op.f('ix_relational_person_person_id'), 'relational_person', ['person_id'], unique=False)
    with op.batch_alter_table('contact_attempt') as batch:
        batch.add_column(sa.Column('relational_id', sa.Integer(), nullable=True))
        batch.create_index(batch.f('ix_contact_attempt_relational_id'), ['relational_id'], unique=False)
        batch.create_foreign_key('fk_contact_attempt_relational_id_relational_person', 'relational_person',
                                 ['relational_id'], ['id'], ondelete='SET NULL')
    if op.get_bind().dialect.name == 'postgresql':  # SQLite keeps text of any length: nothing to widen there
        op.alter_column('contact_attempt', 'channel', type_=sa.String(16))
        op.alter_column('script', 'channel', type_=sa.String(16))


def downgrade() -> None:
    # The channel columns stay 16 wide: relational contacts and texts keep their rows (an older app never lists
    # them), and nothing older minds the room.
    with op.batch_alter_table('contact_attempt') as batch:
        batch.drop_constraint('fk_contact_attempt_relational_id_relational_person', type_='foreignkey')
        batch.drop_index(batch.f('ix_contact_attempt_relational_id'))
        batch.drop_column('relational_id')
    op.drop_index(op.f('ix_relational_person_person_id'), table_name='relational_person')
    op.drop_index(op.f('ix_relational_person_user_id'), table_name='relational_person')
    op.drop_index(op.f('ix_relational_person_campaign_id'), table_name='relational_person')
    op.drop_table('relational_person')
