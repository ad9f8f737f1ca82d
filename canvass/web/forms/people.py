"""A person's page, for staff: do-not-contact and do-not-call, set or lifted."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectChoice, SelectField
from wtforms.validators import Optional

from canvass.web.forms import Form

SET_OR_LIFT = [SelectChoice("1", _l("Yes")), SelectChoice("0", _l("No"))]


class FlagsForm(Form):
    """Each flag's button sends its own field (``1`` sets it, ``0`` lifts it); a flag not sent is left as it is."""

    do_not_contact = SelectField(choices=SET_OR_LIFT, validators=[Optional()])
    do_not_call = SelectField(choices=SET_OR_LIFT, validators=[Optional()])

    def flags(self) -> dict[str, bool]:
        return {item.name: item.data == "1" for item in (self.do_not_contact, self.do_not_call)
                if item.data in ("0", "1")}
