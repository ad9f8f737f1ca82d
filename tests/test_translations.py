"""Every sentence the app shows is in the Spanish and Vietnamese catalogs, translated, with its figures intact."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from canvass.i18n import LOCALES, TRANSLATIONS

ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDER = re.compile(r"%\([a-z_]+\)s|\{[a-z_]+\}")


def catalog(locale: str):
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle)


def test_the_catalogs_hold_every_sentence_in_the_source(tmp_path):
    """Extracted afresh (as scripts/translations.py does): nothing the code marks is missing from the catalogs."""
    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", str(ROOT / "babel.cfg"),
                    "-k", "_", "-k", "gettext", "-k", "lazy_gettext", "-k", "_l", "-k", "N_", "--no-location",
                    "-o", str(pot), str(ROOT)], check=True, capture_output=True)
    with pot.open("rb") as handle:
        wanted = {message.id for message in read_po(handle) if message.id}
    assert len(wanted) > 500  # the whole source was read (babel.cfg's patterns are relative to ROOT)
    for locale in LOCALES:
        missing = wanted - {message.id for message in catalog(locale) if message.id}
        assert not missing, f"{locale}: run `python scripts/translations.py update` and translate: {sorted(missing)[:5]}"


@pytest.mark.parametrize("locale", LOCALES)
def test_every_sentence_is_translated_with_its_figures(locale):
    problems = []
    for message in catalog(locale):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            problems.append(f"untranslated: {ids[0]!r}")
            continue
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        problems += [f"figures differ: {ids[0]!r} -> {text!r}" for text in strings
                     if set(PLACEHOLDER.findall(text)) != wanted]
    assert not problems, "\n".join(problems[:10])
