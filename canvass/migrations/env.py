"""Alembic environment: canvass passes its engine in ``config.attributes``; there is no alembic.ini to keep in step."""

from alembic import context
from sqlmodel import SQLModel

import canvass.models  # noqa: F401  (registers every table on SQLModel.metadata)
from canvass.db import is_model_table

target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite alters a table by copying it and dropping the original. With foreign keys enforced, that DROP
            # deletes every row referring to the table (ON DELETE CASCADE): altering "campaign" would empty the
            # campaign's people. So they are off while migrating (the PRAGMA only works outside a transaction,
            # hence on the driver's connection) and checked before they are on again.
            _driver(connection).execute("PRAGMA foreign_keys=OFF")
        try:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=sqlite,  # SQLite alters tables by copying them
                compare_type=True,
                compare_server_default=True,
                include_name=is_model_table,  # procrastinate's tables are canvass.queue_schema's business
            )
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"the migration left rows referring to missing rows: {broken[:5]}")
            connection.commit()
        finally:
            if sqlite:
                connection.rollback()
                _driver(connection).execute("PRAGMA foreign_keys=ON")


def _driver(connection):
    return connection.connection.driver_connection


run_migrations_online()
