"""The relational list's forms: one person typed in, lines pasted, a contacts file, the answer to a suggested
match, and a result logged (the fallback without JavaScript; the offline queue sends the same through the API)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import UUID, DataRequired, Optional, ValidationError

from canvass.importing.phones import phone_e164
from canvass.models import LANGUAGE_NAMES
from canvass.web.forms import Form, PickOne, at_most, whole_number
from canvass.web.forms.universe import TAMPERED


class _ForCampaign(Form):
    campaign_id = PickOne()  # drawn as a hidden field: the campaign whose list is shown

    def offer(self, campaigns) -> _ForCampaign:
        self.campaign_id.choices = [SelectChoice(c.id, c.name) for c in campaigns]
        return self


class AddForm(_ForCampaign):
    name = StringField(_l("Name"), [DataRequired(_l("Write their name.")), at_most(160)])
    phone = StringField(_l("Phone number"), [Optional(), at_most(40)])
    city = StringField(_l("City"), [Optional(), at_most(80)])
    age = whole_number(_l("Age (if you know it)"), 1, 119)
    language = SelectField(_l("Language they speak"), [Optional()],
                           choices=[SelectChoice("", _l("Not sure"))] +
                           [SelectChoice(code, name) for code, name in LANGUAGE_NAMES.items()],
                           invalid_choice_message=_l("Choose one from the list."))

    def validate_phone(self, field):
        if field.data and not phone_e164(field.data):
            raise ValidationError(_l("This phone number is incomplete or not a valid number."))


class PasteForm(_ForCampaign):
    lines = TextAreaField(_l("One person per line"), [DataRequired(_l("Paste or write at least one person.")),
                                                     at_most(100_000)])


class UploadForm(_ForCampaign):
    file = FileField(_l("Contacts file (.vcf or .csv)"), [FileRequired(_l("Choose the file to upload."))])


class MatchForm(Form):
    answer = SelectField(choices=[SelectChoice("yes", "yes"), SelectChoice("no", "no")],
                         invalid_choice_message=_l("Choose one from the list."))


class LogForm(Form):
    client_uuid = HiddenField(validators=[Optional(), UUID(TAMPERED)])
    result = StringField(validators=[DataRequired(_l("Tap a result.")), at_most(16)])
