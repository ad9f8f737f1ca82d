"""One do-not-contact list (opt_out): every opt-out with its channels, reason and source, lifted only by staff. The
people already flagged do-not-contact or do-not-call, and the numbers already marked wrong, become its first entries;
the default Refused code puts a final refusal on the list.

Revision ID: 0017
Revises: the latest revision before it
Create Date: 2026-12-03
"""

from pathlib import Path

import sqlalchemy as sa
from alembic import op

import canvass.models


def _previous() -> str:
    numbers = sorted(p.name[:4] for p in Path(__file__).parent.glob("[0-9][0-9][0-9][0-9]_*.py") if p.name[:4] < "0017")
    return numbers[-1]


revision = '0017'
down_revision = _previous()
branch_labels = None
depends_on = None


def upgrade() -> None:
    key = sa.String(20).with_variant(sa.String(20, collation="C"), "postgresql")
    op.create_table(
        'opt_out',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('phone_id', sa.Integer(), nullable=True),
        sa.Column('e164', key, nullable=False),
        sa.Column('scope', sa.String(length=8), nullable=False),
        sa.Column('reason', sa.String(length=16), nullable=False),
        sa.Column('note', sa.String(length=300), nullable=False),
        sa.Column('source', sa.String(length=8), nullable=False),
        sa.Column('contact_id', sa.Integer(), nullable=True),
        sa.Column('import_name', sa.String(length=255), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', canvass.models.UTCDateTime(), nullable=False),
        sa.Column('lifted_at', canvass.models.UTCDateTime(), nullable=True),
        sa.Column('lifted_by_id', sa.Integer(), nullable=True),
        sa.Column('lift_note', sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['phone_id'], ['phone.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['contact_id'], ['contact_attempt.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['lifted_by_id'], ['user.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_opt_out_campaign_id'), 'opt_out', ['campaign_id'], unique=False)
    op.create_index('ix_opt_out_person_active', 'opt_out', ['person_id', 'lifted_at'], unique=False)
    op.create_index('ix_opt_out_phone', 'opt_out', ['phone_id'], unique=False)
    columns = "campaign_id, person_id, phone_id, e164, scope, reason, note, source, import_name, created_at, lift_note"
    for flag, scope in (("do_not_contact", "all"), ("do_not_call", "phone")):
        op.execute(f"INSERT INTO opt_out ({columns}) SELECT campaign_id, id, NULL, '', '{scope}', '{flag}', '', "
                   f"'manual', '', CURRENT_TIMESTAMP, '' FROM person WHERE {flag}")
    op.execute(f"INSERT INTO opt_out ({columns}) SELECT person.campaign_id, person.id, phone.id, phone.e164, 'phone', "
               f"'wrong_number', '', 'manual', '', CURRENT_TIMESTAMP, '' FROM phone JOIN person "
               f"ON person.id = phone.person_id WHERE phone.status = 'wrong'")
    op.execute("UPDATE result_code SET suppresses = 'refused' WHERE code = 'RF' AND suppresses = 'none'")


def downgrade() -> None:
    op.execute("UPDATE result_code SET suppresses = 'none' WHERE suppresses = 'refused'")
    op.drop_index('ix_opt_out_phone', table_name='opt_out')
    op.drop_index('ix_opt_out_person_active', table_name='opt_out')
    op.drop_index(op.f('ix_opt_out_campaign_id'), table_name='opt_out')
    op.drop_table('opt_out')
