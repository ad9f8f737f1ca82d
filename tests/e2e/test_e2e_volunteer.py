"""Volunteers on a 360 px phone against the real server: walking a turf (losing the connection halfway) and
phone-banking inside and outside calling hours."""

from __future__ import annotations

import re
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from tests.e2e.harness import menu_link, save_screenshot, sign_in

VOLUNTEER, VOLUNTEER_NAME = "volunteer@example.org", "Victor Volunteer"
NEW_YORK = ZoneInfo("America/New_York")
PER_USER = """SELECT u.email, count(a.id) FROM "user" u LEFT JOIN contact_attempt a ON a.user_id = u.id
              GROUP BY u.email"""
NEWEST_DOORS = """SELECT a.household_id, a.result_code, o.code FROM contact_attempt a JOIN "user" u ON u.id = a.user_id
                  LEFT JOIN survey_response r ON r.contact_id = a.id LEFT JOIN survey_option o ON o.id = r.option_id
                  WHERE u.email = :email AND a.channel = 'door' ORDER BY a.id DESC LIMIT 4"""
MINE = """SELECT count(*) FROM contact_attempt a JOIN "user" u ON u.id = a.user_id
          WHERE u.email = :email AND a.channel = :channel"""


def poll(read, expected, timeout: float = 30.0, what: str = "value"):
    """Reads until ``read()`` equals ``expected`` (or the time runs out) and returns the last reading."""
    deadline = time.monotonic() + timeout
    while (value := read()) != expected and time.monotonic() < deadline:
        time.sleep(0.25)
    assert value == expected, f"{what}: expected {expected}, still {value} after {timeout} s"
    return value


def door_id(page) -> int:
    return int(re.search(r"/door/(\d+)", page.url).group(1))


def log_first_person(page, result: str, answer: str | None = None) -> int:
    """On a door page: tap ``result`` (after a survey answer) for the first person not logged yet; returns the door.
    When nobody else is left at the door the page moves on by itself, and this waits for the next door."""
    door, url = door_id(page), page.url
    waiting = page.locator("section.person:not(.logged)")
    leaves = waiting.count() == 1
    section = page.locator(f"#{waiting.first.get_attribute('id')}")
    if answer:  # "Talked" opens the person's survey; the answer is saved with the result, in one entry
        section.locator("summary.result-button", has_text=result).click()
        section.locator(f"input[type=radio][name$='-SUPPORT'][value='{answer}']").check()
        section.get_by_role("button", name=f"Save: {result}", exact=True).click()
    else:
        section.get_by_role("button", name=result, exact=True).click()
    if leaves:
        page.wait_for_url(lambda new: new != url)
        page.wait_for_load_state()
    else:
        page.locator(f"#{section.get_attribute('id')}.logged").wait_for()
    return door


def skip_past(page, doors: list[int]) -> None:
    """Taps "Skip" until the door on screen is none of ``doors``."""
    while door_id(page) in doors:
        url = page.url
        page.locator(".door-foot").get_by_role("link", name=re.compile("Skip")).click()
        page.wait_for_url(lambda new, url=url: new != url)
        page.wait_for_load_state()


def dashboard_counts(page) -> tuple[int, int]:
    """The lead's dashboard (in Spanish, the lead's language): attempts today, and the volunteer's attempts in the
    volunteers-today table."""
    menu_link(page, "Panel").click()
    page.wait_for_load_state()
    total = int(re.sub(r"\D", "", page.locator(".stats .stat").first.locator(".stat-value").inner_text()))
    row = page.locator("table.data tbody tr", has=page.locator("th", has_text=VOLUNTEER_NAME))
    return total, int(re.sub(r"\D", "", row.locator("td").first.inner_text())) if row.count() else 0


def test_volunteer_walks_a_turf_online_then_offline_and_the_dashboard_counts_every_result(demo_server, phones):
    """Two results logged online, two offline (kept on the phone, then sent once): the DB and the lead agree."""
    server = demo_server
    lead = phones.open().new_page()
    sign_in(lead, server.base_url, "lead@example.org")
    attempts_before, mine_before = dashboard_counts(lead)
    per_user_before = dict(server.rows(PER_USER))

    context = phones.open()
    page = context.new_page()
    sign_in(page, server.base_url, VOLUNTEER)
    assert page.get_by_role("heading", name="My turfs").is_visible()
    page.locator("li.card[data-turf]").first.get_by_role("link", name="Open").click()
    page.locator("html[data-offline-ready='1']").wait_for(state="attached")  # the turf is kept on the phone
    save_screenshot(page, "volunteer-walk-list")
    page.get_by_role("link", name=re.compile("^Next door")).first.click()
    page.wait_for_load_state()
    save_screenshot(page, "volunteer-door")

    def online() -> int:
        return server.scalar(MINE, email=VOLUNTEER, channel="door")

    start = online()
    first = log_first_person(page, "Not home")
    poll(online, start + 1, what="door contacts after Not home")
    skip_past(page, [first])
    second = log_first_person(page, "Talked", answer="1")
    poll(online, start + 2, what="door contacts after Talked")

    context.set_offline(True)
    doors = [first, second]
    for result in ("Not home", "Talked"):
        skip_past(page, doors)
        assert page.locator(".door-title").is_visible()  # the door page, kept on the phone
        doors.append(log_first_person(page, result, answer="2" if result == "Talked" else None))
    assert len(set(doors)) == 4, doors
    status = page.locator("#sync-status")
    status.wait_for()
    assert "2 entries kept on this phone" in status.inner_text(), status.inner_text()
    page.evaluate("window.scrollTo(0, 0)")  # (the banner is sticky; a full-page shot shows it at the scroll position)
    save_screenshot(page, "volunteer-door-offline")
    assert online() == start + 2  # nothing went out without a connection

    context.set_offline(False)
    poll(online, start + 4, what="door contacts once back online")
    page.locator("html[data-waiting='0']").wait_for(state="attached")
    time.sleep(1)  # a late duplicate would show up here
    assert online() == start + 4
    per_user_after = dict(server.rows(PER_USER))
    assert {k: v - per_user_before[k] for k, v in per_user_after.items() if v != per_user_before[k]} == {VOLUNTEER: 4}
    assert server.scalar("SELECT count(*) - count(DISTINCT client_uuid) FROM contact_attempt") == 0
    stored = {tuple(row) for row in server.rows(NEWEST_DOORS, email=VOLUNTEER)}  # (a batch goes in UUID order)
    assert stored == {(first, "NH", None), (second, "TK", "1"), (doors[2], "NH", None), (doors[3], "TK", "2")}

    attempts_after, mine_after = dashboard_counts(lead)
    save_screenshot(lead, "lead-dashboard")
    assert (attempts_after - attempts_before, mine_after - mine_before) == (4, 4)


def calling_server(serve, local_hour: int):
    """A demo server whose clock starts today at ``local_hour`` o'clock in New York (CANVASS_CLOCK_START), so the
    test never depends on the machine's time of day. Production refuses a set clock, so on PostgreSQL this one
    gunicorn runs in development mode."""
    at = datetime.now(NEW_YORK).replace(hour=local_hour, minute=0, second=0, microsecond=0)
    return serve("demo", CANVASS_CLOCK_START=at.isoformat(), CANVASS_MODE="development")


def open_call_list(page, server) -> None:
    sign_in(page, server.base_url, VOLUNTEER)
    assert page.get_by_role("heading", name="My call lists").is_visible()
    page.get_by_role("link", name="Start calling").first.click()
    page.wait_for_load_state()


def claimed_entry(page) -> int:
    return int(re.search(r"/entry/(\d+)/", page.locator("form[action$='/result']").get_attribute("action")).group(1))


def test_volunteer_phone_banks_inside_calling_hours(serve, phones):
    """Next call -> a tel: link -> No answer -> the next person -> Talked: two phone contacts, entries rescheduled."""
    server = calling_server(serve, 14)
    page = phones.open().new_page()
    open_call_list(page, server)
    save_screenshot(page, "caller-start")
    before = server.scalar(MINE, email=VOLUNTEER, channel="phone")
    entries = []
    page.get_by_role("button", name="Next call").click()
    for result in ("No answer", "Talked"):
        tel = page.locator("#caller a[href^='tel:+1']").first
        tel.wait_for()
        assert re.fullmatch(r"tel:\+1\d{10}", tel.get_attribute("href"))
        entry = claimed_entry(page)
        entries.append((entry, server.scalar("SELECT attempts FROM call_entry WHERE id = :id", id=entry)))
        save_screenshot(page, f"caller-person-{len(entries)}")
        if result == "Talked":  # opens the survey, saved with the result
            page.locator("#caller summary.result-button", has_text="Talked").click()
            page.locator("#caller input[type=radio][name$='-SUPPORT'][value='1']").check()
            page.locator("#caller").get_by_role("button", name="Save: Talked", exact=True).click()
        else:
            page.locator("#caller").get_by_role("button", name=result, exact=True).click()
        page.wait_for_load_state()
        assert page.locator(".flash-ok", has_text="Saved").is_visible(), page.locator("main").inner_text()[:300]
    page.locator("#caller a[href^='tel:']").first.wait_for()  # the third person is already on screen
    assert claimed_entry(page) not in [e for e, _ in entries]

    assert server.scalar(MINE, email=VOLUNTEER, channel="phone") == before + 2
    stored = server.rows("""SELECT a.result_code, a.call_list_id IS NOT NULL, a.phone_id IS NOT NULL, e.status,
                                   e.attempts, e.next_attempt_at IS NOT NULL, e.claimed_by_id
                            FROM contact_attempt a JOIN "user" u ON u.id = a.user_id
                            JOIN call_entry e ON e.person_id = a.person_id AND e.call_list_id = a.call_list_id
                            WHERE u.email = :email AND a.channel = 'phone' ORDER BY a.id DESC LIMIT 2""",
                         email=VOLUNTEER)
    assert [tuple(r) for r in reversed(stored)] == [
        ("NA", True, True, "pending", entries[0][1] + 1, True, None),  # tried again after a few hours
        ("TK", True, True, "done", entries[1][1] + 1, False, None)]


def test_outside_calling_hours_the_call_list_says_when_calls_open_before_any_tap(serve, phones):
    """At 03:00 in New York the caller's screen says when calls open, and in how long, and the button is off."""
    server = calling_server(serve, 3)
    page = phones.open().new_page()
    open_call_list(page, server)
    save_screenshot(page, "caller-night")
    closed = page.locator("#closed")
    assert re.search(r"Calls open at 9:00\sAM, in (6 h|5 h 59 min)\.", closed.inner_text()), closed.inner_text()
    assert "Calls are made between 09:00 and 21:00." in closed.inner_text()
    assert page.get_by_role("button", name="Next call").is_disabled()
    assert page.locator("a[href^='tel:']").count() == 0
    assert server.scalar("SELECT count(*) FROM call_entry WHERE status = 'claimed'") == 0
