"""A GOTV Saturday across several app servers behind HAProxy (issue 23): the shift-start sign-in burst, 1,000
volunteers at a real pace while an app server dies, and the capacity ratio.

    apt-get install haproxy && pip install -e '.[bench]'
    python benchmarks/balanced_bench.py [--volunteers 1000] [--burst-seconds 10] [--seconds 180] [--servers 2]

Builds a fresh PostgreSQL database (``canvass_balanced``, dropped and made again) holding ``--volunteers``
volunteers with a turf of 30 doors each; starts ``--servers`` gunicorns (canvass/gunicorn_conf.py, production
mode, one shared secret key) on ports 5501, 5502, ... standing in for hosts, and HAProxy with deploy/haproxy.cfg
in front of them on port 8501. Then, through the balancer only:

(a) burst: the volunteers arrive within ``--burst-seconds`` (spawned evenly) and each signs in (GET /login, POST
    /login), then loads /api/v1/me and its turf. The time from arriving to signed in is each one's sign-in time;
    success means every one signed in and got its /api/v1/me as JSON. A phone waits as a browser does (minutes):
    sign-ins queue at the balancer, a few at a time per server, because each costs one core 20-40 ms of Argon2id.
(b) volunteers: every volunteer, signed in, looks at a door page, then 10-20 s later sends what happened there as
    a batch of 1-5 contacts through the sync API (a fifth of the batches twice: the answer was lost), then waits
    10-20 s: a batch every 20-40 s and a page view between, and the walk list now and then. ``--kill-at`` of the
    way in, the first app server is killed with SIGKILL (master and workers, as when a host dies). Percentiles
    cover the whole window, the kill included; the target is p95 < 200 ms.
(c) capacity: ``--capacity-phones`` new phones alternate closed-loop windows of GET /healthz and of contact batches
    (load_bench's method, through the balancer, every server up again); the median ratio is ``capacity_ratio``.

Then every batch not yet acknowledged is sent again until it is, and the database must hold exactly one row per
UUID sent. Writes benchmarks/out/balanced.json; exits 1 unless every phone signed in, every contact is stored once,
and (b) had no failure and p95 < 200 ms.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
from locust import task  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import load_bench as lb  # noqa: E402

HAPROXY_CFG = ROOT / "deploy" / "haproxy.cfg"
SECRET = "balanced-bench-" + "0" * 49


# ------------------------------------------------------------------------------------------------------------------
# The deployment: gunicorns standing in for hosts, HAProxy in front


def start_app(url: str, port: int, workers: int, threads: int, folder: Path) -> subprocess.Popen:
    """One app server as a host runs it; in a session of its own, so that SIGKILL takes master and workers."""
    env = {**os.environ, "CANVASS_DATABASE_URL": url, "CANVASS_SECRET_KEY": SECRET, "CANVASS_MODE": "production",
           "CANVASS_COOKIE_SECURE": "false", "CANVASS_INSTANCE_PATH": str(folder / f"instance-{port}"),
           "CANVASS_BIND": f"127.0.0.1:{port}", "CANVASS_WORKERS": str(workers), "CANVASS_THREADS": str(threads),
           "CANVASS_FORWARDED_ALLOW_IPS": "127.0.0.1"}
    log = open(folder / f"app-{port}.log", "a")  # noqa: SIM115 (the server outlives this function)
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "python:canvass.gunicorn_conf",
                                "canvass.app:create_app()"], env=env, stdout=log, stderr=subprocess.STDOUT,
                               cwd=ROOT, start_new_session=True)
    wait_for(f"http://127.0.0.1:{port}/healthz", process)
    return process


def start_haproxy(ports: list[int], port: int, folder: Path, app_slots: int, sign_in_slots: int
                  ) -> tuple[subprocess.Popen, Path]:
    if len(ports) != 2:
        raise SystemExit("deploy/haproxy.cfg names two servers; add `server` lines to try more")
    socket_path = folder / "haproxy.sock"
    env = {**os.environ, "CANVASS_LB_BIND": f"127.0.0.1:{port}", "CANVASS_LB_SOCKET": str(socket_path),
           "CANVASS_APP1": f"127.0.0.1:{ports[0]}", "CANVASS_APP2": f"127.0.0.1:{ports[1]}",
           "CANVASS_LB_APP_SLOTS": str(app_slots), "CANVASS_LB_SIGN_IN_SLOTS": str(sign_in_slots)}
    log = open(folder / "haproxy.log", "a")  # noqa: SIM115
    process = subprocess.Popen(["haproxy", "-db", "-f", str(HAPROXY_CFG)], env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    wait_for(f"http://127.0.0.1:{port}/healthz", process)
    return process, socket_path


def wait_for(url: str, process: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[:3]} stopped at start (see benchmarks/out/balanced-*.log)")
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            if time.monotonic() > deadline:
                os.killpg(process.pid, signal.SIGKILL)
                raise
            time.sleep(0.3)


def servers_up(socket_path: Path) -> dict[str, str]:
    """HAProxy's view of the app backend: server name -> UP, DOWN, ..."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(socket_path))
        sock.sendall(b"show stat\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    lines = data.decode().splitlines()
    header = lines[0].lstrip("# ").split(",")
    rows = [dict(zip(header, line.split(","), strict=False)) for line in lines[1:] if line]
    return {row["svname"]: row["status"] for row in rows if row["pxname"] == "app" and row["svname"].startswith("app")}


# ------------------------------------------------------------------------------------------------------------------
# Phones


class Volunteer(lb.Phone):
    """A volunteer at work: a door page, then 10-20 s later that door's contacts through the sync API, then 10-20 s
    to the next door. Signing in is the phone's first act (load_bench.Phone.on_start), timed from its arrival."""

    # A browser waits minutes for an answer; a sign-in queued behind a whole shift's worth of password checks
    # must not be given up on by the benchmark sooner than a phone would give up on it.
    network_timeout = 300.0
    connection_timeout = 300.0
    cycles = 0

    def wait_time(self):
        return random.uniform(10.0, 20.0)

    @task
    def door(self):
        _person_id, household_id = random.choice(self.people)
        if Volunteer.cycles % 4 == 0:  # back to the walk list, as the service worker does: changed? then fetch
            changed = self.client.get(f"/api/v1/turfs/{self.turf_id}", name="GET /api/v1/turfs/<id> (If-None-Match)",
                                      headers={"If-None-Match": getattr(self, "etag", "")})
            self.etag = (changed.headers or {}).get("ETag", getattr(self, "etag", ""))
            if changed.status_code == 200:
                self.client.get(f"/walk/{self.turf_id}", name="GET /walk/<turf>")
        Volunteer.cycles += 1
        self.client.get(f"/walk/{self.turf_id}/door/{household_id}", name="GET /walk/<turf>/door/<door>")
        gevent.sleep(random.uniform(10.0, 20.0))
        batch = self.new_batch()
        if self.send(batch) and random.random() < 0.2:
            self.send(batch)  # the answer was lost on the way back: the phone's queue sends the batch again


def run_burst_and_volunteers(args, host: str, kill, socket_path: Path) -> dict:
    """(a) then (b): the same phones sign in, then work; returns both phases' figures."""
    from locust.env import Environment

    env = Environment(user_classes=[Volunteer], host=host)
    runner = env.create_local_runner()
    lb.Phone.ready = 0
    began = time.monotonic()
    runner.start(args.volunteers, spawn_rate=args.volunteers / args.burst_seconds)
    deadline = began + 900
    while lb.Phone.ready + len(lb.SIGN_INS["failed"]) < args.volunteers and time.monotonic() < deadline:
        gevent.sleep(0.2)
    burst = lb.sign_in_summary()
    burst.update(arrivals_s=args.burst_seconds, all_in_s=round(time.monotonic() - began, 1),
                 machine_load_average_1min=os.getloadavg()[0],
                 ready=lb.Phone.ready, max_ms=round(max(lb.SIGN_INS["ms"], default=0)),
                 errors={f"{e.method} {e.name}: {e.error}"[:160]: e.occurrences for e in env.stats.errors.values()})
    if not lb.Phone.ready:
        runner.quit()
        return {"burst": burst}
    # Phones that could not sign in have stopped; the others go on to work (the burst has failed all the same)

    gevent.sleep(5)
    env.stats.reset_all()
    started = time.monotonic()
    states: list[dict] = []

    def watch():
        last = None
        while True:
            now = servers_up(socket_path)
            if now != last:
                states.append({"at_s": round(time.monotonic() - started, 1), **now})
                last = now
            gevent.sleep(0.25)

    watcher = gevent.spawn(watch)
    killer = gevent.spawn_later(args.seconds * args.kill_at, kill, started)
    gevent.sleep(args.seconds)
    elapsed, stats = time.monotonic() - started, env.stats.total
    volunteers = {
        "volunteers": lb.Phone.ready, "seconds": round(elapsed, 1), "requests": stats.num_requests,
        "failures": stats.num_failures, "throughput_rps": round(stats.num_requests / elapsed, 1),
        "p50_ms": stats.get_response_time_percentile(0.50), "p95_ms": stats.get_response_time_percentile(0.95),
        "p99_ms": stats.get_response_time_percentile(0.99), "max_ms": round(stats.max_response_time),
        "machine_load_average_1min": os.getloadavg()[0],
        "by_request": {name: {"requests": entry.num_requests, "failures": entry.num_failures,
                              "p50_ms": entry.get_response_time_percentile(0.50),
                              "p95_ms": entry.get_response_time_percentile(0.95)}
                       for (name, _method), entry in sorted(env.stats.entries.items())},
        "errors": {f"{e.method} {e.name}: {e.error}"[:160]: e.occurrences for e in env.stats.errors.values()},
        "balancer_saw": states}
    runner.quit()
    killer.join(timeout=5)
    watcher.kill()
    return {"burst": burst, "volunteers": volunteers}


# ------------------------------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--volunteers", type=int, default=1000)
    parser.add_argument("--burst-seconds", type=float, default=10, help="every volunteer arrives within this")
    parser.add_argument("--seconds", type=float, default=180, help="length of the volunteers phase")
    parser.add_argument("--kill-at", type=float, default=1 / 3, help="when the first server dies, as a fraction")
    parser.add_argument("--servers", type=int, default=2)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers per server")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    parser.add_argument("--sign-in-slots", type=int, default=2, help="sign-ins at once per server (balancer)")
    parser.add_argument("--capacity-phones", type=int, default=200)
    parser.add_argument("--capacity-seconds", type=float, default=15)
    parser.add_argument("--windows", type=int, default=7, help="alternating /healthz and contacts windows (odd)")
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/canvass_balanced")
    args = parser.parse_args()
    if not shutil.which("haproxy"):
        raise SystemExit("HAProxy is not installed: apt-get install haproxy")

    admin_url = args.database_url.rsplit("/", 1)[0].replace("+psycopg", "") + "/postgres"
    name = args.database_url.rsplit("/", 1)[1]
    subprocess.run(["psql", admin_url, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=True)
    subprocess.run(["psql", admin_url, "-qc", f"CREATE DATABASE {name}"], check=True)
    built = time.monotonic()
    lb.EMAILS.extend(lb.build_world(args.database_url, args.volunteers))
    print(f"world of {args.volunteers} volunteers built in {time.monotonic() - built:.0f} s", flush=True)

    lb.OUT.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="canvass-balanced-"))
    ports = [5501 + i for i in range(args.servers)]
    host = "http://127.0.0.1:8501"
    report: dict = {"servers": args.servers, "workers_per_server": args.workers, "threads": args.threads,
                    "sign_in_slots_per_server": args.sign_in_slots, "cpus": os.cpu_count(),
                    "password_check_ms": password_check_ms()}
    killed: dict = {}
    apps: dict[int, subprocess.Popen] = {}
    balancer = None

    def kill(started):
        victim = apps[ports[0]]
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait()
        killed.update(at_s=round(time.monotonic() - started, 1), server=f"app1 (port {ports[0]})")

    try:
        for port in ports:
            apps[port] = start_app(args.database_url, port, args.workers, args.threads, folder)
        balancer, socket_path = start_haproxy(ports, 8501, folder, args.workers * args.threads - args.sign_in_slots,
                                              args.sign_in_slots)
        report.update(run_burst_and_volunteers(args, host, kill, socket_path))
        burst = report["burst"]
        burst["sign_ins_per_s"] = round(burst["signed_in"] / burst["all_in_s"], 1)
        # Password checks alone, every core busy with nothing else: the least time a burst can take here
        burst["floor_s"] = round(args.volunteers * report["password_check_ms"] / 1000 / (os.cpu_count() or 1), 1)
        report["killed"] = killed
        if "volunteers" in report:
            apps[ports[0]] = start_app(args.database_url, ports[0], args.workers, args.threads, folder)
            back = time.monotonic()
            while servers_up(socket_path).get("app1") != "UP":
                gevent.sleep(0.2)
            report["restarted_app1_back_in_rotation_s"] = round(time.monotonic() - back, 1)
            alternating = lb.run_alternating(args.capacity_phones, args.windows, args.capacity_seconds, host)
            report["capacity"] = alternating
            report["capacity_ratio"] = alternating["ratio_median"]
        report["settle_batches_resent"] = lb.settle(host)
        report["count"] = lb.count_stored(args.database_url)
    finally:
        running = [process for process in (balancer, *apps.values()) if process is not None]
        for process in running:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in running:
            process.wait(timeout=60)
        for log in folder.glob("*.log"):
            shutil.copy(log, lb.OUT / f"balanced-{log.name}")
        shutil.rmtree(folder, ignore_errors=True)

    count = report["count"]
    report["exact"] = count["lost"] == 0 and count["doubled"] == 0 and count["unexpected"] == 0 and \
        count["rows_stored"] == count["uuids_sent"] == count["acknowledged"]
    report["every_phone_signed_in"] = report["burst"]["failed"] == 0 and report["burst"]["ready"] == args.volunteers
    volunteers = report.get("volunteers", {})
    report["volunteers_ok"] = volunteers.get("failures") == 0 and (volunteers.get("p95_ms") or 1e9) < 200
    (lb.OUT / "balanced.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 0 if report["exact"] and report["every_phone_signed_in"] and report["volunteers_ok"] else 1


def password_check_ms() -> float:
    """What one sign-in's password check costs one core here (Argon2id, as accounts.py stores it)."""
    from canvass.accounts import hash_password, password_matches

    stored = hash_password(lb.PASSWORD)
    began = time.perf_counter()
    for _ in range(5):
        password_matches(stored, lb.PASSWORD)
    return round((time.perf_counter() - began) / 5 * 1000, 1)


if __name__ == "__main__":
    sys.exit(main())
