"""Message catalogs: where they live, and compiling them (.po -> .mo) without any command-line tool."""

from __future__ import annotations

from pathlib import Path

TRANSLATIONS = Path(__file__).parent / "translations"
LOCALES = ("es", "vi")


class UserError(ValueError):
    """A failure told to the person who caused it, in their language: ``str()`` is the English sentence, and
    ``in_language(gettext)`` the translated one. The template is marked ``N_`` where it is raised, with named
    ``%(figures)s`` that the translation keeps: ``raise TurfError(N_("No turf %(name)s."), name=reference)``."""

    def __init__(self, template: str, **params):
        self.template, self.params = template, params
        super().__init__(template % params if params else template)

    def in_language(self, gettext) -> str:
        if not self.params:
            return gettext(self.template)
        return gettext(self.template) % {k: gettext(v) if isinstance(v, Phrase) else v for k, v in self.params.items()}


class Phrase(str):
    """A figure of a UserError that is itself a phrase of the app's (a setting's name), translated with it."""


def N_(text: str) -> str:  # noqa: N802 (gettext's conventional name for this marker)
    """Marks a text for the catalogs without translating it. A job's progress is stored in English by code that
    knows nothing of the viewer; the page translates it (the ``translated`` filter) in the viewer's language."""
    return text


def compile_catalogs(folder: Path = TRANSLATIONS) -> list[str]:
    """Compiles every catalog whose .mo is missing or older than its .po. Returns the locales compiled."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    compiled = []
    for po in sorted(folder.glob("*/LC_MESSAGES/messages.po")):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as handle:
            catalog = read_po(handle)
        with mo.open("wb") as handle:
            write_mo(handle, catalog)
        compiled.append(po.parent.parent.name)
    return compiled


#: The app's closed vocabularies (stored in English, as codes) in the words people read; pages show them through
#: the ``said`` filter, in the reader's language. Names people typed are never looked up here.
VOCABULARY: dict[str, str] = {
    # roles
    "admin": N_("admin"), "lead": N_("field lead"), "data": N_("data staff"), "volunteer": N_("volunteer"),
    # statuses (turfs, assignments, call lists, jobs, imports)
    "active": N_("active"), "paused": N_("paused"), "closed": N_("closed"), "pending": N_("waiting"),
    "queued": N_("waiting"), "running": N_("running"), "done": N_("done"), "failed": N_("failed"),
    "checked": N_("waiting for confirmation"), "claimed": N_("being called"),
    # channels and question kinds
    "door": N_("doors"), "phone": N_("phones"), "both": N_("doors and phones"), "relational": N_("people they know"),
    "scale": N_("scale of 1 to 5"), "single": N_("one answer"), "multi": N_("several answers"),
    "yesno": N_("yes or no"), "text": N_("written answer"),
    # what a result code also does
    "none": N_("nothing more"), "moved": N_("mark as moved"), "deceased": N_("mark as deceased"),
    "hostile": N_("warn about this door"), "language_barrier": N_("needs their language"),
    "wrong_address": N_("wrong address"), "wrong_number": N_("mark the number wrong"),
    "disconnected": N_("mark the number dead"), "do_not_call": N_("do not call again"),
    "do_not_contact": N_("do not contact again"), "call_back": N_("call back at a set time"),
    "refused": N_("a refusal: when final, never contact again"),
    # kinds of election (vote history)
    "general": N_("general elections"), "primary": N_("primaries"), "municipal": N_("municipal elections"),
    "other": N_("other elections"),
    # kinds of shift and event
    "canvass": N_("house visits"), "clinic": N_("clinic"), "training": N_("training"), "meeting": N_("meeting"),
}
