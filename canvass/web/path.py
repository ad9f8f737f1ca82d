"""A volunteer's path on the web: the leads' list of volunteers with their step and figures (filtered to one step,
or to those ready to be asked to lead), its CSV, one volunteer's history, and the steps the organization names.
Staff read it; leads and admins name the steps. Volunteers see only their own figures, on their home page."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user

from canvass import audit, campaigns, volunteer_path
from canvass.models import Campaign
from canvass.spreadsheets import csv_text
from canvass.volunteer_path import METRIC_NAMES, Metric, Step
from canvass.web.background import now
from canvass.web.database import db
from canvass.web.forms import flash_errors
from canvass.web.forms.path import ResetForm, StepsForm
from canvass.web.lookups import get_campaign_or_first
from canvass.web.templating import local_time

bp = Blueprint("path", __name__, url_prefix="/path")

#: The figures the list shows per volunteer, in this order.
SHOWN = (Metric.attended, Metric.led, Metric.doors, Metric.calls, Metric.relational)


def step_name(step: Step) -> str:
    return _(step.name) if step.translated else step.name


def rule_text(step: Step) -> str:
    # Two sentences side by side, not one inside the other: each is translated on its own.
    return f"{_(METRIC_NAMES[step.metric])}: {_('at least %(number)s', number=step.at_least)}"


def _campaign() -> Campaign:
    campaign = get_campaign_or_first(request.args.get("campaign", type=int))
    if campaign is None:
        flash(_("Create a campaign first."), "error")
        abort(redirect(url_for("campaigns.index")))
    return campaign


def _shown(steps: list[Step]) -> tuple[str, bool, int | None]:
    """What the list is filtered to (``show``: ready, none, or a step's number from 1), as the filters read it."""
    show = request.args.get("show", "")
    if show == "ready":
        return show, True, None
    if show == "none":
        return show, False, -1
    if show.isdigit() and 1 <= int(show) <= len(steps):
        return show, False, int(show) - 1
    return "", False, None


@bp.get("/")
def index():
    campaign = _campaign()
    steps = volunteer_path.steps_of(campaign)
    everyone = volunteer_path.paths(db(), campaign, steps)
    show, ready, step = _shown(steps)
    rows = volunteer_path.filtered(everyone, steps, step=step, ready=ready)
    ready_at = volunteer_path.ready_step(steps)
    return render_template(
        "path/index.html", campaign=campaign, campaigns=campaigns.list_campaigns(db()), steps=steps, rows=rows,
        everyone=len(everyone), per_step=volunteer_path.counts_per_step(everyone, steps), show=show,
        ready_at=ready_at, ready_count=sum(volunteer_path.is_ready(r, steps) for r in everyone),
        step_name=step_name, rule_text=rule_text, shown=SHOWN, metric_names=METRIC_NAMES)


@bp.get("/export.csv")
def export_csv():
    campaign = _campaign()
    steps = volunteer_path.steps_of(campaign)
    show, ready, step = _shown(steps)
    rows = volunteer_path.filtered(volunteer_path.paths(db(), campaign, steps), steps, step=step, ready=ready)
    header = [_("Name"), _("Email"), _("Step"), _("Ready to be asked to lead"),
              *[_(METRIC_NAMES[m]) for m in Metric], _("First active"), _("Last active")]
    lines = [[r.name, r.email, step_name(steps[r.step]) if r.step >= 0 else "",
              _("yes") if volunteer_path.is_ready(r, steps) else _("no"), *[r.counts[m] for m in Metric],
              format_datetime(r.first_at, "short") if r.first_at else "",
              format_datetime(r.last_at, "short") if r.last_at else ""] for r in rows]
    stamp = local_time(now()).strftime("%Y%m%d")
    return Response("\ufeff" + csv_text(header, lines), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="volunteer-path-{campaign.slug}-{stamp}.csv"'})


@bp.get("/volunteer/<int:user_id>")
def show(user_id: int):
    campaign = _campaign()
    steps = volunteer_path.steps_of(campaign)
    found = volunteer_path.history(db(), campaign, user_id, steps)
    if found is None:
        abort(404)
    return render_template("path/show.html", campaign=campaign, steps=steps, history=found, row=found.path,
                           ready=volunteer_path.is_ready(found.path, steps), step_name=step_name,
                           rule_text=rule_text, metric_names=METRIC_NAMES, shown=SHOWN)


# ------------------------------------------------------------------------------------------------------------------
# The steps (leads and admins)


def _steps_page(campaign: Campaign, form: StepsForm, status: int = 200):
    named = sum(bool((row.form.name.data or "").strip()) for row in form.steps)
    return render_template("path/steps.html", campaign=campaign, form=form, reset=ResetForm(formdata=None),
                           rows_shown=min(volunteer_path.MAX_STEPS, named + 2),
                           customised=bool((campaign.settings or {}).get(volunteer_path.SETTING))), status


@bp.get("/steps")
def steps():
    campaign = _campaign()
    return _steps_page(campaign, StepsForm.showing(volunteer_path.steps_of(campaign), _))


@bp.post("/steps")
def save_steps():
    campaign, form = _campaign(), StepsForm()
    if form.validate_on_submit():
        try:
            saved = volunteer_path.save_steps(db(), campaign, form.typed(_))
        except volunteer_path.PathError as exc:
            db().rollback()
            form.refuse(exc)
        else:
            audit.record(db(), current_user, "path.steps_saved", object_type="campaign", object_id=campaign.id,
                         steps=len(saved))
            db().commit()
            flash(_("Steps saved."), "ok")
            return redirect(url_for("path.index", campaign=campaign.id) + "#steps")
    return _steps_page(campaign, form, 400)


@bp.post("/steps/reset")
def reset_steps():
    campaign, form = _campaign(), ResetForm()
    if form.validate_on_submit():
        volunteer_path.reset_steps(db(), campaign)
        audit.record(db(), current_user, "path.steps_reset", object_type="campaign", object_id=campaign.id)
        db().commit()
        flash(_("Back to the default steps."), "ok")
    else:
        flash_errors(form)
    return redirect(url_for("path.index", campaign=campaign.id) + "#steps")
