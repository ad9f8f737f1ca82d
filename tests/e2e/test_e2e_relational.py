"""Relational lists on a 360 px phone against the running server, in English, Spanish and Vietnamese: a volunteer
uploads their phone's contacts (.vcf), confirms the voter canvass suggests, finds tel: and sms: links with the
campaign's text in that person's language, logs a result with no connection, and it is stored once when the phone
is back online."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from canvass.demo import RELATIONAL_TEXTS
from tests.e2e.harness import choose_language, save_screenshot, sign_in, wait_for

#: (interface language, volunteer, the language of the voter they know, what the page says once the file is in,
#: the confirm button, the result button for "Talked", the offline sentence, the sent sentence)
CASES = [
    ("en", "volunteer@example.org", "vi", "Added 2 people to your list.", "Yes, that is them", "Talked",
     "1 entry kept on this phone", "Sent: 1 entry"),
    ("es", "maria@example.org", "en", "Se añadieron 2 personas a tu lista.", "Sí, es esa persona", "Hablamos",
     "1 registro guardado en este teléfono", "Enviado: 1 registro"),
    ("vi", "minh@example.org", "es", "Đã thêm 2 người vào danh sách của bạn.", "Đúng, là họ", "Đã nói chuyện",
     "1 mục được giữ trên điện thoại này", "Đã gửi cả 1 mục"),
]
VOTER = """SELECT p.first_name, p.last_name, h.city FROM person p JOIN household h ON h.id = p.household_id
    WHERE p.language = :language AND NOT p.deceased AND NOT p.is_protected AND p.first_name <> '' AND (
      SELECT count(*) FROM person o WHERE o.first_name = p.first_name AND o.last_name = p.last_name) = 1
    ORDER BY p.id DESC LIMIT 1"""
NAMES = "SELECT name FROM \"user\" WHERE email = :email"
STORED = """SELECT count(*) FROM contact_attempt c JOIN relational_person r ON r.id = c.relational_id
    WHERE r.phone = :phone AND c.channel = 'relational'"""


def vcard(first: str, last: str, city: str, phone: str) -> str:
    """Two cards as a phone exports them: folded lines, several numbers, and a friend not in the voter file."""
    return (f"BEGIN:VCARD\r\nVERSION:3.0\r\nN:{last};{first};;;\r\nFN:{first} {last}\r\n"
            f"TEL;type=CELL;type=VOICE;type=pref:{phone}\r\nTEL;type=WORK:(714) 555-0998\r\n"
            f"ADR;type=HOME:;;1 Main St;{city};CA;92701;United Sta\r\n tes\r\n"
            "NOTE:A note long enough that the phone folded it across two lines when it exported this c\r\n ard\r\n"
            "END:VCARD\r\nBEGIN:VCARD\r\nVERSION:4.0\r\nFN:Coach Zed Quux\r\nTEL;VALUE=uri;TYPE=cell:tel:+1-714-555-0"
            "997\r\nEND:VCARD\r\n")


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_a_volunteer_uploads_contacts_confirms_a_match_and_logs_offline_once(demo_server, phones, tmp_path, case):
    language, email, voter_language, added, confirm, talked, offline, sent = case
    server = demo_server
    first, last, city = server.rows(VOTER, language=voter_language)[0]
    phone = {"en": "+17145550901", "es": "+17145550902", "vi": "+17145550903"}[language]
    path = tmp_path / "contacts.vcf"
    path.write_bytes(vcard(first, last, city, f"({phone[2:5]}) {phone[5:8]}-{phone[8:]}").encode("utf-8"))

    page = phones.open().new_page()
    sign_in(page, server.base_url, email)
    page.goto(f"{server.base_url}/people-i-know/")
    if language != "en":
        choose_language(page, language)

    # Upload the contacts file: both people are added, the voter with a suggestion to confirm.
    page.locator("details#upload > summary").click()
    page.locator("details#upload input[type=file]").set_input_files(str(path))
    with page.expect_navigation():
        page.locator("details#upload button[type=submit]").click()
    assert added in page.locator(".flashes").inner_text()
    card = page.locator("section.person", has_text=f"{first} {last}")
    friend = page.locator("section.person", has_text="Coach Zed Quux")
    assert friend.count() == 1 and friend.locator(".match-box").count() == 0  # kept, not in the voter file
    assert f"{first} {last}" in card.locator(".match-box").inner_text()
    save_screenshot(page, f"relational-uploaded-{language}")
    with page.expect_navigation():
        card.get_by_role("button", name=confirm).click()
    card = page.locator("section.person", has_text=f"{first} {last}")
    assert card.locator(".match-box").count() == 0

    # Call and text from the volunteer's own phone: the text is the campaign's, in the voter's language.
    volunteer = server.scalar(NAMES, email=email)
    assert card.locator('a[href^="tel:"]').get_attribute("href") == f"tel:{phone}"
    sms = card.locator("a[data-sms]").get_attribute("href")
    assert sms.startswith(f"sms:{phone}?&body=")
    assert unquote(sms.split("body=", 1)[1]) == RELATIONAL_TEXTS[voter_language].replace("{name}", first) \
        .replace("{volunteer}", volunteer)
    assert card.locator(".message-text").get_attribute("lang") == voter_language
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    # No connection: the result is kept on the phone, then stored once when the connection comes back.
    page.context.set_offline(True)
    card.get_by_role("button", name=talked, exact=True).click()
    page.locator("#sync-status", has_text=offline).wait_for()
    assert server.scalar(STORED, phone=phone) == 0
    save_screenshot(page, f"relational-offline-{language}")
    page.context.set_offline(False)
    wait_for(lambda: server.scalar(STORED, phone=phone), 1)
    page.locator("#sync-status", has_text=sent).wait_for()
    assert page.evaluate("window.canvassOffline.queue().length") == 0

    # The phone sending it again (a retry after a lost answer) stores nothing more.
    key = server.scalar("SELECT c.client_uuid FROM contact_attempt c JOIN relational_person r ON "
                        "r.id = c.relational_id WHERE r.phone = :phone", phone=phone)
    relational_id = server.scalar("SELECT id FROM relational_person WHERE phone = :phone", phone=phone)
    answer = page.evaluate("""async ([key, id]) => {
        const csrf = document.querySelector('meta[name="csrf-token"]').content;
        const r = await fetch('/api/v1/contacts', {method: 'POST', credentials: 'same-origin',
            headers: {'Content-Type': 'application/json', 'X-CSRFToken': csrf},
            body: JSON.stringify({contacts: [{client_uuid: key, channel: 'relational', relational_id: id,
                                              result_code: 'TK'}]})});
        return (await r.json()).results[0].status; }""", [str(key), relational_id])
    assert answer == "duplicate" and server.scalar(STORED, phone=phone) == 1
    save_screenshot(page, f"relational-sent-{language}")
