"""Message catalogs: extract the strings, update the Spanish and Vietnamese catalogs, compile them.

    python scripts/translations.py update    # after changing texts: new strings appear in the .po files
    python scripts/translations.py compile   # .po -> .mo (installs and the test run do this themselves)
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from canvass.i18n import LOCALES, TRANSLATIONS, compile_catalogs  # noqa: E402


def update() -> None:
    pot = TRANSLATIONS / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", str(ROOT / "babel.cfg"),
                    "-k", "_", "-k", "gettext", "-k", "lazy_gettext", "-k", "_l", "-k", "N_", "--no-location", "--sort-output",
                    "-o", str(pot), str(ROOT)], check=True)
    for locale in LOCALES:
        po = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
        command = "update" if po.exists() else "init"
        subprocess.run([sys.executable, "-m", "babel.messages.frontend", command, "-i", str(pot),
                        "-d", str(TRANSLATIONS), "-l", locale, "--no-wrap"], check=True)


if __name__ == "__main__":
    {"update": update, "compile": lambda: print(compile_catalogs())}[sys.argv[1] if len(sys.argv) > 1 else "compile"]()
