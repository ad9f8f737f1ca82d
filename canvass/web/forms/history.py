"""The vote-history pages' forms: the upload (which campaign, which file), and confirming or discarding it."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectChoice

from canvass.web.forms import Form, PickOne


class UploadForm(Form):
    campaign_id = PickOne(_l("Campaign"))
    file = FileField(_l("History file"), [FileRequired(_l("Choose the file to upload."))])

    def offer_campaigns(self, campaigns) -> UploadForm:
        self.campaign_id.choices = [SelectChoice(campaign.id, campaign.name) for campaign in campaigns]
        return self


class ConfirmForm(Form):
    """Import or discard a checked upload: nothing to fill in, the CSRF token is the form."""
