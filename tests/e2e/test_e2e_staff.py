"""Staff journeys on a phone: an admin invites people who then sign up, and a field lead cuts and hands out turf."""

from __future__ import annotations

import time

from tests.e2e.harness import follow, menu_link, save_screenshot, sign_in

NEW_PASSWORD = "porch-light-42"
USER_ROW = 'SELECT role, language, name, password_hash IS NOT NULL FROM "user" WHERE email = :email'


def invite(page, email: str, role: str) -> str:
    """The admin fills the invite form on the People page; returns the link the page shows to share."""
    form = page.locator("#invite")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Role").select_option(role)
    follow(page, form.get_by_role("button", name="Create invite link"))
    assert email in page.locator(".flash-ok").inner_text()
    return page.locator(".flash-link input").input_value()


def accept(phones, link: str, name: str, language: str):
    """The invitee opens the link on their own phone, sets name, language and password; returns the page."""
    page = phones.open().new_page()
    page.goto(link)
    page.get_by_role("heading", name="Welcome to canvass").wait_for()
    main = page.locator("main")
    main.get_by_label("Your name").fill(name)
    main.get_by_label("Language").select_option(language)
    main.get_by_label("New password").fill(NEW_PASSWORD)
    main.get_by_label("Repeat the password").fill(NEW_PASSWORD)
    follow(page, main.get_by_role("button", name="Save and continue"))
    return page


def test_admin_invites_a_lead_and_a_volunteer_who_sign_up_in_their_own_language(empty_server, phones):
    admin = phones.open().new_page()
    sign_in(admin, empty_server.base_url, "admin@example.org")
    follow(admin, menu_link(admin, "People"))
    lead_link = invite(admin, "lucia@example.org", "lead")
    volunteer_link = invite(admin, "thao@example.org", "volunteer")
    save_screenshot(admin, "staff-invite-link")
    assert lead_link.startswith(f"{empty_server.base_url}/invite/") and lead_link != volunteer_link

    lead = accept(phones, lead_link, "Lucía Gómez", "es")
    assert lead.url.endswith("/lead")
    assert lead.locator("html").get_attribute("lang") == "es"
    assert lead.locator(".flash-ok").inner_text() == "¡Bienvenido! Tu contraseña está lista."
    assert lead.locator("h1").inner_text() == "Campo"
    assert menu_link(lead, "Territorio").is_visible()
    save_screenshot(lead, "staff-home-lead-es")

    volunteer = accept(phones, volunteer_link, "Thảo Nguyễn", "vi")
    assert volunteer.url.endswith("/my")
    assert volunteer.locator("html").get_attribute("lang") == "vi"
    assert volunteer.locator("h1").inner_text() == "Chào Thảo Nguyễn"
    assert volunteer.get_by_role("heading", name="Khu vực của tôi").is_visible()
    save_screenshot(volunteer, "staff-home-volunteer-vi")

    assert empty_server.rows(USER_ROW, email="lucia@example.org") == [("lead", "es", "Lucía Gómez", True)]
    assert empty_server.rows(USER_ROW, email="thao@example.org") == [("volunteer", "vi", "Thảo Nguyễn", True)]

    again = volunteer.goto(volunteer_link)  # the link works once
    assert again.status == 410
    assert volunteer.locator("h1").inner_text() == "Liên kết này không dùng được"
    save_screenshot(volunteer, "staff-link-used-vi")
    assert phones.open().new_page().goto(lead_link).status == 410
    admin.reload()
    assert admin.locator("#invites + p.empty").inner_text() == "No open invites."
    reason = volunteer.locator("main .card p").first.inner_text()
    assert "This link is not valid" not in reason, f"the reason is left in English on a Vietnamese page: {reason}"


def board_counts(page) -> tuple[int, int]:
    """The doors and people the board counted for the chosen filters."""
    doors, people = page.locator("#cut .stats-line strong").all_inner_texts()
    return int(doors.replace(".", "")), int(people.replace(".", ""))


def test_lead_counts_a_universe_cuts_turf_assigns_it_and_opens_its_map_and_printable_list(demo_server, phones):
    server = demo_server
    page = phones.open().new_page()  # lead@example.org reads the app in Spanish (her account's language)
    sign_in(page, server.base_url, "lead@example.org")
    follow(page, menu_link(page, "Territorio"))
    assert board_counts(page)[0] == 0  # the demo cut every door already
    assert page.locator("#cut form[method=post] button[type=submit]").is_disabled()

    # Put one turf nobody has back in the pool: open it, delete it.
    free = page.locator("tr[id^=turf-]").filter(has_not=page.locator("ul.compact li")).last
    freed_id = int(free.get_attribute("id").removeprefix("turf-"))
    freed_doors = server.scalar("SELECT count(*) FROM turf_door WHERE turf_id = :t", t=freed_id)
    follow(page, free.locator("th a"))
    follow(page, page.get_by_role("button", name="Borrar territorio"))
    assert "Territorio borrado" in page.locator(".flash-ok").inner_text()
    assert server.scalar("SELECT count(*) FROM turf WHERE id = :t", t=freed_id) == 0

    # Count the universe, then narrow it to doors where nobody has been talked to yet.
    follow(page, page.get_by_role("button", name="Contar las puertas"))
    all_doors, all_people = board_counts(page)
    assert all_doors == freed_doors
    page.get_by_label("Solo puertas donde aún no hemos hablado con nadie").check()
    follow(page, page.get_by_role("button", name="Contar las puertas"))
    doors, people = board_counts(page)
    assert 0 < doors < all_doors and 0 < people < all_people
    save_screenshot(page, "staff-turf-board-counted")

    before = {row[0] for row in server.rows("SELECT id FROM turf")}
    page.locator("#doors").fill("10")
    follow(page, page.get_by_role("button", name=f"Dividir {doors} puertas en territorios"))
    new_ids = sorted({row[0] for row in server.rows("SELECT id FROM turf")} - before)
    assert page.locator(".flash-ok").inner_text() == f"Se crearon {len(new_ids)} territorios."
    assert len(new_ids) >= 2
    listed = ",".join(map(str, new_ids))
    assert server.scalar(f"SELECT count(*) FROM turf_door WHERE turf_id IN ({listed})") == doors  # counted = cut
    assert board_counts(page)[0] == all_doors - doors

    deadline = time.monotonic() + 30  # the cut's background job stores the walking routes
    routed = f"SELECT count(*) FROM turf WHERE routed_at IS NOT NULL AND id IN ({listed})"
    while server.scalar(routed) < len(new_ids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert server.scalar(routed) == len(new_ids), "the routing job did not run in the server"

    # Give the first new turf to Minh from its row on the board.
    turf_id, turf_name = server.rows("SELECT id, name FROM turf WHERE id = :t", t=new_ids[0])[0]
    row = page.locator(f"#turf-{turf_id}")
    row.locator("select[name=user_id]").select_option(label="Minh Tran")
    follow(page, row.get_by_role("button", name="Asignar"))
    assert page.locator(".flash-ok").inner_text() == f"Minh Tran ahora tiene {turf_name}."
    assert page.locator(f"#turf-{turf_id} ul.compact li").inner_text().startswith("Minh Tran")
    assert server.rows("""SELECT u.email, a.status, b.email FROM turf_assignment a JOIN "user" u ON u.id = a.user_id
                          JOIN "user" b ON b.id = a.assigned_by_id WHERE a.turf_id = :t""", t=turf_id) == [
        ("minh@example.org", "active", "lead@example.org")]

    # Its page with the map, then its printable list.
    follow(page, page.locator(f"#turf-{turf_id} th a"))
    assert page.locator("h1").inner_text() == turf_name
    addresses = {f"{a}, {u}" if u else a for a, u in server.rows(
        "SELECT h.address, h.unit FROM household h JOIN turf_door d ON d.household_id = h.id WHERE d.turf_id = :t",
        t=turf_id)}
    map_svg = page.locator("figure.map svg")
    assert map_svg.is_visible() and map_svg.locator("polyline[stroke='#1d4ed8']").count() == 1  # the route
    assert map_svg.locator("text.street-name").count() >= 1  # streets drawn from the doors, named
    assert map_svg.locator("g").count() == len(addresses)  # one marker per door
    assert set(page.locator("ol.door-list .door-address").all_inner_texts()) == addresses
    save_screenshot(page, "staff-turf-map")
    follow(page, page.get_by_role("link", name="Lista para imprimir"))
    assert set(page.locator("tr.door-row strong").all_inner_texts()) == addresses
    assert page.locator("tr.person-row td.qr svg").count() > 0
    save_screenshot(page, "staff-turf-print")
