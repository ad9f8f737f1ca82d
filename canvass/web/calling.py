"""Phone banking on the web: leads make and run call lists; callers take one person at a time."""

from __future__ import annotations

import math
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_time
from flask_babel import gettext as _
from flask_login import current_user

from canvass import accounts, audit, campaigns, conversation, phonebank
from canvass.models import CallList, Campaign, Channel, User
from canvass.universe import Universe, UniverseError
from canvass.web.background import now
from canvass.web.contact_form import contact_from_form
from canvass.web.database import db
from canvass.web.language import page_language
from canvass.web.lookups import form_object, get_call_list, get_campaign_or_first, get_lead_call_list
from canvass.web.universe import universe_from

bp = Blueprint("calling", __name__)


@bp.get("/calllists/")
def index():
    campaign = get_campaign_or_first(request.args.get("campaign", type=int))
    if campaign is None:
        return redirect(url_for("campaigns.index"))
    try:
        universe = universe_from(request.args)
    except UniverseError as exc:
        flash(exc.in_language(_), "error")
        universe = Universe()
    return render_template("calling/index.html", campaign=campaign, rows=phonebank.summary(db(), campaign),
                           count=phonebank.count_callable(db(), campaign, universe), filters=request.args,
                           volunteers=accounts.volunteers(db()), campaigns=campaigns.list_campaigns(db()),
                           tags=campaigns.campaign_tags(db(), campaign.id))


@bp.post("/calllists/")
def create():
    campaign = form_object(Campaign, "campaign_id")
    try:
        call_list = phonebank.create_call_list(db(), campaign, request.form.get("name", ""),
                                               universe_from(request.form),
                                               open_to_all=request.form.get("open_to_all") == "1", user=current_user)
    except (phonebank.CallingError, UniverseError) as exc:
        db().rollback()
        flash(exc.in_language(_), "error")
        return redirect(url_for("calling.index", campaign=campaign.id))
    audit.record(db(), current_user, "calllist.created", object_type="call_list", object_id=call_list.id)
    db().commit()
    flash(_("Call list %(name)s created.", name=call_list.name), "ok")
    return redirect(url_for("calling.index", campaign=campaign.id) + f"#list-{call_list.id}")


@bp.post("/calllists/<int:list_id>/status")
def set_status(list_id: int):
    call_list = get_lead_call_list(list_id)
    status = request.form.get("status", "")
    try:
        phonebank.set_status(db(), call_list, status, open_to_all=request.form["open_to_all"] == "1"
                             if "open_to_all" in request.form else None)
    except phonebank.CallingError as exc:
        flash(exc.in_language(_), "error")
        return redirect(url_for("calling.index", campaign=call_list.campaign_id) + f"#list-{call_list.id}")
    audit.record(db(), current_user, f"calllist.{status}", object_type="call_list", object_id=call_list.id)
    db().commit()
    return redirect(url_for("calling.index", campaign=call_list.campaign_id) + f"#list-{call_list.id}")


@bp.post("/calllists/<int:list_id>/assign")
def assign(list_id: int):
    call_list = get_lead_call_list(list_id)
    user = form_object(User, "user_id")
    if request.form.get("remove") == "1":
        phonebank.unassign(db(), call_list, user)
    else:
        phonebank.assign(db(), call_list, user)
    db().commit()
    return redirect(url_for("calling.index", campaign=call_list.campaign_id) + f"#list-{call_list.id}")


# ------------------------------------------------------------------------------------------------------------------
# The caller's screen


def _tz() -> str:
    return current_app.config["TIMEZONE"]


@bp.get("/call/<int:list_id>")
def caller(list_id: int):
    call_list = get_call_list(list_id)
    campaign = db().get(Campaign, call_list.campaign_id)
    held = phonebank.current_claim(db(), call_list, current_user, now=now())
    context = {"call_list": call_list, "campaign": campaign, "claim": held,
               "progress": phonebank.progress(db(), call_list), "hours": _hours_view(campaign)}
    if held is not None:
        language = page_language()
        context.update(
            uuid=uuid.uuid4(), **conversation.door_buttons(
                conversation.result_codes_for(db(), campaign.id, Channel.phone, language)),
            survey=conversation.survey_for(db(), campaign.id, language),
            script=conversation.script_for(db(), campaign.id, Channel.phone, language, held.person.language),
            followups=conversation.followup_tags(db(), campaign.id, language),
            person=conversation.person_view(held.person, campaign),
            lease_until=held.entry.lease_expires_at.astimezone(ZoneInfo(_tz())))
    return render_template("calling/caller.html", **context)


def _hours_view(campaign: Campaign) -> dict:
    """Calling hours as the caller reads them before tapping: open, or "Calls open at 9:00 AM, in 5 h"."""
    hours = phonebank.calling_hours(campaign, _tz(), now())
    if hours.open:
        return {"open": True}
    minutes = math.ceil(hours.wait.total_seconds() / 60)
    if minutes < 60:
        wait = _("%(m)s min", m=minutes)
    elif minutes % 60 == 0:
        wait = _("%(h)s h", h=minutes // 60)
    else:
        wait = _("%(h)s h %(m)s min", h=minutes // 60, m=minutes % 60)
    return {"open": False, "message": _("Calls open at %(time)s, in %(wait)s.",
                                         time=format_time(hours.opens_at, "short"), wait=wait),
            "hours": _("Calls are made between %(start)s and %(end)s. Come back then.",
                       start=f"{hours.start:%H:%M}", end=f"{hours.end:%H:%M}")}


def _claim_and_return(call_list: CallList):
    try:
        claim = phonebank.claim_next(db(), call_list, current_user, timezone=_tz(), now=now())
    except phonebank.CallingError as exc:
        db().rollback()
        flash(exc.in_language(_), "error")
        return redirect(url_for("calling.caller", list_id=call_list.id))
    db().commit()
    if claim is None:
        flash(_("Nobody is left to call on this list right now. Thank you!"), "ok")
    return redirect(url_for("calling.caller", list_id=call_list.id))


@bp.post("/call/<int:list_id>/next")
def next_call(list_id: int):
    return _claim_and_return(get_call_list(list_id))


@bp.post("/call/<int:list_id>/entry/<int:entry_id>/result")
def result(list_id: int, entry_id: int):
    call_list = get_call_list(list_id)
    campaign = db().get(Campaign, call_list.campaign_id)
    try:
        entry = phonebank.find_entry(db(), call_list, entry_id, current_user)
        survey = conversation.survey_for(db(), campaign.id, page_language())
        item = contact_from_form(request.form, survey, channel=Channel.phone, person_id=entry.person_id,
                                 phone_id=request.form.get("phone_id", type=int))
        outcome = phonebank.record_call(db(), current_user, entry, item,
                                        callback_at=_callback_time(request.form.get("callback_at", "")), now=now())
    except (phonebank.CallingError, ValueError) as exc:
        db().rollback()
        flash(exc.in_language(_) if isinstance(exc, phonebank.CallingError) else _("That result could not be read. Tap it again."),
              "error")
        return redirect(url_for("calling.caller", list_id=call_list.id))
    if outcome.status == "rejected":
        db().rollback()
        flash(outcome.error_in(_), "error")
        return redirect(url_for("calling.caller", list_id=call_list.id))
    db().commit()
    flash(_("Saved."), "ok")
    return _claim_and_return(call_list)


def _callback_time(text: str) -> datetime | None:
    """A local date and time from the form, in the organization's time zone."""
    if not text:
        return None
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(_tz()))


@bp.post("/call/<int:list_id>/entry/<int:entry_id>/skip")
def skip(list_id: int, entry_id: int):
    call_list = get_call_list(list_id)
    try:
        entry = phonebank.find_entry(db(), call_list, entry_id, current_user)
    except phonebank.CallingError as exc:
        flash(exc.in_language(_), "error")
        return redirect(url_for("calling.caller", list_id=call_list.id))
    phonebank.release(db(), entry, current_user)
    db().commit()
    return _claim_and_return(call_list)
