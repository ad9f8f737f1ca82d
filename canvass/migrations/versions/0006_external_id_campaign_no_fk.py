"""external_id.campaign_id without a foreign key (person_id's already cascades from the campaign)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# SQLite's foreign keys have no names: batch mode names them by this convention to find the one to drop.
NAMING = {"fk": "%(table_name)s_%(column_0_name)s_fkey"}


def upgrade() -> None:
    with op.batch_alter_table('external_id', naming_convention=NAMING) as batch_op:
        batch_op.drop_constraint('external_id_campaign_id_fkey', type_='foreignkey')


def downgrade() -> None:
    with op.batch_alter_table('external_id', naming_convention=NAMING) as batch_op:
        batch_op.create_foreign_key('external_id_campaign_id_fkey', 'campaign', ['campaign_id'], ['id'],
                                    ondelete='CASCADE')
