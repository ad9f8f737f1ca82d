"""The duplicate-people pages' forms: merging a pair (whose details are kept), "not the same person", undo."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import RadioField

from canvass.web.forms import Form


class MergeForm(Form):
    """Merge the pair: ``survivor`` is the record whose name and address stay; the view offers the pair's two ids."""

    survivor = RadioField(_l("Keep the name and address of"), coerce=int,
                          invalid_choice_message=_l("Choose which record's details to keep."))

    def offer(self, choices: list[tuple[int, str]]) -> MergeForm:
        self.survivor.choices = choices
        return self


class DecisionForm(Form):
    """A button with nothing to fill in ("Not the same person", "Undo"): the form is its CSRF check."""
