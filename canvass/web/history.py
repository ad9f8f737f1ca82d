"""Importing vote history on the web: upload -> check (what the file holds, who it matches) -> confirm."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from canvass import audit, campaigns, history
from canvass.history import uploads
from canvass.models import Campaign
from canvass.web.database import db
from canvass.web.forms.history import ConfirmForm, UploadForm

bp = Blueprint("history", __name__, url_prefix="/history")


def _root() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"])


def get_upload(token: str) -> uploads.Upload:
    return uploads.find_upload(_root(), token) or abort(404)


@bp.get("/")
def index():
    form = UploadForm()
    return _index(form)


def _index(form: UploadForm, status: int = 200):
    choices = campaigns.list_campaigns(db())
    form.offer_campaigns(choices)
    stored = {c.id: history.stored_counts(db(), c.id) for c in choices}
    return render_template("history/index.html", form=form, campaigns=choices, stored=stored), status


@bp.post("/")
def upload():
    form = UploadForm().offer_campaigns(campaigns.list_campaigns(db()))
    if not form.validate():
        return _index(form, 400)
    campaign = db().get(Campaign, form.campaign_id.data) or abort(404)
    upload = uploads.new_upload(_root(), campaign.id, form.file.data.filename or "history", current_user.id)
    form.file.data.save(upload.path)
    try:
        upload.check = history.check_history(db(), campaign, upload.path).as_dict()
    except history.HistoryFileError as exc:
        uploads.discard(upload)
        form.file.errors = [exc.in_language(_)]
        return _index(form, 400)
    uploads.save(upload)
    audit.record(db(), current_user, "history.uploaded", campaign_id=campaign.id, rows=upload.check["rows"])
    db().commit()
    return redirect(url_for("history.show", upload_id=upload.token))


@bp.get("/<upload_id>")
def show(upload_id: str):
    upload = get_upload(upload_id)
    return render_template("history/check.html", upload=upload, check=upload.check, form=ConfirmForm(),
                           campaign=db().get(Campaign, upload.campaign_id))


@bp.post("/<upload_id>/confirm")
def confirm(upload_id: str):
    upload = get_upload(upload_id)
    campaign = db().get(Campaign, upload.campaign_id) or abort(404)
    if not ConfirmForm().validate():
        abort(400)
    report = history.import_history(db(), campaign, upload.path)
    audit.record(db(), current_user, "history.imported", campaign_id=campaign.id, **report.summary())
    db().commit()
    uploads.discard(upload)
    flash(_("Vote history imported: %(votes)s votes added for %(matched)s matched rows; %(elections)s elections.",
            votes=report.added, matched=report.matched, elections=report.elections), "ok")
    return redirect(url_for("history.index") + "#stored")


@bp.post("/<upload_id>/discard")
def discard(upload_id: str):
    upload = get_upload(upload_id)
    if not ConfirmForm().validate():
        abort(400)
    uploads.discard(upload)
    flash(_("The file was discarded; nothing was imported."), "ok")
    return redirect(url_for("history.index"))
