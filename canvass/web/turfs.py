"""Turf on the web: the leads' board (cut, assign, edit), a turf's map and list, paper lists, joining by code."""

from __future__ import annotations

import uuid

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from canvass import access, accounts, audit, campaigns, contacts, maps, turfs, walk_lists
from canvass.models import AssignmentStatus, Campaign, Channel, Turf, User
from canvass.universe import Universe, UniverseError, universe_counts
from canvass.web.background import start_job
from canvass.web.database import db
from canvass.web.lookups import (
    chosen_object,
    form_object,
    get_campaign_or_first,
    get_lead_turf,
    get_my_turf,
    get_user,
)
from canvass.web.security import safe_next
from canvass.web.universe import universe_from

bp = Blueprint("turfs", __name__)


@bp.get("/turfs/")
def board():
    campaign = get_campaign_or_first(request.args.get("campaign", type=int))
    if campaign is None:
        flash(_("Create a campaign first."), "error")
        return redirect(url_for("campaigns.index"))
    try:
        universe = universe_from(request.args)
    except UniverseError as exc:
        flash(exc.in_language(_), "error")
        universe = Universe()
    return render_template("turfs/board.html", campaign=campaign, campaigns=campaigns.list_campaigns(db()),
                           rows=turfs.board(db(), campaign), counts=universe_counts(db(), campaign, universe),
                           volunteers=accounts.volunteers(db()), filters=request.args,
                           tags=campaigns.campaign_tags(db(), campaign.id), methods=turfs.METHODS)


@bp.post("/turfs/cut")
def cut():
    campaign = form_object(Campaign, "campaign_id")
    target = request.form.get("doors", type=int) or 0
    try:
        universe = universe_from(request.form)
        created = turfs.cut_turfs(db(), campaign, universe, by=request.form.get("by", "geo"), target=target,
                                  user=current_user)
    except (UniverseError, turfs.TurfError) as exc:
        db().rollback()
        flash(exc.in_language(_), "error")
        return redirect(url_for("turfs.board", campaign=campaign.id))
    audit.record(db(), current_user, "turf.cut", object_type="campaign", object_id=campaign.id,
                 turfs=len(created), by=request.form.get("by"), doors=target)
    start_job("route", walk_lists.route_new_turfs, created, campaign_id=campaign.id)  # commits the cut
    flash(_("Cut %(n)s turfs.", n=len(created)), "ok")
    return redirect(url_for("turfs.board", campaign=campaign.id) + "#turfs")


@bp.get("/turfs/<int:turf_id>")
def show(turf_id: int):
    turf = get_my_turf(turf_id)
    doors = walk_lists.turf_doors(db(), turf)
    svg = maps.turf_svg(doors, title=_("Map of %(name)s", name=turf.name), status_words={
        "todo": _("not knocked yet"), "attempted": _("knocked"), "contacted": _("talked")})
    unplaced = [d for d in doors if d.household.lat is None or d.household.lon is None]
    context = {"turf": turf, "doors": doors, "svg": svg, "unplaced": unplaced,
               "campaign": db().get(Campaign, turf.campaign_id)}
    if current_user.role in access.LEADS:
        context.update(_lead_context(turf))
    return render_template("turfs/show.html", **context)


def _lead_context(turf: Turf) -> dict:
    detail = turfs.turf_detail(db(), turf)
    join_url = url_for("turfs.join", code=turf.join_code, _external=True)
    return {"assigned": detail.assigned, "languages": detail.languages, "other_turfs": detail.other_turfs,
            "volunteers": detail.volunteers, "suggested": detail.suggested, "join_url": join_url,
            "join_qr": maps.qr_svg(join_url, box_size=6)}


def _back(turf: Turf, anchor: str = ""):
    return redirect(url_for("turfs.show", turf_id=turf.id) + anchor)


@bp.post("/turfs/<int:turf_id>/rename")
def rename(turf_id: int):
    turf = get_lead_turf(turf_id)
    try:
        turfs.rename_turf(db(), turf, request.form.get("name", ""))
    except turfs.TurfError as exc:
        flash(exc.in_language(_), "error")
        return _back(turf)
    db().commit()
    flash(_("Renamed."), "ok")
    return _back(turf)


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
    turf = get_lead_turf(turf_id)
    other = chosen_object(Turf, "other")
    try:
        turfs.merge_turfs(db(), turf, [other])
    except turfs.TurfError as exc:
        db().rollback()
        flash(exc.in_language(_), "error")
        return _back(turf)
    audit.record(db(), current_user, "turf.merged", object_type="turf", object_id=turf.id, merged=other.id)
    db().commit()
    flash(_("Merged."), "ok")
    return _back(turf)


@bp.post("/turfs/<int:turf_id>/move")
def move(turf_id: int):
    turf = get_lead_turf(turf_id)
    target = chosen_object(Turf, "target")
    doors = [int(d) for d in request.form.getlist("doors") if d.isdigit()]
    try:
        moved = turfs.move_doors(db(), doors, target, campaign_id=turf.campaign_id)
    except turfs.TurfError as exc:
        flash(exc.in_language(_), "error")
        return _back(turf, "#doors")
    db().commit()
    flash(_("Moved %(n)s doors to %(name)s.", n=moved, name=target.name), "ok")
    return _back(turf, "#doors")


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
    turf = get_lead_turf(turf_id)
    user = chosen_object(User, "user_id")
    if user is None:
        flash(_("Choose a volunteer."), "error")
    else:
        turfs.assign_turf(db(), turf, user, by=current_user)
        audit.record(db(), current_user, "turf.assigned", object_type="turf", object_id=turf.id, volunteer=user.id)
        db().commit()
        flash(_("%(name)s now has %(turf)s.", name=user.display_name, turf=turf.name), "ok")
    return redirect(safe_next(request.form.get("next")) or url_for("turfs.show", turf_id=turf.id))


@bp.post("/turfs/<int:turf_id>/unassign/<int:user_id>")
def unassign(turf_id: int, user_id: int):
    turf = get_lead_turf(turf_id)
    user = get_user(user_id)
    turfs.unassign_turf(db(), turf, user)
    audit.record(db(), current_user, "turf.unassigned", object_type="turf", object_id=turf.id, volunteer=user.id)
    db().commit()
    flash(_("%(name)s no longer has %(turf)s.", name=user.display_name, turf=turf.name), "ok")
    return redirect(safe_next(request.form.get("next")) or url_for("turfs.show", turf_id=turf.id))


@bp.post("/turfs/<int:turf_id>/approve/<int:user_id>")
def approve(turf_id: int, user_id: int):
    turf = get_lead_turf(turf_id)
    user = get_user(user_id)
    turfs.assign_turf(db(), turf, user, by=current_user)
    db().commit()
    flash(_("%(name)s can start %(turf)s.", name=user.display_name, turf=turf.name), "ok")
    return redirect(safe_next(request.form.get("next")) or url_for("turfs.show", turf_id=turf.id))


@bp.post("/turfs/<int:turf_id>/approval")
def approval(turf_id: int):
    turf = get_lead_turf(turf_id)
    turfs.set_join_approval(turf, request.form.get("required") == "1")
    db().commit()
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
          for door in doors for person in door.people}
    return render_template("turfs/print.html", turf=turf, doors=doors, qr=qr, campaign=db().get(Campaign,
                                                                                                 turf.campaign_id),
                           codes=contacts.result_codes(db(), turf.campaign_id, Channel.door),
                           survey=campaigns.active_survey(db(), turf.campaign_id))


@bp.route("/turfs/<int:turf_id>/entry", methods=["GET", "POST"])
def entry(turf_id: int):
    turf = get_my_turf(turf_id)
    campaign = db().get(Campaign, turf.campaign_id)
    doors = walk_lists.turf_doors(db(), turf)
    survey = campaigns.active_survey(db(), campaign.id)
    if request.method == "POST":
        items = _entry_items(turf, doors, survey)
        results = contacts.log_contacts(db(), current_user, campaign, items, on_turfs={turf.id})
        db().commit()
        created = sum(r.status == "created" for r in results)
        rejected = [r.error_in(_) for r in results if r.status == "rejected"]
        flash(_("%(n)s results saved.", n=created), "ok")
        for message in rejected[:5]:
            flash(message, "error")
        return redirect(url_for("turfs.entry", turf_id=turf.id))
    return render_template("turfs/entry.html", turf=turf, doors=doors, survey=survey,
                           codes=contacts.result_codes(db(), campaign.id, Channel.door), new_uuid=uuid.uuid4)


def _entry_items(turf: Turf, doors, survey) -> list[contacts.ContactIn]:
    """One contact per person whose result was filled in; the page's UUIDs make a re-sent form store nothing twice."""
    items = []
    for door in doors:
        for person in door.people:
            code = request.form.get(f"result-{person.id}", "").strip()
            if not code:
                continue
            answers = {q.code: request.form.get(f"answer-{person.id}-{q.id}", "") for q, _options in survey}
            items.append(contacts.ContactIn(
                client_uuid=request.form.get(f"uuid-{person.id}") or uuid.uuid4(), person_id=person.id,
                household_id=door.household.id, turf_id=turf.id, channel=Channel.door, result_code=code,
                answers={k: v for k, v in answers.items() if v}, notes=request.form.get(f"notes-{person.id}", "")))
    return items


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
