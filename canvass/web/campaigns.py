"""Campaigns: list and create (admins and field leads)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from canvass import audit, campaigns
from canvass.models import Campaign, Suppression
from canvass.overview import campaign_rows
from canvass.web.database import db

bp = Blueprint("campaigns", __name__, url_prefix="/campaigns")


class CampaignForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    slug = StringField(_l("Short name (optional)"), validators=[Length(max=63)])


def get_campaign(slug: str) -> Campaign:
    campaign = campaigns.get_campaign(db(), slug)
    if campaign is None:
        abort(404)
    return campaign


@bp.get("/")
def index():
    return render_template("campaigns/index.html", rows=campaign_rows(db()), form=CampaignForm())


@bp.post("/")
def create():
    form = CampaignForm()
    if form.validate_on_submit():
        try:
            campaign = campaigns.create_campaign(db(), form.name.data, form.slug.data or None)
        except campaigns.CampaignError as exc:
            db().rollback()
            flash(exc.in_language(_), "error")
        else:
            audit.record(db(), current_user, "campaign.created", object_type="campaign", object_id=campaign.id)
            db().commit()
            flash(_("Campaign %(name)s created.", name=campaign.name), "ok")
            return redirect(url_for("campaigns.index") + f"#campaign-{campaign.slug}")
    else:
        flash(_("Give the campaign a name."), "error")
    return redirect(url_for("campaigns.index"))


# ------------------------------------------------------------------------------------------------------------------
# Setup (field leads): scripts, survey, result codes, tags, settings


def _setup_url(campaign: Campaign, anchor: str = "") -> str:
    return url_for("campaigns.setup", slug=campaign.slug) + anchor


@bp.get("/<slug>/setup")
def setup(slug: str):
    campaign = get_campaign(slug)
    setup = campaigns.setup_of(db(), campaign)
    return render_template(
        "campaigns/setup.html", campaign=campaign, scripts=setup.scripts, questions=[q for q, _o in setup.survey],
        options={q.id: options for q, options in setup.survey}, codes=setup.codes, tags=setup.tags,
        suppressions=list(Suppression), settings=setup.settings)


def _apply(campaign: Campaign, anchor: str, change, message: str):
    """Runs one setup change, commits it with an audit entry, and returns to the right part of the page."""
    try:
        change()
    except (campaigns.CampaignError, ValueError) as exc:
        db().rollback()
        flash(exc.in_language(_), "error")
        return redirect(_setup_url(campaign, anchor))
    audit.record(db(), current_user, f"campaign.setup{anchor.replace('#', '.')}", object_type="campaign",
                 object_id=campaign.id)
    db().commit()
    flash(message, "ok")
    return redirect(_setup_url(campaign, anchor))


@bp.post("/<slug>/setup/script")
def set_script(slug: str):
    campaign = get_campaign(slug)
    return _apply(campaign, "#scripts", lambda: campaigns.set_script(
        db(), campaign, request.form.get("channel", "door"), request.form.get("language", ""),
        request.form.get("body", "")), _("Script saved."))


@bp.post("/<slug>/setup/question")
def add_question(slug: str):
    campaign = get_campaign(slug)
    translations = {lang: request.form.get(f"text_{lang}", "") for lang in campaigns.LANGUAGE_CODES if lang != "en"}
    return _apply(campaign, "#survey", lambda: campaigns.add_question(
        db(), campaign, code=request.form.get("code", ""), text=request.form.get("text", ""),
        kind=request.form.get("kind", "single"), options=request.form.get("options", ""),
        translations=translations), _("Question added."))


@bp.post("/<slug>/setup/question/<int:question_id>/active")
def question_active(slug: str, question_id: int):
    campaign = get_campaign(slug)
    active = request.form.get("active") == "1"
    return _apply(campaign, "#survey", lambda: campaigns.set_question_active(db(), campaign, question_id, active),
                  _("Question asked again.") if active else _("Question no longer asked; its answers are kept."))


@bp.post("/<slug>/setup/code")
def save_code(slug: str):
    campaign = get_campaign(slug)
    form = request.form
    retry = form.get("retry_after_hours", "").strip()

    def change():
        campaigns.update_result_code(
            db(), campaign, form.get("code", ""), label=form.get("label", ""), channel=form.get("channel", "door"),
            is_contact=form.get("is_contact") == "1", is_final=form.get("is_final") == "1",
            retry_after_hours=int(retry) if retry else None, suppresses=form.get("suppresses", "none"),
            active=form.get("active", "1") == "1",
            translations={lang: form.get(f"label_{lang}", "") for lang in campaigns.LANGUAGE_CODES if lang != "en"})

    return _apply(campaign, "#codes", change, _("Result code saved."))


@bp.post("/<slug>/setup/tag")
def add_tag(slug: str):
    campaign = get_campaign(slug)
    translations = {lang: request.form.get(f"name_{lang}", "") for lang in ("es", "vi")}
    return _apply(campaign, "#tags", lambda: campaigns.add_tag(db(), campaign, request.form.get("name", ""),
                                                             request.form.get("kind", "tag"), translations),
                  _("Tag added."))


@bp.post("/<slug>/setup/settings")
def save_settings(slug: str):
    campaign = get_campaign(slug)
    form = request.form
    values = {"calling_hours": [form.get("calling_from", ""), form.get("calling_to", "")],
              "no_answer_retry_hours": form.get("no_answer_retry_hours"),
              "max_call_attempts": form.get("max_call_attempts"), "lease_minutes": form.get("lease_minutes"),
              "shift_expected_minutes": form.get("shift_expected_minutes"), "show_party": form.get("show_party") == "1"}
    return _apply(campaign, "#settings", lambda: campaigns.update_settings(db(), campaign, values),
                  _("Settings saved."))
