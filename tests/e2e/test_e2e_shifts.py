"""A first shift against the real server, on 360 px phones: a lead sets up Saturday's house visits with a turf to
hand out, a first-time volunteer signs up from the link in Spanish or Vietnamese (an account, a password, the shift
in their calendar file), and the lead checks them in: they get the turf and land on its walk list."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.harness import choose_language, follow, menu_link, save_screenshot, sign_in

NEW_YORK = ZoneInfo("America/New_York")  # the demo's TIMEZONE (the default)
SPARE_TURF = """SELECT id, name FROM turf WHERE id NOT IN (SELECT turf_id FROM turf_assignment)
                AND id NOT IN (SELECT turf_id FROM shift_turf) ORDER BY id LIMIT 1"""
SIGNUP = """SELECT s.checked_in_at, s.turf_id, u.name, u.phone, u.languages_spoken, u.language
            FROM shift_signup s JOIN "user" u ON u.id = s.user_id WHERE u.email = :email"""
ASSIGNED = """SELECT a.status FROM turf_assignment a JOIN "user" u ON u.id = a.user_id
              WHERE u.email = :email AND a.turf_id = :turf"""
#: What the newcomer's phone says, in their language.
WORDS = {
    "es": {"sign_up": "Inscribirme", "my_shifts": "Mis turnos", "calendar": "Añadir a mi calendario",
           "welcome": "Estás inscrito en Visitas del sábado. Elige una contraseña para ver tus turnos y registrar "
                      "tu llegada.",
           "walk": "Abrir mi lista de casas: {turf}", "speaks": "es", "name": "Lupe Morales",
           "needs": "Needs 2 speakers, has 1"},
    "vi": {"sign_up": "Đăng ký cho tôi", "my_shifts": "Ca của tôi", "calendar": "Thêm vào lịch của tôi",
           "welcome": "Bạn đã đăng ký Visitas del sábado. Hãy chọn mật khẩu để xem các ca của bạn và điểm danh.",
           "walk": "Mở danh sách nhà của tôi: {turf}", "speaks": "vi", "name": "Nguyễn Thị Lan",
           "needs": "Needs 1 speaker, has 1"},
}


@pytest.mark.parametrize("language", ["es", "vi"])
def test_a_first_timer_signs_up_from_the_link_and_gets_a_turf_at_check_in(demo_server, phones, language):
    server, words = demo_server, WORDS[language]
    turf_id, turf_name = server.rows(SPARE_TURF)[0]
    day = (datetime.now(NEW_YORK) + timedelta(days=3)).date()

    lead = phones.open().new_page()
    sign_in(lead, server.base_url, "lead@example.org")
    choose_language(lead, "en")  # the demo's lead reads Spanish; this test, English
    follow(lead, menu_link(lead, "Shifts"))
    follow(lead, lead.get_by_role("link", name="New shift or event"))
    lead.get_by_label("Kind").select_option("canvass")
    lead.get_by_label("Name", exact=True).fill("Visitas del sábado")
    lead.get_by_label("Address").fill("Iglesia San Juan, 410 Main St")
    lead.get_by_label("How to find it").fill("Side door, ask for Rosa")
    lead.get_by_label("Day").fill(day.isoformat())
    lead.get_by_label("Starts").fill("10:00")
    lead.get_by_label("Ends").fill("13:00")
    lead.get_by_label("Volunteers wanted").fill("6")
    lead.get_by_label("Español").fill("2")
    lead.get_by_label("Tiếng Việt").fill("1")
    lead.locator(f"input[name=turf_ids][value='{turf_id}']").check()
    save_screenshot(lead, f"e2e-shifts-new-{language}")
    follow(lead, lead.get_by_role("button", name="Save"))
    assert lead.locator(".flash-ok").inner_text() == "Visitas del sábado is set up. Share its sign-up link."
    assert "Needs 2 speakers, has 0" in lead.locator("main").inner_text()
    link = lead.locator("#share input.copy").input_value()
    assert re.fullmatch(re.escape(server.base_url) + r"/s/[A-Z0-9]{10}", link)

    newcomer = phones.open(locale=language).new_page()
    newcomer.goto(link)
    assert newcomer.locator("html").get_attribute("lang") == language
    assert newcomer.evaluate("document.documentElement.scrollWidth") <= 360
    form = newcomer.locator("form:has(input[name=phone])")
    form.locator("input[name=name]").fill(words["name"])
    form.locator("input[name=phone]").fill("(919) 555-0177")
    form.locator("input[name=email]").fill(f"new-{language}@example.org")
    form.locator(f"input[name=languages][value={words['speaks']}]").check()
    save_screenshot(newcomer, f"e2e-shifts-signup-{language}")
    follow(newcomer, form.get_by_role("button", name=words["sign_up"]))
    assert "/invite/" in newcomer.url
    assert newcomer.locator(".flash-ok").inner_text() == words["welcome"]
    newcomer.locator("input[name=password]").fill("una-contraseña-larga")
    newcomer.locator("input[name=confirm]").fill("una-contraseña-larga")
    follow(newcomer, newcomer.locator("form:has(input[name=confirm]) button[type=submit]"))
    follow(newcomer, menu_link(newcomer, words["my_shifts"]))
    card = newcomer.locator("li.card", has_text="Visitas del sábado")
    assert "Iglesia San Juan, 410 Main St" in card.inner_text()
    save_screenshot(newcomer, f"e2e-shifts-mine-{language}")

    with newcomer.expect_download() as download:
        card.get_by_role("link", name=words["calendar"]).click()
    text = Path(download.value.path()).read_bytes().decode("utf-8")  # as written: CRLF line ends
    starts = datetime(day.year, day.month, day.day, 10, tzinfo=NEW_YORK).astimezone(UTC)
    assert f"\r\nDTSTART:{starts:%Y%m%dT%H%M%S}Z\r\n" in text
    assert f"\r\nDTEND:{starts + timedelta(hours=3):%Y%m%dT%H%M%S}Z\r\n" in text
    assert "\r\nSUMMARY:Visitas del sábado\r\n" in text and "\r\nLOCATION:Iglesia San Juan\\, 410 Main St\r\n" in text

    name, phone, spoken, chosen = server.rows(SIGNUP, email=f"new-{language}@example.org")[0][2:]
    assert (name, phone, language in spoken, chosen) == (words["name"], "+19195550177", True, language)

    lead.reload()
    assert words["needs"] in lead.locator("main").inner_text()
    card = lead.locator("li.card", has_text=words["name"])
    follow(lead, card.get_by_role("button", name=f"Check in {words['name']}"))
    assert lead.locator(".flash-ok").inner_text() == f"{words['name']} is checked in and has {turf_name}."
    save_screenshot(lead, f"e2e-shifts-roster-{language}")
    checked_in_at, got_turf = server.rows(SIGNUP, email=f"new-{language}@example.org")[0][:2]
    assert checked_in_at is not None and got_turf == turf_id
    assert server.scalar(ASSIGNED, email=f"new-{language}@example.org", turf=turf_id) == "active"

    newcomer.reload()
    follow(newcomer, newcomer.get_by_role("link", name=words["walk"].format(turf=turf_name)))
    assert newcomer.url.endswith(f"/walk/{turf_id}")
    assert newcomer.locator(".walk-list li").count() > 0
    assert newcomer.evaluate("document.documentElement.scrollWidth") <= 360
    save_screenshot(newcomer, f"e2e-shifts-walk-{language}")


SHIFT_START = "SELECT starts_at FROM shift_event WHERE title = 'Saturday house visits'"
CHECKED_IN = """SELECT s.checked_in_at IS NOT NULL, s.turf_id, s.turf_id IN (SELECT turf_id FROM shift_turf
                WHERE shift_id = s.shift_id), (SELECT count(*) FROM shift o WHERE o.user_id = u.id AND
                o.turf_id = s.turf_id AND o.checked_out_at IS NULL)
                FROM shift_signup s JOIN "user" u ON u.id = s.user_id JOIN shift_event e ON e.id = s.shift_id
                WHERE u.email = :email AND e.title = 'Saturday house visits'"""


def test_a_volunteer_checks_in_on_their_own_phone_in_vietnamese_and_lands_on_their_walk_list(serve, phones):
    today = datetime.now(UTC).date()
    saturday = today + timedelta(days=(5 - today.weekday()) % 7 or 7)  # the demo's house visits: 10:00 New York
    start = datetime(saturday.year, saturday.month, saturday.day, 15, tzinfo=UTC)
    server = serve("demo", CANVASS_CLOCK_START=(start - timedelta(minutes=15)).isoformat(), CANVASS_MODE="development")
    stored = datetime.fromisoformat(str(server.scalar(SHIFT_START)))  # SQLite answers text, PostgreSQL a time
    assert (stored if stored.tzinfo else stored.replace(tzinfo=UTC)) == start

    page = phones.open(locale="vi").new_page()
    sign_in(page, server.base_url, "minh@example.org")  # Minh reads Vietnamese
    follow(page, menu_link(page, "Ca của tôi"))
    card = page.locator("li.card", has_text="Saturday house visits")
    save_screenshot(page, "e2e-shifts-self-check-in-vi")
    follow(page, card.get_by_role("button", name="Tôi đã đến: điểm danh cho tôi"))
    checked_in, turf_id, of_the_shift, open_safety_shifts = server.rows(CHECKED_IN, email="minh@example.org")[0]
    assert checked_in and of_the_shift and open_safety_shifts == 1
    turf_name = server.scalar("SELECT name FROM turf WHERE id = :id", id=turf_id)
    assert page.url.endswith(f"/walk/{turf_id}")
    assert page.locator(".flash-ok").inner_text() == f"Đã điểm danh Minh Tran, được giao {turf_name}."
    assert page.locator(".walk-list li").count() > 0
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
