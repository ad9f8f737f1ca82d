"""Two app servers behind HAProxy with deploy/haproxy.cfg, sharing one PostgreSQL database, as the README's
"Several app servers" section runs them: one dies and the phones carry on; sessions, logout and login throttling
hold across both."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.conftest import PG_URL
from tests.e2e.harness import Server, free_port, server_errors, start_server, stop_server
from tests.e2e.test_e2e_busy import Volunteer

pytestmark = pytest.mark.postgres_only  # SQLite serves one app process; several need PostgreSQL

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "haproxy.cfg"


class Balancer:
    def __init__(self, servers: list[Server], folder: Path):
        self.port, self.socket = free_port(), folder / "haproxy.sock"
        env = {**os.environ, "CANVASS_LB_BIND": f"127.0.0.1:{self.port}", "CANVASS_LB_SOCKET": str(self.socket),
               "CANVASS_APP1": servers[0].base_url.removeprefix("http://"),
               "CANVASS_APP2": servers[1].base_url.removeprefix("http://")}
        self.log_path = folder / "haproxy.log"
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen([shutil.which("haproxy"), "-db", "-f", str(CONFIG)], env=env, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.wait_until(lambda: set(self.states().values()) == {"UP"}, "both servers in rotation")

    def states(self) -> dict[str, str]:
        """HAProxy's view of the app servers (app1, app2): UP, DOWN, ..."""
        if not self.socket.exists():
            return {}
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(self.socket))
            sock.sendall(b"show stat\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        lines = data.decode().splitlines()
        header = lines[0].lstrip("# ").split(",")
        rows = [dict(zip(header, line.split(","), strict=False)) for line in lines[1:] if line]
        return {row["svname"]: row["status"] for row in rows if row["pxname"] == "app" and row["svname"] != "BACKEND"}

    def wait_until(self, condition, what: str, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            if self.process.poll() is not None:
                raise RuntimeError(f"HAProxy stopped:\n{self.log_path.read_text()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"not {what} within {seconds} s: {self.states()}\n{self.log_path.read_text()}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@pytest.fixture
def deployment(databases, tmp_path):
    """Two app servers (same secret key, same database, the balancer as their trusted proxy) and HAProxy."""
    haproxy = shutil.which("haproxy")
    if not haproxy:
        if os.environ.get("CANVASS_REQUIRE_HAPROXY"):
            pytest.fail("HAProxy is required (CANVASS_REQUIRE_HAPROXY) but is not installed.")
        pytest.skip("no HAProxy (apt-get install haproxy)")
    assert PG_URL
    url = databases.copy("demo")
    shared = {"CANVASS_SECRET_KEY": uuid.uuid4().hex * 2, "CANVASS_FORWARDED_ALLOW_IPS": "127.0.0.1"}
    servers = [start_server(url, tmp_path / f"app{n}", **shared) for n in (1, 2)]
    balancer = Balancer(servers, tmp_path)
    yield balancer, servers
    balancer.stop()
    for server in servers:
        stop_server(server)
    errors = [line for server in servers for line in server_errors(server)]
    assert not errors, "an app server logged errors:\n" + "\n".join(errors[:20])


RESENDS = 5


class Phone(Volunteer):
    """test_e2e_busy's phone, its cookies at hand, and the page's CSRF token for the sync API."""

    def __init__(self, base_url: str, email: str, seed: int = 0):
        super().__init__(base_url, email, seed)
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.resent = 0

    def open_turf(self) -> tuple[int, list[tuple[int, int]]]:
        """Signs in; returns the first assigned turf and its (door, person) pairs, as the phone keeps them."""
        self.sign_in()
        turf_id = json.loads(self.request("/api/v1/me")[1])["turfs"][0]
        self.csrf = meta_csrf(self.request(f"/walk/{turf_id}")[1])
        package = json.loads(self.request(f"/api/v1/turfs/{turf_id}")[1])
        return turf_id, [(door["id"], person["id"]) for door in package["doors"] for person in door["people"]]

    def send(self, batch: list[dict]) -> None:
        """Sends as the phone's queue does (static/offline.js): an answer that is not a 200 leaves the batch queued and
        it goes again. A response cut off by the dying server can reach the phone as a 502 even though HAProxy retries
        an empty one; that is a retry, not a loss, so only the final answer counts."""
        for _ in range(RESENDS):
            before = len(self.failures)
            super().send(batch)
            if not self.failures[before:] or not self.failures[-1].endswith(("502", "503", "504")):
                return
            del self.failures[before:]
            self.resent += 1
            time.sleep(0.5)

    def cookie_header(self) -> str:
        return "; ".join(f"{cookie.name}={cookie.value}" for cookie in self.jar)


def meta_csrf(page: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def status_of(url: str, headers: dict[str, str]) -> int:
    """The status of a GET, redirects not followed."""
    class NoRedirects(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args):
            return None

    try:
        with urllib.request.build_opener(NoRedirects).open(urllib.request.Request(url, headers=headers), timeout=30
                                                           ) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_an_app_server_killed_mid_shift_is_taken_out_and_every_contact_is_stored_once(deployment):
    balancer, servers = deployment
    phone = Phone(balancer.base_url, "volunteer@example.org", seed=23)
    turf_id, doors = phone.open_turf()

    def batch(n: int) -> list[dict]:
        door, person = doors[n % len(doors)]
        return [{"client_uuid": str(uuid.uuid4()), "turf_id": turf_id, "household_id": door, "person_id": person,
                 "channel": "door", "result_code": "NH"}]

    sent = [batch(0)]
    phone.send(sent[0])
    assert len(phone.acknowledged) == 1

    os.killpg(servers[0].process.pid, signal.SIGKILL)  # the host dies, master and workers, mid-shift
    servers[0].process.wait()
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline:  # the phone carries on at once, before and after the balancer notices
        sent.append(batch(len(sent)))
        phone.send(sent[-1])
        phone.request(f"/walk/{turf_id}")
        phone.request("/api/v1/me")
    balancer.wait_until(lambda: balancer.states().get("app1") == "DOWN", "app1 taken out", seconds=5)
    assert balancer.states()["app2"] == "UP"
    phone.send(sent[0])  # the answer to the first batch was lost on the way: the phone's queue sends it again

    assert phone.failures == [] and set(phone.statuses) <= {200, 502, 503, 504}, phone.failures
    assert phone.acknowledged == {item[0]["client_uuid"] for item in sent}
    stored = servers[1].rows("SELECT client_uuid::text, count(*) FROM contact_attempt "
                             "WHERE client_uuid::text = ANY(:uuids) GROUP BY client_uuid",
                             uuids=sorted(phone.acknowledged))
    assert len(stored) == len(sent) > 10 and {count for _, count in stored} == {1}


def test_sessions_logout_and_login_throttling_are_shared_by_every_server(deployment):
    balancer, servers = deployment
    phone = Phone(balancer.base_url, "volunteer@example.org")
    turf_id, _ = phone.open_turf()
    copied = {"Cookie": phone.cookie_header()}
    assert [status_of(server.base_url + "/api/v1/me", copied) for server in servers] == [200, 200]

    phone.request("/logout", urllib.parse.urlencode({"csrf_token": phone.csrf}).encode())
    # a copy of the old cookies (session and remember-me) no longer counts, whichever server it reaches
    assert [status_of(server.base_url + "/api/v1/me", copied) for server in servers] == [302, 302]

    # 20 wrong passwords through the balancer, each claiming another address in its own X-Forwarded-For: the app
    # believes only the header the balancer writes, so all 20 count against the one real address, on both servers.
    for n in range(20):
        guesser = Phone(balancer.base_url, f"nobody{n}@example.org")
        form = guesser.request("/login")[1]
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
        status, _ = guesser.request("/login", urllib.parse.urlencode(
            {"csrf_token": token, "email": guesser.email, "password": "wrong-password"}).encode(),
            {"X-Forwarded-For": f"203.0.113.{n}"})
        assert status == 401
    assert servers[1].rows("SELECT DISTINCT remote_addr FROM login_attempt WHERE NOT succeeded") == [("127.0.0.1",)]
    late = Phone(balancer.base_url, "maria@example.org")
    late.sign_in()
    assert late.statuses[429] == 1  # this address is throttled now, whichever server answers
