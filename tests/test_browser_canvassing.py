"""A volunteer walks a turf on a phone in real headless Chromium, losing the connection halfway."""

import threading

import pytest
import sqlalchemy as sa
from sqlmodel import select

from canvass import importing
from canvass.app import create_app
from canvass.models import ContactAttempt, QuestionKind, SurveyOption, SurveyQuestion, SurveyResponse
from tests.conftest import browser_login, screenshot, walkable_turf

pytestmark = pytest.mark.browser


@pytest.fixture
def csrf_server(database_url, tmp_path):
    """The app with CSRF protection on, as in production, served from a thread."""
    from werkzeug.serving import make_server

    app = create_app({"MODE": "testing", "DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path / "i"),
                      "SECRET_KEY": "browser-secret", "JOB_THREADS": 0})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    server.daemon_threads = False  # so server_close() waits for requests still running before the engine goes
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join()
    app.extensions["canvass.engine"].dispose()


@pytest.fixture
def turf(session, campaign, tmp_path, volunteer):
    rows = "".join(f"{n},First{n},Last{n},{100 + 2 * n} Oak St,27701,{'es' if n % 3 == 0 else ''}\n"
                   for n in range(1, 19))
    path = tmp_path / "people.csv"
    path.write_text("voter_id,first,last,address,zip,language\n" + rows)
    importing.import_file(session, campaign, path)
    question = SurveyQuestion(campaign_id=campaign.id, code="SUPPORT", text="Do you support Measure W?",
                              kind=QuestionKind.scale, translations={"es": "¿Apoya la Medida W?"})
    session.add(question)
    session.flush()
    session.add_all([SurveyOption(question_id=question.id, code=str(n), label=label, position=n)
                     for n, label in enumerate(["Strong yes", "Lean yes", "Undecided", "Lean no", "Strong no"], 1)])
    return walkable_turf(session, campaign, volunteer, target=30)


def log_one(page, answer: str) -> None:
    """On a door page: pick a survey answer for the first person not yet logged and tap Talked."""
    section = page.locator("section.person:not(.logged)").first
    section.locator("summary.result-button", has_text="Talked").click()  # opens the survey
    section.locator(f"input[type=radio][value='{answer}']").check()
    url = page.url
    section.get_by_role("button", name="Save: Talked").click()
    page.wait_for_url(lambda new: new != url)  # (a string predicate would be JavaScript eval, which the CSP forbids)
    page.wait_for_load_state()


def wait_until_nothing_waits(page, timeout=20000) -> None:
    page.locator("html[data-waiting='0']").wait_for(state="attached", timeout=timeout)


def test_contacts_logged_offline_are_stored_exactly_once(csrf_server, phone, session, turf, volunteer):
    page = phone.new_page()
    browser_login(page, csrf_server, volunteer)
    page.goto(f"{csrf_server}/walk/{turf.id}")
    page.locator("html[data-offline-ready='1']").wait_for(state="attached", timeout=20000)  # kept on the phone
    screenshot(page, "walk-en-360")
    page.get_by_role("link", name="Next door").first.click()
    for n in range(10):
        log_one(page, str(n % 5 + 1))
    wait_until_nothing_waits(page)

    phone.set_offline(True)
    for _ in range(5):
        log_one(page, "1")
    page.reload()  # still offline: the page comes from the phone
    page.wait_for_load_state()
    status = page.locator("#sync-status")
    assert "5 entries kept on this phone" in status.inner_text()
    screenshot(page, "door-offline-360")

    phone.set_offline(False)
    wait_until_nothing_waits(page)
    session.rollback()
    uuids = session.exec(select(ContactAttempt.client_uuid)).all()
    assert len(uuids) == len(set(uuids)) == 15
    assert session.exec(select(sa.func.count()).select_from(SurveyResponse)).one() == 15
    assert set(session.exec(select(ContactAttempt.result_code)).all()) == {"TK"}


def test_walk_page_weighs_under_100_kb_on_first_load(csrf_server, phone, turf, volunteer):
    page = phone.new_page()
    browser_login(page, csrf_server, volunteer)
    cdp = phone.new_cdp_session(page)
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})  # first load: nothing cached yet
    sizes = {}

    def record(response):
        if response.request.resource_type in ("document", "stylesheet", "script"):
            sizes[response.url] = len(response.body())

    page.on("response", record)
    page.goto(f"{csrf_server}/walk/{turf.id}")
    page.wait_for_load_state("networkidle")
    total = sum(sizes.values())
    print(f"walk page first load: {total} bytes in {len(sizes)} files: {sizes}")
    assert len(sizes) >= 3  # the page, its stylesheet and its script
    assert total < 100 * 1024


def test_door_page_in_spanish_shows_both_scripts_and_fits_a_phone(csrf_server, phone, session, turf, volunteer,
                                                                   campaign):
    from canvass.models import Channel, Script

    session.add_all([Script(campaign_id=campaign.id, channel=Channel.door, language="en", body="Hi, I'm {volunteer}."),
                     Script(campaign_id=campaign.id, channel=Channel.door, language="es", body="Hola, soy {volunteer}.")])
    volunteer.language = "es"
    session.add(volunteer)
    session.commit()
    page = phone.new_page()
    browser_login(page, csrf_server, volunteer)
    page.goto(f"{csrf_server}/walk/{turf.id}")
    assert page.get_by_role("link", name="Puerta siguiente").first.is_visible()
    screenshot(page, "walk-es-360")
    page.get_by_role("link", name="Puerta siguiente").first.click()
    page.wait_for_load_state()
    assert page.get_by_text("Hola, soy").is_visible()
    page.locator("section.person").first.locator("summary.result-button.contact").click()  # "Hablamos" opens it
    assert page.get_by_text("¿Apoya la Medida W?").first.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    first_button = page.locator(".result-button").first.bounding_box()
    assert first_button["height"] >= 44
    screenshot(page, "door-es-360")


def _one_logged_offline(phone, server, turf, volunteer):
    """A volunteer's page at the turf's first door, one person logged there while the phone is offline."""
    page = phone.new_page()
    browser_login(page, server, volunteer)
    page.goto(f"{server}/walk/{turf.id}")
    page.get_by_role("link", name="Next door").first.click()
    page.wait_for_load_state()
    phone.set_offline(True)
    log_one(page, "1")
    return page


def test_an_entry_the_server_refuses_stays_on_screen_and_the_queue_moves_on(csrf_server, phone, session, turf,
                                                                             volunteer):
    page = _one_logged_offline(phone, csrf_server, turf, volunteer)
    # A second entry the server will refuse (a result code the campaign does not have), queued as the page would.
    page.evaluate("""() => {
        const queue = JSON.parse(localStorage.getItem("canvass.queue.v1"));
        queue.push(Object.assign({}, queue[0], {client_uuid: crypto.randomUUID(), result_code: "ZZ"}));
        localStorage.setItem("canvass.queue.v1", JSON.stringify(queue));
    }""")
    phone.set_offline(False)
    wait_until_nothing_waits(page)
    refused = page.locator("#sync-rejected")
    refused.wait_for(state="visible")
    assert "1 entry could not be saved" in refused.inner_text()
    assert "ZZ: ZZ is not a door result code of this campaign." in refused.inner_text()
    session.rollback()
    assert session.exec(select(sa.func.count()).select_from(ContactAttempt)).one() == 1  # the good one went in
    page.reload()
    assert page.locator("#sync-rejected").is_visible()  # still shown after a reload, until dismissed
    page.locator("#sync-rejected [data-dismiss]").click()
    assert page.locator("#sync-rejected").is_hidden()


def test_a_send_that_fails_as_the_signal_returns_is_tried_again_within_seconds(csrf_server, phone, session, turf,
                                                                              volunteer):
    """The first send after the phone comes back online fails (the network lags the signal): the queue tries again
    after 2 s, not at the 20 s timer, and the contact is stored once."""
    page = _one_logged_offline(phone, csrf_server, turf, volunteer)
    refused = []

    def fail_the_first_send(route):
        if not refused:
            refused.append(route.request.url)
            route.abort("internetdisconnected")
        else:
            route.continue_()

    page.route("**/api/v1/contacts", fail_the_first_send)
    phone.set_offline(False)
    wait_until_nothing_waits(page, timeout=10000)
    assert refused
    session.rollback()
    assert session.exec(select(sa.func.count()).select_from(ContactAttempt)).one() == 1


def test_a_result_for_the_whole_door_is_one_tap_offline_too(csrf_server, phone, session, turf, volunteer):
    page = phone.new_page()
    browser_login(page, csrf_server, volunteer)
    page.goto(f"{csrf_server}/walk/{turf.id}")
    page.locator("html[data-offline-ready='1']").wait_for(state="attached", timeout=20000)
    page.get_by_role("link", name="Next door").first.click()
    page.wait_for_load_state()
    phone.set_offline(True)
    page.locator("details.door-wide summary").click()
    screenshot(page, "door-whole-door-results-360")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.locator("details.door-wide").get_by_role("button", name="Moved").click()
    page.wait_for_load_state()
    phone.set_offline(False)
    wait_until_nothing_waits(page)
    session.rollback()
    stored = session.exec(select(ContactAttempt.result_code)).all()
    assert stored == ["MV"]
