"""A job outlives the process running it (PostgreSQL): two app servers share one database and its job queue, and
only separate `canvass worker` processes run jobs. Data staff import a large file on one server; the worker running
the import is killed outright (SIGKILL) halfway through. The database holds nothing of the import meanwhile; another
worker starts it again and finishes it, each person stored once; the other server showed the same job's progress
and shows its end."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import PG_URL
from tests.e2e.harness import VENV_BIN, Server, server_errors, sign_in, start_server, stop_server

pytestmark = pytest.mark.skipif(not PG_URL, reason="the job queue is PostgreSQL's; on SQLite jobs run in the app")

ROWS = 120_000
HEADER = "voter_id,first_name,last_name,address,city,zip,phone,party,language,birth_year\n"


def write_file(path: Path) -> Path:
    with path.open("w") as handle:
        handle.write(HEADER)
        handle.writelines(f"{i},First{i},Last{i},{i} Oak St,Durham,27701,919555{i % 10_000:04d},DEM,,1970\n"
                          for i in range(1, ROWS + 1))
    return path


class Worker:
    """A `canvass worker` process beside the servers, as its own process group (killed whole)."""

    def __init__(self, server: Server, name: str):
        self.log_path = server.folder / f"{name}.log"
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen([str(VENV_BIN / "canvass"), "worker", "--concurrency", "1"],
                                            env=server.env, stdout=log, stderr=subprocess.STDOUT, cwd=server.folder,
                                            start_new_session=True)
        self.name = f"{socket.gethostname()}:{self.process.pid}"
        wait_until(lambda: "canvass worker: running jobs" in self.log(), 60, f"{name} did not start: {self.log}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            self.process.wait(30)


def wait_until(check, seconds: float, message):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(message() if callable(message) else message)


def test_an_import_whose_worker_is_killed_is_finished_by_another_and_both_servers_show_it(serve, phones, tmp_path):
    # Workers are taken for dead after 20 s instead of a minute, so the test waits less for the second to step in
    quick = {"CANVASS_APP_RUNS_JOBS": "false", "CANVASS_JOB_STALLED_SECONDS": "20"}
    server = serve("empty", **quick)
    other = start_server(server.database_url, tmp_path / "other-server", **quick)
    workers: list[Worker] = []
    try:
        server.cli("campaign", "add", "Statewide", "--slug", "state")
        workers.append(Worker(server, "worker-1"))

        page = phones.open().new_page()
        sign_in(page, server.base_url, "admin@example.org")
        elsewhere = phones.open().new_page()  # the same person on the other server, signed in there on its own
        sign_in(elsewhere, other.base_url, "admin@example.org")
        page.goto(f"{server.base_url}/imports/")
        page.locator("#campaign_id").select_option(label="Statewide")
        page.locator("#file").set_input_files(str(write_file(tmp_path / "statewide.csv")))
        page.get_by_role("button", name="Upload and check").click()
        confirm = page.locator("form[action$='/confirm'] button[type=submit]")
        confirm.wait_for(timeout=300_000)  # the check ran in the worker; the page refreshes itself until then
        batch_id = int(re.search(r"/imports/(\d+)", page.url).group(1))
        confirm.click()

        def import_job():
            return server.rows("SELECT j.id, j.status, j.progress, j.runner FROM job j JOIN import_batch b "
                               "ON b.job_id = j.id WHERE b.id = :batch AND j.kind = 'import'", batch=batch_id)

        job_id, _status, _progress, runner = wait_until(
            lambda: next((row for row in import_job() if row[1] == "running" and row[2] >= 0.3), None), 300,
            lambda: f"the import did not get halfway: {import_job()}")
        workers[0].kill()
        assert runner == workers[0].name  # the worker ran it, not an app server
        assert server.scalar("SELECT count(*) FROM person") == 0  # its transaction died with it: nothing kept
        status, progress = server.rows("SELECT status, progress FROM job WHERE id = :id", id=job_id)[0]
        assert status == "running" and progress >= 0.3  # nobody knows yet

        # Both servers show the same job and its progress, read from the database.
        for shown, base in ((elsewhere, other.base_url), (page, server.base_url)):
            shown.goto(f"{base}/imports/{batch_id}")
            expect(shown.get_by_role("heading", name="Importing…")).to_be_visible()
            assert abs(int(shown.locator("progress").get_attribute("value")) - progress * 100) <= 1

        workers.append(Worker(server, "worker-2"))  # it sees the first one stop beating, and starts the job again
        wait_until(lambda: server.scalar("SELECT status FROM job WHERE id = :id", id=job_id) in ("done", "failed"),
                   600, lambda: f"the import did not end: {import_job()}\n{workers[1].log()}")

        assert server.rows("SELECT status, runner, result->>'rows' FROM job WHERE id = :id", id=job_id) == [
            ("done", None, str(ROWS))]
        assert server.scalar("SELECT status FROM import_batch WHERE id = :id", id=batch_id) == "done"
        assert server.scalar("SELECT count(*) FROM person") == ROWS  # each person once
        assert server.scalar("SELECT count(DISTINCT value) FROM external_id") == ROWS
        assert f"job {job_id} (" in workers[1].log() and f"job {job_id} ended" in workers[1].log()
        for shown in (page, elsewhere):
            shown.goto(f"{server.base_url if shown is page else other.base_url}/imports/{batch_id}")
            expect(shown.get_by_role("heading", name="Imported", exact=True)).to_be_visible()
        assert not [line for line in workers[1].log().splitlines() if "Traceback" in line or " ERROR " in line]
    finally:
        for worker in workers:
            worker.kill(signal.SIGTERM)
        stop_server(other)
    errors = server_errors(other)
    assert not errors, "the other server logged errors:\n" + "\n".join(errors[:20])
