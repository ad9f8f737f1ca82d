"""Every page a role's navigation leads to answers, and so does the JSON API, on the demo data.

For each of the four roles: sign in through the login page, then crawl breadth-first, two links deep from the role's
home page, the same-origin links (``a[href]``) each page shows, with the signed-in context's request API; the home
page and a few pages of things are also opened in the browser so their JavaScript runs. Every link the app shows a
role must answer 2xx, after any redirect (which must not land on the login page): a 403, 404 or 5xx there is a
bug. Logout, static files and file downloads are skipped, and the crawl must change nothing stored (a GET never
writes). Then the API the phone uses, as a volunteer and as a lead. One demo server serves the module: its tests
only read, and sharing it keeps the crawl fast.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, deque
from html import unescape
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

import pytest
import sqlalchemy as sa

from tests.e2e.harness import server_errors, sign_in, start_server, stop_server

MAX_PAGES = 120
PER_SHAPE = 3  # pages of one shape, ids aside: 3 turfs, 3 doors per turf, 3 people...
MIN_PAGES = {"admin": 15, "lead": 15, "data": 6, "volunteer": 10}  # what the demo shows each role, give or take
SKIPPED = re.compile(r"/logout\b|^/static/|^/sw\.js$|/download\b|\.(csv|xlsx|ics)$")
HREF = re.compile(r"""<a\b[^>]*?\shref=(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)


@pytest.fixture(scope="module")
def server(databases, tmp_path_factory):
    """One fresh demo served for the whole module; at the end its log must hold no error."""
    started = start_server(databases.copy("demo"), tmp_path_factory.mktemp("crawl"))
    yield started
    stop_server(started)
    assert not server_errors(started), "the server logged errors:\n" + "\n".join(server_errors(started)[:20])


def shape(url: str) -> str:
    """What caps a kind of link: its path with ids blanked (all but the first of several, so that doors count per
    turf) and the names of its query parameters."""
    parts = urlsplit(url)
    segments = parts.path.split("/")
    ids = [i for i, segment in enumerate(segments) if segment.isdigit()]
    for i in ids[1:] if len(ids) > 1 else ids:
        segments[i] = "N"
    return "/".join(segments) + "?" + ",".join(sorted(p.split("=")[0] for p in parts.query.split("&") if p))


def links(base: str, page_url: str, html: str) -> list[str]:
    """The same-origin links of a page that a crawl follows, without fragments, in page order."""
    found = []
    for double, single in HREF.findall(html):
        parts = urlsplit(urljoin(page_url, unescape(double or single)))
        if f"{parts.scheme}://{parts.netloc}" == base and not SKIPPED.search(parts.path):
            found.append(urlunsplit(parts._replace(fragment="")))
    return found


def fingerprint(server) -> dict[str, str]:
    """A digest of every stored row, table by table; but the job queue's record of its live workers, which their
    heartbeats refresh every 10 s whatever pages are read."""
    with server.engine.connect() as conn:
        return {table: hashlib.sha1(repr(sorted(map(repr, conn.execute(sa.text(f'SELECT * FROM "{table}"')))))
                                    .encode()).hexdigest() for table in sa.inspect(conn).get_table_names()
                if table != "procrastinate_workers"}


def crawl(context, base: str, seeds: list[str]) -> dict[str, tuple[int, str]]:
    """Breadth-first from the home page (seeds[0]), two links deep: each URL's status and where it ended up."""
    answers: dict[str, tuple[int, str]] = {}
    shapes: Counter[str] = Counter()
    queue = deque((url, 0 if i == 0 else 1) for i, url in enumerate(seeds))
    queued = set(seeds)
    while queue and len(answers) < MAX_PAGES:
        url, depth = queue.popleft()
        answer = context.request.get(url)
        answers[url] = (answer.status, answer.url)
        if depth == 2 or "text/html" not in answer.headers.get("content-type", ""):
            continue
        for link in links(base, answer.url, answer.text()):
            if link not in queued and shapes[shape(link)] < PER_SHAPE:
                queued.add(link)
                shapes[shape(link)] += 1
                queue.append((link, depth + 1))
    return answers


@pytest.mark.parametrize("role", ["admin", "lead", "data", "volunteer"])
def test_every_page_a_role_is_shown_answers(server, phones, role):
    base, errors_before = server.base_url, len(server_errors(server))
    context = phones.open()
    page = context.new_page()
    browser_errors: list[str] = []
    page.on("pageerror", lambda exc: browser_errors.append(f"{page.url}: {exc}"))
    page.on("response", lambda r: r.status >= 400 and browser_errors.append(f"{r.url}: {r.status}"))
    sign_in(page, base, f"{role}@example.org")
    seeds = [page.url]
    if role != "volunteer":  # the search form (a GET) is how staff reach people's pages
        seeds.append(f"{base}/people/?q={quote(server.scalar('SELECT last_name FROM person ORDER BY id LIMIT 1'))}")
    before = fingerprint(server)

    answers = crawl(context, base, seeds)
    things: dict[str, str] = {}  # the first page of each kind of thing (a turf, a door, a person...)
    for url in answers:
        if re.search(r"/\d+", path := urlsplit(url).path):
            things.setdefault(re.sub(r"\d+", "N", path), url)
    for url in [seeds[0], *list(things.values())[:3]]:  # in the browser, so that their scripts run
        page.goto(url)

    print(f"\n{role}: {len(answers)} pages crawled, statuses {dict(Counter(s for s, _ in answers.values()))}")
    failures = {url: (status, final) for url, (status, final) in answers.items()
                if status >= 400 or urlsplit(final).path == "/login"}
    assert not failures, f"{role} is shown links that fail (status, final URL): {failures}"
    assert not browser_errors, browser_errors
    assert len(answers) >= MIN_PAGES[role], sorted(answers)
    assert fingerprint(server) == before, "a GET changed what is stored"
    assert server_errors(server)[errors_before:] == []


def test_the_api_a_volunteer_and_a_lead_use(server, phones):
    base = server.base_url
    volunteer, lead = phones.open(), phones.open()
    sign_in(volunteer.new_page(), base, "volunteer@example.org")
    sign_in(lead.new_page(), base, "lead@example.org")

    def get_json(context, path: str) -> dict:
        answer = context.request.get(base + path)
        assert answer.ok and answer.headers["content-type"].startswith("application/json"), (path, answer.status)
        return answer.json()

    assert "/turfs/{turf_id}" in get_json(volunteer, "/api/v1/openapi.json")["paths"]
    me = get_json(volunteer, "/api/v1/me")
    assert me["user"]["role"] == "volunteer" and me["turfs"]
    for turf_id in me["turfs"]:
        assert get_json(volunteer, f"/api/v1/turfs/{turf_id}")
    not_mine = server.scalar(f"SELECT min(id) FROM turf WHERE id NOT IN ({','.join(map(str, me['turfs']))})")
    assert volunteer.request.get(f"{base}/api/v1/turfs/{not_mine}").status == 404

    lead_me = get_json(lead, "/api/v1/me")
    assert lead_me["user"]["role"] == "lead"
    for turf_id in [not_mine, *me["turfs"], *lead_me["turfs"][:3]]:  # a lead may open any turf of the campaign
        assert get_json(lead, f"/api/v1/turfs/{turf_id}")
    assert get_json(lead, "/api/v1/openapi.json")
