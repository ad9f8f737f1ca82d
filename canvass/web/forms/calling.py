"""The phone-bank forms: a new call list, running it, assigning callers, and the caller's result."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from wtforms import DateTimeLocalField, HiddenField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Optional

from canvass.models import CallListStatus
from canvass.web.forms import Form, PickOne, Switch, at_most
from canvass.web.forms.universe import UniverseForm, campaign_field


class CallListForm(UniverseForm):
    campaign_id = campaign_field()
    name = StringField(_l("Name"), [DataRequired(_l("Give the call list a name.")), at_most(120)])
    open_to_all = Switch(_l("Open to every caller (not only those assigned)"))


class StatusForm(Form):
    """The buttons that run, pause or close a list, or open it to every caller (``open_to_all`` sent or not)."""

    status = SelectField(choices=[SelectChoice(s.value, s.value) for s in CallListStatus],
                         invalid_choice_message=_l("Choose whether the list runs, pauses or closes."))
    open_to_all = HiddenField()

    def opening(self) -> bool | None:
        """True or False when the button opens or closes the list to every caller; None when it leaves that."""
        return None if self.open_to_all.data in (None, "") else self.open_to_all.data == "1"


class CallerForm(Form):
    user_id = PickOne(_l("Assign"), message=_l("Choose a volunteer."))
    remove = Switch()


class CallbackForm(Form):
    """The caller's result screen beyond the contact itself: which number was called, and when to call back."""

    phone_id = PickOne(message=_l("Choose the number you called."), validators=[Optional()])
    callback_at = DateTimeLocalField(_l("Call back at (for “Call back”)"), [Optional()],
                                     format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
                                     invalid_value_message=_l("A date and time, such as 2026-11-03 18:30."))

    def callback_time(self, zone) -> datetime | None:
        return self.callback_at.data.replace(tzinfo=zone) if self.callback_at.data else None
