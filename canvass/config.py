"""Settings: one documented dict of defaults, overridden by ``CANVASS_*`` environment variables or a test dict."""

from __future__ import annotations

import json
import os
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_SECRET_KEY = "insecure-default-change-me"

MODES = ("production", "development", "testing")

#: Every setting canvass reads, with its default. Override any of them with an environment variable of the same
#: name prefixed by ``CANVASS_`` (``CANVASS_DATABASE_URL=postgresql+psycopg://...``); values are parsed as JSON
#: when they look like JSON (numbers, ``true``/``false``), else kept as text.
DEFAULTS: dict[str, Any] = {
    # production | development | testing. Production refuses the default secret key and sends cookies over HTTPS only.
    "MODE": "production",
    # Signs session cookies, CSRF tokens and invite links. Must be set (long and random) in production.
    "SECRET_KEY": DEFAULT_SECRET_KEY,
    # Folder for this installation's own files (SQLite database, uploads, development secret). Empty: ./instance
    "INSTANCE_PATH": "",
    # SQLAlchemy URL. Empty means a SQLite file ``canvass.db`` in the instance folder.
    "DATABASE_URL": "",
    # The organization's time zone: dates shown to users and per-day tallies use it; the database stores UTC.
    "TIMEZONE": "America/New_York",
    # Folder for exported spreadsheets (relative paths are relative to the working directory).
    "EXPORT_FOLDER": "exports",
    # Folder for uploaded files waiting to be imported (default: ``uploads`` in the instance folder).
    "UPLOAD_FOLDER": "",
    # Largest accepted upload, in bytes.
    "MAX_CONTENT_LENGTH": 512 * 1024 * 1024,
    # Invite links expire after this many hours; password-reset links after RESET_HOURS.
    "INVITE_HOURS": 72,
    "RESET_HOURS": 2,
    # Login throttling: after this many failures for one email (or 4x for one address) within the window, refuse.
    "LOGIN_MAX_FAILURES": 5,
    "LOGIN_WINDOW_MINUTES": 15,
    # Send cookies only over HTTPS. Defaults to true in production, false otherwise.
    "COOKIE_SECURE": None,
    # Languages the interface is offered in.
    "LANGUAGES": ["en", "es", "vi"],
    # Background jobs (imports, large exports) run in this many threads per app process.
    "JOB_THREADS": 2,
    # PostgreSQL: app processes also run jobs from the shared queue (JOB_THREADS each), so one server needs no other
    # process. Set false when `canvass worker` processes run them. (SQLite: jobs always run in the app process.)
    "APP_RUNS_JOBS": True,
    # PostgreSQL: a worker that has not said it is alive for this many seconds is taken for dead, and its jobs are
    # started again by another worker. Workers say so every sixth of it; raise it if workers are often starved of CPU.
    "JOB_STALLED_SECONDS": 60,
    # Days a closed campaign's personal data is kept before it may be purged (a campaign may set its own when it is
    # closed); see "Retention and purge" in the README.
    "RETENTION_DAYS": 90,
    # Public base URL used in invite links and QR codes when the request's own host is not the one to share.
    "BASE_URL": "",
    # The proxies (a TLS-terminating nginx or Caddy on the same host) whose X-Forwarded-For and X-Forwarded-Proto
    # are believed: the client's real address (login throttling, per address) and https. Comma-separated addresses.
    "FORWARDED_ALLOW_IPS": "127.0.0.1,::1",
    # Tests and demos only (refused in production): the app's clock starts at this time, ISO 8601 with its offset
    # (2026-11-03T10:00:00-05:00), and runs on from there. Calling hours and the like then never depend on when
    # the tests happen to run.
    "CLOCK_START": "",
}

#: Settings that only make sense as these types; environment strings are coerced.
_INT_KEYS = {"MAX_CONTENT_LENGTH", "INVITE_HOURS", "RESET_HOURS", "LOGIN_MAX_FAILURES", "LOGIN_WINDOW_MINUTES",
             "JOB_THREADS", "JOB_STALLED_SECONDS", "RETENTION_DAYS"}


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message says which and how to fix it."""


def load_settings(env: dict[str, str] | None = None, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Returns DEFAULTS overridden by ``CANVASS_*`` variables from ``env`` and then by ``overrides``."""
    env = os.environ if env is None else env
    settings = dict(DEFAULTS)
    for key in DEFAULTS:
        raw = env.get(f"CANVASS_{key}")
        if raw is not None:
            settings[key] = _parse_env_value(key, raw)
    settings.update(overrides or {})
    return settings


def _parse_env_value(key: str, raw: str) -> Any:
    if key in _INT_KEYS:
        try:
            return int(raw)
        except ValueError as exc:
            raise ConfigError(f"CANVASS_{key} must be a whole number, not {raw!r}.") from exc
    if raw[:1] in "[{" or raw in ("true", "false", "null"):
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            pass
    return raw


def validate_settings(settings: dict[str, Any], instance_path: Path) -> None:
    """Checks the settings and fills the derived ones in place. Raises ConfigError with a fix-it sentence."""
    mode = settings["MODE"]
    if mode not in MODES:
        raise ConfigError(f"CANVASS_MODE must be one of {', '.join(MODES)}, not {mode!r}.")
    try:
        ZoneInfo(settings["TIMEZONE"])
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"CANVASS_TIMEZONE {settings['TIMEZONE']!r} is not a known time zone "
                          "(use a name such as America/Chicago).") from exc
    if settings["SECRET_KEY"] == DEFAULT_SECRET_KEY:
        if mode == "production":
            raise ConfigError("Refusing to start in production with the default secret key: set CANVASS_SECRET_KEY "
                              "to a long random value (python -c 'import secrets; print(secrets.token_hex(32))').")
        settings["SECRET_KEY"] = _development_secret(instance_path)
    if settings["CLOCK_START"]:
        if mode == "production":
            raise ConfigError("CANVASS_CLOCK_START is for tests and demos; unset it in production.")
        try:
            start = datetime.fromisoformat(settings["CLOCK_START"])
        except ValueError as exc:
            raise ConfigError(f"CANVASS_CLOCK_START {settings['CLOCK_START']!r} is not a time such as "
                              "2026-11-03T10:00:00-05:00.") from exc
        if start.tzinfo is None:
            raise ConfigError("CANVASS_CLOCK_START needs its UTC offset, such as 2026-11-03T10:00:00-05:00.")
    _check_retention(settings)
    if not settings["DATABASE_URL"]:
        settings["DATABASE_URL"] = f"sqlite:///{instance_path / 'canvass.db'}"
    if not settings["UPLOAD_FOLDER"]:
        settings["UPLOAD_FOLDER"] = str(instance_path / "uploads")
    if settings["COOKIE_SECURE"] is None:
        settings["COOKIE_SECURE"] = mode == "production"


def _check_retention(settings: dict[str, Any]) -> None:
    if not 0 <= int(settings["RETENTION_DAYS"]) <= 3650:
        raise ConfigError("CANVASS_RETENTION_DAYS must be a number of days between 0 and 3650.")


def _development_secret(instance_path: Path) -> str:
    """A random key kept in the instance folder, so development sessions survive a restart without a shared default."""
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key
