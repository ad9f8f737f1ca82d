"""A GOTV weekend on gunicorn + PostgreSQL: load, faults, and the count that must come out exact (issue 8).

    pip install -e '.[bench]'
    python benchmarks/load_bench.py [--users 200] [--seconds 60] [--faults] [--database-url URL]

One gunicorn (canvass/gunicorn_conf.py) serves a fresh PostgreSQL database holding 200 volunteers, each with a turf
of 30 doors. Locust drives simulated phones, each logged in and holding its turf package, as the real phone does:

1. ceiling: every user calls GET /healthz with no pause (closed loop): what the server can answer at all.
2. capacity: every user posts contact batches with no pause: contact-batch throughput as a ratio of the ceiling,
   and of GET /api/v1/me (the cheapest signed-in request: it loads the user from the session) for context.
   Then the same phones alternate between the two, window by window (/healthz, contacts, /healthz, ...): each
   contacts window is divided by the mean of the /healthz windows beside it, and the median of those ratios is the
   reported ``capacity_ratio``. One pair of phases a minute apart swung between 0.36 and 0.46 on the same code,
   because the /healthz ceiling of this shared machine moves by a fifth from one minute to the next.
3. volunteers (--seconds): each user posts a batch of 1-5 contacts, then pauses 2-8 s (a volunteer finishes a door
   every minute or two, so this is 10-20 times a real Saturday); a fifth of the batches are sent again (the answer
   was lost), one in twenty twice at once (a double tap). Latency percentiles come from this phase.
   With --faults: a gunicorn worker is killed with SIGKILL a quarter of the way in, PostgreSQL is restarted half
   way, and throughout, a client sends half of a batch and hangs up.
4. settle: every batch that was not acknowledged (connection reset, 5xx during the faults, the hung-up uploads) is
   sent again until it is, as the phone's queue does. Then the database must hold exactly one row per UUID sent:
   zero lost, zero doubled.

Writes benchmarks/out/load[-faults].json. Both phases 1 and 2 run against the same server in the same minute, so the
ratio holds on a shared, noisy machine.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import http.cookiejar  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.parse  # noqa: E402
import urllib.request  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
from locust import FastHttpUser, constant, task  # noqa: E402
from locust.env import Environment  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "out"
PASSWORD = "load-test-password"
DOORS_PER_TURF = 30
CODES = ["NH", "NH", "NH", "TK", "RF", "CB"]


# ------------------------------------------------------------------------------------------------------------------
# The world: a database, volunteers with turfs, a gunicorn


def build_world(url: str, volunteers: int) -> list[str]:
    """Volunteer emails, each with one turf of DOORS_PER_TURF doors, in a fresh database at ``url``."""
    import sqlalchemy as sa
    from sqlmodel import Session, SQLModel, select

    from canvass import accounts, campaigns, db, importing, turfs, walk_lists
    from canvass.accounts import hash_password
    from canvass.models import Turf
    from canvass.universe import Universe

    engine = db.make_engine(url)
    SQLModel.metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    db.upgrade(engine)
    lines = ["voter_id,first_name,last_name,address,zip,language"]
    for street in range(volunteers):
        for house in range(1, DOORS_PER_TURF + 1):
            lines.append(f"{street}-{house},Pat,Doe{house},{house * 2} Load Street {street:03d},27701,en")
    emails = [f"volunteer{i:03d}@load.example" for i in range(volunteers)]
    password_hash = hash_password(PASSWORD)  # once: hashing 200 passwords would take a minute
    with Session(engine, expire_on_commit=False) as session, tempfile.TemporaryDirectory() as folder:
        campaign = campaigns.create_campaign(session, "Load test", slug="load")
        session.commit()
        path = Path(folder) / "people.csv"
        path.write_text("\n".join(lines) + "\n")
        importing.import_file(session, campaign, path)
        session.commit()
        cut = turfs.cut_turfs(session, campaign, Universe(), by="street", target=DOORS_PER_TURF)
        session.commit()
        # As after a cut in the app (its routing job): walking routes stored, so a door page reads the order
        # rather than working it out (~20 ms a turf) at every view
        walk_lists.route_new_turfs(lambda *_args: None, engine, cut)
        all_turfs = session.exec(select(Turf).order_by(Turf.name)).all()
        assert len(all_turfs) == volunteers, f"{len(all_turfs)} turfs for {volunteers} volunteers"
        for email, turf in zip(emails, all_turfs, strict=True):
            user = accounts.create_user(session, email, "volunteer")
            user.password_hash = password_hash
            session.flush()
            turfs.assign_turf(session, turf, user)
        session.commit()
    engine.dispose()
    return emails


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(url: str, port: int, workers: int, log_path: Path) -> subprocess.Popen:
    env = {**os.environ, "CANVASS_DATABASE_URL": url, "CANVASS_SECRET_KEY": "load" * 16, "CANVASS_MODE": "production",
           "CANVASS_COOKIE_SECURE": "false", "CANVASS_INSTANCE_PATH": tempfile.mkdtemp(prefix="canvass-load-"),
           "CANVASS_BIND": f"127.0.0.1:{port}", "CANVASS_WORKERS": str(workers)}
    log = open(log_path, "w")  # noqa: SIM115 (the server outlives this function)
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "python:canvass.gunicorn_conf",
                                "canvass.app:create_app()"], env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read()
            return process
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


# ------------------------------------------------------------------------------------------------------------------
# Phones


class Ledger:
    """Every UUID sent, every UUID the server acknowledged, and every batch still owed an answer."""

    def __init__(self):
        self.sent: set[str] = set()
        self.acknowledged: set[str] = set()
        # email -> first UUID -> batch: owed from the moment it is made until an answer comes back, so a request
        # cut off when a phase ends (or a fault hits) is sent again at settle, as the phone's queue would
        self.unanswered: dict[str, dict[str, list[dict]]] = {}

    def owe(self, email: str, batch: list[dict]) -> None:
        self.unanswered.setdefault(email, {})[batch[0]["client_uuid"]] = batch

    def answered(self, email: str, batch: list[dict], results: list[dict]) -> None:
        self.unanswered.get(email, {}).pop(batch[0]["client_uuid"], None)
        for item, result in zip(batch, results, strict=True):
            assert result["client_uuid"] == item["client_uuid"], result
            if result["status"] not in ("created", "duplicate"):
                raise AssertionError(f"rejected: {result}")
            self.acknowledged.add(item["client_uuid"])


LEDGER = Ledger()
EMAILS: list[str] = []
#: Every phone's sign-in at the start of a phase: how long it took, and why it failed when it did. A phone that
#: cannot sign in during the opening burst is a volunteer standing at the staging location with a dead app: the
#: benchmark fails on any.
SIGN_INS: dict[str, list] = {"ms": [], "failed": []}


class SignInFailed(Exception):
    """A step of a phone's sign-in did not answer as a phone expects."""


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html) or \
        re.search(r'name="csrf_token" value="([^"]+)"', html)
    return match.group(1)


class Phone(FastHttpUser):
    """A volunteer's phone: logs in, downloads its turf, then (in the task set by the phase) sends contacts."""

    abstract = True
    wait_time = constant(0)
    # A browser waits minutes for an answer. At 30 s (this benchmark's old timeout) the phones of a 200-strong
    # opening burst gave up on sign-ins still queued behind the others' password checks (then 130 ms of scrypt each),
    # carried on without a session, and got the login page where /api/v1/me's JSON was due.
    network_timeout = 300.0
    connection_timeout = 300.0
    counter = 0
    ready = 0  # phones logged in and holding their turf

    def on_start(self):
        self.email = EMAILS[Phone.counter % len(EMAILS)]
        Phone.counter += 1
        started = time.monotonic()
        try:
            self.sign_in()
        except SignInFailed as exc:
            SIGN_INS["failed"].append(f"{self.email}: {exc}")
            self.stop()
            return
        SIGN_INS["ms"].append((time.monotonic() - started) * 1000)
        Phone.ready += 1

    def sign_in(self) -> None:
        """Every step must answer as the phone expects, or SignInFailed says which did not, and what came back."""
        form = self.expect("GET /login", self.client.get("/login", name="GET /login"), 200)
        self.expect("POST /login", self.client.post("/login", name="POST /login", allow_redirects=False, data={
            "email": self.email, "password": PASSWORD, "csrf_token": csrf_of(form.text)}), 302)
        self.csrf = csrf_of(self.expect("GET /my", self.client.get("/my", allow_redirects=False), 200).text)
        me = self.expect("GET /api/v1/me", self.client.get("/api/v1/me", allow_redirects=False), 200)
        self.turf_id = me.json()["turfs"][0]
        package = self.expect("GET /api/v1/turfs/<id>", self.client.get(
            f"/api/v1/turfs/{self.turf_id}", name="/api/v1/turfs/<id>"), 200).json()
        self.people = [(person["id"], door["id"]) for door in package["doors"] for person in door["people"]]

    @staticmethod
    def expect(step: str, response, status: int):
        if response.status_code != status or (status == 302 and response.headers.get("Location", "").endswith(
                "/login")):
            error = f" ({response.error})" if getattr(response, "error", None) else ""
            raise SignInFailed(f"{step} answered {response.status_code}{error}: {(response.text or '')[:100]!r}")
        return response

    def new_batch(self) -> list[dict]:
        batch = []
        for person_id, household_id in random.sample(self.people, random.randint(1, 5)):
            key = str(uuid.uuid4())
            LEDGER.sent.add(key)
            batch.append({"client_uuid": key, "person_id": person_id, "household_id": household_id,
                          "turf_id": self.turf_id, "result_code": random.choice(CODES)})
        LEDGER.owe(self.email, batch)
        return batch

    def send(self, batch: list[dict]) -> bool:
        with self.client.post("/api/v1/contacts", json={"contacts": batch}, name="POST /api/v1/contacts",
                              headers={"X-CSRFToken": self.csrf}, catch_response=True) as response:
            try:
                results = response.json()["results"] if response.status_code == 200 else None
            except ValueError:  # cut off on the way: not acknowledged, so the batch is still owed
                results = None
            if results is not None:
                LEDGER.answered(self.email, batch, results)
                return True
            response.failure(f"status {response.status_code}")
        return False


class Ceiling(Phone):
    @task
    def health(self):
        self.client.get("/healthz")


class SignedInCeiling(Phone):
    @task
    def me(self):
        self.client.get("/api/v1/me")


class Capacity(Phone):
    @task
    def post(self):
        self.send(self.new_batch())


class Alternating(Phone):
    """Closed loop on /healthz or on contact batches, as ``mode`` says: the same phones, connections and server
    take turns, so drift on a shared machine (the /healthz ceiling moves by a fifth between minutes) hits both."""

    mode = "healthz"

    @task
    def either(self):
        if Alternating.mode == "healthz":
            self.client.get("/healthz")
        else:
            self.send(self.new_batch())


class Volunteer(Phone):
    def wait_time(self):
        return random.uniform(2.0, 8.0)

    @task
    def post(self):
        batch = self.new_batch()
        roll = random.random()
        if roll < 0.05:  # a double tap: the same batch twice at once
            twin = gevent.spawn(self.send, batch)
            self.send(batch)
            twin.join()
        else:
            self.send(batch)
            if roll < 0.25:  # the answer was lost on the way back: the queue sends the batch again
                self.send(batch)


def start_phones(user_class, users: int, host: str):
    """Locust's environment and runner, once every phone has logged in and holds its turf."""
    env = Environment(user_classes=[user_class], host=host)
    runner = env.create_local_runner()
    Phone.ready = 0
    runner.start(users, spawn_rate=users)
    deadline = time.monotonic() + 600
    while Phone.ready + len(SIGN_INS["failed"]) < users:  # logging in hashes a password: not in the measured window
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {Phone.ready} of {users} phones logged in; see the locust errors above")
        gevent.sleep(0.2)
    return env, runner


def sign_in_summary() -> dict:
    times = sorted(SIGN_INS["ms"])
    return {"signed_in": len(times), "failed": len(SIGN_INS["failed"]), "reasons": SIGN_INS["failed"][:5],
            "p50_ms": round(times[len(times) // 2]) if times else None,
            "p95_ms": round(times[int(len(times) * 0.95)]) if times else None}


def run_phase(user_class, users: int, seconds: float, host: str, during=None) -> dict:
    env, runner = start_phones(user_class, users, host)
    gevent.sleep(1)
    env.stats.reset_all()
    started = time.monotonic()
    helpers = [gevent.spawn(job, started, seconds) for job in (during or [])]
    gevent.sleep(seconds)
    elapsed = time.monotonic() - started
    stats = env.stats.total
    result = {"users": users, "seconds": round(elapsed, 1), "requests": stats.num_requests,
              "failures": stats.num_failures, "throughput_rps": round(stats.num_requests / elapsed, 1),
              "p50_ms": stats.get_response_time_percentile(0.50),
              "p95_ms": stats.get_response_time_percentile(0.95),
              "p99_ms": stats.get_response_time_percentile(0.99),
              "errors": {f"{e.method} {e.name}: {e.error}"[:160]: e.occurrences for e in env.stats.errors.values()}}
    runner.quit()
    gevent.joinall(helpers, timeout=60)
    return result


def run_alternating(users: int, windows: int, seconds: float, host: str) -> dict:
    """Windows of /healthz and of contact batches in turn, starting and ending with /healthz. Each contacts window is
    divided by the mean of the /healthz windows on either side; the median of those ratios is the capacity ratio."""
    Alternating.mode = "healthz"
    env, runner = start_phones(Alternating, users, host)
    measured = []
    for window in range(windows):
        Alternating.mode = "healthz" if window % 2 == 0 else "contacts"
        gevent.sleep(1.5)  # requests of the other kind still in flight finish outside the window
        env.stats.reset_all()
        started = time.monotonic()
        gevent.sleep(seconds)
        elapsed, stats = time.monotonic() - started, env.stats.total
        measured.append({"endpoint": Alternating.mode, "seconds": round(elapsed, 1), "requests": stats.num_requests,
                         "failures": stats.num_failures, "throughput_rps": round(stats.num_requests / elapsed, 1),
                         "p50_ms": stats.get_response_time_percentile(0.50),
                         "p95_ms": stats.get_response_time_percentile(0.95)})
    runner.quit()
    rates = [w["throughput_rps"] for w in measured]
    ratios = sorted(rates[i] / ((rates[i - 1] + rates[i + 1]) / 2) for i in range(1, len(rates) - 1, 2))
    return {"windows": measured, "ratios": [round(r, 3) for r in ratios],
            "ratio_median": round(statistics.median(ratios), 3)}


# ------------------------------------------------------------------------------------------------------------------
# Faults


def kill_a_worker(master: subprocess.Popen, at: float, port: int, email: str):
    """SIGKILLs a worker while a burst of uploads is in flight, so that some die mid-request."""
    def job(started, _seconds):
        base = f"http://127.0.0.1:{port}"
        opener, csrf = login(base, email)
        turf_id = json.loads(opener.open(f"{base}/api/v1/me").read())["turfs"][0]
        package = json.loads(opener.open(f"{base}/api/v1/turfs/{turf_id}").read())
        door = package["doors"][0]
        gevent.sleep(max(0.0, started + at - time.monotonic()))
        outcomes = []

        def upload():
            key = str(uuid.uuid4())
            LEDGER.sent.add(key)
            batch = [{"client_uuid": key, "person_id": door["people"][0]["id"], "household_id": door["id"],
                      "turf_id": turf_id, "result_code": "NH"}]
            LEDGER.owe(email, batch)
            request = urllib.request.Request(f"{base}/api/v1/contacts", data=json.dumps({"contacts": batch}).encode(),
                                             headers={"Content-Type": "application/json", "X-CSRFToken": csrf})
            try:
                LEDGER.answered(email, batch, json.loads(opener.open(request, timeout=30).read())["results"])
                outcomes.append("answered")
            except OSError as exc:
                outcomes.append(type(exc).__name__)

        burst = [gevent.spawn(upload) for _ in range(40)]
        gevent.sleep(0.01)
        children = subprocess.run(["pgrep", "-P", str(master.pid)], capture_output=True, text=True).stdout.split()
        os.kill(int(children[0]), signal.SIGKILL)
        gevent.joinall(burst, timeout=60)
        FAULTS.append({"at_s": at, "fault": f"SIGKILL gunicorn worker {children[0]} during a burst of 40 uploads",
                       "burst": {name: outcomes.count(name) for name in sorted(set(outcomes))}})
    return job


def restart_postgres(at: float):
    def job(started, _seconds):
        gevent.sleep(max(0.0, started + at - time.monotonic()))
        version = sorted(os.listdir("/etc/postgresql"))[-1]
        began = time.monotonic()
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"], check=True)
        FAULTS.append({"at_s": at, "fault": "PostgreSQL restarted", "down_s": round(time.monotonic() - began, 1)})
    return job


def hang_up_mid_upload(port: int, email: str):
    """Sends half of an authenticated batch, then closes the socket; the batch is owed and sent again at settle."""
    def job(started, seconds):
        opener, csrf = login(f"http://127.0.0.1:{port}", email)
        cookie = "; ".join(f"{c.name}={c.value}" for c in opener.jar)
        turf_id = json.loads(opener.open(f"http://127.0.0.1:{port}/api/v1/me").read())["turfs"][0]
        package = json.loads(opener.open(f"http://127.0.0.1:{port}/api/v1/turfs/{turf_id}").read())
        person = package["doors"][0]["people"][0]
        count = 0
        while time.monotonic() < started + seconds:
            key = str(uuid.uuid4())
            LEDGER.sent.add(key)
            batch = [{"client_uuid": key, "person_id": person["id"], "household_id": package["doors"][0]["id"],
                      "turf_id": turf_id, "result_code": "NH"}]
            LEDGER.owe(email, batch)
            body = json.dumps({"contacts": batch}).encode()
            with socket.create_connection(("127.0.0.1", port)) as sock:
                sock.sendall((f"POST /api/v1/contacts HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
                              f"\r\nContent-Length: {len(body)}\r\nCookie: {cookie}\r\nX-CSRFToken: {csrf}\r\n\r\n"
                              ).encode() + body[:len(body) // 2])
            count += 1
            gevent.sleep(0.5)
        FAULTS.append({"fault": "client hung up mid-upload", "times": count})
    return job


FAULTS: list[dict] = []


# ------------------------------------------------------------------------------------------------------------------
# Settle and count


def login(base: str, email: str):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.jar = jar
    form = opener.open(f"{base}/login").read().decode()
    data = urllib.parse.urlencode({"email": email, "password": PASSWORD, "csrf_token": csrf_of(form)}).encode()
    opener.open(f"{base}/login", data=data).read()
    return opener, csrf_of(opener.open(f"{base}/my").read().decode())


def settle(base: str) -> int:
    """Sends every unanswered batch again until the server acknowledges it. Returns how many batches it sent."""
    sent = 0
    for email, batches in LEDGER.unanswered.items():
        if not batches:
            continue
        opener, csrf = login(base, email)
        for batch in list(batches.values()):
            for attempt in range(30):
                request = urllib.request.Request(f"{base}/api/v1/contacts", method="POST",
                                                 data=json.dumps({"contacts": batch}).encode(),
                                                 headers={"Content-Type": "application/json", "X-CSRFToken": csrf})
                try:
                    results = json.loads(opener.open(request, timeout=30).read())["results"]
                except OSError:
                    time.sleep(min(2 ** attempt * 0.1, 2))
                    continue
                LEDGER.answered(email, batch, results)
                sent += 1
                break
            else:
                raise RuntimeError("a batch was never acknowledged")
    return sent


def count_stored(url: str) -> dict:
    import sqlalchemy as sa

    from canvass import db

    engine = db.make_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        rows, distinct = conn.execute(sa.text(
            "SELECT count(*), count(DISTINCT client_uuid) FROM contact_attempt")).one()
        stored = {str(u) for u in conn.execute(sa.text("SELECT client_uuid FROM contact_attempt")).scalars()}
    engine.dispose()
    return {"uuids_sent": len(LEDGER.sent), "acknowledged": len(LEDGER.acknowledged), "rows_stored": rows,
            "distinct_stored": distinct, "lost": len(LEDGER.sent - stored), "unexpected": len(stored - LEDGER.sent),
            "doubled": rows - distinct}


# ------------------------------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--baseline-seconds", type=float, default=15)
    parser.add_argument("--windows", type=int, default=7, help="alternating /healthz and contacts windows (odd)")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: the config's)")
    parser.add_argument("--faults", action="store_true")
    parser.add_argument("--port", type=int, default=0, help="gunicorn's port (default: any free one)")
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/canvass_load")
    args = parser.parse_args()

    admin_url = args.database_url.rsplit("/", 1)[0] + "/postgres"
    name = args.database_url.rsplit("/", 1)[1]
    subprocess.run(["psql", admin_url.replace("+psycopg", ""), "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"],
                   check=True)
    subprocess.run(["psql", admin_url.replace("+psycopg", ""), "-qc", f"CREATE DATABASE {name}"], check=True)
    EMAILS.extend(build_world(args.database_url, args.users))
    port = args.port or free_port()
    OUT.mkdir(parents=True, exist_ok=True)
    log_path = OUT / "load-gunicorn.log"
    workers = args.workers or int(subprocess.run([sys.executable, "-c", "import canvass.gunicorn_conf as c; "
                                                  "print(c.workers)"], capture_output=True, text=True,
                                                 cwd=ROOT).stdout)
    server = start_gunicorn(args.database_url, port, workers, log_path)
    host = f"http://127.0.0.1:{port}"
    report = {"users": args.users, "gunicorn_workers": workers, "threads": 4, "cpus": os.cpu_count()}
    try:
        report["ceiling_healthz"] = run_phase(Ceiling, args.users, args.baseline_seconds, host)
        report["capacity_contacts"] = run_phase(Capacity, args.users, args.baseline_seconds, host)
        report["ceiling_me"] = run_phase(SignedInCeiling, args.users, args.baseline_seconds, host)
        report["capacity_ratio_one_pair"] = round(report["capacity_contacts"]["throughput_rps"] /
                                                  report["ceiling_healthz"]["throughput_rps"], 2)
        report["capacity_ratio_to_me"] = round(report["capacity_contacts"]["throughput_rps"] /
                                               report["ceiling_me"]["throughput_rps"], 2)
        report["alternating"] = run_alternating(args.users, args.windows, args.baseline_seconds, host)
        report["capacity_ratio"] = report["alternating"]["ratio_median"]
        during = []
        if args.faults:
            during = [kill_a_worker(server, args.seconds / 4, port, EMAILS[1]), restart_postgres(args.seconds / 2),
                      hang_up_mid_upload(port, EMAILS[0])]
        report["volunteers"] = run_phase(Volunteer, args.users, args.seconds, host, during)
        report["faults"] = FAULTS
        report["settle_batches_resent"] = settle(host)
        report["count"] = count_stored(args.database_url)
        report["sign_in_bursts"] = sign_in_summary()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    count = report["count"]
    report["exact"] = count["lost"] == 0 and count["doubled"] == 0 and count["unexpected"] == 0 and \
        count["rows_stored"] == count["uuids_sent"] == count["acknowledged"]
    report["every_phone_signed_in"] = report["sign_in_bursts"]["failed"] == 0
    (OUT / ("load-faults.json" if args.faults else "load.json")).write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 0 if report["exact"] and report["every_phone_signed_in"] else 1


if __name__ == "__main__":
    sys.exit(main())
