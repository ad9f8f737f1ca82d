"""Shifts and events on the web: the leads' list, set-up, roster with check-in, printed roster and CSV; the public
sign-up link; a volunteer's shifts with their calendar files, and checking in on their own phone."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime, format_time
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from canvass import accounts, audit, calendars, campaigns, maps, shifts, turfs
from canvass.models import LANGUAGE_NAMES, Campaign, ShiftEvent, ShiftSignup
from canvass.spreadsheets import csv_text
from canvass.web.background import now
from canvass.web.database import db
from canvass.web.forms import flash_errors
from canvass.web.forms.path import LeaderForm
from canvass.web.forms.shifts import NewcomerForm, ShiftForm, TapForm
from canvass.web.language import page_language
from canvass.web.lookups import (
    get_campaign,
    get_campaign_or_first,
    get_lead_shift,
    get_shift_by_code,
    get_user,
)
from canvass.web.templating import local_time, phone_display

bp = Blueprint("shifts", __name__)


def _timezone() -> str:
    return current_app.config["TIMEZONE"]


def _signup_url(shift: ShiftEvent) -> str:
    base = current_app.config["BASE_URL"].rstrip("/") or request.host_url.rstrip("/")
    return base + url_for("shifts.signup", shift_code=shift.signup_code)


def when(shift: ShiftEvent) -> str:
    """The shift's day and hours in the organization's time zone, in the reader's language."""
    return _("%(day)s, %(start)s to %(end)s", day=format_datetime(shift.starts_at, "EEEE d MMMM"),
             start=format_time(shift.starts_at, "short"), end=format_time(shift.ends_at, "short"))


# ------------------------------------------------------------------------------------------------------------------
# Leads


@bp.get("/shifts/")
def index():
    campaign = get_campaign_or_first(request.args.get("campaign", type=int))
    if campaign is None:
        flash(_("Create a campaign first."), "error")
        return redirect(url_for("campaigns.index"))
    return render_template("shifts/index.html", campaign=campaign, campaigns=campaigns.list_campaigns(db()),
                           upcoming=shifts.summaries(db(), campaign, now=now()),
                           past=shifts.summaries(db(), campaign, now=now(), past=True), when=when)


def _offer_turfs(form: ShiftForm, campaign: Campaign) -> ShiftForm:
    form.turf_ids.choices = [SelectChoice(row["id"], row["name"]) for row in turfs.turf_summaries(db(), campaign)
                             if row.get("status", "active") == "active"]
    return form


def _form_page(form: ShiftForm, campaign: Campaign, shift: ShiftEvent | None = None, status: int = 200):
    return render_template("shifts/edit.html", form=form, campaign=campaign, shift=shift,
                           timezone=_timezone()), status


def _saved(form: ShiftForm, action: str, save: Callable[[], ShiftEvent]) -> ShiftEvent | None:
    """The shift ``save`` wrote, once ``form`` is valid, audited as ``action`` and committed; None when the form is
    invalid or the shift refused (the reason is then on the form and nothing is kept)."""
    if not form.validate_on_submit():
        return None
    try:
        shift = save()
    except shifts.ShiftError as exc:
        db().rollback()
        form.refuse(exc)
        return None
    audit.record(db(), current_user, action, object_type="shift", object_id=shift.id)
    db().commit()
    return shift


@bp.route("/shifts/new", methods=["GET", "POST"])
def create():
    if request.method == "GET":
        campaign = get_campaign_or_first(request.args.get("campaign", type=int))
        if campaign is None:
            flash(_("Create a campaign first."), "error")
            return redirect(url_for("campaigns.index"))
        return _form_page(_offer_turfs(ShiftForm(formdata=None, data={"campaign_id": campaign.id}), campaign),
                          campaign)
    form = ShiftForm()
    raw = str(form.campaign_id.data or "")
    campaign = get_campaign(int(raw) if raw.isdigit() else None)
    _offer_turfs(form, campaign)
    shift = _saved(form, "shift.created",
                   lambda: shifts.create_shift(db(), campaign, form.shift_in(_timezone()), by=current_user))
    if shift is None:
        return _form_page(form, campaign, status=400)
    flash(_("%(shift)s is set up. Share its sign-up link.", shift=shift.title), "ok")
    return redirect(url_for("shifts.roster", shift_id=shift.id) + "#share")


@bp.route("/shifts/<int:shift_id>/edit", methods=["GET", "POST"])
def edit(shift_id: int):
    shift = get_lead_shift(shift_id)
    campaign = db().get(Campaign, shift.campaign_id)
    if request.method == "GET":
        form = ShiftForm.of(shift, _timezone(), shifts.shift_turf_ids(db(), shift))
        return _form_page(_offer_turfs(form, campaign), campaign, shift)
    form = _offer_turfs(ShiftForm(), campaign)
    if _saved(form, "shift.changed", lambda: shifts.update_shift(db(), shift, form.shift_in(_timezone()))) is None:
        return _form_page(form, campaign, shift, 400)
    flash(_("Changes saved."), "ok")
    return redirect(url_for("shifts.roster", shift_id=shift.id))


@bp.get("/shifts/<int:shift_id>")
def roster(shift_id: int):
    shift = get_lead_shift(shift_id)
    rows = shifts.roster(db(), shift)
    url = _signup_url(shift)
    return render_template("shifts/roster.html", shift=shift, rows=rows, when=when, signup_url=url,
                           qr=maps.qr_svg(url, box_size=6), turfs=shifts.shift_turfs(db(), shift),
                           needs=shifts.language_needs(shift.languages_needed,
                                                       [r.user.languages_spoken for r in rows]),
                           campaign=db().get(Campaign, shift.campaign_id), tap=TapForm(),
                           leader=LeaderForm(formdata=None))


@bp.post("/shifts/<int:shift_id>/check-in/<int:user_id>")
def check_in(shift_id: int, user_id: int):
    shift, user = get_lead_shift(shift_id), get_user(user_id)
    _checked_in(shift, user.display_name, lambda: shifts.check_in(db(), shift, user, by=current_user, now=now()))
    return redirect(url_for("shifts.roster", shift_id=shift.id) + f"#volunteer-{user.id}")


@bp.post("/shifts/<int:shift_id>/leader/<int:user_id>")
def set_leader(shift_id: int, user_id: int):
    """Marks a volunteer as the one leading the shift (or not): it counts on their path once they are checked in."""
    shift, user, form = get_lead_shift(shift_id), get_user(user_id), LeaderForm()
    if form.validate_on_submit():
        try:
            shifts.set_leader(db(), shift, user, form.leader.data)
        except shifts.ShiftError as exc:
            db().rollback()
            flash(exc.in_language(_), "error")
        else:
            audit.record(db(), current_user, "shift.leader_set", object_type="shift", object_id=shift.id,
                         volunteer=user.id, leader=form.leader.data)
            db().commit()
            flash(_("%(name)s leads this shift.", name=user.display_name) if form.leader.data else
                  _("%(name)s no longer leads this shift.", name=user.display_name), "ok")
    else:
        flash_errors(form)
    return redirect(url_for("shifts.roster", shift_id=shift.id) + f"#volunteer-{user.id}")


def _checked_in(shift: ShiftEvent, name: str, check_in: Callable[[], ShiftSignup]) -> ShiftSignup | None:
    """The sign-up ``check_in`` marked, once the tap is valid: audited, committed, and said with ``name`` and the
    turf handed out; None when the tap is invalid or refused (the reason is flashed and nothing is kept)."""
    if not TapForm().validate_on_submit():
        return None
    try:
        signup = check_in()
    except (shifts.ShiftError, turfs.TurfError) as exc:
        db().rollback()
        flash(exc.in_language(_), "error")
        return None
    audit.record(db(), current_user, "shift.checked_in", object_type="shift", object_id=shift.id,
                 volunteer=signup.user_id, turf=signup.turf_id)
    db().commit()
    flash(_checked_in_message(name, signup), "ok")
    return signup


def _checked_in_message(name: str, signup) -> str:
    turf = shifts.turf_of(db(), signup)
    if turf is None:
        return _("%(name)s is checked in.", name=name)
    return _("%(name)s is checked in and has %(turf)s.", name=name, turf=turf.name)


def _roster_table(shift: ShiftEvent) -> tuple[list[str], list[list[str]]]:
    header = [_("Name"), _("Phone"), _("Email"), _("Languages"), _("Signed up"), _("Checked in"), _("Turf")]
    rows = [[r.user.display_name, phone_display(r.user.phone), r.user.email,
             ", ".join(LANGUAGE_NAMES.get(c, c) for c in r.user.languages_spoken or []),
             format_datetime(r.signup.signed_up_at, "short"),
             format_datetime(r.signup.checked_in_at, "short") if r.signup.checked_in_at else "",
             r.turf_name] for r in shifts.roster(db(), shift)]
    return header, rows


@bp.get("/shifts/<int:shift_id>/print")
def print_roster(shift_id: int):
    shift = get_lead_shift(shift_id)
    header, rows = _roster_table(shift)
    return render_template("shifts/print.html", shift=shift, when=when, header=header, rows=rows,
                           campaign=db().get(Campaign, shift.campaign_id))


@bp.get("/shifts/<int:shift_id>/roster.csv")
def roster_csv(shift_id: int):
    shift = get_lead_shift(shift_id)
    header, rows = _roster_table(shift)
    stamp = local_time(shift.starts_at).strftime("%Y%m%d")
    return Response("\ufeff" + csv_text(header, rows), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="roster-{shift.id}-{stamp}.csv"'})


# ------------------------------------------------------------------------------------------------------------------
# Volunteers: signing up from the link, calendar files, checking in


@bp.route("/s/<shift_code>", methods=["GET", "POST"])
def signup(shift_code: str):
    """The page a shift's link or QR code opens: one tap for someone signed in, a short form for a first-timer.
    It shows the shift and how many are coming, never who."""
    shift = get_shift_by_code(shift_code)
    if current_user.is_authenticated:
        return _sign_up_member(shift)
    form = NewcomerForm()
    if request.method == "GET":
        return _signup_page(shift, NewcomerForm(formdata=None, data={"languages": [page_language()]}))
    if not form.validate_on_submit() or form.website.data:
        return _signup_page(shift, form, 400)
    try:
        signup, token = shifts.sign_up_newcomer(
            db(), shift, name=form.name.data, phone=form.phone.data, email=form.email.data,
            languages=form.languages.data or [], language=page_language(), remote_addr=request.remote_addr or "",
            now=now(), invite_hours=current_app.config["INVITE_HOURS"])
    except shifts.SignupThrottled as exc:
        db().rollback()
        form.refuse(exc)
        return _signup_page(shift, form, 429)
    except (shifts.ShiftError, accounts.AccountError) as exc:
        db().commit()  # the try counts
        form.refuse(exc)
        return _signup_page(shift, form, 400)
    audit.record(db(), None, "shift.signed_up_new", object_type="shift", object_id=shift.id, volunteer=signup.user_id)
    db().commit()
    flash(_("You're signed up for %(shift)s. Choose a password to see your shifts and check in.", shift=shift.title),
          "ok")
    return redirect(url_for("auth.accept_invite", token=token.token))


def _sign_up_member(shift: ShiftEvent):
    signed_up = shifts.signup_of(db(), shift, current_user)
    if request.method == "GET":
        return _signup_page(shift, None, signed_up=signed_up)
    if not TapForm().validate_on_submit():
        return _signup_page(shift, None, 400, signed_up=signed_up)
    try:
        shifts.sign_up(db(), shift, current_user, now=now())
    except shifts.ShiftError as exc:
        db().rollback()
        flash(exc.in_language(_), "error")
        return redirect(url_for("shifts.signup", shift_code=shift.signup_code))
    audit.record(db(), current_user, "shift.signed_up", object_type="shift", object_id=shift.id)
    db().commit()
    flash(_("You're signed up for %(shift)s.", shift=shift.title), "ok")
    return redirect(url_for("shifts.mine") + f"#shift-{shift.id}")


def _signup_page(shift: ShiftEvent, form: NewcomerForm | None, status: int = 200, *, signed_up=None):
    summary = shifts.summary(db(), shift)
    return render_template("shifts/signup.html", shift=shift, form=form, when=when, signed_up=signed_up,
                           summary=summary, over=shift.ends_at <= now(), tap=TapForm()), status


def _calendar_response(events: list[calendars.CalendarEvent], name: str, filename: str) -> Response:
    text = calendars.calendar(events, name=name, now=now())
    return Response(text, mimetype="text/calendar", headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})


def _event(shift: ShiftEvent) -> calendars.CalendarEvent:
    url = _signup_url(shift)
    description = "\n".join(part for part in (when(shift), shift.directions, url) if part)
    return shifts.calendar_event(shift, url=url, description=description, host=urlsplit(url).hostname or "")


@bp.get("/s/<shift_code>/shift.ics")
def calendar(shift_code: str):
    shift = get_shift_by_code(shift_code)
    return _calendar_response([_event(shift)], shift.title, f"shift-{shift.id}.ics")


@bp.post("/s/<shift_code>/check-in")
def check_in_myself(shift_code: str):
    shift = get_shift_by_code(shift_code)
    signup = _checked_in(shift, current_user.display_name,
                         lambda: shifts.check_in_myself(db(), shift, current_user, now=now()))
    if signup is not None and signup.turf_id:
        return redirect(url_for("canvassing.walk", turf_id=signup.turf_id))
    return redirect(url_for("shifts.mine") + f"#shift-{shift.id}")


@bp.get("/my/shifts")
def mine():
    return render_template("shifts/mine.html", rows=shifts.my_shifts(db(), current_user, now=now()), when=when,
                           tap=TapForm(), now=now())


@bp.get("/my/shifts.ics")
def my_calendar():
    rows = shifts.my_shifts(db(), current_user, now=now())
    return _calendar_response([_event(row.shift) for row in rows], _("My shifts"), "my-shifts.ics")
