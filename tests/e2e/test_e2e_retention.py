"""Retention on a 360 px phone against the running server, in English, Spanish and Vietnamese: an admin closes the
demo campaign with a retention period of 0 days and is offered the full export first; a volunteer opening their turf
then reads a plain sentence, and a contact their phone still held is refused with the reason; the admin purges the
personal data with the campaign's name typed, and the campaign's tallies are still on its dashboard."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.harness import PHONE, choose_language, save_screenshot, sign_in
from tests.e2e.test_e2e_accessibility import AXE, MEASURE, violations

#: (language, volunteer, close button, closed sentence, the volunteer's sentence, the refusal, purge button, purged)
CASES = [
    ("en", "volunteer@example.org", "Close the campaign", "Campaign closed: it takes no new contacts.",
     "is closed: no more doors or calls for it.", "This campaign is closed: it takes no new contacts.",
     "Purge personal data", "Personal data purged:"),
    ("es", "maria@example.org", "Cerrar la campaña", "Campaña cerrada: ya no acepta contactos nuevos.",
     "está cerrada: no hay más puertas ni llamadas para ella.",
     "Esta campaña está cerrada: ya no acepta contactos nuevos.", "Borrar los datos personales",
     "Datos personales borrados:"),
    ("vi", "minh@example.org", "Đóng chiến dịch", "Đã đóng chiến dịch: không nhận lượt liên lạc mới.",
     "đã đóng: không còn gõ cửa hay gọi điện cho chiến dịch này.",
     "Chiến dịch này đã đóng: không nhận thêm lượt liên lạc mới.", "Xóa dữ liệu cá nhân",
     "Đã xóa dữ liệu cá nhân:"),
]
CAMPAIGN = "SELECT id, name FROM campaign WHERE slug = 'fall-gotv'"
THEIR_DOOR = """SELECT t.id, d.household_id, p.id FROM turf t JOIN turf_assignment a ON a.turf_id = t.id
    JOIN "user" u ON u.id = a.user_id JOIN turf_door d ON d.turf_id = t.id JOIN person p ON p.household_id = d.household_id
    WHERE u.email = :email ORDER BY t.id, d.position LIMIT 1"""
ATTEMPTS = "SELECT count(*) FROM contact_attempt WHERE campaign_id = :campaign AND undone_at IS NULL"
DOORS = """SELECT count(DISTINCT household_id) FROM contact_attempt WHERE campaign_id = :campaign AND undone_at IS NULL
    AND channel = 'door'"""
PEOPLE = "SELECT count(*) FROM person WHERE campaign_id = :campaign"


@pytest.fixture(scope="module")
def axe() -> str:
    if not AXE.exists():
        pytest.skip("axe-core is not installed (npm ci --prefix tests/e2e)")
    return AXE.read_text()


def open_phone(phones):
    """A phone whose pages axe can be injected into (the pages' strict Content-Security-Policy is bypassed for it)."""
    context = phones.browser.new_context(accept_downloads=True, bypass_csp=True, **PHONE)
    context.set_default_timeout(20_000)
    phones.contexts.append(context)
    return context.new_page()


def fits_the_screen(page, axe: str) -> None:
    """Nothing wider than the phone, every tap target big enough, and no serious accessibility violation."""
    measured = page.evaluate(MEASURE)
    assert measured["width"] <= 360 and not measured["small"], measured
    assert not violations(page, axe)


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_an_admin_closes_exports_and_purges_a_campaign_and_its_tallies_stay(demo_server, phones, axe, case):
    language, volunteer, close, closed, plain, refusal, purge, purged = case
    server = demo_server
    campaign_id, name = server.rows(CAMPAIGN)[0]
    doors = server.scalar(DOORS, campaign=campaign_id)
    turf_id, household_id, person_id = server.rows(THEIR_DOOR, email=volunteer)[0]

    admin = open_phone(phones)
    sign_in(admin, server.base_url, "admin@example.org")
    admin.goto(f"{server.base_url}/campaigns/")
    if language != "en":
        choose_language(admin, language)
    with admin.expect_navigation():
        admin.locator("#campaign-fall-gotv a[href$='/campaigns/fall-gotv/retention']").click()
    save_screenshot(admin, f"retention-open-{language}")
    fits_the_screen(admin, axe)
    admin.locator("input[name=days]").fill("0")
    with admin.expect_navigation():
        admin.get_by_role("button", name=close).click()
    assert closed in admin.locator(".flashes").inner_text()
    # The full export is offered before anything is purged, with the counts of what goes and what stays.
    assert admin.locator(f"#export-first a[href*='/exports/?campaign={campaign_id}']").count() == 1
    assert admin.locator("#export-first form[action$='/export'] button").count() == 1
    assert admin.locator("#what-goes td.num").first.inner_text().replace(",", "").replace(".", "").strip() == \
        str(server.scalar(PEOPLE, campaign=campaign_id))
    save_screenshot(admin, f"retention-closed-{language}")
    fits_the_screen(admin, axe)

    # The volunteer opens their turf: a plain sentence, and a contact their phone still held is refused, saying why.
    phone = open_phone(phones)
    sign_in(phone, server.base_url, volunteer)
    phone.goto(f"{server.base_url}/walk/{turf_id}")
    assert plain in phone.locator("#campaign-closed").inner_text()
    save_screenshot(phone, f"turf-closed-{language}")
    fits_the_screen(phone, axe)
    answer = phone.evaluate("""async (item) => {
        const token = document.querySelector('meta[name="csrf-token"]').content;
        const response = await fetch('/api/v1/contacts', {method: 'POST', credentials: 'same-origin',
            headers: {'Content-Type': 'application/json', 'X-CSRFToken': token},
            body: JSON.stringify({contacts: [item]})});
        return (await response.json()).results[0];
    }""", {"client_uuid": str(uuid.uuid4()), "person_id": person_id, "household_id": household_id,
           "turf_id": turf_id, "result_code": "NH"})
    assert answer["status"] == "rejected" and answer["error"] == refusal

    # The admin purges, typing the campaign's name; the dashboard still holds every attempt's tally.
    admin.locator("#purge input[name=name]").fill(name)
    with admin.expect_navigation():
        admin.get_by_role("button", name=purge).click()
    assert purged in admin.locator(".flashes").inner_text()
    save_screenshot(admin, f"retention-purged-{language}")
    fits_the_screen(admin, axe)
    assert server.scalar(PEOPLE, campaign=campaign_id) == 0
    assert server.scalar(ATTEMPTS, campaign=campaign_id) == 0
    admin.goto(f"{server.base_url}/dashboard?campaign={campaign_id}")
    assert admin.locator("#purged-note").count() == 1
    figures = admin.locator(".stat-value").all_inner_texts()
    assert any(text.replace(",", "").replace(".", "").strip() == str(doors) for text in figures), figures
    save_screenshot(admin, f"dashboard-purged-{language}")
    fits_the_screen(admin, axe)
    phone.goto(f"{server.base_url}/walk/{turf_id}")
    assert plain in phone.locator("#campaign-closed").inner_text()
