"""The export form: what to export (a workbook, one sheet, the VAN file), of which campaign, and which contacts."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectChoice, SelectField
from wtforms.validators import Optional, ValidationError

from canvass import exports
from canvass.web.forms import PickOne
from canvass.web.forms.universe import UniverseForm

CALENDAR = _l("Give the dates as on a calendar, such as 2026-11-03.")


def id_or_none(value) -> int | None:
    """An id from a drop-down whose first choice ("All") is empty."""
    return None if value in ("", None) else int(value)


class ExportForm(UniverseForm):
    """What to export, and (the universe filters) whose contacts: a turf board's filters, vote history included."""

    campaign_id = PickOne(_l("Campaign"))
    format = SelectField(_l("What"), choices=[
        SelectChoice("xlsx", _l("Workbook (XLSX): summary, contacts, tallies, survey")),
        SelectChoice("csv", _l("One sheet as CSV")), SelectChoice("van", _l("Results for VAN bulk upload (CSV)"))],
        invalid_choice_message=_l("Choose one from the list."))
    sheet = SelectField(_l("Sheet (for CSV)"), default="contacts", invalid_choice_message=_l("Choose one from the list."),
                        choices=lambda: [SelectChoice(key, _l(title)) for key, title in exports.SHEET_TITLES.items()])
    channel = SelectField(_l("Channel"), [Optional()], choices=[
        SelectChoice("", _l("Every channel")), SelectChoice("door", _l("Doors")), SelectChoice("phone", _l("Phones")),
        SelectChoice("relational", _l("People volunteers know"))],
        invalid_choice_message=_l("Choose one from the list."))
    since = DateField(_l("From"), [Optional()], invalid_value_message=CALENDAR)
    until = DateField(_l("Until"), [Optional()], invalid_value_message=CALENDAR)
    turf_id = SelectField(_l("Turf"), coerce=id_or_none, invalid_choice_message=_l("Choose a turf of this campaign."))
    user_id = SelectField(_l("Volunteer"), coerce=id_or_none, invalid_choice_message=_l("Choose one from the list."))

    def validate_until(self, field):
        if self.since.data and field.data and self.since.data > field.data:
            raise ValidationError(_l("The first date comes after the last one: swap them."))

    def offer(self, campaigns, turfs, volunteers, everyone: str, tags=()) -> ExportForm:
        """The campaigns, that campaign's turfs, tags and the volunteers the user may export by."""
        self.offer_tags(tags)
        self.campaign_id.choices = [SelectChoice(c.id, c.name) for c in campaigns]
        self.turf_id.choices = [SelectChoice("", everyone), *(SelectChoice(t.id, t.name) for t in turfs)]
        self.user_id.choices = [SelectChoice("", everyone), *(SelectChoice(v.id, v.display_name) for v in volunteers)]
        return self

    def params(self) -> dict:
        """What the export job is given (stored with it, so plain values)."""
        return {"format": self.format.data, "sheet": self.sheet.data,
                "since": self.since.data.isoformat() if self.since.data else None,
                "until": self.until.data.isoformat() if self.until.data else None,
                "turf_id": self.turf_id.data, "user_id": self.user_id.data, "channel": self.channel.data or None,
                "people": self.people()}

    def people(self) -> dict | None:
        """The universe filters as plain values (None when they choose everyone); ``UniverseError`` says which
        value is wrong."""
        universe = self.universe()
        if not universe.chooses_people:
            return None
        return {**universe.__dict__, "election_kind": universe.election_kind.value, "now": None, "today": None}
