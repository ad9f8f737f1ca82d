"""The volunteer's door-to-door flow: walk list -> a door -> one tap per person -> next door. Works without JavaScript."""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from wtforms import SelectChoice

from canvass import audit, canvassing, contacts, conversation, opt_outs, walk_lists
from canvass.models import Campaign, Channel, ContactAttempt, Household, Turf
from canvass.web.database import db
from canvass.web.forms import flash_errors
from canvass.web.forms.contacts import (
    AddPersonForm,
    DoorOptOutForm,
    DoorPersonForm,
    NobodyHomeForm,
    contact_form,
    posted,
)
from canvass.web.language import page_language
from canvass.web.lookups import (
    get_my_door,
    get_my_door_place,
    get_my_turf,
    get_my_turf_and_campaign,
    get_turf_to_work,
)
from canvass.web.templating import in_language

bp = Blueprint("canvassing", __name__, url_prefix="/walk")


def _language() -> str:
    return page_language()


@bp.get("/<int:turf_id>")
def walk(turf_id: int):
    turf, campaign = get_my_turf_and_campaign(turf_id)
    if campaign.closed_at is not None:
        return _closed(turf, campaign)
    page = canvassing.walk_page(db(), current_user, turf, campaign, _language())
    query = request.args.get("q", "").strip().lower()
    shown = [v for v in page["doors"] if not query or query in _searchable(v)]
    return render_template("canvassing/walk.html", turf=turf, campaign=campaign, query=query, **{**page, "doors": shown})


def _searchable(view: dict) -> str:
    names = " ".join(f"{p['first_name']} {p['last_name']}" for p in view["people"])
    return f"{view['address']} {view['unit']} {names}".lower()


@bp.get("/<int:turf_id>/door/<int:household_id>")
def door(turf_id: int, household_id: int):
    turf, campaign = get_my_turf_and_campaign(turf_id)
    if campaign.closed_at is not None:
        return _closed(turf, campaign)
    return _render_door(turf, campaign, get_my_door_place(turf, household_id))


def _closed(turf: Turf, campaign: Campaign):
    """A closed campaign's turf: a plain sentence instead of its doors (a purged one has none left)."""
    return render_template("canvassing/closed.html", turf=turf, campaign=campaign)


def _render_door(turf: Turf, campaign: Campaign, place: walk_lists.DoorPlace, *, confirm: dict | None = None,
                 add_person: AddPersonForm | None = None):
    page = canvassing.door_page(db(), current_user, turf, campaign, place, _language())
    page["people"] = [{**person, "uuid": uuid.uuid4()} for person in page["people"]]
    return render_template(
        "canvassing/door.html", turf=turf, campaign=campaign, **page, confirm=confirm,
        door_uuids=[uuid.uuid4() for _p in page["open_people"]],
        highlight=request.args.get("person", type=int), add_person_fields=_add_person_fields(add_person),
        add_person_open=add_person is not None and add_person.has_errors), 200 if add_person is None else 400


def _add_person_fields(form: AddPersonForm | None) -> Markup:
    """The add-person form's fields: ``form``'s as sent, else blank, the same on every door page (WTForms draws
    them at the cost of a fifth of the page: once per process and language)."""
    if form is not None:
        return Markup(render_template("canvassing/_add_person_fields.html", add_person=form))
    return in_language("canvassing/_add_person_fields.html", lambda: {"add_person": AddPersonForm(formdata=None)})


def _last_entry(turf: Turf) -> ContactAttempt | None:
    return canvassing.last_entry(db(), current_user.id, turf.id)


@bp.post("/<int:turf_id>/door/<int:household_id>/log")
def log(turf_id: int, household_id: int):
    turf = get_turf_to_work(turf_id)
    household = get_my_door(turf, household_id)
    campaign = db().get(Campaign, turf.campaign_id)
    door = DoorPersonForm()
    door.person_id.choices = [SelectChoice(p.id, p.first_name) for p in walk_lists.open_people_at(db(), household)]
    form = contact_form(conversation.survey_for(db(), campaign, _language()),
                        conversation.followup_tags(db(), campaign, _language()), door.person_id.data)
    if not (door.validate_on_submit() & form.validate_on_submit()):
        flash_errors(door)
        flash_errors(form)
        return redirect(url_for("canvassing.door", turf_id=turf.id, household_id=household.id))
    code = form.result.data.strip().upper()
    rules = {c["code"]: c for c in conversation.result_codes_for(db(), campaign, Channel.door, _language())}
    if code in rules and rules[code]["confirm"] and not door.confirm.data:
        return _render_door(turf, campaign, get_my_door_place(turf, household.id), confirm={"person_id": door.person_id.data, "code": code,
                                                      "form": posted(door, form)})
    try:
        item = form.contact(channel=Channel.door, person_id=door.person_id.data, household_id=household.id,
                            turf_id=turf.id)
    except ValueError:
        flash(_("That result could not be read. Tap it again."), "error")
        return redirect(url_for("canvassing.door", turf_id=turf.id, household_id=household.id))
    [result] = contacts.log_contacts(db(), current_user, campaign, [item], on_turfs={turf.id})
    db().commit()
    if result.status == "rejected":
        flash(result.error_in(_), "error")
        return redirect(url_for("canvassing.door", turf_id=turf.id, household_id=household.id))
    return _after_logging(turf, household, door.person_id.data)  # the door page shows what was saved, with its Undo


def _after_logging(turf: Turf, household: Household, person_id: int | None):
    """Next person at this door if someone is left, else the next door not knocked yet."""
    people = [person.id for person in walk_lists.open_people_at(db(), household)]
    done = canvassing.last_results(db(), people)
    waiting = [pid for pid in people if pid not in done]
    if waiting:
        return redirect(url_for("canvassing.door", turf_id=turf.id, household_id=household.id) +
                        f"#person-{waiting[0]}")
    return redirect(url_for("canvassing.next_door", turf_id=turf.id))


@bp.post("/<int:turf_id>/door/<int:household_id>/nobody-home")
def nobody_home(turf_id: int, household_id: int):
    """One tap for the whole door: not home, moved, inaccessible... for everyone at it (or the door itself)."""
    turf = get_turf_to_work(turf_id)
    household = get_my_door(turf, household_id)
    campaign = db().get(Campaign, turf.campaign_id)
    form = NobodyHomeForm()
    if not form.validate_on_submit():
        flash_errors(form)
        return redirect(url_for("canvassing.door", turf_id=turf.id, household_id=household.id))
    uuids = [value for value in form.client_uuid.data or [] if value]
    try:
        results = canvassing.log_whole_door(db(), current_user, campaign, turf, household, form.result.data, uuids)
    except canvassing.CanvassError as exc:
        flash(exc.in_language(_), "error")
        return redirect(url_for("canvassing.door", turf_id=turf.id, household_id=household.id))
    db().commit()
    rejected = [r.error_in(_) for r in results if r.status == "rejected"]
    if rejected:
        flash(rejected[0], "error")
        return redirect(url_for("canvassing.door", turf_id=turf.id, household_id=household.id))
    label = conversation.result_labels(db(), campaign, _language()).get(form.result.data.strip().upper(), form.result.data)
    flash(_("Saved: %(door)s · %(result)s, for everyone at the door.", door=household.address, result=label), "ok")
    return redirect(url_for("canvassing.next_door", turf_id=turf.id))


@bp.get("/<int:turf_id>/next")
def next_door(turf_id: int):
    turf = get_my_turf(turf_id)
    doors = walk_lists.turf_doors(db(), turf)
    waiting = next((d for d in doors if not d.attempted and not d.all_closed), None)
    if waiting is None:
        flash(_("Every door of this turf has been knocked. Thank you!"), "ok")
        return redirect(url_for("canvassing.walk", turf_id=turf.id))
    return redirect(url_for("canvassing.door", turf_id=turf.id, household_id=waiting.household.id))


@bp.post("/<int:turf_id>/undo")
def undo(turf_id: int):
    turf = get_turf_to_work(turf_id)
    last = _last_entry(turf)
    if last is None:
        flash(_("Nothing to undo."), "error")
        return redirect(url_for("canvassing.walk", turf_id=turf.id))
    try:
        undone_entries = contacts.undo_entry(db(), current_user, last.id)
    except contacts.ContactRejected as exc:
        flash(exc.in_language(_), "error")
        return redirect(url_for("canvassing.walk", turf_id=turf.id))
    for each in undone_entries:
        audit.record(db(), current_user, "contact.undone", object_type="contact", object_id=each.id)
    db().commit()
    undone = canvassing.entry_view(db(), last, db().get(Campaign, turf.campaign_id), _language())
    flash(_("Undone: %(who)s · %(result)s. Enter it again.", who=undone["who"], result=undone["result"]), "ok")
    return redirect(url_for("canvassing.door", turf_id=turf.id, household_id=last.household_id) +
                    (f"#person-{last.person_id}" if last.person_id else ""))


@bp.post("/<int:turf_id>/door/<int:household_id>/opt-out")
def opt_out(turf_id: int, household_id: int):
    """Someone at the door asked not to be contacted (no result needed): on the list for every channel."""
    turf = get_turf_to_work(turf_id)
    household = get_my_door(turf, household_id)
    form = DoorOptOutForm()
    if not form.validate_on_submit():
        flash_errors(form)
        return redirect(url_for("canvassing.door", turf_id=turf.id, household_id=household.id))
    try:
        person = canvassing.opt_out_at_door(db(), current_user, turf, household, form.person_id.data)
    except (canvassing.CanvassError, opt_outs.OptOutError) as exc:
        db().rollback()
        flash(exc.in_language(_), "error")
        return redirect(url_for("canvassing.door", turf_id=turf.id, household_id=household.id))
    db().commit()
    flash(_("Saved: %(name)s asked not to be contacted. Nobody will be sent to them again.",
            name=f"{person.first_name} {person.last_name}".strip()), "ok")
    return redirect(url_for("canvassing.door", turf_id=turf.id, household_id=household.id) + f"#person-{person.id}")


@bp.post("/<int:turf_id>/door/<int:household_id>/person")
def add_person(turf_id: int, household_id: int):
    turf = get_turf_to_work(turf_id)
    household = get_my_door(turf, household_id)
    form = AddPersonForm()
    if form.validate_on_submit():
        try:
            person = canvassing.add_person_at_door(db(), current_user, turf, household,
                                                   first_name=form.first_name.data or "",
                                                   last_name=form.last_name.data or "",
                                                   language=form.language.data or "")
        except canvassing.CanvassError as exc:
            db().rollback()
            form.refuse(exc)
        else:
            audit.record(db(), current_user, "person.added_at_door", object_type="person", object_id=person.id)
            db().commit()
            flash(_("Added. Record what happened with them below."), "ok")
            return redirect(url_for("canvassing.door", turf_id=turf.id, household_id=household.id) +
                            f"#person-{person.id}")
    return _render_door(turf, db().get(Campaign, turf.campaign_id), get_my_door_place(turf, household.id),
                        add_person=form)


@bp.post("/<int:turf_id>/check-in")
def check_in(turf_id: int):
    turf = get_turf_to_work(turf_id)
    canvassing.check_in(db(), current_user, turf)
    db().commit()
    flash(_("Checked in. Stay safe, and check out when you are done."), "ok")
    return redirect(url_for("canvassing.walk", turf_id=turf.id))


@bp.post("/<int:turf_id>/check-out")
def check_out(turf_id: int):
    turf = get_turf_to_work(turf_id)
    canvassing.check_out(db(), current_user, turf)
    db().commit()
    flash(_("Checked out. Thank you!"), "ok")
    return redirect(url_for("home.volunteer"))

