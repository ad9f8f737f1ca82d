"""Every page a role's navigation leads to answers, and so does the JSON API, on the demo data.

For each of the four roles: sign in through the login page, open the home page (and a few pages found from it) in
the browser so their JavaScript runs, then crawl breadth-first, two links deep, the same-origin links each page
shows, with the signed-in context's request API. Each link the app shows that role must answer 2xx (after any
redirect, which must not land on the login page): a 403, 404 or 5xx there is a bug. Logout, static files and file
downloads are skipped; a crawl must change nothing stored (a GET never writes). Then the API the phone uses.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, deque
from html import unescape
from urllib.parse import urljoin, urlsplit, urlunsplit

import pytest
import sqlalchemy as sa

from tests.e2e.harness import sign_in

MAX_PAGES = 120
PER_SHAPE = 3  # pages of one shape, ids aside: 3 turfs, 3 doors per turf, 3 people...
SKIPPED = re.compile(r"/logout\b|^/static/|/sw\.js$|/download\b|\.(csv|xlsx)$")
HREF = re.compile(r"""<a\b[^>]*?\shref=(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)


def shape(url: str) -> str:
    """What dedupes a link: its path with ids blanked (but the first of several: doors count per turf), and the
    names of its query parameters."""
    parts = urlsplit(url)
    segments = parts.path.split("/")
    ids = [i for i, segment in enumerate(segments) if segment.isdigit()]
    for i in ids[1:] if len(ids) > 1 else ids:
        segments[i] = "N"
    path = "/".join(segments)
    return path + "?" + ",".join(sorted(p.split("=")[0] for p in parts.query.split("&") if p))


def links(base: str, page_url: str, html: str) -> list[str]:
    """The same-origin links of a page, without fragments, in page order."""
    found = []
    for double, single in HREF.findall(html):
        url = urljoin(page_url, unescape(double or single))
        parts = urlsplit(url)
        if url.startswith(base + "/") and not SKIPPED.search(parts.path):
            found.append(urlunsplit(parts._replace(fragment="")))
    return found


def fingerprint(server) -> dict[str, str]:
    """A digest of every stored row, table by table."""
    with server.engine.connect() as conn:
        tables = sa.inspect(conn).get_table_names()
        return {t: hashlib.sha1(repr(sorted(map(repr, conn.execute(sa.text(f'SELECT * FROM "{t}"'))))).encode())
                .hexdigest() for t in tables}


def crawl(context, base: str, home: str) -> dict[str, tuple[int, str]]:
    """Breadth-first from home, two links deep: each URL's status and where it ended up after redirects."""
    answers: dict[str, tuple[int, str]] = {}
    shapes: Counter[str] = Counter()
    queue = deque([(home, 0)])
    queued = {home}
    while queue and len(answers) < MAX_PAGES:
        url, depth = queue.popleft()
        answer = context.request.get(url)
        answers[url] = (answer.status, answer.url)
        if depth == 2 or "html" not in answer.headers.get("content-type", ""):
            continue
        for link in links(base, answer.url, answer.text()):
            if link not in queued and shapes[shape(link)] < PER_SHAPE:
                queued.add(link)
                shapes[shape(link)] += 1
                queue.append((link, depth + 1))
    return answers


@pytest.mark.parametrize("role", ["admin", "lead", "data", "volunteer"])
def test_every_page_a_role_is_shown_answers(demo_server, phones, role):
    base = demo_server.base_url
    context = phones.open()
    page = context.new_page()
    browser_errors: list[str] = []
    page.on("pageerror", lambda exc: browser_errors.append(f"{page.url}: {exc}"))
    page.on("response", lambda r: r.status >= 400 and browser_errors.append(f"{r.url}: {r.status}"))
    sign_in(page, base, f"{role}@example.org")
    home = page.url
    before = fingerprint(demo_server)

    answers = crawl(context, base, home)
    with_ids = [url for url in answers if re.search(r"/\d+", url)]
    for url in [home, *with_ids[:3]]:  # the home page and a few pages of things, their scripts run
        page.goto(url)
        page.wait_for_load_state("networkidle")

    print(f"\n{role}: {len(answers)} pages crawled"); [print(" ", s, u, f) for u, (s, f) in answers.items()]
    failures = {url: (status, final) for url, (status, final) in answers.items()
                if status >= 400 or urlsplit(final).path == "/login"}
    assert not failures, f"{role} is shown links that fail: {failures}"
    assert not browser_errors, browser_errors
    assert len(answers) > 5
    assert fingerprint(demo_server) == before, "a GET changed what is stored"


def test_the_api_a_volunteer_and_a_lead_use(demo_server, phones):
    base = demo_server.base_url
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
    not_mine = demo_server.scalar(f"SELECT min(id) FROM turf WHERE id NOT IN ({','.join(map(str, me['turfs']))})")
    assert volunteer.request.get(f"{base}/api/v1/turfs/{not_mine}").status == 404

    lead_me = get_json(lead, "/api/v1/me")
    assert lead_me["user"]["role"] == "lead"
    for turf_id in [not_mine, *me["turfs"], *lead_me["turfs"][:3]]:  # a lead may open any turf of the campaign
        assert get_json(lead, f"/api/v1/turfs/{turf_id}")
    assert get_json(lead, "/api/v1/openapi.json")
