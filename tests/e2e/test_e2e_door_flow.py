"""The door page on a 360 x 780 phone, as a volunteer works it with one thumb (issue 21's door-flow targets)."""

from __future__ import annotations

import re
import time

from tests.e2e.harness import save_screenshot, sign_in, wait_for

VOLUNTEER = "volunteer@example.org"
SCREEN = 780
FULL_DOORS = """SELECT td.turf_id, td.household_id FROM turf_door td
    JOIN turf_assignment ta ON ta.turf_id = td.turf_id JOIN "user" u ON u.id = ta.user_id AND u.email = :email
    JOIN person p ON p.household_id = td.household_id AND NOT p.deceased AND NOT p.is_protected
    GROUP BY td.turf_id, td.household_id
    HAVING count(p.id) = 4 AND max(CASE WHEN p.do_not_contact THEN 1 ELSE 0 END) = 0  -- nobody on the do-not-contact list
    ORDER BY td.turf_id, td.household_id"""
ENTRIES = "SELECT count(*) FROM contact_attempt WHERE household_id = :door"
ANSWERS = """SELECT count(*) FROM survey_response r JOIN contact_attempt c ON c.id = r.contact_id
             WHERE c.household_id = :door"""


def in_view(locator) -> bool:
    box = locator.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= SCREEN


def contrast(page, selector: str) -> float:
    """WCAG contrast ratio of an element's text against its background."""
    return page.evaluate("""(selector) => {
        const style = getComputedStyle(document.querySelector(selector));
        const rgb = (text) => text.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number);
        const lum = ([r, g, b]) => [r, g, b].map((c) => { c /= 255;
            return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); })
            .reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i], 0);
        const [a, b] = [lum(rgb(style.color)), lum(rgb(style.backgroundColor))];
        return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    }""", selector)


def talk_and_answer(person) -> None:
    """Talked + three survey answers + Save: five taps."""
    person.locator("summary.result-button.contact").click()  # 1: "Talked" opens the survey
    for question in person.locator("fieldset.question").all()[:3]:
        question.locator("input").first.check()  # 2, 3, 4
    person.locator("button.save").click()  # 5: saved with the answers, as one entry


def test_a_door_of_four_fits_two_screens_and_each_result_is_a_tap_or_five(demo_server, phones):
    server = demo_server
    (turf, first), (_, second), (_, third) = server.rows(FULL_DOORS, email=VOLUNTEER)[:3]
    before = {door: (server.scalar(ENTRIES, door=door), server.scalar(ANSWERS, door=door))
              for door in (first, second, third)}

    def added(door: int) -> tuple[int, int]:
        return (server.scalar(ENTRIES, door=door) - before[door][0], server.scalar(ANSWERS, door=door) - before[door][1])

    page = phones.open().new_page()
    sign_in(page, server.base_url, VOLUNTEER)

    # Nobody home for the whole door: one tap, one entry per person, and the page moves on by itself.
    page.goto(f"{server.base_url}/walk/{turf}/door/{first}")
    url = page.url
    page.get_by_role("button", name=re.compile("^Nobody home")).click()
    page.wait_for_url(lambda new: new != url)
    wait_for(lambda: added(first), (4, 0))

    # A door of four fits in two screens once the script is folded away (after the first entry).
    page.goto(f"{server.base_url}/walk/{turf}/door/{second}")
    page.wait_for_load_state()
    save_screenshot(page, "door-four-people")
    assert page.evaluate("document.documentElement.scrollHeight") <= 2 * SCREEN
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    # Talked with three answers: five taps, one entry holding the answers. Then what was saved is on screen, in
    # words, with its Undo, and the next door is one tap away without scrolling.
    person = page.locator("section.person").first
    name = person.locator("form.person-form").get_attribute("data-name")
    talk_and_answer(person)
    wait_for(lambda: added(second), (1, 3))
    saved = page.locator("#saved")
    saved.wait_for()
    assert f"Saved: {name} · Talked" in saved.inner_text()
    assert in_view(saved.get_by_role("button", name="Undo"))
    assert in_view(page.locator(".door-nav").get_by_role("link", name=re.compile("Next door")))
    save_screenshot(page, "door-saved")

    # The same offline: kept on the phone, sent once the connection is back, answers and all.
    page.goto(f"{server.base_url}/walk/{turf}/door/{third}")
    page.wait_for_load_state()
    page.context.set_offline(True)
    talk_and_answer(page.locator("section.person").first)
    assert "1 entry kept on this phone" in page.locator("#sync-status").inner_text()
    page.context.set_offline(False)
    wait_for(lambda: added(third), (1, 3))
    page.locator("#sync-status", has_text="Sent: 1 entry, at").wait_for()


def test_the_chosen_result_stays_readable(demo_server, phones):
    """The result being entered is white on dark blue (it was white on pale blue), at WCAG AA or better."""
    server = demo_server
    turf, door = server.rows(FULL_DOORS, email=VOLUNTEER)[0]
    page = phones.open().new_page()
    sign_in(page, server.base_url, VOLUNTEER)
    page.goto(f"{server.base_url}/walk/{turf}/door/{door}")
    person = page.locator("section.person").first
    person.locator("summary.result-button.contact").click()
    assert contrast(page, "section.person details[open] > summary") >= 4.5
    person.locator("summary.result-button.contact").hover()
    assert contrast(page, "section.person details[open] > summary") >= 4.5
    for button in ("section.person .result-button:not(.contact)", "#saved .button"):
        if page.locator(button).count():
            assert contrast(page, button) >= 4.5, button


def quiet(page, moved: list, seconds: float = 1.0, longest: float = 20.0) -> None:
    """Waits until no request has finished for ``seconds`` (the service worker's fetches included). Playwright
    hands over events only while it is called, hence its own wait rather than a sleep."""
    deadline, seen, since = time.monotonic() + longest, len(moved), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < seconds:
        page.wait_for_timeout(100)
        if len(moved) != seen:
            seen, since = len(moved), time.monotonic()


def test_revisiting_the_walk_list_moves_little_and_fetches_only_the_doors_that_changed(demo_server, phones):
    """First visit: the turf and every door page are kept on the phone. A revisit with nothing changed moves under
    20 KB; after one door changed (a lead logs there), only that door's page and the list come again; offline,
    every door still opens."""
    server = demo_server
    context = phones.open()
    moved: list[tuple[str, int]] = []
    context.on("requestfinished", lambda r: moved.append((r.url, r.sizes()["responseBodySize"]
                                                          + r.sizes()["responseHeadersSize"])))
    page = context.new_page()
    sign_in(page, server.base_url, VOLUNTEER)
    turf, door = server.rows(FULL_DOORS, email=VOLUNTEER)[0]
    page.goto(f"{server.base_url}/walk/{turf}")
    page.locator("html[data-offline-ready='1']").wait_for(state="attached")
    quiet(page, moved)  # on a busy machine the first visit's last fetches finished after it said ready, and counted twice
    first = sum(size for _url, size in moved)

    moved.clear()
    page.goto(f"{server.base_url}/walk/{turf}")
    page.wait_for_load_state("networkidle")
    quiet(page, moved)
    revisit = sum(size for _url, size in moved)
    print(f"walk list: first visit {first:,} bytes, revisit {revisit:,} bytes")
    assert revisit < 20 * 1024 and first > 10 * revisit, "\n".join(f"{size:>8,} {url}" for url, size in moved)

    lead = phones.open().new_page()  # a lead logs "Nobody home" at one door of this turf
    sign_in(lead, server.base_url, "lead@example.org")
    lead.goto(f"{server.base_url}/walk/{turf}/door/{door}")
    lead.locator("form.nobody-home button[value=NH]").click()  # (the lead reads Spanish)
    lead.wait_for_load_state()

    moved.clear()
    page.goto(f"{server.base_url}/walk/{turf}")
    page.wait_for_load_state("networkidle")
    wait_for(lambda: any(f"/door/{door}" in url for url, _size in moved), True)
    doors_fetched = {url for url, _size in moved if "/door/" in url}
    assert doors_fetched == {f"{server.base_url}/walk/{turf}/door/{door}"}, doors_fetched

    context.set_offline(True)
    for household in [h for t, h in server.rows(FULL_DOORS, email=VOLUNTEER) if t == turf][:3]:
        page.goto(f"{server.base_url}/walk/{turf}/door/{household}")
        assert page.locator(".door-title").is_visible()
