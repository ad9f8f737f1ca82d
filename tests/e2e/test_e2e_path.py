"""A volunteer's path on 360 px phones against the running server, in English, Spanish and Vietnamese: the field
lead opens the volunteers' path from the Field page, filters those ready to be asked to lead, opens one volunteer's
history, marks a shift's leader on the roster (who then leaves the ready list); a volunteer sees their own figures on
their home page, and is refused the leads' list."""

from __future__ import annotations

import pytest

from tests.e2e.harness import choose_language, menu_link, save_screenshot, sign_in

#: (language, the volunteer whose home is looked at, heading, ready filter's words, "Attended", the roster's
#: marker button, the leader sentence, the volunteer's own sentence)
CASES = [
    ("en", "volunteer@example.org", "Volunteers' path", "Ready to be asked to lead", "Attended",
     "Mark Minh Tran as the shift's leader", "Minh Tran leads this shift.", "You've attended 1 shift."),
    ("es", "maria@example.org", "Trayectoria de voluntarios", "Listos para pedirles que dirijan", "Asistió",
     "Marcar a Minh Tran como quien dirige el turno", "Minh Tran dirige este turno.",
     "Has participado en 1 turno. Dirigiste 1 de ellos."),
    ("vi", "minh@example.org", "Lộ trình tình nguyện viên", "Sẵn sàng để mời dẫn dắt", "Đã tham gia",
     "Đánh dấu Minh Tran là người dẫn dắt ca", "Minh Tran dẫn dắt ca này.", "Bạn đã tham gia 1 ca."),
]
ATTENDED = """SELECT count(*) FROM shift_signup s JOIN "user" u ON u.id = s.user_id
    WHERE u.email = :email AND s.checked_in_at IS NOT NULL"""


def ready_names(page) -> list[str]:
    return [name.strip() for name in page.locator("li.volunteer-path h3 a").all_inner_texts()]


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_a_lead_finds_who_is_ready_to_lead_and_a_volunteer_sees_only_their_own_path(demo_server, phones, case):
    language, email, heading, ready, attended, mark, marked, own = case
    server = demo_server
    page = phones.open().new_page()
    sign_in(page, server.base_url, "lead@example.org")
    choose_language(page, language)  # the demo's field lead reads Spanish

    # From the Field page to the list: every volunteer with their step; the rule for "ready" is on the page.
    with page.expect_navigation():
        page.locator("a[href='/path/']").last.click()
    assert page.locator("h1").inner_text() == heading
    assert page.locator(".ready-rule").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    save_screenshot(page, f"path-list-{language}")

    # Those ready to be asked to lead: each card says so, and María, who led last Saturday, is not among them.
    with page.expect_navigation():
        page.locator("#ready-link").click()
    assert ready in page.locator("#ready-link").inner_text()
    names = ready_names(page)
    assert names and "María Ortiz" not in names and "Minh Tran" in names
    assert page.locator("li.volunteer-path .badge.ok").count() == len(names)
    save_screenshot(page, f"path-ready-{language}")

    # One volunteer's history: last Saturday's shift attended, and their work month by month.
    with page.expect_navigation():
        page.locator("li.volunteer-path h3 a", has_text="Minh Tran").click()
    assert page.locator("h1").inner_text() == "Minh Tran"
    shift = page.locator(".shift-history li", has_text="Last Saturday's house visits")
    assert attended in shift.inner_text()
    assert page.locator("#months + .table-wrap tbody tr").count() >= 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    save_screenshot(page, f"path-volunteer-{language}")

    # On the roster of last Saturday's shift the lead marks Minh as its leader: Minh has now led a shift.
    menu_link(page, {"en": "Shifts", "es": "Turnos", "vi": "Ca"}[language]).click()
    page.wait_for_load_state()
    with page.expect_navigation():
        page.get_by_role("link", name="Last Saturday's house visits").click()
    with page.expect_navigation():
        page.get_by_role("button", name=mark).click()
    assert marked in page.locator(".flashes").inner_text()
    page.goto(f"{server.base_url}/path/?show=ready")
    assert "Minh Tran" not in ready_names(page)

    # The volunteer: their own figures on their home page, in their language; the leads' list is refused.
    mine = phones.open().new_page()
    sign_in(mine, server.base_url, email)
    if language != "en":
        choose_language(mine, language)
    assert server.scalar(ATTENDED, email=email) == 1
    assert own in " ".join(mine.locator("#my-path").inner_text().split())
    assert mine.locator("#my-path").is_visible() and mine.locator("li.volunteer-path").count() == 0
    save_screenshot(mine, f"path-my-home-{language}")
    assert mine.goto(f"{server.base_url}/path/").status == 403
