"""Every page of every role, rendered in a pseudo-language, shows no English of the app's own.

The pseudo-language (Esperanto's code, which canvass does not offer) translates every sentence of the catalogs to
"⟦sentence⟧". Whatever a page shows outside ⟦⟧ must then be the organization's own data (names, addresses, turf
names, the words stored in the database), a number, or punctuation: an English word left over is a sentence the
catalogs do not hold, or a stored code shown to people instead of its words.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
from collections import deque
from html import unescape
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import sqlalchemy as sa
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask_login import FlaskLoginClient

from canvass import db
from canvass.app import create_app
from canvass.demo import build_demo
from canvass.i18n import TRANSLATIONS
from canvass.models import LANGUAGE_NAMES, User

PSEUDO = "eo"
HOMES = {"admin": "/admin", "lead": "/lead", "data": "/data", "volunteer": "/my"}
SKIP = re.compile(r"/logout|/static/|/sw\.js|/download|\.csv$|/print$|/api/")
WORD = re.compile(r"[A-Za-z]{2,}")  # English is written in these; stored words are split the same way
BRACKETED = re.compile(r"⟦.*?⟧", re.S)


def pseudo_catalogs(folder: Path) -> Path:
    """The real catalogs, and beside them one where every sentence reads ⟦sentence⟧ (figures kept)."""
    shutil.copytree(TRANSLATIONS, folder, dirs_exist_ok=True)
    with (TRANSLATIONS / "messages.pot").open("rb") as handle:
        catalog = read_po(handle, locale=PSEUDO)
    for message in catalog:
        if message.id:
            message.string = tuple(f"⟦{text}⟧" for text in message.id) if message.pluralizable \
                else f"⟦{message.id}⟧"
    (folder / PSEUDO / "LC_MESSAGES").mkdir(parents=True, exist_ok=True)
    with (folder / PSEUDO / "LC_MESSAGES" / "messages.mo").open("wb") as handle:
        write_mo(handle, catalog)
    return folder


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pseudo")
    url = f"sqlite:///{folder / 'demo.db'}"
    build_demo(url, people=400)
    app = create_app({"MODE": "testing", "DATABASE_URL": url, "INSTANCE_PATH": str(folder / "instance"),
                      "SECRET_KEY": "pseudo", "WTF_CSRF_ENABLED": False, "JOB_THREADS": 0,
                      "LANGUAGES": ["en", "es", "vi", PSEUDO],
                      "BABEL_TRANSLATION_DIRECTORIES": str(pseudo_catalogs(folder / "translations"))})
    app.test_client_class = FlaskLoginClient
    yield app
    app.extensions["canvass.engine"].dispose()


#: Besides stored words: the brand, the languages' own names, and the party codes shown as an example of what to type.
NOT_ENGLISH = {"canvass", "DEM", "UNA", *LANGUAGE_NAMES.values()}


def data_words(engine) -> set[str]:
    """Every word stored in the database's text (JSON included): the organization's own names and words."""
    words: set[str] = set()

    def take(value) -> None:
        if isinstance(value, str):
            words.update(WORD.findall(value))
        elif isinstance(value, dict):
            for item in value.values():
                take(item)
        elif isinstance(value, list):
            for item in value:
                take(item)

    for text in NOT_ENGLISH:
        take(text)
    with engine.connect() as conn:
        for table in sa.inspect(conn).get_table_names():
            result = conn.execute(sa.text(f'SELECT * FROM "{table}"'))
            typed = [i for i, name in enumerate(result.keys()) if name not in VOCABULARY]
            for row in result:
                for value in (row[i] for i in typed):
                    take(value)
                    if isinstance(value, str) and value[:1] in "[{":
                        with contextlib.suppress(ValueError):
                            take(json.loads(value))
    return {w.lower() for w in words}


#: Columns holding the app's own closed vocabularies (roles, statuses, kinds, codes): stored in English, they must
#: reach people as words of their language, so their values are not taken as the organization's data.
VOCABULARY = {"role", "status", "kind", "channel", "code", "result_code", "suppresses", "action", "object_type",
              "cut_method", "purpose", "source", "language", "language_heard", "language_source", "file_format",
              "delimiter", "encoding", "type", "layout", "message", "key", "value", "details"}


def visible_text(html: str) -> str:
    """What a reader meets: text, and the attributes read aloud or shown (placeholders, labels, titles, buttons)."""
    html = re.sub(r"<(script|style|svg)\b.*?</\1>", " ", html, flags=re.S | re.I)
    said = re.findall(r'\b(?:placeholder|aria-label|title|alt)="([^"]*)"', html)
    buttons = re.findall(r'<input[^>]*type="(?:submit|button)"[^>]*value="([^"]*)"', html)
    return unescape(" ".join([re.sub(r"<[^>]+>", " ", html), *said, *buttons]))


def crawl(client, home: str) -> dict[str, str]:
    """Each page two links deep from ``home``, by its path: its HTML."""
    pages, queue, seen = {}, deque([(home, 0)]), {home}
    while queue and len(pages) < 80:
        path, depth = queue.popleft()
        response = client.get(path, follow_redirects=True)
        if response.status_code != 200 or "text/html" not in response.content_type:
            continue
        html = response.get_data(as_text=True)
        pages[path] = html
        if depth == 2:
            continue
        for href in re.findall(r'<a\b[^>]*\shref="([^"#]+)', html):
            target = urljoin(path, unescape(href))
            parts = urlsplit(target)
            if parts.netloc or SKIP.search(parts.path) or target in seen:
                continue
            shape = re.sub(r"\d+", "N", parts.path)
            if sum(re.sub(r"\d+", "N", urlsplit(s).path) == shape for s in seen) >= 2:
                continue
            seen.add(target)
            queue.append((target, depth + 1))
    return pages


@pytest.mark.parametrize("role", list(HOMES))
def test_no_english_of_the_apps_own_on_any_page(demo_app, role):
    engine = demo_app.extensions["canvass.engine"]
    allowed = data_words(engine)
    with engine.connect() as conn:
        email = conn.execute(sa.select(User.email).where(User.role == role).order_by(User.id)).scalar()
    from sqlmodel import Session

    with Session(db.reader(engine)) as session:
        user = session.exec(sa.select(User).where(User.email == email)).scalar_one()
        client = demo_app.test_client(user=user)
    with client.session_transaction() as cookie:
        cookie["lang"] = PSEUDO
    pages = crawl(client, HOMES[role])
    assert len(pages) >= 4
    leftovers = {}
    for path, html in pages.items():
        text = BRACKETED.sub(" ", visible_text(html))
        english = sorted({w for w in WORD.findall(text) if w.lower() not in allowed
                          and not (path.endswith("/setup") and w.isupper())})  # where leads name their codes
        if english:
            leftovers[path] = english
    assert not leftovers, "\n".join(f"{path}: {' '.join(words[:25])}" for path, words in leftovers.items())
