"""Uploading a file and reading its problems on a phone, in real headless Chromium."""

import pytest

from tests.conftest import browser_login, screenshot

pytestmark = pytest.mark.browser


def test_data_staff_upload_a_file_on_a_phone_and_read_its_problems_without_scrolling_sideways(
        live_server, phone, session, data_staff, campaign, tmp_path):
    data_staff.language = "es"
    session.add(data_staff)
    session.commit()
    path = tmp_path / "signups.csv"
    path.write_text("first_name,last_name,address,zip,phone,email\nAna,Diaz,5 Oak St,27701,12,ana@\n"
                    "Bo,Kim,9 Ash St,27701,9195551212,bo@example.org\n")
    page = phone.new_page()
    browser_login(page, live_server, data_staff)
    page.goto(f"{live_server}/imports/")
    page.get_by_label("Campaña").select_option(str(campaign.id))
    page.get_by_label("Archivo").set_input_files(str(path))
    page.get_by_role("button", name="Subir y revisar").click()
    problem = page.get_by_text("Este número de teléfono está incompleto o no es válido; se dejó fuera.")
    problem.wait_for()
    box = problem.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 360  # the sentence is on screen, not off to the right
    column = page.locator('#problems td[data-label="Columna"]', has_text="phone")
    value = page.locator('#problems td[data-label="Valor"]', has_text="12")
    assert column.bounding_box()["y"] < value.bounding_box()["y"]  # stacked: each cell under the last, labelled
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(page, "import-problems-360")
