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


def test_the_clock_can_be_set_outside_production_only(tmp_path):
    settings = load_settings({"CANVASS_MODE": "development", "CANVASS_CLOCK_START": "2026-11-03T10:00:00-05:00"})
    validate_settings(settings, tmp_path)
    for wrong, message in (("2026-11-03 10:00", "needs its UTC offset"), ("tomorrow", "is not a time")):
        with pytest.raises(ConfigError, match=message):
            validate_settings(load_settings({"CANVASS_MODE": "development", "CANVASS_CLOCK_START": wrong}), tmp_path)
    with pytest.raises(ConfigError, match="for tests and demos"):
        validate_settings(load_settings({"CANVASS_SECRET_KEY": "k" * 40,
                                         "CANVASS_CLOCK_START": "2026-11-03T10:00:00-05:00"}), tmp_path)


def test_the_developer_s_exported_settings_never_reach_the_tests(tmp_path):
    """With a production secret exported, as the README's production section says to do, the suite still passes."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "CANVASS_SECRET_KEY": "s" * 64, "CANVASS_MODE": "production"}
    for name in ("CANVASS_TEST_DATABASE_URL", "CANVASS_REQUIRE_POSTGRES"):  # the child must not touch this run's database
        env.pop(name, None)
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-p", "no:xdist",
                           "tests/test_security.py::test_production_refuses_the_default_secret_key"],
                          env=env, capture_output=True, text=True, timeout=120, cwd=Path(__file__).parents[1])
    assert done.returncode == 0, done.stdout[-2000:]
