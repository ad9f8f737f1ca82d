"""The application factory: a table of contents of how the app is put together."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from canvass import accounts, allocators, config, logs
from canvass.paths import PACKAGE_DIR, resource_dir
from canvass.web import register_blueprints
from canvass.web.background import init_clock, init_jobs
from canvass.web.database import init_database
from canvass.web.errors import register_error_pages
from canvass.web.language import init_i18n
from canvass.web.security import init_proxy, init_security
from canvass.web.templating import register_template_helpers


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Builds the web app from the settings (``CANVASS_*`` variables, then ``overrides``)."""
    settings = config.load_settings(overrides=overrides)
    instance_path = Path(settings["INSTANCE_PATH"] or Path.cwd() / "instance").resolve()
    app = Flask("canvass", template_folder=str(resource_dir("templates")), static_folder=str(PACKAGE_DIR / "static"),
                instance_path=str(instance_path))
    config.validate_settings(settings, instance_path)
    app.config.update(settings)
    app.testing = settings["MODE"] == "testing"
    if app.testing:
        accounts.use_fast_password_hashing_for_tests()
    logs.install(app.logger)  # before anything can log
    allocators.tune_memory_for_bulk_work()  # before the job threads start: imports and exports run there

    init_database(app)
    init_clock(app)
    init_proxy(app)
    init_security(app)
    init_i18n(app)
    register_template_helpers(app)
    register_blueprints(app)
    register_error_pages(app)
    init_jobs(app)
    return app
