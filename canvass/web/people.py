"""People in a campaign, for staff: search and a person's page."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from canvass import campaigns, conversation, merging, opt_outs, people
from canvass.importing.fields import FIELDS, ID_FIELDS
from canvass.models import Campaign, Person
from canvass.web.database import db
from canvass.web.forms import flash_errors
from canvass.web.forms.opt_outs import LiftForm, OptOutForm
from canvass.web.language import page_language

bp = Blueprint("people", __name__, url_prefix="/people")
ID_LABELS = {source: FIELDS[source][0] for source in ID_FIELDS}  # what each kind of ID is called


@bp.get("/")
def index():
    choices = campaigns.list_campaigns(db())
    campaign_id = request.args.get("campaign", type=int) or (choices[0].id if choices else None)
    query = request.args.get("q", "").strip()
    results = people.search_people(db(), campaign_id, query) if campaign_id and query else []
    return render_template("people/index.html", campaigns=choices, campaign_id=campaign_id, query=query,
                           results=results, full_name=people.full_name)


@bp.get("/<int:person_id>")
def show(person_id: int):
    detail = people.person_detail(db(), person_id)
    if detail is None:
        merge = merging.merged_into(db(), person_id)
        if merge is None:
            abort(404)
        flash(_("This record was merged into another."), "ok")
        return redirect(url_for("duplicates.record", merge_id=merge.id))
    return render_template("people/show.html", d=detail, full_name=people.full_name, id_labels=ID_LABELS,
                           labels=conversation.result_labels(db(), db().get(Campaign, detail.person.campaign_id),
                                                             page_language()),
                           opt_out_form=OptOutForm(formdata=None).offer_phones(detail.phones), lift_form=LiftForm(formdata=None),
                           entries=opt_outs.person_entries(db(), person_id))


@bp.post("/<int:person_id>/opt-out")
def opt_out(person_id: int):
    """Staff put the person (or one of their numbers) on the do-not-contact list, without a contact."""
    person = db().get(Person, person_id) or abort(404)
    form = OptOutForm().offer_phones(people.person_phones(db(), person.id))
    if not form.validate_on_submit():
        flash_errors(form)
        return redirect(url_for("people.show", person_id=person.id) + "#do-not-contact")
    try:
        opt_outs.record_by_hand(db(), person, current_user, reason=form.reason.data, scope=form.scope.data,
                                phone_id=form.chosen_phone(), note=form.note.data or "")
    except opt_outs.OptOutError as exc:
        db().rollback()
        flash(exc.in_language(_), "error")
        return redirect(url_for("people.show", person_id=person.id) + "#do-not-contact")
    db().commit()
    flash(_("Saved: on the do-not-contact list."), "ok")
    return redirect(url_for("people.show", person_id=person.id) + "#do-not-contact")


@bp.post("/<int:person_id>/opt-out/<int:opt_out_id>/lift")
def lift_opt_out(person_id: int, opt_out_id: int):
    """Staff take an entry off the list (kept as history, audited)."""
    entry = opt_outs.entry_of(db(), person_id, opt_out_id) or abort(404)
    form = LiftForm()
    if not form.validate_on_submit():
        flash_errors(form)
        return redirect(url_for("people.show", person_id=person_id) + "#do-not-contact")
    try:
        opt_outs.lift(db(), entry, current_user, note=form.note.data or "")
    except opt_outs.OptOutError as exc:
        db().rollback()
        flash(exc.in_language(_), "error")
        return redirect(url_for("people.show", person_id=person_id) + "#do-not-contact")
    db().commit()
    flash(_("Taken off the do-not-contact list."), "ok")
    return redirect(url_for("people.show", person_id=person_id) + "#do-not-contact")
