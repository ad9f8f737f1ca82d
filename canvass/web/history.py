"""Importing vote history on the web: upload -> check (what the file holds, who it matches) -> confirm."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from canvass import audit, campaigns, history
from canvass.history.uploads import Upload
from canvass.models import Campaign
from canvass.web.database import db
from canvass.web.forms.history import UploadForm
from canvass.web.upload_flow import UploadFlow

bp = Blueprint("history", __name__, url_prefix="/history")
FLOW = UploadFlow(kind="history", check_template="history/check.html", fallback_name="history",
                  check=history.check_history, refusal=history.HistoryFileError, uploaded_action="history.uploaded")


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
    upload = FLOW.receive(form)
    if upload is None:
        return _index(form, 400)
    return redirect(url_for("history.show", upload_id=upload.token))


@bp.get("/<upload_id>")
def show(upload_id: str):
    return FLOW.show(upload_id)


def _import(campaign: Campaign, upload: Upload) -> str:
    report = history.import_history(db(), campaign, upload.path)
    audit.record(db(), current_user, "history.imported", campaign_id=campaign.id, **report.summary())
    return _("Vote history imported: %(votes)s votes added for %(matched)s matched rows; %(elections)s elections.",
             votes=report.added, matched=report.matched, elections=report.elections)


@bp.post("/<upload_id>/confirm")
def confirm(upload_id: str):
    FLOW.confirm(upload_id, _import)
    return redirect(url_for("history.index") + "#stored")


@bp.post("/<upload_id>/discard")
def discard(upload_id: str):
    FLOW.discard(upload_id)
    return redirect(url_for("history.index"))
