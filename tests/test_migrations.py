"""Upgrading keeps every row: the migrations that copy a table (SQLite's way to alter one) must not lose the rows
that refer to it."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from sqlmodel import SQLModel

from canvass import db, demo


def _counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                for table in SQLModel.metadata.sorted_tables}


def test_every_row_survives_the_migrations_down_to_0004_and_up_again(database_url):
    demo.build_demo(database_url, people=200)
    engine = db.make_engine(database_url)
    try:
        before = _counts(engine)
        assert before["person"] and before["turf_assignment"] and before["contact_attempt"] and before["campaign_member"]
        command.downgrade(db.alembic_config(engine), "0004")  # back past every migration that copies a table
        # The tables of 0004 must keep every row; a table made later (relational lists) goes with its rows.
        kept = set(sa.inspect(engine).get_table_names())
        assert db.upgrade(engine) == ("0004", db.head_revision())
        assert {k: v for k, v in _counts(engine).items() if k in kept} == {k: v for k, v in before.items()
                                                                           if k in kept}
    finally:
        engine.dispose()
