"""The shift pages' forms: a lead's shift (place, day and hours in the organization's time zone, languages, turfs),
a first-time volunteer's sign-up, and the one-tap buttons (sign up, check in)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    EmailField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, Email, InputRequired
from wtforms.widgets import CheckboxInput, ListWidget

from canvass.models import LANGUAGE_NAMES, ShiftEvent, ShiftKind
from canvass.shifts import ShiftIn
from canvass.web.forms import Form, PickSome, at_most, whole_number, word_choices
from canvass.web.forms.auth import LANGUAGE_CHOICES

#: The language fields of a shift: how many speakers of each are wanted.
NEEDED = {code: f"needs_{code}" for code in LANGUAGE_NAMES}


class ShiftForm(Form):
    campaign_id = HiddenField()
    kind = SelectField(_l("Kind"), choices=word_choices(list(ShiftKind)),
                       invalid_choice_message=_l("Choose one from the list."))
    title = StringField(_l("Name"), [DataRequired(_l("Give the shift a name.")), at_most(120)])
    address = StringField(_l("Address"), [at_most(300)])
    directions = TextAreaField(_l("How to find it"), [at_most(2000)])
    day = DateField(_l("Day"), [InputRequired(_l("Give the day."))])
    starts = TimeField(_l("Starts"), [InputRequired(_l("Give the start time."))])
    ends = TimeField(_l("Ends"), [InputRequired(_l("Give the end time."))])
    head_count = whole_number(_l("Volunteers wanted"), 0, 500, default=0)
    needs_es = whole_number(LANGUAGE_NAMES["es"], 0, 100, default=0)
    needs_vi = whole_number(LANGUAGE_NAMES["vi"], 0, 100, default=0)
    needs_ko = whole_number(LANGUAGE_NAMES["ko"], 0, 100, default=0)
    needs_zh = whole_number(LANGUAGE_NAMES["zh"], 0, 100, default=0)
    needs_en = whole_number(LANGUAGE_NAMES["en"], 0, 100, default=0)
    turf_ids = PickSome(_l("Turfs handed out at check-in"), message=_l("Choose turfs of this campaign."))

    def language_fields(self) -> list:
        return [self[name] for name in NEEDED.values()]

    def shift_in(self, timezone: str) -> ShiftIn:
        """What the lead set, the day and hours read in the organization's time zone and stored in UTC."""
        zone = ZoneInfo(timezone)
        return ShiftIn(kind=ShiftKind(self.kind.data), title=self.title.data or "",
                       starts_at=datetime.combine(self.day.data, self.starts.data, zone),
                       ends_at=datetime.combine(self.day.data, self.ends.data, zone),
                       address=self.address.data or "", directions=self.directions.data or "",
                       head_count=self.head_count.data or 0,
                       languages_needed={code: self[name].data or 0 for code, name in NEEDED.items()},
                       turf_ids=self.turf_ids.data or [])

    @classmethod
    def of(cls, shift: ShiftEvent, timezone: str, turf_ids: list[int]) -> ShiftForm:
        """The form filled with a stored shift, its times in the organization's time zone."""
        zone = ZoneInfo(timezone)
        starts, ends = shift.starts_at.astimezone(zone), shift.ends_at.astimezone(zone)
        data = {"campaign_id": shift.campaign_id, "kind": shift.kind, "title": shift.title, "address": shift.address,
                "directions": shift.directions, "day": starts.date(), "starts": starts.time(), "ends": ends.time(),
                "head_count": shift.head_count, "turf_ids": turf_ids,
                **{name: shift.languages_needed.get(code, 0) for code, name in NEEDED.items()}}
        return cls(formdata=None, data=data)


class NewcomerForm(Form):
    """A first-time volunteer's sign-up. ``website`` is a trap for robots: hidden from people, left empty by
    them."""

    name = StringField(_l("Your name"), [DataRequired(_l("Give your name.")), at_most(120)])
    phone = TelField(_l("Mobile phone"), [DataRequired(_l("Give a phone number.")), at_most(30)])
    email = EmailField(_l("Email"), [DataRequired(_l("Give your email address.")), at_most(254),
                                     Email(_l("That is not an email address, such as ana@example.org."))])
    languages = SelectMultipleField(_l("Languages you speak"), choices=LANGUAGE_CHOICES,
                                    invalid_choice_message=_l("Tick only what the list shows."),
                                    widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    website = StringField(_l("Leave this empty"), [at_most(200)])


class TapForm(Form):
    """A one-tap button (sign up, check in): the CSRF token is all it carries."""
