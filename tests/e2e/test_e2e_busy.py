"""A busy hour on one server: data staff export and import from the web page while three volunteers keep syncing
contacts and reading their lists. Nobody gets an error page, and every contact the server acknowledged is stored
exactly once."""

from __future__ import annotations

import http.cookiejar
import json
import random
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

from tests.e2e.harness import DEMO_PASSWORD, save_screenshot, sign_in
from tests.e2e.test_e2e_exports import download_when_ready, start_export

VOLUNTEERS = ("volunteer@example.org", "maria@example.org", "minh@example.org")


class Volunteer:
    """A volunteer's phone as the server sees it: the login form, the walk list, and the offline queue's batches
    (sent again now and then, as a phone does when an answer is lost)."""

    def __init__(self, base_url: str, email: str, seed: int):
        self.base_url, self.email, self.random = base_url, email, random.Random(seed)
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.statuses: Counter = Counter()
        self.failures: list[str] = []
        self.acknowledged: set[str] = set()
        self.csrf = ""

    def request(self, path: str, data: bytes | None = None, headers: dict | None = None) -> tuple[int, str]:
        request = urllib.request.Request(self.base_url + path, data=data, headers=headers or {})
        try:
            with self.opener.open(request, timeout=60) as answer:
                status, body = answer.status, answer.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read().decode("utf-8", "replace")
        self.statuses[status] += 1
        if status >= 400:
            self.failures.append(f"{self.email}: {path} -> {status}")
        return status, body

    def sign_in(self) -> None:
        _, page = self.request("/login")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        self.request("/login", urllib.parse.urlencode({"csrf_token": token, "email": self.email,
                                                       "password": DEMO_PASSWORD}).encode())

    def work(self, stop: threading.Event) -> None:
        self.sign_in()
        _, me = self.request("/api/v1/me")
        turf_id = json.loads(me)["turfs"][0]
        _, walk = self.request(f"/walk/{turf_id}")
        self.csrf = re.search(r'name="csrf-token" content="([^"]+)"', walk).group(1)
        _, package = self.request(f"/api/v1/turfs/{turf_id}")
        people = [(door["id"], person["id"]) for door in json.loads(package)["doors"] for person in door["people"]]
        while not stop.is_set():
            batch = [{"client_uuid": str(uuid.uuid4()), "turf_id": turf_id, "household_id": door,
                      "person_id": person, "channel": "door", "result_code": self.random.choice(["NH", "TK", "RF"])}
                     for door, person in self.random.sample(people, min(5, len(people)))]
            for _ in range(2 if self.random.random() < 0.3 else 1):  # the answer "lost": the phone sends again
                self.send(batch)
            self.request(f"/walk/{turf_id}")
            self.request(f"/api/v1/turfs/{turf_id}")
            time.sleep(self.random.uniform(0.05, 0.3))

    def send(self, batch: list[dict]) -> None:
        status, body = self.request("/api/v1/contacts", json.dumps({"contacts": batch}).encode(),
                                    {"Content-Type": "application/json", "X-CSRFToken": self.csrf})
        if status == 200:
            self.acknowledged |= {r["client_uuid"] for r in json.loads(body)["results"]
                                  if r["status"] in ("created", "duplicate")}


def write_list(path: Path, rows: int) -> Path:
    lines = ["voter_id,first_name,last_name,address,city,zip,phone"]
    lines += [f"B{n:06d},Busy{n},Tester,{100 + n} Market St,Durham,27701,919555{n % 10000:04d}" for n in range(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def import_from_the_web_page(page, base_url: str, path: Path) -> None:
    page.goto(f"{base_url}/imports/")
    page.locator("#file").set_input_files(str(path))
    page.get_by_role("button", name="Upload and check").click()
    confirm = page.locator("form[action$='/confirm'] button[type=submit]")
    confirm.or_(page.locator(".flash-error")).first.wait_for(timeout=60_000)
    assert page.locator(".flash-error").count() == 0, page.locator("main").inner_text()
    confirm.click()
    page.get_by_role("heading", name="Imported").or_(page.locator(".flash-error")).first.wait_for(timeout=90_000)
    assert page.locator(".flash-error").count() == 0, page.locator("main").inner_text()


def test_export_and_import_while_volunteers_sync_lose_nothing_and_show_no_error(demo_server, phones, tmp_path):
    before = demo_server.scalar("SELECT count(*) FROM contact_attempt")
    stop = threading.Event()
    volunteers = [Volunteer(demo_server.base_url, email, seed) for seed, email in enumerate(VOLUNTEERS)]
    threads = [threading.Thread(target=v.work, args=(stop,), daemon=True) for v in volunteers]
    for thread in threads:
        thread.start()
    try:
        page = phones.open().new_page()
        sign_in(page, demo_server.base_url, "data@example.org")
        start_export(page, demo_server.base_url, "xlsx")
        download_when_ready(page, tmp_path)
        import_from_the_web_page(page, demo_server.base_url, write_list(tmp_path / "busy.csv", 3000))
        save_screenshot(page, "busy-import-done")
        start_export(page, demo_server.base_url, "csv")
        download_when_ready(page, tmp_path)
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    failures = [f for v in volunteers for f in v.failures]
    assert not failures, failures[:10]
    acknowledged = set().union(*(v.acknowledged for v in volunteers))
    assert len(acknowledged) > 20, "the volunteers hardly synced while the staff worked"
    stored = Counter(str(u).replace("-", "") for (u,) in demo_server.rows(
        "SELECT client_uuid FROM contact_attempt WHERE received_at IS NOT NULL"))
    assert all(stored[u.replace("-", "")] == 1 for u in acknowledged), "an acknowledged contact was lost or doubled"
    assert demo_server.scalar("SELECT count(*) FROM contact_attempt") == before + len(acknowledged)
    assert demo_server.scalar("SELECT count(*) FROM person WHERE last_name = 'Tester'") == 3000
