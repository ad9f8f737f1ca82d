"""Exports (data staff, leads, admins) and the live field dashboard (leads)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from canvass import accounts, campaigns, canvassing, charts, conversation, exports, jobs, overview, turfs
from canvass.models import Campaign, Job, JobStatus
from canvass.universe import UniverseError
from canvass.web.background import now, start_job
from canvass.web.database import db
from canvass.web.forms.exports import ExportForm
from canvass.web.language import page_language
from canvass.web.lookups import get_campaign, get_campaign_or_first
from canvass.web.templating import local_time

bp = Blueprint("exports", __name__)


def export_folder() -> Path:
    return Path(current_app.config["EXPORT_FOLDER"]).resolve()


@bp.get("/exports/")
def index():
    campaign = get_campaign_or_first(request.args.get("campaign", type=int))
    if campaign is None:
        return redirect(url_for("campaigns.index"))
    return _page(campaign, _offered(ExportForm(formdata=None, campaign_id=campaign.id), campaign))


def _offered(form: ExportForm, campaign: Campaign) -> ExportForm:
    return form.offer(campaigns.list_campaigns(db()), [row["turf"] for row in turfs.board(db(), campaign)],
                      accounts.volunteers(db(), active_only=False), _("All"), campaigns.campaign_tags(db(), campaign.id))


def _page(campaign: Campaign, form: ExportForm, status: int = 200):
    return render_template("exports/index.html", campaign=campaign, form=form,
                           recent=jobs.latest_jobs(db(), "export", limit=15)), status


@bp.post("/exports/")
def create():
    form = ExportForm()
    campaign = get_campaign(form.campaign_id.data)
    if not _offered(form, campaign).validate_on_submit():
        return _page(campaign, form, 400)
    try:
        params = form.params()
    except UniverseError as exc:
        form.refuse(exc)
        return _page(campaign, form, 400)
    job = start_job("export", exports.run_export_job, campaign.id, params, current_user.id,
                    str(export_folder()), current_app.config["TIMEZONE"], campaign_id=campaign.id)
    return redirect(url_for("exports.show", job_id=job.id))


def get_export_job(job_id: int) -> Job:
    job = db().get(Job, job_id)
    if job is None or job.kind != "export":
        abort(404)
    return jobs.job_view(db(), job)


@bp.get("/exports/<int:job_id>")
def show(job_id: int):
    job = get_export_job(job_id)
    return render_template("exports/show.html", job=job,
                           working=job.status in (JobStatus.queued, JobStatus.running))


@bp.get("/exports/<int:job_id>/download")
def download(job_id: int):
    job = get_export_job(job_id)
    if job.status != JobStatus.done:
        abort(404)
    path = (export_folder() / Path(job.result["filename"]).name).resolve()
    if path.parent != export_folder():
        abort(404)
    if not path.exists():
        abort(410)  # someone cleared the exports folder; the job record stays
    return send_file(path, as_attachment=True, download_name=path.name)


@bp.get("/dashboard")
def dashboard():
    campaign = get_campaign_or_first(request.args.get("campaign", type=int))
    if campaign is None:
        return redirect(url_for("campaigns.index"))
    data = overview.dashboard(db(), campaign, current_app.config["TIMEZONE"], now=now())
    language = page_language()
    labels = conversation.result_labels(db(), campaign, language)
    questions = {q["code"]: q for q in conversation.survey_for(db(), campaign, language)}
    survey = data["survey"]
    survey_charts = []
    for code, part in (survey.groupby("Question", sort=False) if len(survey) else ()):
        question = questions.get(code, {"text": code, "options": []})
        options = {o["code"]: o["label"] for o in question["options"]}
        title = question["text"]
        survey_charts.append((title, charts.bar_chart(
            [(options.get(answer, answer), count) for answer, count in zip(part["Answer"], part["Count"], strict=True)],
            title=title)))
    results = sorted(((labels.get(code, code), count) for code, count in data["results"]), key=lambda item: -item[1])
    return render_template(
        "exports/dashboard.html", campaign=campaign, data=data, board=turfs.board(db(), campaign),
        results_chart=charts.bar_chart(results, title=_("Results")), survey_charts=survey_charts,
        out=canvassing.volunteers_out(db(), campaign), now=local_time(now()),
        campaigns=campaigns.list_campaigns(db()))
