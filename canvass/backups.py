"""Backups and restores of the whole database, safe while the app runs (SQLite online backup; pg_dump)."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; the message says why and what to do."""


def _libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def backup(url: str, path: Path) -> Path:
    """Writes a consistent copy of the database to ``path`` while the app keeps running. Returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        source = sqlite3.connect(parsed.database)
        target = sqlite3.connect(str(path))
        try:
            source.backup(target)  # SQLite's online backup: a consistent snapshot even with writers active
        finally:
            target.close()
            source.close()
        return path
    if parsed.get_backend_name() == "postgresql":
        pg_dump = shutil.which("pg_dump")
        if pg_dump is None:
            raise BackupError("pg_dump is not installed here: install the PostgreSQL client (apt-get install "
                              "postgresql-client) or run the README's pg_dump recipe on the database server.")
        done = subprocess.run([pg_dump, "--format=custom", "--no-owner", f"--file={path}", _libpq_url(url)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise BackupError(f"pg_dump failed: {done.stderr.strip()[:300]}")
        return path
    raise BackupError(f"Backups of {parsed.get_backend_name()} databases are not supported.")


def restore(url: str, path: Path) -> None:
    """Replaces the database's content with the backup at ``path``. Stop the app first."""
    if not path.exists():
        raise BackupError(f"No backup at {path}.")
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        try:
            source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            source.execute("PRAGMA schema_version").fetchone()
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{path} is not a canvass SQLite backup.") from exc
        target = sqlite3.connect(parsed.database)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        return
    if parsed.get_backend_name() == "postgresql":
        pg_restore = shutil.which("pg_restore")
        if pg_restore is None:
            raise BackupError("pg_restore is not installed here (apt-get install postgresql-client).")
        done = subprocess.run([pg_restore, "--clean", "--if-exists", "--no-owner", "--single-transaction",
                               f"--dbname={_libpq_url(url)}", str(path)], capture_output=True, text=True)
        if done.returncode != 0:
            raise BackupError(f"pg_restore failed: {done.stderr.strip()[:300]}")
        return
    raise BackupError(f"Restores of {parsed.get_backend_name()} databases are not supported.")
