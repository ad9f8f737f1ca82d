"""Importing vote history on the web: upload -> check -> confirm, through the test client and on a phone in real
headless Chromium (360 px, English, Spanish and Vietnamese)."""

from __future__ import annotations

import io
import re

import pytest
from sqlmodel import select

from canvass.models import AuditLog, Vote
from tests.conftest import browser_login, login, screenshot
from tests.test_history import NC, make_person


@pytest.fixture
def nc_file(fixtures_dir):
    return fixtures_dir / "history" / NC


def upload(client, campaign, path):
    return client.post("/history/", data={"campaign_id": str(campaign.id),
                                          "file": (io.BytesIO(path.read_bytes()), path.name)},
                       content_type="multipart/form-data")


def test_data_staff_check_then_confirm_a_history_file(client, session, campaign, data_staff, nc_file):
    make_person(session, campaign, "voter_id", "AA100001")
    session.commit()
    login(client, data_staff)
    response = upload(client, campaign, nc_file)
    assert response.status_code == 302
    check = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "North Carolina voter history (ncvhis)" in check and "EH999999" in check
    assert session.execute(select(Vote)).all() == []  # nothing is written before confirming
    token = re.search(r"/history/([0-9a-f]{32})/confirm", check).group(1)
    done = client.post(f"/history/{token}/confirm", follow_redirects=True).get_data(as_text=True)
    assert "Vote history imported: 4 votes added for 4 matched rows; 5 elections." in done
    session.rollback()  # a new snapshot: the page wrote in a transaction of its own
    assert len(session.execute(select(Vote)).all()) == 4
    assert client.get(f"/history/{token}").status_code == 404  # the upload is gone once imported
    actions = session.execute(select(AuditLog.action)).scalars().all()
    assert "history.uploaded" in actions and "history.imported" in actions


def test_a_file_that_is_not_history_is_refused_beside_the_field(client, session, campaign, data_staff, tmp_path):
    login(client, data_staff)
    path = tmp_path / "names.csv"
    path.write_text("first,last\nAna,Garcia\n")
    response = upload(client, campaign, path)
    assert response.status_code == 400
    assert "canvass found no voter ID column in this file" in response.get_data(as_text=True)


def test_discarding_imports_nothing(client, session, campaign, data_staff, nc_file):
    make_person(session, campaign, "voter_id", "AA100001")
    session.commit()
    login(client, data_staff)
    location = upload(client, campaign, nc_file).headers["Location"]
    page = client.post(location + "/discard", follow_redirects=True).get_data(as_text=True)
    assert "The file was discarded; nothing was imported." in page
    session.rollback()
    assert session.execute(select(Vote)).all() == []


@pytest.mark.browser
@pytest.mark.parametrize(("language", "labels"), [
    ("en", ("Campaign", "History file", "Upload and check", "Import the votes", "Vote history imported")),
    ("es", ("Campaña", "Archivo de historial", "Subir y revisar", "Importar los votos", "Historial de votación importado")),
    ("vi", ("Chiến dịch", "Tệp lịch sử bỏ phiếu", "Tải lên và kiểm tra", "Nhập các lần bỏ phiếu",
            "Đã nhập lịch sử bỏ phiếu"))])
def test_a_history_file_is_imported_on_a_phone(live_server, phone, session, campaign, data_staff, nc_file, language,
                                               labels):
    person = make_person(session, campaign, "voter_id", "AA100001")
    data_staff.language = language
    session.add(data_staff)
    session.commit()
    campaign_label, file_label, upload_button, confirm_button, done = labels
    page = phone.new_page()
    browser_login(page, live_server, data_staff)
    page.goto(f"{live_server}/history/")
    page.get_by_label(campaign_label).select_option(str(campaign.id))
    page.get_by_label(file_label).set_input_files(str(nc_file))
    screenshot(page, f"history-upload-360-{language}")
    page.get_by_role("button", name=upload_button).click()
    page.get_by_role("button", name=confirm_button).wait_for()
    page.wait_for_load_state()  # the button is there before the style sheet applies: a page measured unstyled is wider
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(page, f"history-check-360-{language}")
    page.get_by_role("button", name=confirm_button).click()
    page.get_by_text(done).wait_for()
    page.wait_for_load_state()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert len(session.execute(select(Vote)).all()) == 4
    page.goto(f"{live_server}/people/{person.id}")
    page.locator("#turnout").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(page, f"history-person-360-{language}")
