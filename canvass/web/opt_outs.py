"""The do-not-contact list, for staff: the list per campaign, its CSV export, and importing a list (upload -> check
-> confirm)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from canvass import audit, campaigns, opt_out_files, opt_outs, people
from canvass.history import uploads
from canvass.models import Campaign
from canvass.web.database import db
from canvass.web.forms.history import ConfirmForm
from canvass.web.forms.opt_outs import UploadForm

bp = Blueprint("opt_outs", __name__, url_prefix="/do-not-contact")
KIND = "opt_outs"


def _root() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"])


def get_upload(token: str) -> uploads.Upload:
    return uploads.find_upload(_root(), token, KIND) or abort(404)


@bp.get("/")
def index():
    return _index(UploadForm(formdata=None))


def _index(form: UploadForm, status: int = 200):
    choices = campaigns.list_campaigns(db())
    form.offer_campaigns(choices)
    campaign_id = request.args.get("campaign", type=int) or form.campaign_id.data or \
        (choices[0].id if choices else None)
    if campaign_id is not None and campaign_id not in {c.id for c in choices}:
        abort(404)
    form.campaign_id.data = campaign_id
    entries = opt_outs.campaign_entries(db(), campaign_id) if campaign_id else []
    return render_template("opt_outs/index.html", form=form, campaigns=choices, campaign_id=campaign_id,
                           entries=entries, total=opt_outs.count_active(db(), campaign_id) if campaign_id else 0,
                           confirm=ConfirmForm(formdata=None), full_name=people.full_name), status


@bp.post("/<int:campaign_id>/export")
def export_csv(campaign_id: int):
    """The campaign's list as CSV (a POST: the export is audited)."""
    if not ConfirmForm().validate():
        abort(400)
    campaign = db().get(Campaign, campaign_id) or abort(404)
    text = opt_out_files.export_csv(db(), campaign)
    audit.record(db(), current_user, "opt_out.exported", object_type="campaign", object_id=campaign.id)
    db().commit()
    return Response("\ufeff" + text, mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename={campaign.slug}-do-not-contact.csv"})


@bp.post("/")
def upload():
    form = UploadForm().offer_campaigns(campaigns.list_campaigns(db()))
    if not form.validate():
        return _index(form, 400)
    campaign = db().get(Campaign, form.campaign_id.data) or abort(404)
    upload = uploads.new_upload(_root(), campaign.id, form.file.data.filename or "do-not-contact.csv", current_user.id,
                                KIND)
    form.file.data.save(upload.path)
    try:
        upload.check = opt_out_files.check_file(db(), campaign, upload.path).as_dict()
    except opt_out_files.OptOutFileError as exc:
        uploads.discard(upload)
        form.file.errors = [exc.in_language(_)]
        return _index(form, 400)
    uploads.save(upload)
    return redirect(url_for("opt_outs.show", list_upload_id=upload.token))


@bp.get("/check/<list_upload_id>")
def show(list_upload_id: str):
    upload = get_upload(list_upload_id)
    return render_template("opt_outs/check.html", upload=upload, check=upload.check, form=ConfirmForm(),
                           campaign=db().get(Campaign, upload.campaign_id))


@bp.post("/check/<list_upload_id>/confirm")
def confirm(list_upload_id: str):
    upload = get_upload(list_upload_id)
    campaign = db().get(Campaign, upload.campaign_id) or abort(404)
    if not ConfirmForm().validate():
        abort(400)
    added = opt_out_files.import_file(db(), campaign, upload.path, current_user, upload.filename)
    db().commit()
    uploads.discard(upload)
    flash(_("Imported: %(n)s people or numbers added to the do-not-contact list.", n=added), "ok")
    return redirect(url_for("opt_outs.index", campaign=campaign.id))


@bp.post("/check/<list_upload_id>/discard")
def discard(list_upload_id: str):
    upload = get_upload(list_upload_id)
    if not ConfirmForm().validate():
        abort(400)
    uploads.discard(upload)
    flash(_("The file was discarded; nothing was imported."), "ok")
    return redirect(url_for("opt_outs.index", campaign=upload.campaign_id))
