"""Turf on the web: the leads' board (cut, assign, edit), a turf's map and list, paper lists, joining by code."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from canvass import access, accounts, audit, campaigns, contacts, maps, turfs, walk_lists
from canvass.models import AssignmentStatus, Campaign, Channel, Turf, User
from canvass.universe import Universe, UniverseError, universe_counts
from canvass.web.background import start_job
from canvass.web.database import db
from canvass.web.forms import Form, flash_errors
from canvass.web.forms.turfs import (
    ApprovalForm,
    AssignForm,
    CutForm,
    MergeForm,
    MoveForm,
    RenameForm,
    ReturnForm,
    paper_entry_form,
)
from canvass.web.forms.universe import UniverseForm, counting_form
from canvass.web.lookups import get_campaign, get_campaign_or_first, get_lead_turf, get_my_turf, get_user
from canvass.web.security import safe_next

bp = Blueprint("turfs", __name__)


@bp.get("/turfs/")
def board():
    campaign = get_campaign_or_first(request.args.get("campaign", type=int))
    if campaign is None:
        flash(_("Create a campaign first."), "error")
        return redirect(url_for("campaigns.index"))
    filters = counting_form(request.args, campaigns.campaign_tags(db(), campaign.id))
    return _board_page(campaign, filters, CutForm(formdata=None, data=filters.data))


def _board_page(campaign: Campaign, filters: UniverseForm, cut: CutForm, status: int = 200):
    """The board: the counting form (``filters``, checked), the doors it takes, the cut form and the turfs."""
    universe = Universe()
    if not filters.filters_invalid:
        try:
            universe = filters.universe()
        except UniverseError as exc:
            filters.refuse(exc)
    return render_template("turfs/board.html", campaign=campaign, campaigns=campaigns.list_campaigns(db()),
                           rows=turfs.board(db(), campaign), counts=universe_counts(db(), campaign, universe),
                           volunteers=accounts.volunteers(db()), filters=filters, cut=cut), status


@bp.post("/turfs/cut")
def cut():
    form = CutForm()
    campaign = get_campaign(form.campaign_id.data)
    form.offer_tags(campaigns.campaign_tags(db(), campaign.id))
    if form.validate_on_submit():
        try:
            created = turfs.cut_turfs(db(), campaign, form.universe(), by=form.by.data, target=form.doors.data,
                                      user=current_user)
        except (UniverseError, turfs.TurfError) as exc:
            db().rollback()
            form.refuse(exc)
        else:
            audit.record(db(), current_user, "turf.cut", object_type="campaign", object_id=campaign.id,
                         turfs=len(created), by=form.by.data, doors=form.doors.data)
            start_job("route", walk_lists.route_new_turfs, created, campaign_id=campaign.id)  # commits the cut
            flash(_("Cut %(n)s turfs.", n=len(created)), "ok")
            return redirect(url_for("turfs.board", campaign=campaign.id) + "#turfs")
    return _board_page(campaign, form, form, 400)


@bp.get("/turfs/<int:turf_id>")
def show(turf_id: int):
    return _show_page(get_my_turf(turf_id))


def _show_page(turf: Turf, sent: Form | None = None):
    """A turf's map and doors, and for leads its editing forms (``sent``, one that failed, in its place: 400)."""
    doors = walk_lists.turf_doors(db(), turf)
    svg = maps.turf_svg(doors, title=_("Map of %(name)s", name=turf.name), status_words={
        "todo": _("not knocked yet"), "attempted": _("knocked"), "contacted": _("talked")})
    unplaced = [d for d in doors if d.household.lat is None or d.household.lon is None]
    context = {"turf": turf, "doors": doors, "svg": svg, "unplaced": unplaced,
               "campaign": db().get(Campaign, turf.campaign_id)}
    if current_user.role in access.LEADS:
        context.update(_lead_context(turf, doors, sent))
    return render_template("turfs/show.html", **context), 200 if sent is None else 400


def _lead_context(turf: Turf, doors, sent: Form | None) -> dict:
    detail = turfs.turf_detail(db(), turf)
    join_url = url_for("turfs.join", code=turf.join_code, _external=True)
    forms = {"rename": RenameForm(formdata=None, name=turf.name), "merge": MergeForm(formdata=None),
             "move": MoveForm(formdata=None), "assign": AssignForm(formdata=None)}
    forms.update({name: sent for name, form in forms.items() if type(form) is type(sent)})
    _offer(forms, detail, doors)
    return {"assigned": detail.assigned, "languages": detail.languages, "other_turfs": detail.other_turfs,
            "join_url": join_url, "join_qr": maps.qr_svg(join_url, box_size=6), "forms": forms}


def _offer(forms: dict, detail: turfs.TurfDetail, doors) -> None:
    """What the lead may pick on a turf's page: its own doors, the campaign's other turfs, the volunteers."""
    others = [SelectChoice(t.id, t.name) for t in detail.other_turfs]
    forms["merge"].other.choices = others
    forms["move"].target.choices = others
    forms["move"].doors.choices = _doors(doors)
    speakers, everyone = _("Speak the languages here"), _("All volunteers")
    forms["assign"].user_id.choices = [
        *(SelectChoice(v.id, f"{v.display_name} ({', '.join(v.languages_spoken or []).upper()})", optgroup=speakers)
          for v in detail.suggested),
        *(SelectChoice(v.id, v.display_name, optgroup=everyone) for v in detail.volunteers)]


def _doors(doors) -> list[SelectChoice]:
    return [SelectChoice(d.household.id, d.household.address) for d in doors]


def _back(turf: Turf, anchor: str = ""):
    return redirect(url_for("turfs.show", turf_id=turf.id) + anchor)


@bp.post("/turfs/<int:turf_id>/rename")
def rename(turf_id: int):
    turf, form = get_lead_turf(turf_id), RenameForm()
    if form.validate_on_submit():
        try:
            turfs.rename_turf(db(), turf, form.name.data)
        except turfs.TurfError as exc:
            db().rollback()
            form.refuse(exc)
        else:
            db().commit()
            flash(_("Renamed."), "ok")
            return _back(turf, "#edit")
    return _show_page(turf, form)


@bp.post("/turfs/<int:turf_id>/split")
def split(turf_id: int):
    turf = get_lead_turf(turf_id)
    try:
        new = turfs.split_turf(db(), turf)
    except turfs.TurfError as exc:
        flash(exc.in_language(_), "error")
        return _back(turf)
    audit.record(db(), current_user, "turf.split", object_type="turf", object_id=turf.id, new_turf=new.id)
    db().commit()
    flash(_("Split: the other half is %(name)s.", name=new.name), "ok")
    return _back(turf)


@bp.post("/turfs/<int:turf_id>/merge")
def merge(turf_id: int):
    turf, form = get_lead_turf(turf_id), MergeForm()
    form.other.choices = _other_turfs(turf)
    if form.validate_on_submit():
        other = db().get(Turf, form.other.data)
        try:
            turfs.merge_turfs(db(), turf, [other])
        except turfs.TurfError as exc:
            db().rollback()
            form.refuse(exc)
        else:
            audit.record(db(), current_user, "turf.merged", object_type="turf", object_id=turf.id, merged=other.id)
            db().commit()
            flash(_("Merged."), "ok")
            return _back(turf)
    return _show_page(turf, form)


def _other_turfs(turf: Turf) -> list[SelectChoice]:
    return [SelectChoice(t.id, t.name) for t in turfs.turf_detail(db(), turf).other_turfs]


@bp.post("/turfs/<int:turf_id>/move")
def move(turf_id: int):
    turf, form = get_lead_turf(turf_id), MoveForm()
    form.target.choices = _other_turfs(turf)
    form.doors.choices = _doors(walk_lists.turf_doors(db(), turf))
    if form.validate_on_submit():
        target = db().get(Turf, form.target.data)
        try:
            moved = turfs.move_doors(db(), form.doors.data, target, campaign_id=turf.campaign_id)
        except turfs.TurfError as exc:
            db().rollback()
            form.refuse(exc)
        else:
            db().commit()
            flash(_("Moved %(n)s doors to %(name)s.", n=moved, name=target.name), "ok")
            return _back(turf, "#doors")
    return _show_page(turf, form)


@bp.post("/turfs/<int:turf_id>/delete")
def delete(turf_id: int):
    turf = get_lead_turf(turf_id)
    campaign_id = turf.campaign_id
    audit.record(db(), current_user, "turf.deleted", object_type="turf", object_id=turf.id)
    turfs.delete_turf(db(), turf)
    db().commit()
    flash(_("Turf deleted; its doors are back in the pool and its contacts are kept."), "ok")
    return redirect(url_for("turfs.board", campaign=campaign_id))


@bp.post("/turfs/<int:turf_id>/assign")
def assign(turf_id: int):
    """From the turf's page (errors shown there) or a row of the board (``next``: errors as a message)."""
    turf, form = get_lead_turf(turf_id), AssignForm()
    form.user_id.choices = [SelectChoice(v.id, v.display_name) for v in accounts.volunteers(db())]
    if form.validate_on_submit():
        user = db().get(User, form.user_id.data) or abort(404)
        turfs.assign_turf(db(), turf, user, by=current_user)
        audit.record(db(), current_user, "turf.assigned", object_type="turf", object_id=turf.id, volunteer=user.id)
        db().commit()
        flash(_("%(name)s now has %(turf)s.", name=user.display_name, turf=turf.name), "ok")
    elif form.next.data:
        flash_errors(form)
    else:
        return _show_page(turf, form)
    return redirect(safe_next(form.next.data) or url_for("turfs.show", turf_id=turf.id))


@bp.post("/turfs/<int:turf_id>/unassign/<int:user_id>")
def unassign(turf_id: int, user_id: int):
    turf, user, form = get_lead_turf(turf_id), get_user(user_id), ReturnForm()
    turfs.unassign_turf(db(), turf, user)
    audit.record(db(), current_user, "turf.unassigned", object_type="turf", object_id=turf.id, volunteer=user.id)
    db().commit()
    flash(_("%(name)s no longer has %(turf)s.", name=user.display_name, turf=turf.name), "ok")
    return redirect(safe_next(form.next.data) or url_for("turfs.show", turf_id=turf.id))


@bp.post("/turfs/<int:turf_id>/approve/<int:user_id>")
def approve(turf_id: int, user_id: int):
    turf, user, form = get_lead_turf(turf_id), get_user(user_id), ReturnForm()
    turfs.assign_turf(db(), turf, user, by=current_user)
    db().commit()
    flash(_("%(name)s can start %(turf)s.", name=user.display_name, turf=turf.name), "ok")
    return redirect(safe_next(form.next.data) or url_for("turfs.show", turf_id=turf.id))


@bp.post("/turfs/<int:turf_id>/approval")
def approval(turf_id: int):
    turf, form = get_lead_turf(turf_id), ApprovalForm()
    turfs.set_join_approval(turf, form.required.data)
    db().commit()
    flash(_("A lead approves each volunteer who joins.") if form.required.data else
          _("Anyone who scans it gets the turf."), "ok")
    return _back(turf, "#join")


# ------------------------------------------------------------------------------------------------------------------
# Paper: a printable list with QR codes, and fast entry of the results afterwards


@bp.get("/turfs/<int:turf_id>/print")
def print_list(turf_id: int):
    turf = get_my_turf(turf_id)
    doors = walk_lists.turf_doors(db(), turf)
    base = current_app.config["BASE_URL"].rstrip("/") or request.host_url.rstrip("/")
    qr = {person.id: maps.qr_svg(base + url_for("canvassing.door", turf_id=turf.id, household_id=door.household.id,
                                                 person=person.id))
          for door in doors for person in door.open_people}
    return render_template("turfs/print.html", turf=turf, doors=doors, qr=qr, campaign=db().get(Campaign,
                                                                                                 turf.campaign_id),
                           codes=contacts.result_codes(db(), turf.campaign_id, Channel.door),
                           survey=campaigns.active_survey(db(), turf.campaign_id))


@bp.route("/turfs/<int:turf_id>/entry", methods=["GET", "POST"])
def entry(turf_id: int):
    turf = get_my_turf(turf_id)
    campaign = db().get(Campaign, turf.campaign_id)
    doors = walk_lists.turf_doors(db(), turf)
    entry_form = paper_entry_form(doors, campaigns.active_survey(db(), campaign.id),
                                  contacts.result_codes(db(), campaign.id, Channel.door))
    if request.method == "GET":
        return render_template("turfs/entry.html", turf=turf, doors=doors, form=entry_form(formdata=None).fresh())
    form = entry_form()
    if not form.validate_on_submit():
        return render_template("turfs/entry.html", turf=turf, doors=doors, form=form), 400
    results = contacts.log_contacts(db(), current_user, campaign, form.contacts(doors, turf.id), on_turfs={turf.id})
    db().commit()
    flash(_("%(n)s results saved.", n=sum(r.status == "created" for r in results)), "ok")
    for message in [r.error_in(_) for r in results if r.status == "rejected"][:5]:
        flash(message, "error")
    return redirect(url_for("turfs.entry", turf_id=turf.id))


# ------------------------------------------------------------------------------------------------------------------
# Joining by code at the staging location


@bp.route("/join/<code>", methods=["GET", "POST"])
def join(code: str):
    """The page a turf's QR code opens. Showing it looks nothing up, so it tells nobody whether a code exists; the
    POST does, and counts the codes that matched nothing (see ``turfs.join_by_code``)."""
    if request.method == "GET":
        return render_template("turfs/join.html", code=turfs.plain_code(code))
    try:
        turf, assignment = turfs.join_by_code(db(), code, current_user)
    except turfs.JoinThrottled as exc:
        return render_template("turfs/join.html", code=turfs.plain_code(code), error=exc.in_language(_)), 429
    except turfs.TurfError as exc:
        db().commit()  # the failed attempt counts
        return render_template("turfs/join.html", code=turfs.plain_code(code), error=exc.in_language(_)), 404
    audit.record(db(), current_user, "turf.joined", object_type="turf", object_id=turf.id, status=assignment.status)
    db().commit()
    if assignment.status == AssignmentStatus.pending:
        flash(_("Asked to join %(turf)s: a field lead will approve it.", turf=turf.name), "ok")
        return redirect(url_for("home.volunteer"))
    flash(_("%(turf)s is yours. Good canvassing!", turf=turf.name), "ok")
    return redirect(url_for("canvassing.walk", turf_id=turf.id))
