"""The do-not-contact list, for staff: the list per campaign, its CSV export, and importing a list (upload -> check
-> confirm)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from canvass import audit, campaigns, opt_out_files, opt_outs, people
from canvass.history.uploads import Upload
from canvass.models import Campaign
from canvass.web.database import db
from canvass.web.forms.history import ConfirmForm
from canvass.web.forms.opt_outs import UploadForm
from canvass.web.upload_flow import UploadFlow

bp = Blueprint("opt_outs", __name__, url_prefix="/do-not-contact")
FLOW = UploadFlow(kind="opt_outs", check_template="opt_outs/check.html", fallback_name="do-not-contact.csv",
                  check=opt_out_files.check_file, refusal=opt_out_files.OptOutFileError)


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


def _import(campaign: Campaign, upload: Upload) -> str:
    added = opt_out_files.import_file(db(), campaign, upload.path, current_user, upload.filename)
    return _("Imported: %(n)s people or numbers added to the do-not-contact list.", n=added)


@bp.post("/")
def upload():
    form = UploadForm().offer_campaigns(campaigns.list_campaigns(db()))
    upload = FLOW.receive(form)
    if upload is None:
        return _index(form, 400)
    return redirect(url_for("opt_outs.show", list_upload_id=upload.token))


@bp.get("/check/<list_upload_id>")
def show(list_upload_id: str):
    return FLOW.show(list_upload_id)


@bp.post("/check/<list_upload_id>/confirm")
def confirm(list_upload_id: str):
    campaign = FLOW.confirm(list_upload_id, _import)
    return redirect(url_for("opt_outs.index", campaign=campaign.id))


@bp.post("/check/<list_upload_id>/discard")
def discard(list_upload_id: str):
    upload = FLOW.discard(list_upload_id)
    return redirect(url_for("opt_outs.index", campaign=upload.campaign_id))
