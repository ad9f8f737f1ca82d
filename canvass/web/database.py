"""The request's database session: one per request, opened on first use; views commit once (see canvass.db)."""

from __future__ import annotations

from flask import Flask, current_app, g, has_request_context, request
from sqlmodel import Session

from canvass.db import make_engine, reader, writer


def init_database(app: Flask) -> None:
    app.extensions["canvass.engine"] = make_engine(app.config["DATABASE_URL"])

    @app.teardown_appcontext
    def close_session(_exc) -> None:
        db_session = g.pop("db_session", None)
        if db_session is not None:
            db_session.close()


def engine():
    return current_app.extensions["canvass.engine"]


def db() -> Session:
    """The request's session (see canvass.db for the rule): a GET only reads; any other method may write."""
    if "db_session" not in g:
        reads_only = not has_request_context() or request.method in ("GET", "HEAD", "OPTIONS")
        g.db_session = Session(reader(engine()) if reads_only else writer(engine()), expire_on_commit=False)
    return g.db_session
