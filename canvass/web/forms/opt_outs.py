"""The do-not-contact list's forms: recording an opt-out on a person's page, lifting one, and the list's upload."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectChoice, SelectField, StringField

from canvass.models import OptOutReason, OptOutScope
from canvass.web.forms import Form, PickOne, at_most

REASONS = [(OptOutReason.do_not_contact, _l("Asked not to be contacted")),
           (OptOutReason.do_not_call, _l("Asked not to be called")),
           (OptOutReason.stop_texting, _l("Asked for no texts")), (OptOutReason.wrong_number, _l("Wrong number")),
           (OptOutReason.refused, _l("Refused")), (OptOutReason.other, _l("Other reason"))]
SCOPES = [(OptOutScope.all, _l("Every channel")), (OptOutScope.phone, _l("Calls")), (OptOutScope.texts, _l("Texts")),
          (OptOutScope.door, _l("Doors"))]
WHOLE_PERSON = ""


class OptOutForm(Form):
    """Staff put a person (or one of their numbers) on the list without a contact."""

    reason = SelectField(_l("Why"), choices=[SelectChoice(r.value, label) for r, label in REASONS],
                         default=OptOutReason.do_not_contact.value)
    scope = SelectField(_l("Which channels"), choices=[SelectChoice(s.value, label) for s, label in SCOPES],
                        default=OptOutScope.all.value)
    phone_id = SelectField(_l("Which number"), default=WHOLE_PERSON)
    note = StringField(_l("Note (optional)"), validators=[at_most(300)])

    def offer_phones(self, phones) -> OptOutForm:
        self.phone_id.choices = [SelectChoice(WHOLE_PERSON, _l("The person, not one number"))] + \
            [SelectChoice(str(p.id), p.e164) for p in phones]
        return self

    def chosen_phone(self) -> int | None:
        return int(self.phone_id.data) if self.phone_id.data else None


class LiftForm(Form):
    note = StringField(_l("Why it is lifted (optional)"), validators=[at_most(300)])


class UploadForm(Form):
    campaign_id = PickOne(_l("Campaign"))
    file = FileField(_l("Do-not-contact file (CSV)"), [FileRequired(_l("Choose the file to upload."))])

    def offer_campaigns(self, campaigns) -> UploadForm:
        self.campaign_id.choices = [SelectChoice(campaign.id, campaign.name) for campaign in campaigns]
        return self
