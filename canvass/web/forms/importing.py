"""The import pages' forms: the upload (which campaign, which file) and the column mapping, whose fields are the
file's own headers, one drop-down each."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectChoice, SelectField

from canvass.web.forms import Form, PickOne

CHOOSE = _l("Choose a campaign and a file to upload.")


class UploadForm(Form):
    campaign_id = PickOne(_l("Campaign"), message=CHOOSE)
    file = FileField(_l("File"), [FileRequired(CHOOSE)])

    def offer_campaigns(self, campaigns) -> UploadForm:
        self.campaign_id.choices = [SelectChoice(campaign.id, campaign.name) for campaign in campaigns]
        return self


def mapping_form(headers: list[str], choices: list[tuple[str, str]], default: str) -> Form:
    """A form with a drop-down ``map-<n>`` for the file's n-th column; a column the page did not send keeps
    ``default``, a choice not offered is refused."""
    fields = {f"map-{index}": SelectField(header, choices=[SelectChoice(*choice) for choice in choices], default=default,
                                          invalid_choice_message=_l("Choose one from the list."))
              for index, header in enumerate(headers)}
    form = type("MappingForm", (Form,), fields)()
    form.headers = headers
    return form


def chosen_mapping(form: Form) -> dict[str, str]:
    """The file's headers, each with the field it was mapped to."""
    return {header: form[f"map-{index}"].data for index, header in enumerate(form.headers)}
