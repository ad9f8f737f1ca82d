"""Backups while the app runs, and restoring them."""

import json
import shutil

import pytest
from click.testing import CliRunner
from sqlmodel import select

from canvass import campaigns
from canvass.cli import main
from canvass.models import Campaign
from tests.conftest import PG_URL


def run(database_url, *args, input=None):
    return CliRunner().invoke(main, [str(a) for a in args], env={"CANVASS_DATABASE_URL": database_url}, input=input)


def test_backup_then_restore_brings_the_data_back(database_url, session, campaign, tmp_path):
    if PG_URL and shutil.which("pg_dump") is None:
        pytest.skip("no pg_dump")
    target = tmp_path / ("backup.dump" if PG_URL else "backup.db")
    result = run(database_url, "backup", target, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["bytes"] > 0
    campaigns.create_campaign(session, "After the backup", "after")
    session.delete(session.get(Campaign, campaign.id))
    session.commit()
    refused = run(database_url, "restore", target)
    assert refused.exit_code == 1 and "run again with --yes" in refused.output
    restored = run(database_url, "restore", target, "--yes")
    assert restored.exit_code == 0, restored.output
    session.rollback()
    session.expire_all()
    assert session.exec(select(Campaign.slug)).all() == ["test"]


def test_restore_refuses_a_file_that_is_not_a_backup(database_url, tmp_path):
    if PG_URL:
        pytest.skip("pg_restore's own message is shown")
    bogus = tmp_path / "notes.txt"
    bogus.write_text("not a database")
    result = run(database_url, "restore", bogus, "--yes")
    assert result.exit_code == 1 and "is not a canvass SQLite backup" in result.output
