"""Data staff review a likely duplicate on a phone in real headless Chromium: the pair side by side (one column at
360 px, two on a wide screen), merge, see what moved, and undo it."""

import threading

import pytest
from sqlmodel import select

from canvass import importing
from canvass.app import create_app
from canvass.models import ExternalId, MergeRecord, Person
from tests.conftest import browser_login, screenshot

pytestmark = pytest.mark.browser

VOTER_FILE = """voter_id,first_name,last_name,address,zip,phone,birth_year
100,Ana,Diaz,1 Oak St,27701,9195550001,1980
200,ANA,DÍAZ,9 Elm St,27702,9195550002,1980
300,Bo,Kim,5 Pine St,27701,9195550003,1975
"""


@pytest.fixture
def csrf_server(database_url, tmp_path):
    """The app with CSRF protection on, as in production, served from a thread."""
    from werkzeug.serving import make_server

    app = create_app({"MODE": "testing", "DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path / "i"),
                      "SECRET_KEY": "browser-secret", "JOB_THREADS": 0})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    server.daemon_threads = False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join()
    app.extensions["canvass.engine"].dispose()


@pytest.fixture
def pair(session, campaign, tmp_path):
    path = tmp_path / "voters.csv"
    path.write_text(VOTER_FILE, encoding="utf-8")
    importing.import_file(session, campaign, path)
    session.commit()
    return {e.value: e.person_id for e in session.exec(select(ExternalId))}


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_data_staff_merge_a_duplicate_on_a_phone_and_undo_it(csrf_server, phone, pair, data_staff, session):
    page = phone.new_page()
    browser_login(page, csrf_server, data_staff)
    page.goto(f"{csrf_server}/people/")
    page.get_by_role("link", name="Likely duplicates").click()
    page.wait_for_load_state()
    item = page.locator(f"#pair-{pair['100']}-{pair['200']}")
    assert "The same name and birth year (1980), at two addresses." in item.inner_text()
    assert "Likely the same person" in item.inner_text() and fits(page)
    screenshot(page, "duplicates-list")

    item.get_by_role("link", name="Review").click()
    page.wait_for_load_state()
    first, second = page.locator(".side-by-side > section").all()
    assert first.bounding_box()["y"] + first.bounding_box()["height"] <= second.bounding_box()["y"]  # one column
    assert fits(page)
    screenshot(page, "duplicates-review")
    page.set_viewport_size({"width": 1000, "height": 800})
    assert first.bounding_box()["y"] == second.bounding_box()["y"]  # two columns on a wide screen
    page.set_viewport_size({"width": 360, "height": 740})

    page.get_by_role("radio", name="ANA DÍAZ").check()  # keep the second record's name and address
    page.get_by_role("button", name="Merge", exact=True).click()
    page.wait_for_load_state()
    assert page.locator(".flash-ok").inner_text() == "Merged. ANA DÍAZ now holds everything from both records."
    moved = page.locator("main").inner_text()
    assert "1 contact" not in moved and "1 ID" in moved and "1 phone number" in moved
    assert fits(page)
    screenshot(page, "duplicates-merged")
    session.rollback()
    record = session.exec(select(MergeRecord)).one()
    assert (record.survivor_id, record.merged_id) == (pair["200"], pair["100"])
    assert session.get(Person, pair["100"]) is None

    page.get_by_role("button", name="Undo this merge").click()
    page.wait_for_load_state()
    assert page.locator(".flash-ok").inner_text() == "Merge undone: Ana Diaz is a record of their own again."
    assert page.url.endswith(f"/people/{pair['100']}")
    session.rollback()  # a new snapshot: the server's undo is seen
    assert session.get(Person, pair["100"]) is not None


def test_not_the_same_person_takes_the_pair_off_the_list(csrf_server, phone, pair, data_staff):
    page = phone.new_page()
    browser_login(page, csrf_server, data_staff)
    page.goto(f"{csrf_server}/people/duplicates/{pair['100']}/{pair['200']}")
    page.get_by_role("button", name="Not the same person").click()
    page.wait_for_load_state()
    assert page.locator(".flash-ok").inner_text() == (
        "Noted: Ana Diaz and ANA DÍAZ are different people. They will not be offered again.")
    assert page.locator(f"#pair-{pair['100']}-{pair['200']}").count() == 0
    assert page.locator("p.empty").inner_text() == "No likely duplicates: nothing to review."
