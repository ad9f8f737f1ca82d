"""person.match_key again for names beyond plain Latin letters (data only)

Match keys used to drop letters outside Latin, Korean and Chinese: a Vietnamese Đ, a German ß, every letter of an
Arabic or Cyrillic name. An imported person whose name had such letters got a key that missed them, or none at all,
so a re-import of their list without IDs could not find them and added them again. The keys are now worked out
with every letter kept; this recomputes the stored ones, so the next import finds those people.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from alembic import op
import sqlalchemy as sa

from canvass.importing.names import name_key

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

BATCH = 5_000


def upgrade() -> None:
    connection = op.get_bind()
    names = "(person.first_name || person.last_name || person.suffix)"
    not_ascii = f"{names} ~ '[^\\x01-\\x7f]'" if connection.dialect.name == "postgresql" else f"{names} GLOB '*[^ -~]*'"
    rows = connection.execute(sa.text(
        "SELECT person.id, person.first_name, person.last_name, person.suffix, person.match_key, person.email, "
        "person.added_by_id, household.address_key FROM person "
        f"LEFT JOIN household ON household.id = person.household_id WHERE {not_ascii}")).all()
    changed = [{"id": row.id, "key": key} for row in rows if (key := _new_key(row)) is not None]
    for start in range(0, len(changed), BATCH):
        connection.execute(sa.text("UPDATE person SET match_key = :key WHERE id = :id"),
                           changed[start:start + BATCH])


def _new_key(row) -> str | None:
    """The key the importer makes now (last|first|suffix|door or email), or None to leave the stored one."""
    stored = row.match_key or ""
    if stored.count("|") >= 3:
        place = stored.split("|", 3)[3]  # the door (or email) the import keyed on; doors' keys hold | too
    elif stored == "" and row.added_by_id is None:  # imported without a key: its names had no letter kept
        place = row.address_key or row.email or ""
    else:
        return None  # met at the door, or a demo key: not an import's
    last, first, suffix = name_key(row.last_name), name_key(row.first_name), name_key(row.suffix)
    key = f"{last}|{first}|{suffix}|{place}"[:200] if (last or first) and place else ""
    return key if key != stored else None


def downgrade() -> None:
    pass  # the recomputed keys are what the importer makes; older code merely finds fewer people with them
