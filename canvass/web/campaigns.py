"""Campaigns: list and create (admins and field leads), and their set-up (field leads)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import format_date, format_number
from flask_babel import gettext as _
from flask_login import current_user

from canvass import audit, campaigns, retention
from canvass.models import Campaign
from canvass.overview import campaign_rows
from canvass.web.background import now
from canvass.web.database import db
from canvass.web.exports import export_folder
from canvass.web.forms import Form, flash_errors
from canvass.web.forms.campaigns import (
    CampaignForm,
    CloseForm,
    CodeForm,
    PurgeForm,
    QuestionActiveForm,
    QuestionForm,
    ReopenForm,
    ScriptForm,
    SettingsForm,
    TagForm,
    setup_forms,
)

bp = Blueprint("campaigns", __name__, url_prefix="/campaigns")


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
            form.refuse(exc)
        else:
            audit.record(db(), current_user, "campaign.created", object_type="campaign", object_id=campaign.id)
            db().commit()
            flash(_("Campaign %(name)s created.", name=campaign.name), "ok")
            return redirect(url_for("campaigns.index") + f"#campaign-{campaign.slug}")
    return render_template("campaigns/index.html", rows=campaign_rows(db()), form=form), 400


# ------------------------------------------------------------------------------------------------------------------
# Setup (field leads): scripts, survey, result codes, tags, settings


def _setup_url(campaign: Campaign, anchor: str = "") -> str:
    return url_for("campaigns.setup", slug=campaign.slug) + anchor


@bp.get("/<slug>/setup")
def setup(slug: str):
    return _setup_page(get_campaign(slug))


def _setup_page(campaign: Campaign, sent: Form | None = None):
    """The set-up page; with ``sent``, a form that failed, shown where it was typed with its errors (400)."""
    setup = campaigns.setup_of(db(), campaign)
    return render_template(
        "campaigns/setup.html", campaign=campaign, questions=[q for q, _o in setup.survey],
        options={q.id: options for q, options in setup.survey}, tags=setup.tags,
        forms=setup_forms(setup, sent), toggle=QuestionActiveForm(formdata=None)), 200 if sent is None else 400


def _apply(campaign: Campaign, form: Form, anchor: str, change, message: str, *, drawn: bool = True):
    """Runs one setup change from a valid form, commits it with an audit entry, and returns to the right part of
    the page. A form that is invalid, or that the change refuses, is shown again with what is wrong; a button
    (``drawn=False``) says it in a message instead."""
    if form.validate_on_submit():
        try:
            change()
        except campaigns.CampaignError as exc:
            db().rollback()
            form.refuse(exc)
    if form.has_errors:
        if drawn:
            return _setup_page(campaign, form)
        flash_errors(form)
        return redirect(_setup_url(campaign, anchor))
    audit.record(db(), current_user, f"campaign.setup{anchor.replace('#', '.')}", object_type="campaign",
                 object_id=campaign.id)
    db().commit()
    flash(message, "ok")
    return redirect(_setup_url(campaign, anchor))


@bp.post("/<slug>/setup/script")
def set_script(slug: str):
    campaign, form = get_campaign(slug), ScriptForm()
    return _apply(campaign, form, "#scripts", lambda: campaigns.set_script(
        db(), campaign, form.channel.data, form.language.data, form.body.data or ""), _("Script saved."))


@bp.post("/<slug>/setup/question")
def add_question(slug: str):
    campaign, form = get_campaign(slug), QuestionForm()
    return _apply(campaign, form, "#survey", lambda: campaigns.add_question(
        db(), campaign, code=form.code.data, text=form.text.data, kind=form.kind.data, options=form.options.data or "",
        translations=form.translations()), _("Question added."))


@bp.post("/<slug>/setup/question/<int:question_id>/active")
def question_active(slug: str, question_id: int):
    campaign, form = get_campaign(slug), QuestionActiveForm()
    return _apply(campaign, form, "#survey",
                  lambda: campaigns.set_question_active(db(), campaign, question_id, form.active.data),
                  _("Question asked again.") if form.active.data else
                  _("Question no longer asked; its answers are kept."), drawn=False)


@bp.post("/<slug>/setup/code")
def save_code(slug: str):
    campaign, form = get_campaign(slug), CodeForm()
    return _apply(campaign, form, "#codes", lambda: campaigns.update_result_code(
        db(), campaign, form.code.data, label=form.label.data, channel=form.channel.data,
        is_contact=form.is_contact.data, is_final=form.is_final.data, retry_after_hours=form.retry_after_hours.data,
        max_attempts=form.max_attempts.data, suppresses=form.suppresses.data, active=form.active.data, translations=form.translations()),
        _("Result code saved."))


@bp.post("/<slug>/setup/tag")
def add_tag(slug: str):
    campaign, form = get_campaign(slug), TagForm()
    return _apply(campaign, form, "#tags", lambda: campaigns.add_tag(
        db(), campaign, form.name.data, form.kind.data, form.translations()), _("Tag added."))


@bp.post("/<slug>/setup/settings")
def save_settings(slug: str):
    campaign, form = get_campaign(slug), SettingsForm()
    return _apply(campaign, form, "#settings", lambda: campaigns.update_settings(db(), campaign, form.values()),
                  _("Settings saved."))


# ------------------------------------------------------------------------------------------------------------------
# Retention (admins): close, reopen, and purge once the retention period has passed


def _retention_url(campaign: Campaign) -> str:
    return url_for("campaigns.retention_page", slug=campaign.slug)


@bp.get("/<slug>/retention")
def retention_page(slug: str):
    return _retention_page(get_campaign(slug))


def _retention_page(campaign: Campaign, *, close: CloseForm | None = None, purge: PurgeForm | None = None):
    """The campaign's retention page; with a form that failed, shown with its errors (400)."""
    found = retention.preview(db(), campaign, export_folder=export_folder())
    days = campaign.retention_days if campaign.retention_days is not None else current_app.config["RETENTION_DAYS"]
    return render_template(
        "campaigns/retention.html", campaign=campaign, state=retention.state(campaign, now()), preview=found,
        shown=retention.SHOWN_DELETED, close_form=close or CloseForm(formdata=None, days=days),
        purge_form=purge or PurgeForm(formdata=None), reopen_form=ReopenForm(formdata=None),
        default_days=current_app.config["RETENTION_DAYS"]), 200 if close is None and purge is None else 400


@bp.post("/<slug>/close")
def close(slug: str):
    campaign, form = get_campaign(slug), CloseForm()
    if form.validate_on_submit():
        try:
            retention.close_campaign(db(), campaign, current_user, days=form.days.data, now=now())
        except retention.RetentionError as exc:
            db().rollback()
            form.refuse(exc)
        else:
            db().commit()
            flash(_("Campaign closed: it takes no new contacts. Its personal data may be purged from %(day)s.",
                    day=format_date(campaign.purge_after)), "ok")
            return redirect(_retention_url(campaign))
    return _retention_page(campaign, close=form)


@bp.post("/<slug>/reopen")
def reopen(slug: str):
    campaign, form = get_campaign(slug), ReopenForm()
    if form.validate_on_submit():
        try:
            retention.reopen_campaign(db(), campaign, current_user)
        except retention.RetentionError as exc:
            db().rollback()
            form.refuse(exc)
        else:
            db().commit()
            flash(_("Campaign reopened: volunteers can log contacts again."), "ok")
            return redirect(_retention_url(campaign))
    flash_errors(form)
    return redirect(_retention_url(campaign))


@bp.post("/<slug>/purge")
def purge(slug: str):
    campaign, form = get_campaign(slug), PurgeForm()
    if form.validate_on_submit():
        try:
            report = retention.purge_campaign(db(), campaign, current_user, timezone=current_app.config["TIMEZONE"],
                                              now=now(), export_folder=export_folder(), typed_name=form.name.data)
        except retention.RetentionError as exc:
            db().rollback()
            form.refuse(exc)
        else:
            db().commit()
            retention.remove_files(report)
            flash(_("Personal data purged: %(people)s people and %(contacts)s contacts deleted. The tallies are kept.",
                    people=format_number(report.deleted["people"]), contacts=format_number(report.deleted["contacts"])),
                  "ok")
            return redirect(_retention_url(campaign))
    return _retention_page(campaign, purge=form)
