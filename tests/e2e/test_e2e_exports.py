"""Data staff export results from the web page of a running server, download each file and check its figures."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest

from tests.e2e.harness import save_screenshot, sign_in

CAMPAIGN_CONTACTS = """SELECT count(*) FROM contact_attempt a JOIN campaign c ON c.id = a.campaign_id
                       WHERE c.slug = :slug AND a.undone_at IS NULL"""


def start_export(page, base_url: str, what: str, sheet: str = "contacts") -> None:
    page.goto(f"{base_url}/exports/")
    page.locator("#format").select_option(what)
    page.locator("#sheet").select_option(sheet)
    page.locator("form:has(#format) button[type=submit]").click()
    page.wait_for_load_state()


def download_when_ready(page, folder: Path) -> Path:
    """Waits on the export's own page (it refreshes itself) until it is ready, then downloads the file."""
    page.get_by_role("link", name="Download").or_(page.locator(".flash-error")).first.wait_for(timeout=60_000)
    assert page.locator(".flash-error").count() == 0, page.locator("main").inner_text()
    with page.expect_download() as info:
        page.get_by_role("link", name="Download").click()
    target = folder / info.value.suggested_filename
    info.value.save_as(target)
    return target


def test_data_staff_export_workbook_csv_and_van_file_from_the_web_page(demo_server, phones, tmp_path):
    page = phones.open().new_page()
    sign_in(page, demo_server.base_url, "data@example.org")
    slug = demo_server.scalar("SELECT slug FROM campaign ORDER BY id LIMIT 1")
    stored = demo_server.scalar(CAMPAIGN_CONTACTS, slug=slug)
    assert stored > 0

    start_export(page, demo_server.base_url, "xlsx")
    workbook_path = download_when_ready(page, tmp_path)
    save_screenshot(page, "export-ready")
    book = openpyxl.load_workbook(workbook_path, read_only=True)
    assert "Contacts" in book.sheetnames and "Summary" in book.sheetnames
    assert book["Contacts"].max_row - 1 == stored
    summary = list(book["Summary"].iter_rows(values_only=True))
    assert summary[0][:2] == ("Channel", "Attempts") and summary[1][:2] == ("All", stored)
    book.close()
    assert_libreoffice_reads(workbook_path, tmp_path, stored)

    start_export(page, demo_server.base_url, "csv", sheet="contacts")
    contacts_csv = download_when_ready(page, tmp_path)
    rows = list(csv.DictReader(io.StringIO(contacts_csv.read_text(encoding="utf-8-sig"))))
    assert len(rows) == stored
    assert {row["Channel"] for row in rows} <= {"door", "phone"}

    start_export(page, demo_server.base_url, "van")
    van = download_when_ready(page, tmp_path)
    van_rows = list(csv.DictReader(io.StringIO(van.read_text(encoding="utf-8"))))
    van_ids = {value for (value,) in demo_server.rows("SELECT value FROM external_id WHERE source = 'van_id'")}
    assert van_rows and {row["VANID"] for row in van_rows} <= van_ids
    assert demo_server.scalar("SELECT count(*) FROM audit_log WHERE action = 'export'") == 3


def assert_libreoffice_reads(path: Path, folder: Path, contacts: int) -> None:
    """LibreOffice (what many organizations open exports with) reads the workbook's Contacts sheet whole."""
    soffice = shutil.which("soffice")
    if soffice is None:
        if os.environ.get("CANVASS_REQUIRE_LIBREOFFICE"):
            pytest.fail("LibreOffice is required (CANVASS_REQUIRE_LIBREOFFICE) but soffice is missing.")
        return
    out = folder / "lo"
    profile = folder / "lo-profile"
    subprocess.run([soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to",
                    "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,2", "--outdir",
                    str(out), str(path)], check=True, capture_output=True, timeout=180)
    sheet = out / f"{path.stem}-Contacts.csv"
    assert sheet.exists(), sorted(p.name for p in out.iterdir())
    assert sum(1 for _ in csv.reader(io.StringIO(sheet.read_text(encoding="utf-8")))) - 1 == contacts
