"""Writes a new Alembic migration from the difference between the models and the current migrations.

Usage: python scripts/new_migration.py "add call-back times"
"""

import sys
import tempfile

from alembic import command

from canvass import db


def main(message: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        engine = db.make_engine(f"sqlite:///{folder}/schema.db")
        db.upgrade(engine)
        revisions = db.alembic_config(engine)
        number = int(db.head_revision()) + 1
        command.revision(revisions, message=message, autogenerate=True, rev_id=f"{number:04d}")
        engine.dispose()


if __name__ == "__main__":
    main(" ".join(sys.argv[1:]) or sys.exit(__doc__))
