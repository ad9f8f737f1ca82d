"""The web layer: Flask glue around the domain modules. Each area has its blueprint in this package; the modules
beside them (database, security, language, templating, errors, background) are what every page uses."""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter

from canvass.web.security import refuse_nul_characters


class RowIdConverter(IntegerConverter):
    """``<int:...>`` in every route: an id past a PostgreSQL integer names nothing, so it is a 404 here rather than
    an overflow error in the database."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def register_blueprints(app: Flask) -> None:
    app.url_map.converters["int"] = RowIdConverter  # before any route is registered
    app.before_request(refuse_nul_characters)
    from canvass.web import (
        api,
        auth,
        calling,
        campaigns,
        canvassing,
        duplicates,
        exports,
        history,
        home,
        importing,
        opt_outs,
        path,
        people,
        relational,
        shifts,
        turfs,
        users,
    )

    for module in (auth, home, users, campaigns, importing, history, people, opt_outs, duplicates, turfs, canvassing,
                   calling, shifts, path, exports, relational, api):
        app.register_blueprint(module.bp)
