"""End-to-end fixtures (see harness.py): a fresh demo or empty database served by its own process, and phones."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.harness import Databases, Phones, server_errors, start_server, stop_server


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "e2e" in Path(str(item.fspath)).parts:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def databases(tmp_path_factory):
    found = Databases(tmp_path_factory.mktemp("e2e-databases"))
    yield found
    found.drop_all()


def _serve(databases: Databases, kind: str, tmp_path: Path):
    server = start_server(databases.copy(kind), tmp_path / "server")
    yield server
    stop_server(server)
    errors = server_errors(server)
    assert not errors, "the server logged errors:\n" + "\n".join(errors[:20])


@pytest.fixture
def demo_server(databases, tmp_path):
    """A fresh demo organization served by its own app process."""
    yield from _serve(databases, "demo", tmp_path)


@pytest.fixture
def empty_server(databases, tmp_path):
    """An empty, initialised database with one admin (admin@example.org), served by its own app process."""
    yield from _serve(databases, "empty", tmp_path)


@pytest.fixture
def phones(browser):
    found = Phones(browser)
    yield found
    found.close()
