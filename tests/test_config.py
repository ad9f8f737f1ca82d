"""Settings: defaults, CANVASS_* overrides, validation."""

from pathlib import Path

import pytest

from canvass.config import DEFAULTS, ConfigError, load_settings, validate_settings


def test_environment_overrides_defaults():
    settings = load_settings({"CANVASS_TIMEZONE": "America/Chicago", "CANVASS_LOGIN_MAX_FAILURES": "3",
                              "CANVASS_LANGUAGES": '["en", "es"]', "CANVASS_COOKIE_SECURE": "false"})
    assert settings["TIMEZONE"] == "America/Chicago"
    assert settings["LOGIN_MAX_FAILURES"] == 3
    assert settings["LANGUAGES"] == ["en", "es"]
    assert settings["COOKIE_SECURE"] is False
    assert settings["MODE"] == DEFAULTS["MODE"]


def test_database_defaults_to_sqlite_in_the_instance_folder(tmp_path: Path):
    settings = load_settings({"CANVASS_MODE": "development"})
    validate_settings(settings, tmp_path)
    assert settings["DATABASE_URL"] == f"sqlite:///{tmp_path / 'canvass.db'}"


def test_postgres_url_is_kept_as_given(tmp_path):
    url = "postgresql+psycopg://canvass:pw@db.internal:5432/canvass"
    settings = load_settings({"CANVASS_MODE": "development", "CANVASS_DATABASE_URL": url})
    validate_settings(settings, tmp_path)
    assert settings["DATABASE_URL"] == url


@pytest.mark.parametrize(("env", "message"), [
    ({"CANVASS_TIMEZONE": "Mars/Olympus"}, "is not a known time zone"),
    ({"CANVASS_MODE": "staging"}, "CANVASS_MODE must be one of"),
])
def test_bad_settings_are_explained(tmp_path, env, message):
    settings = load_settings({"CANVASS_SECRET_KEY": "k" * 40, **env})
    with pytest.raises(ConfigError, match=message):
        validate_settings(settings, tmp_path)


def test_non_numeric_integer_setting_is_explained():
    with pytest.raises(ConfigError, match="CANVASS_INVITE_HOURS must be a whole number"):
        load_settings({"CANVASS_INVITE_HOURS": "three days"})
