"""End-to-end fixtures (see harness.py): a fresh demo or empty database served by its own process, and phones."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import PG_URL
from tests.e2e.harness import Databases, Phones, server_errors, start_server, stop_server

LANGUAGES = {"en", "es", "vi"}


def pytest_collection_modifyitems(config, items):
    journeys: dict[tuple[str, str], list[pytest.Item]] = {}
    for item in items:
        if "e2e" in Path(str(item.fspath)).parts:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.browser)
            if getattr(item, "callspec", None) is not None and item.callspec.id in LANGUAGES:
                journeys.setdefault((str(item.fspath), item.originalname), []).append(item)
    if PG_URL:
        # A journey taken in each language asks the database the same questions in all of them: SQLite's run takes
        # it in every language, PostgreSQL's in the last one (the whole CI run must stay under 15 minutes).
        once = pytest.mark.skip(reason="taken in every language on SQLite; on PostgreSQL in one")
        for taken in journeys.values():
            for item in taken[:-1]:
                item.add_marker(once)


@pytest.fixture(scope="session")
def databases(tmp_path_factory):
    found = Databases(tmp_path_factory.mktemp("e2e-databases"))
    yield found
    found.drop_all()


@pytest.fixture
def serve(databases, tmp_path):
    """Starts servers for this test: ``serve("demo" | "empty", **settings)`` with CANVASS_* settings such as
    ``CANVASS_CLOCK_START``. Each is stopped at the end, and its log must hold no error."""
    started = []

    def start(kind: str = "demo", **settings: str):
        server = start_server(databases.copy(kind), tmp_path / f"server{len(started)}", **settings)
        started.append(server)
        return server

    yield start
    for server in started:
        stop_server(server)
    for server in started:
        errors = server_errors(server)
        assert not errors, "the server logged errors:\n" + "\n".join(errors[:20])


@pytest.fixture
def demo_server(serve):
    """A fresh demo organization served by its own app process."""
    return serve("demo")


@pytest.fixture
def empty_server(serve):
    """An empty, initialised database with one admin (admin@example.org), served by its own app process."""
    return serve("empty")


@pytest.fixture
def phones(browser):
    found = Phones(browser)
    yield found
    found.close()
