"""external_id keyed by (campaign_id, source, value) without a surrogate id; phone numbers indexed by hash on PostgreSQL

Both cut what a million-row import spends keeping indexes: the surrogate id's index, and a B-tree on numbers that
arrive in no order.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# SQLite's unique constraints have no names: batch mode names them by PostgreSQL's convention to find the one to drop.
NAMING = {"uq": "%(table_name)s_%(column_0_N_name)s_key"}
UNIQUE = 'external_id_campaign_id_source_value_key'


def upgrade() -> None:
    with op.batch_alter_table('external_id', naming_convention=NAMING) as batch_op:
        batch_op.drop_column('id')
        batch_op.drop_constraint(UNIQUE, type_='unique')
        batch_op.create_primary_key('external_id_pkey', ['campaign_id', 'source', 'value'])
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_phone_e164', table_name='phone')
        op.create_index('ix_phone_e164', 'phone', ['e164'], postgresql_using='hash')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_phone_e164', table_name='phone')
        op.create_index('ix_phone_e164', 'phone', ['e164'])
        op.drop_constraint('external_id_pkey', 'external_id', type_='primary')
        op.execute('ALTER TABLE external_id ADD COLUMN id SERIAL PRIMARY KEY')
        op.create_unique_constraint(UNIQUE, 'external_id', ['campaign_id', 'source', 'value'])
        return
    # SQLite numbers the rows itself once id is its INTEGER PRIMARY KEY again.
    op.execute('CREATE TABLE external_id_before (id INTEGER NOT NULL PRIMARY KEY, campaign_id INTEGER NOT NULL, '
               'person_id INTEGER NOT NULL, source VARCHAR(32) NOT NULL, value VARCHAR(64) NOT NULL, '
               'UNIQUE (campaign_id, source, value), '
               'FOREIGN KEY(person_id) REFERENCES person (id) ON DELETE CASCADE)')
    op.execute('INSERT INTO external_id_before (campaign_id, person_id, source, value) '
               'SELECT campaign_id, person_id, source, value FROM external_id')
    op.execute('DROP TABLE external_id')
    op.execute('ALTER TABLE external_id_before RENAME TO external_id')
    op.create_index('ix_external_id_person_id', 'external_id', ['person_id'])
