"""People in a campaign, for staff: search and a person's page."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from canvass import audit, campaigns, merging, people
from canvass.models import Person
from canvass.web.database import db
from canvass.web.forms import flash_errors
from canvass.web.forms.people import FlagsForm

bp = Blueprint("people", __name__, url_prefix="/people")


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
    return render_template("people/show.html", d=detail, full_name=people.full_name)


@bp.post("/<int:person_id>/flags")
def set_flags(person_id: int):
    """Do-not-contact and do-not-call, set or lifted by staff (a re-import never lifts them)."""
    person, form = db().get(Person, person_id) or abort(404), FlagsForm()
    if not form.validate_on_submit():
        flash_errors(form)
        return redirect(url_for("people.show", person_id=person.id))
    people.set_flags(person, **form.flags())
    audit.record(db(), current_user, "person.flags", object_type="person", object_id=person.id,
                 do_not_contact=person.do_not_contact, do_not_call=person.do_not_call)
    db().commit()
    flash(_("Saved."), "ok")
    return redirect(url_for("people.show", person_id=person.id))
