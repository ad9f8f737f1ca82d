"""Importing lists on the web: upload -> check -> confirm, each long step a background job with a progress page."""

from __future__ import annotations

import uuid
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.utils import secure_filename

from canvass import campaigns as campaigns_domain
from canvass import importing
from canvass.importing.containers import MAX_RATIO, MAX_UNCOMPRESSED
from canvass.importing.fields import CUSTOM, FIELDS, HISTORY, SKIP
from canvass.importing.problems import problems_csv as problems_file
from canvass.models import Campaign, ImportBatch
from canvass.web.background import submit_job
from canvass.web.database import db
from canvass.web.forms.importing import UploadForm, chosen_mapping, mapping_form
from canvass.web.language import translated

bp = Blueprint("importing", __name__, url_prefix="/imports")


def get_batch(batch_id: int) -> ImportBatch:
    batch = db().get(ImportBatch, batch_id)
    if batch is None:
        abort(404)
    return batch


def _start(batch: ImportBatch, kind: str, fn, *args) -> None:
    job = importing.start_batch_job(db(), batch, kind, current_user.id)
    submit_job(job, fn, batch.id, *args)  # commits the batch with its job


@bp.get("/")
def index():
    campaigns = campaigns_domain.list_campaigns(db())
    names = {c.id: c.name for c in campaigns}
    return render_template("importing/index.html", campaigns=campaigns, batches=importing.latest_batches(db()),
                           campaign_names=names, selected=request.args.get("campaign", type=int),
                           max_upload_mb=current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024),
                           max_unzipped_gb=MAX_UNCOMPRESSED // 1024**3, max_ratio=MAX_RATIO)


@bp.post("/")
def upload():
    form = UploadForm().offer_campaigns(campaigns_domain.list_campaigns(db()))
    if not form.validate_on_submit() or not form.file.data.filename:
        flash(_("Choose a campaign and a file to upload."), "error")  # the one thing either field can lack
        return redirect(url_for("importing.index"))
    campaign, upload_file = db().get(Campaign, form.campaign_id.data), form.file.data
    folder = Path(current_app.config["UPLOAD_FOLDER"]) / uuid.uuid4().hex
    folder.mkdir(parents=True)
    stored = folder / (secure_filename(upload_file.filename) or "upload")
    upload_file.save(stored)
    batch = importing.receive_upload(db(), campaign, upload_file.filename, stored, current_user)
    _start(batch, "import-check", importing.check_batch)
    return redirect(url_for("importing.show", batch_id=batch.id))


@bp.get("/<int:batch_id>")
def show(batch_id: int):
    batch = get_batch(batch_id)
    progress = importing.batch_progress(db(), batch)
    return render_template("importing/batch.html", batch=batch, job=progress.job, working=progress.working,
                           check=progress.check, error=_error_sentence(batch),
                           campaign=db().get(Campaign, batch.campaign_id), field_choices=_field_choices(),
                           problems=(batch.problems or [])[:50])


def _error_sentence(batch: ImportBatch) -> str:
    """Why the file cannot be imported, in the reader's language (a sentence with figures is kept as its template
    and figures, so it can be translated)."""
    error = (batch.summary or {}).get("error")
    if error and error.get("text"):
        return translated(error["text"]) % error.get("args", {}) if error.get("args") else translated(error["text"])
    return translated(batch.error)


def _field_choices() -> list[tuple[str, str]]:
    return [(key, _(label)) for key, (label, _aliases) in FIELDS.items()] + [
        (HISTORY, _("Vote history")), (CUSTOM, _("Keep as a custom field")), (SKIP, _("Ignore this column"))]


@bp.post("/<int:batch_id>/mapping")
def remap(batch_id: int):
    batch = _checked_batch(batch_id, allow_error=True)
    if "check" not in (batch.summary or {}):
        abort(409)  # the file is still being read; the mapping form appears once it is
    form = mapping_form(batch.summary["check"]["headers"], _field_choices(), CUSTOM)
    if not form.validate_on_submit():
        abort(400)  # a choice the page never offered: the form was tampered with
    problems = importing.choose_mapping(batch, chosen_mapping(form))
    if problems:
        flash(" ".join(problems), "error")
        return redirect(url_for("importing.show", batch_id=batch.id) + "#mapping")
    _start(batch, "import-check", importing.check_batch)
    flash(_("Checking the file again with your column choices."), "ok")
    return redirect(url_for("importing.show", batch_id=batch.id))


@bp.post("/<int:batch_id>/confirm")
def confirm(batch_id: int):
    batch = _checked_batch(batch_id)
    importing.confirm_batch(batch)
    _start(batch, "import", importing.run_batch, current_user.id)
    return redirect(url_for("importing.show", batch_id=batch.id))


@bp.post("/<int:batch_id>/discard")
def discard(batch_id: int):
    batch = _checked_batch(batch_id, allow_error=True)
    importing.discard_batch(db(), batch)
    db().commit()
    flash(_("The file was discarded; nothing was imported."), "ok")
    return redirect(url_for("importing.index"))


def _checked_batch(batch_id: int, *, allow_error: bool = False) -> ImportBatch:
    """The batch, if it waits for confirmation (``allow_error``: or its check found an error); otherwise 409."""
    batch = get_batch(batch_id)
    if not (importing.is_open(batch) if allow_error else importing.waits_for_confirmation(db(), batch)):
        abort(409)
    return batch


@bp.get("/<int:batch_id>/problems.csv")
def problems_csv(batch_id: int):
    batch = get_batch(batch_id)
    body = problems_file(batch.problems or [], translated)
    name = f"problems-{batch.id}-{secure_filename(batch.filename) or 'import'}.csv"
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})
