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
