"""Importing lists on the web: upload -> check -> confirm, each long step a background job with a progress page."""

from __future__ import annotations

import uuid
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlmodel import select
from werkzeug.utils import secure_filename

from canvass import audit, importing, jobs
from canvass.importing.fields import CUSTOM, FIELDS, HISTORY, SKIP
from canvass.importing.problems import problems_csv as problems_file
from canvass.models import Campaign, ImportBatch, ImportStatus, Job, JobStatus
from canvass.web.database import db, engine
from canvass.web.language import translated

bp = Blueprint("importing", __name__, url_prefix="/imports")



def get_batch(batch_id: int) -> ImportBatch:
    batch = db().get(ImportBatch, batch_id)
    if batch is None:
        abort(404)
    return batch


def _runner() -> jobs.JobRunner:
    return current_app.extensions["canvass.jobs"]


def _start(batch: ImportBatch, kind: str, fn, *args) -> None:
    job = jobs.create_job(db(), kind, user_id=current_user.id, campaign_id=batch.campaign_id)
    batch.job_id = job.id
    db().add(batch)
    db().commit()
    _runner().submit(job.id, fn, engine(), batch.id, *args)


@bp.get("/")
def index():
    campaigns = db().exec(select(Campaign).where(Campaign.archived.is_(False)).order_by(Campaign.name)).all()
    names = {c.id: c.name for c in campaigns}
    return render_template("importing/index.html", campaigns=campaigns, batches=importing.latest_batches(db()),
                           campaign_names=names, selected=request.args.get("campaign", type=int),
                           max_upload_mb=current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024))


@bp.post("/")
def upload():
    campaign = db().get(Campaign, request.form.get("campaign_id", type=int) or 0)
    upload_file = request.files.get("file")
    if campaign is None or upload_file is None or not upload_file.filename:
        flash(_("Choose a campaign and a file to upload."), "error")
        return redirect(url_for("importing.index"))
    folder = Path(current_app.config["UPLOAD_FOLDER"]) / uuid.uuid4().hex
    folder.mkdir(parents=True)
    stored = folder / (secure_filename(upload_file.filename) or "upload")
    upload_file.save(stored)
    batch = importing.create_batch(db(), campaign, upload_file.filename, stored, current_user)
    audit.record(db(), current_user, "import.uploaded", object_type="import_batch", object_id=batch.id,
                 campaign_id=campaign.id, bytes=stored.stat().st_size)
    _start(batch, "import-check", importing.check_batch)
    return redirect(url_for("importing.show", batch_id=batch.id))


@bp.get("/<int:batch_id>")
def show(batch_id: int):
    batch = get_batch(batch_id)
    job = jobs.job_view(db(), db().get(Job, batch.job_id)) if batch.job_id else None
    working = job is not None and job.status in (JobStatus.queued, JobStatus.running)
    check_failed = job is not None and job.kind == "import-check" and "check" not in (batch.summary or {})
    if job is not None and job.status == JobStatus.failed and (batch.status == ImportStatus.running or check_failed):
        db().expunge(batch)  # shown as failed (a check that died says so, never "waiting for confirmation")
        batch.status, batch.error = ImportStatus.failed, job.message
    check = (batch.summary or {}).get("check")
    return render_template("importing/batch.html", batch=batch, job=job, working=working, check=check,
                           campaign=db().get(Campaign, batch.campaign_id), field_choices=_field_choices(),
                           problems=(batch.problems or [])[:50])


def _field_choices() -> list[tuple[str, str]]:
    return [(key, _(label)) for key, (label, _aliases) in FIELDS.items()] + [
        (HISTORY, _("Vote history")), (CUSTOM, _("Keep as a custom field")), (SKIP, _("Ignore this column"))]


@bp.post("/<int:batch_id>/mapping")
def remap(batch_id: int):
    batch = _checked_batch(batch_id, allow_error=True)
    if "check" not in (batch.summary or {}):
        abort(409)  # the file is still being read; the mapping form appears once it is
    headers = batch.summary["check"]["headers"]
    allowed = set(FIELDS) | {HISTORY, CUSTOM, SKIP}
    mapping = {header: request.form.get(f"map-{index}", CUSTOM) for index, header in enumerate(headers)}
    if not set(mapping.values()) <= allowed:
        abort(400)
    problems = importing.fields.validate_mapping(mapping, headers)
    if problems:
        flash(" ".join(problems), "error")
        return redirect(url_for("importing.show", batch_id=batch.id) + "#mapping")
    batch.mapping = mapping
    _start(batch, "import-check", importing.check_batch)
    flash(_("Checking the file again with your column choices."), "ok")
    return redirect(url_for("importing.show", batch_id=batch.id))


@bp.post("/<int:batch_id>/confirm")
def confirm(batch_id: int):
    batch = _checked_batch(batch_id)
    # The mapping shown on the check page is the one confirmed: it is remembered for files with the same header.
    batch.mapping = batch.summary["check"]["mapping"]
    batch.status = ImportStatus.running
    _start(batch, "import", importing.run_batch, current_user.id)
    return redirect(url_for("importing.show", batch_id=batch.id))


@bp.post("/<int:batch_id>/discard")
def discard(batch_id: int):
    batch = _checked_batch(batch_id, allow_error=True)
    importing.discard_upload(batch.stored_path)
    batch.status = ImportStatus.cancelled
    db().add(batch)
    db().commit()
    flash(_("The file was discarded; nothing was imported."), "ok")
    return redirect(url_for("importing.index"))


def _checked_batch(batch_id: int, *, allow_error: bool = False) -> ImportBatch:
    """The batch, if it waits for confirmation; otherwise back to its page with the reason."""
    batch = get_batch(batch_id)
    job = db().get(Job, batch.job_id) if batch.job_id else None
    check = (batch.summary or {}).get("check") or {}
    ready = batch.status == ImportStatus.checked and check and not check.get("error") and \
        (job is None or job.status == JobStatus.done)
    if not ready and not (allow_error and batch.status == ImportStatus.checked):
        abort(409)
    return batch


@bp.get("/<int:batch_id>/problems.csv")
def problems_csv(batch_id: int):
    batch = get_batch(batch_id)
    body = problems_file(batch.problems or [], translated)
    name = f"problems-{batch.id}-{secure_filename(batch.filename) or 'import'}.csv"
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})
