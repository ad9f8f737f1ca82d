"""Turf on the web: the leads' board (cut, assign, edit), a turf's map and list, paper lists, joining by code."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlmodel import select

from canvass import access, audit, contacts, maps, turfs
from canvass.models import (
    AssignmentStatus,
    Campaign,
    Channel,
    Role,
    SurveyOption,
    SurveyQuestion,
    Tag,
    Turf,
    TurfAssignment,
    TurfStatus,
    User,
)
from canvass.web.background import start_job
from canvass.web.database import db, form_object
from canvass.web.security import safe_next

bp = Blueprint("turfs", __name__)


def get_campaign_or_first(campaign_id: int | None) -> Campaign | None:
    if campaign_id:
        return db().get(Campaign, campaign_id) or abort(404)
    return db().exec(select(Campaign).where(Campaign.archived.is_(False)).order_by(Campaign.id)).first()


def get_my_turf(turf_id: int) -> Turf:
    """The turf if the current user may open it (a volunteer's own turf, or any turf for staff); otherwise 404."""
    turf = access.visible_turf(db(), turf_id, current_user)
    if turf is None:
        abort(404)
    return turf


def get_turf_to_work(turf_id: int) -> Turf:
    """The turf if the current user may log contacts on it: 404 when they may not even open it, 403 when they may
    look but not knock (data staff without the turf assigned)."""
    turf = get_my_turf(turf_id)
    if not access.works_turf(db(), turf, current_user):
        abort(403)
    return turf


def get_lead_turf(turf_id: int) -> Turf:
    turf = db().get(Turf, turf_id)
    if turf is None:
        abort(404)
    return turf


def _universe_from(form) -> turfs.Universe:
    custom = {}
    if form.get("custom_key", "").strip():
        custom[form["custom_key"].strip()] = form.get("custom_value", "").strip()
    return turfs.Universe.from_dict({
        "precincts": form.get("precincts", ""), "zips": form.get("zips", ""), "parties": form.get("parties", ""),
        "languages": form.getlist("languages") or form.get("language_list", ""), "min_age": form.get("min_age"),
        "max_age": form.get("max_age"), "tag_ids": form.getlist("tag_ids"), "custom": custom,
        "not_reached": form.get("not_reached") == "1"})


@bp.get("/turfs/")
def board():
    campaign = get_campaign_or_first(request.args.get("campaign", type=int))
    if campaign is None:
        flash(_("Create a campaign first."), "error")
        return redirect(url_for("campaigns.index"))
    try:
        universe = _universe_from(request.args)
    except turfs.TurfError as exc:
        flash(exc.in_language(_), "error")
        universe = turfs.Universe()
    counts = turfs.universe_counts(db(), campaign, universe)
    rows = turfs.board(db(), campaign)
    for row in rows:
        taken = {user.id for user, _status in row["assigned"]}
        row["suggested"] = turfs.suggest_volunteers(db(), row["languages"], taken)
    volunteers = db().exec(select(User).where(User.is_active.is_(True), User.role == Role.volunteer)
                           .order_by(User.name, User.email)).all()
    campaigns = db().exec(select(Campaign).where(Campaign.archived.is_(False)).order_by(Campaign.name)).all()
    tags = db().exec(select(Tag).where(Tag.campaign_id == campaign.id).order_by(Tag.name)).all()
    return render_template("turfs/board.html", campaign=campaign, campaigns=campaigns, rows=rows, counts=counts,
                           volunteers=volunteers, filters=request.args, tags=tags, methods=turfs.METHODS)


@bp.post("/turfs/cut")
def cut():
    campaign = form_object(Campaign, "campaign_id")
    target = request.form.get("doors", type=int) or 0
    try:
        universe = _universe_from(request.form)
        created = turfs.cut_turfs(db(), campaign, universe, by=request.form.get("by", "geo"), target=target,
                                  user=current_user)
    except turfs.TurfError as exc:
        db().rollback()
        flash(exc.in_language(_), "error")
        return redirect(url_for("turfs.board", campaign=campaign.id))
    audit.record(db(), current_user, "turf.cut", object_type="campaign", object_id=campaign.id,
                 turfs=len(created), by=request.form.get("by"), doors=target)
    start_job("route", turfs.route_new_turfs, created, campaign_id=campaign.id)  # commits the cut
    flash(_("Cut %(n)s turfs.", n=len(created)), "ok")
    return redirect(url_for("turfs.board", campaign=campaign.id) + "#turfs")


@bp.get("/turfs/<int:turf_id>")
def show(turf_id: int):
    turf = get_my_turf(turf_id)
    doors = turfs.turf_doors(db(), turf)
    svg = maps.turf_svg([maps.MapDoor(d.household.lat, d.household.lon, _door_label(d.household),
                                      "contacted" if d.contacted else ("attempted" if d.attempted else "todo"), i + 1,
                                      street=turfs.display_street(d.household.street),
                                      house_number=d.household.house_number_int)
                         for i, d in enumerate(doors)], title=_("Map of %(name)s", name=turf.name))
    unplaced = [d for d in doors if d.household.lat is None or d.household.lon is None]
    context = {"turf": turf, "doors": doors, "svg": svg, "unplaced": unplaced,
               "campaign": db().get(Campaign, turf.campaign_id)}
    if current_user.role in (Role.admin, Role.lead):
        context.update(_lead_context(turf))
    return render_template("turfs/show.html", **context)


def _door_label(household) -> str:
    return f"{household.address}{', ' + household.unit if household.unit else ''}"


def _lead_context(turf: Turf) -> dict:
    assigned = db().execute(select(TurfAssignment, User).join(User, User.id == TurfAssignment.user_id)
                            .where(TurfAssignment.turf_id == turf.id)).all()
    languages = turfs.turf_languages(db(), [turf.id])[turf.id]
    others = db().exec(select(Turf).where(Turf.campaign_id == turf.campaign_id, Turf.id != turf.id,
                                          Turf.status == TurfStatus.active).order_by(Turf.name)).all()
    volunteers = db().exec(select(User).where(User.is_active.is_(True), User.role == Role.volunteer)
                           .order_by(User.name, User.email)).all()
    join_url = url_for("turfs.join", code=turf.join_code, _external=True)
    return {"assigned": assigned, "languages": languages, "other_turfs": others, "volunteers": volunteers,
            "suggested": turfs.suggest_volunteers(db(), languages, {u.id for _a, u in assigned}),
            "join_url": join_url, "join_qr": maps.qr_svg(join_url, box_size=6)}


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
    other = db().get(Turf, request.form.get("other", type=int) or 0)
    if other is None or other.campaign_id != turf.campaign_id:
        flash(_("Choose a turf of the same campaign to merge."), "error")
        return _back(turf)
    turfs.merge_turfs(db(), turf, [other])
    audit.record(db(), current_user, "turf.merged", object_type="turf", object_id=turf.id, merged=other.id)
    db().commit()
    flash(_("Merged."), "ok")
    return _back(turf)


@bp.post("/turfs/<int:turf_id>/move")
def move(turf_id: int):
    turf = get_lead_turf(turf_id)
    target = db().get(Turf, request.form.get("target", type=int) or 0)
    doors = [int(d) for d in request.form.getlist("doors") if d.isdigit()]
    if target is None or target.campaign_id != turf.campaign_id or not doors:
        flash(_("Tick the doors to move and choose the turf they go to."), "error")
        return _back(turf, "#doors")
    moved = turfs.move_doors(db(), doors, target)
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
    user = db().get(User, request.form.get("user_id", type=int) or 0)
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
    user = db().get(User, user_id) or abort(404)
    turfs.unassign_turf(db(), turf, user)
    audit.record(db(), current_user, "turf.unassigned", object_type="turf", object_id=turf.id, volunteer=user.id)
    db().commit()
    flash(_("%(name)s no longer has %(turf)s.", name=user.display_name, turf=turf.name), "ok")
    return redirect(safe_next(request.form.get("next")) or url_for("turfs.show", turf_id=turf.id))


@bp.post("/turfs/<int:turf_id>/approve/<int:user_id>")
def approve(turf_id: int, user_id: int):
    turf = get_lead_turf(turf_id)
    user = db().get(User, user_id) or abort(404)
    turfs.assign_turf(db(), turf, user, by=current_user)
    db().commit()
    flash(_("%(name)s can start %(turf)s.", name=user.display_name, turf=turf.name), "ok")
    return redirect(safe_next(request.form.get("next")) or url_for("turfs.show", turf_id=turf.id))


@bp.post("/turfs/<int:turf_id>/approval")
def approval(turf_id: int):
    turf = get_lead_turf(turf_id)
    turf.join_requires_approval = request.form.get("required") == "1"
    db().add(turf)
    db().commit()
    return _back(turf, "#join")


# ------------------------------------------------------------------------------------------------------------------
# Paper: a printable list with QR codes, and fast entry of the results afterwards


def _survey(campaign_id: int):
    questions = db().exec(select(SurveyQuestion).where(SurveyQuestion.campaign_id == campaign_id,
                                                       SurveyQuestion.active.is_(True))
                          .order_by(SurveyQuestion.position)).all()
    options = db().exec(select(SurveyOption).where(SurveyOption.question_id.in_([q.id for q in questions]))
                        .order_by(SurveyOption.position)).all()
    return [(q, [o for o in options if o.question_id == q.id]) for q in questions]


@bp.get("/turfs/<int:turf_id>/print")
def print_list(turf_id: int):
    turf = get_my_turf(turf_id)
    doors = turfs.turf_doors(db(), turf)
    db().commit()
    base = current_app.config["BASE_URL"].rstrip("/") or request.host_url.rstrip("/")
    qr = {person.id: maps.qr_svg(base + url_for("canvassing.door", turf_id=turf.id, household_id=door.household.id,
                                                 person=person.id))
          for door in doors for person in door.people}
    return render_template("turfs/print.html", turf=turf, doors=doors, qr=qr, campaign=db().get(Campaign,
                                                                                                 turf.campaign_id),
                           codes=contacts.result_codes(db(), turf.campaign_id, Channel.door),
                           survey=_survey(turf.campaign_id))


@bp.route("/turfs/<int:turf_id>/entry", methods=["GET", "POST"])
def entry(turf_id: int):
    turf = get_my_turf(turf_id)
    campaign = db().get(Campaign, turf.campaign_id)
    doors = turfs.turf_doors(db(), turf)
    survey = _survey(campaign.id)
    if request.method == "POST":
        items = _entry_items(turf, doors, survey)
        allowed = {d.household.id for d in doors}
        results = contacts.log_contacts(db(), current_user, campaign, items,
                                        may_contact=lambda person, household: household is not None and
                                        household.id in allowed)
        db().commit()
        created = sum(r.status == "created" for r in results)
        rejected = [r.error_in(_) for r in results if r.status == "rejected"]
        flash(_("%(n)s results saved.", n=created), "ok")
        for message in rejected[:5]:
            flash(message, "error")
        return redirect(url_for("turfs.entry", turf_id=turf.id))
    db().commit()
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
