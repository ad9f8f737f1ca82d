"""Phone banking on the web: leads make and run call lists; callers take one person at a time."""

from __future__ import annotations

import math
import uuid
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_time
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from canvass import accounts, audit, campaigns, conversation, phonebank
from canvass.models import CallList, Campaign, Channel, User
from canvass.universe import Universe, UniverseError
from canvass.web.background import now
from canvass.web.database import db
from canvass.web.forms import flash_errors
from canvass.web.forms.calling import CallbackForm, CallerForm, CallListForm, StatusForm
from canvass.web.forms.contacts import contact_form
from canvass.web.forms.universe import UniverseForm, counting_form
from canvass.web.language import page_language
from canvass.web.lookups import get_call_list, get_campaign, get_campaign_or_first, get_lead_call_list

bp = Blueprint("calling", __name__)


@bp.get("/calllists/")
def index():
    campaign = get_campaign_or_first(request.args.get("campaign", type=int))
    if campaign is None:
        return redirect(url_for("campaigns.index"))
    filters = counting_form(request.args)
    return _lists_page(campaign, filters, CallListForm(formdata=None, data=filters.data))


def _lists_page(campaign: Campaign, filters: UniverseForm, new: CallListForm, status: int = 200):
    """The phone banks: the counting form (``filters``, checked), how many it takes, the new-list form, the lists."""
    universe = Universe()
    if not filters.filters_invalid:
        try:
            universe = filters.universe()
        except UniverseError as exc:
            filters.refuse(exc)
    volunteers = accounts.volunteers(db())
    rows = phonebank.summary(db(), campaign)
    callers = {row["call_list"].id: CallerForm(formdata=None) for row in rows}
    for list_id, form in callers.items():
        form.user_id.choices, form.user_id.id = [SelectChoice(v.id, v.display_name) for v in volunteers], f"caller-{list_id}"
    return render_template("calling/index.html", campaign=campaign, rows=rows,
                           count=phonebank.count_callable(db(), campaign, universe), filters=filters, new=new,
                           callers=callers, campaigns=campaigns.list_campaigns(db())), status


@bp.post("/calllists/")
def create():
    form = CallListForm()
    campaign = get_campaign(form.campaign_id.data)
    if form.validate_on_submit():
        try:
            call_list = phonebank.create_call_list(db(), campaign, form.name.data, form.universe(),
                                                   open_to_all=form.open_to_all.data, user=current_user)
        except (phonebank.CallingError, UniverseError) as exc:
            db().rollback()
            form.refuse(exc)
        else:
            audit.record(db(), current_user, "calllist.created", object_type="call_list", object_id=call_list.id)
            db().commit()
            flash(_("Call list %(name)s created.", name=call_list.name), "ok")
            return redirect(url_for("calling.index", campaign=campaign.id) + f"#list-{call_list.id}")
    return _lists_page(campaign, form, form, 400)


def _list_anchor(call_list: CallList):
    return redirect(url_for("calling.index", campaign=call_list.campaign_id) + f"#list-{call_list.id}")


@bp.post("/calllists/<int:list_id>/status")
def set_status(list_id: int):
    call_list, form = get_lead_call_list(list_id), StatusForm()
    if form.validate_on_submit():
        try:
            phonebank.set_status(db(), call_list, form.status.data, open_to_all=form.opening())
        except phonebank.CallingError as exc:
            form.refuse(exc)
    if form.has_errors:
        flash_errors(form)
        return _list_anchor(call_list)
    audit.record(db(), current_user, f"calllist.{form.status.data}", object_type="call_list", object_id=call_list.id)
    db().commit()
    return _list_anchor(call_list)


@bp.post("/calllists/<int:list_id>/assign")
def assign(list_id: int):
    call_list, form = get_lead_call_list(list_id), CallerForm()
    form.user_id.choices = [SelectChoice(v.id, v.display_name) for v in accounts.volunteers(db())]
    if not form.validate_on_submit():
        flash_errors(form)
        return _list_anchor(call_list)
    user = db().get(User, form.user_id.data)
    if form.remove.data:
        phonebank.unassign(db(), call_list, user)
    else:
        phonebank.assign(db(), call_list, user)
    db().commit()
    flash(_("%(name)s no longer calls from %(list)s.", name=user.display_name, list=call_list.name) if form.remove.data
          else _("%(name)s calls from %(list)s.", name=user.display_name, list=call_list.name), "ok")
    return _list_anchor(call_list)


# ------------------------------------------------------------------------------------------------------------------
# The caller's screen


def _tz() -> str:
    return current_app.config["TIMEZONE"]


@bp.get("/call/<int:list_id>")
def caller(list_id: int):
    call_list = get_call_list(list_id)
    campaign = db().get(Campaign, call_list.campaign_id)
    if campaign.closed_at is not None:
        return render_template("canvassing/closed.html", turf=None, call_list=call_list, campaign=campaign)
    held = phonebank.current_claim(db(), call_list, current_user, now=now())
    context = {"call_list": call_list, "campaign": campaign, "claim": held,
               "progress": phonebank.progress(db(), call_list), "hours": _hours_view(campaign)}
    if held is not None:
        language = page_language()
        context.update(
            uuid=uuid.uuid4(), **conversation.door_buttons(
                conversation.result_codes_for(db(), campaign, Channel.phone, language)),
            survey=conversation.survey_for(db(), campaign, language),
            script=conversation.script_for(db(), campaign, Channel.phone, language, held.person.language),
            followups=conversation.followup_tags(db(), campaign, language),
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
    call_list = get_call_list(list_id)
    if db().get(Campaign, call_list.campaign_id).closed_at is not None:
        return redirect(url_for("calling.caller", list_id=call_list.id))  # which says the campaign is closed
    return _claim_and_return(call_list)


@bp.post("/call/<int:list_id>/entry/<int:entry_id>/result")
def result(list_id: int, entry_id: int):
    call_list = get_call_list(list_id)
    campaign = db().get(Campaign, call_list.campaign_id)
    try:
        entry = phonebank.find_entry(db(), call_list, entry_id, current_user)
    except phonebank.CallingError as exc:
        flash(exc.in_language(_), "error")
        return redirect(url_for("calling.caller", list_id=call_list.id))
    call = CallbackForm()
    call.phone_id.choices = [SelectChoice(phone.id, phone.e164) for phone in phonebank.numbers_to_dial(db(), entry)]
    form = contact_form(conversation.survey_for(db(), campaign, page_language()),
                        conversation.followup_tags(db(), campaign, page_language()), entry.person_id)
    if not (call.validate_on_submit() & form.validate_on_submit()):
        flash_errors(call)
        flash_errors(form)
        return redirect(url_for("calling.caller", list_id=call_list.id))
    try:
        outcome = phonebank.record_call(db(), current_user, entry, form.contact(
            channel=Channel.phone, person_id=entry.person_id, phone_id=call.phone_id.data),
            callback_at=call.callback_time(ZoneInfo(_tz())), now=now())
    except (phonebank.CallingError, ValueError) as exc:
        db().rollback()
        flash(exc.in_language(_) if isinstance(exc, phonebank.CallingError) else
              _("That result could not be read. Tap it again."), "error")
        return redirect(url_for("calling.caller", list_id=call_list.id))
    if outcome.status == "rejected":
        db().rollback()
        flash(outcome.error_in(_), "error")
        return redirect(url_for("calling.caller", list_id=call_list.id))
    db().commit()
    flash(_("Saved."), "ok")
    return _claim_and_return(call_list)


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
