"""Data staff import a messy sign-up sheet on a phone: upload -> check -> confirm, against a running server.

The sheet is what volunteers hand in: accented names, a phone written "12", a person with no address, a ZIP that
lost its leading zero (padded in Massachusetts, refused in California, where no ZIP starts with 0), a row with a
stray comma far down under the spreadsheet's empty rows, and cells a spreadsheet would run as formulas. Every problem
is on the check page (in English and in Spanish), the problems CSV neutralises the formulas, the preview shows the
ZIP and phone as they will be stored without scrolling sideways, and the database holds what the page promised.
"""

from __future__ import annotations

import csv
import gettext
import io
import re

from playwright.sync_api import expect

from canvass.paths import PACKAGE_DIR
from tests.e2e.harness import choose_language, save_screenshot, sign_in

HEADER = ["First Name", "Last Name", "Address", "City", "State", "ZIP", "Phone", "Email", "Language", "Notes"]
EVIL_LINK = '=HYPERLINK("http://evil.example","Click me")'
SHEET = [  # spreadsheet rows 2-7
    ["José", "Núñez", "12 Oak St", "Durham", "NC", "27701", "(919) 555-0142", "jose@example.org", "Spanish", ""],
    ["Thị Hoa", "Nguyễn", "48 Elm Ave", "Boston", "MA", "2139", "617-555-0188", "", "Vietnamese", "Evenings"],
    ["Maria", "Lopez", "9 Palm Dr", "Anaheim", "CA", "9270", "714-555-0101", "", "", ""],
    ["Sam", "Carter", "77 Pine Rd", "Raleigh", "NC", "27601", "12", "", "", "Can host"],
    ["Lee", "Park", "", "", "", "", "919-555-0177", "", "", ""],
    ["Eve", "Mallory", "5 Ash Ln", "Durham", "NC", "27701", "=2+5", EVIL_LINK, "", ""],
]
# A sheet saved from Google Sheets keeps its 2,000 empty rows; someone typed one more row under them, with a stray
# comma. The reader sizes the table from the first 2,000 lines, so that row is one column too wide: row 2008.
EMPTY_ROWS = 2000
LONG_ROW = 2 + len(SHEET) + EMPTY_ROWS
NO_ADDRESS = ("This row has no address, so the person was kept without a door: they can be called or emailed, not "
              "visited. Add the address to the file to put them on a walk list.")
ZIP_TOO_SHORT = ("This ZIP code is missing digits, and ZIP codes in this state do not start with 0, so they cannot be "
                 "put back; the row was kept without it. Correct the ZIP code in the file.")
BAD_PHONE = "This phone number is incomplete or not a valid number; it was left out."
BAD_EMAIL = "This is not an email address; it was left out."
TOO_WIDE = ("This row has %(found)s columns but the file has %(width)s; it was skipped. Check it for a stray "
            "separator.")
PROBLEMS = [(4, "ZIP", "9270", ZIP_TOO_SHORT, {}), (5, "Phone", "12", BAD_PHONE, {}),
            (6, "Address", "", NO_ADDRESS, {}), (7, "Phone", "=2+5", BAD_PHONE, {}),
            (7, "Email", EVIL_LINK, BAD_EMAIL, {}), (LONG_ROW, "", None, TOO_WIDE, {"found": 11, "width": 10})]


def write_sheet(path):
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerows([HEADER, *SHEET, *[[""] * len(HEADER)] * EMPTY_ROWS])
        writer.writerow(["Extra", "Comma", "3 Birch St", "Durham", "NC", "27701", "919-555-0199", "", "", "", "x"])
    return path


def table_row(page, table: str, row: int):
    """The (stacked) table row that shows spreadsheet row ``row``: its first cell holds the number."""
    return page.locator(f"{table} tbody tr").filter(has=page.locator("td:first-child", has_text=re.compile(rf"^{row}$")))


def assert_problems_shown(page, translate=str) -> None:
    for row, _column, _value, sentence, args in PROBLEMS:
        expect(table_row(page, "#problems", row).filter(has_text=translate(sentence) % args)).to_have_count(1)
    expect(page.locator("#problems h2")).to_contain_text(f"({len(PROBLEMS)})")


def test_data_staff_import_a_messy_sign_up_sheet_on_a_phone(demo_server, phones, tmp_path):
    base = demo_server.base_url
    page = phones.open().new_page()
    sign_in(page, base, "data@example.org")
    page.goto(f"{base}/imports/")
    page.locator("#file").set_input_files(str(write_sheet(tmp_path / "sign-ups.csv")))
    page.get_by_role("button", name="Upload and check").click()
    page.locator("#problems").or_(page.locator(".flash-error")).first.wait_for(timeout=60_000)  # it refreshes itself
    assert page.locator(".flash-error").count() == 0, page.locator("main").inner_text()
    page.wait_for_load_state()  # its stylesheet too: widths are measured below
    batch_url = page.url
    batch_id = int(re.search(r"/imports/(\d+)", batch_url).group(1))

    # The check page: every problem, with its row; and what importing will do.
    assert_problems_shown(page)
    expect(page.get_by_role("button", name="Import 6 rows")).to_be_visible()
    # The preview shows the ZIP and phone as stored, on screen: 2139 in MA is 02139, 9270 in CA is left out.
    ma_row = table_row(page, "#preview", 3)
    expect(ma_row.locator('td[data-label="ZIP code"]')).to_have_text("02139")
    expect(ma_row.locator('td[data-label="Phones"]')).to_have_text("+16175550188")
    expect(table_row(page, "#preview", 2)).to_contain_text("José Núñez")
    expect(table_row(page, "#preview", 4).locator('td[data-label="ZIP code"]')).to_have_text("—")  # stored without
    expect(table_row(page, "#preview", 5).locator('td[data-label="Phones"]')).to_have_text("—")  # "12" is left out
    box = ma_row.locator('td[data-label="ZIP code"]').bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 360, box  # not off to the right
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    save_screenshot(page, "import-check-en")

    # The problems file: the same problems, and no cell a spreadsheet would run.
    with page.expect_download() as download:
        page.get_by_role("link", name="Download all as CSV").click()
    target = tmp_path / download.value.suggested_filename
    download.value.save_as(target)
    header, *rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert header == ["row", "column", "value", "level", "problem"]
    assert sorted((int(r[0]), r[1], r[3], r[4]) for r in rows) == sorted(
        (row, column, "error" if row == LONG_ROW else "warning", sentence % args)
        for row, column, _value, sentence, args in PROBLEMS)
    values = {(int(r[0]), r[1]): r[2] for r in rows}
    for row, column, value, _sentence, _args in PROBLEMS:
        if value is not None:  # =2+5 and =HYPERLINK(...) come out as '=2+5 and '=HYPERLINK(...)
            assert values[(row, column)] == ("'" + value if value.startswith("=") else value)
    assert not any(r[2].startswith(("=", "+", "-", "@")) for r in rows)

    # The same check page on a Spanish-speaking staffer's phone, in Spanish once they pick it.
    spanish = phones.open(locale="es-ES").new_page()
    sign_in(spanish, base, "data@example.org")
    spanish.goto(batch_url)
    choose_language(spanish, "es")  # waits for its load: measured unstyled, the page is 745 px wide
    expect(spanish.locator("#problems h2")).to_contain_text("Problemas por fila")
    expect(spanish.get_by_text("Este número de teléfono está incompleto o no es válido; se dejó fuera.")).to_have_count(2)
    catalog = gettext.translation("messages", PACKAGE_DIR / "translations", ["es"])  # compiled by the server's start
    assert_problems_shown(spanish, catalog.gettext)  # sentences not yet in the catalog stay English
    expect(table_row(spanish, "#preview", 3).locator('td[data-label="Código postal"]')).to_have_text("02139")
    assert spanish.evaluate("document.documentElement.scrollWidth") <= 360
    save_screenshot(spanish, "import-check-es")

    # Confirm (the button's words follow the staffer's language, now Spanish), then the result.
    page.goto(batch_url)
    page.locator("form[action$='/confirm'] button[type=submit]").click()
    page.locator("h1 .badge.ok").or_(page.locator(".flash-error")).first.wait_for(timeout=60_000)
    assert page.locator(".flash-error").count() == 0, page.locator("main").inner_text()
    save_screenshot(page, "import-result")

    people = {(first, last): (household, zip5) for first, last, household, zip5 in demo_server.rows(
        """SELECT p.first_name, p.last_name, p.household_id, h.zip5 FROM person p
           LEFT JOIN household h ON h.id = p.household_id WHERE p.import_batch_id = :batch""", batch=batch_id)}
    assert set(people) == {("José", "Núñez"), ("Thị Hoa", "Nguyễn"), ("Maria", "Lopez"), ("Sam", "Carter"),
                           ("Lee", "Park"), ("Eve", "Mallory")}
    assert people[("Thị Hoa", "Nguyễn")][1] == "02139"
    assert people[("Maria", "Lopez")][0] is not None and people[("Maria", "Lopez")][1] == ""
    assert people[("Lee", "Park")] == (None, None)
    phones_of = dict(demo_server.rows(
        """SELECT p.last_name, count(ph.id) FROM person p LEFT JOIN phone ph ON ph.person_id = p.id
           WHERE p.import_batch_id = :batch GROUP BY p.id, p.last_name""", batch=batch_id))
    assert phones_of == {"Núñez": 1, "Nguyễn": 1, "Lopez": 1, "Carter": 0, "Park": 1, "Mallory": 0}  # no "12", "=2+5"
    assert demo_server.scalar("""SELECT ph.e164 FROM phone ph JOIN person p ON p.id = ph.person_id
                                 WHERE p.import_batch_id = :batch AND p.last_name = 'Núñez'""",
                              batch=batch_id) == "+19195550142"
