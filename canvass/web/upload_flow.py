"""Upload -> check -> confirm for a file meant for one campaign, as the vote history and do-not-contact pages do it:
the file is kept (canvass.history.uploads) with what its check found until it is imported or discarded. The pages
keep their own routes, index page and import; templates/macros/upload_check.html draws their shared parts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from flask import abort, current_app, flash, render_template
from flask_babel import gettext as _
from flask_login import current_user
from sqlmodel import Session

from canvass import audit
from canvass.history import uploads
from canvass.i18n import UserError
from canvass.models import Campaign
from canvass.web.database import db
from canvass.web.forms import Form
from canvass.web.forms.history import ConfirmForm


class Checked(Protocol):
    def as_dict(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class UploadFlow:
    kind: str  # which import the upload waits for: its folder under UPLOAD_FOLDER
    check_template: str
    fallback_name: str  # the upload's name when the browser sends none
    check: Callable[[Session, Campaign, Path], Checked]  # what the check page shows; raises ``refusal``
    refusal: type[UserError]  # a file that cannot be imported: said beside the file field
    uploaded_action: str | None = None  # audited, with the number of rows, once the upload is kept

    def get_upload(self, token: str) -> uploads.Upload:
        return uploads.find_upload(_root(), token, self.kind) or abort(404)

    def receive(self, form: Form) -> uploads.Upload | None:
        """Keeps the uploaded file with its check and returns it; None when the form or the file is refused (the
        reason is on the form, for the caller to show the upload page again)."""
        if not form.validate():
            return None
        campaign = db().get(Campaign, form.campaign_id.data) or abort(404)
        upload = uploads.new_upload(_root(), campaign.id, form.file.data.filename or self.fallback_name,
                                    current_user.id, self.kind)
        form.file.data.save(upload.path)
        try:
            upload.check = self.check(db(), campaign, upload.path).as_dict()
        except self.refusal as exc:
            uploads.discard(upload)
            form.file.errors = [exc.in_language(_)]
            return None
        uploads.save(upload)
        if self.uploaded_action:
            audit.record(db(), current_user, self.uploaded_action, campaign_id=campaign.id, rows=upload.check["rows"])
            db().commit()
        return upload

    def show(self, token: str) -> str:
        upload = self.get_upload(token)
        return render_template(self.check_template, upload=upload, check=upload.check, form=ConfirmForm(),
                               campaign=db().get(Campaign, upload.campaign_id))

    def confirm(self, token: str, do_import: Callable[[Campaign, uploads.Upload], str]) -> Campaign:
        """Imports a checked upload with ``do_import`` (which returns what to tell the user), commits, deletes the
        file and flashes the message. Returns the campaign, for the page to go back to."""
        upload = self.get_upload(token)
        campaign = db().get(Campaign, upload.campaign_id) or abort(404)
        if not ConfirmForm().validate():
            abort(400)
        message = do_import(campaign, upload)
        db().commit()
        uploads.discard(upload)
        flash(message, "ok")
        return campaign

    def discard(self, token: str) -> uploads.Upload:
        """Deletes a checked upload unimported. Returns it, for the page to go back to its campaign."""
        upload = self.get_upload(token)
        if not ConfirmForm().validate():
            abort(400)
        uploads.discard(upload)
        flash(_("The file was discarded; nothing was imported."), "ok")
        return upload


def _root() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"])
