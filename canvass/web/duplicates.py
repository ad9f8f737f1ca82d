"""Likely duplicate people, for staff: the list, a pair side by side, merge or "not the same person", and a merge's
record with its undo."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from canvass import duplicates, merging, people
from canvass.importing.fields import FIELDS
from canvass.models import MergeRecord, Person
from canvass.web.database import db
from canvass.web.forms import flash_errors
from canvass.web.forms.duplicates import DecisionForm, MergeForm
from canvass.web.lookups import get_campaign_or_first
from canvass.web.templating import phone_display

bp = Blueprint("duplicates", __name__, url_prefix="/people/duplicates")
PAGE_SIZE = 50


def get_pair(person_id: int, other_id: int) -> tuple[Person, Person]:
    """Two people of one campaign (staff see every person); anything else is a 404."""
    person, other = db().get(Person, person_id), db().get(Person, other_id)
    if person is None or other is None or person.id == other.id or person.campaign_id != other.campaign_id:
        abort(404)
    return person, other


def get_merge(merge_id: int) -> MergeRecord:
    return db().get(MergeRecord, merge_id) or abort(404)


@bp.get("/")
def index():
    campaign = get_campaign_or_first(request.args.get("campaign", type=int))
    page = max(request.args.get("page", 1, type=int), 1)
    found = duplicates.find_duplicates(db(), campaign.id) if campaign else None
    shown = duplicates.candidates(found, PAGE_SIZE, (page - 1) * PAGE_SIZE) if found is not None else []
    named = duplicates.people_named(db(), [i for c in shown for i in (c.person_id, c.other_id)])
    return render_template("duplicates/index.html", campaign=campaign, candidates=shown, named=named,
                           total=0 if found is None else len(found), page=page, page_size=PAGE_SIZE,
                           merges=merging.recent_merges(db(), campaign.id) if campaign else [],
                           reason_text=reason_text, likelihood=likelihood, full_name=people.full_name)


@bp.get("/<int:person_id>/<int:other_id>")
def review(person_id: int, other_id: int):
    person, other = get_pair(person_id, other_id)
    details = [people.person_detail(db(), p.id) for p in sorted((person, other), key=lambda p: p.id)]
    form = MergeForm(formdata=None, survivor=details[0].person.id).offer(
        [(d.person.id, people.full_name(d.person)) for d in details])
    return render_template("duplicates/review.html", details=details, form=form,
                           candidate=duplicates.pair_reasons(db(), person, other), different=DecisionForm(formdata=None),
                           reason_text=reason_text, likelihood=likelihood, full_name=people.full_name,
                           source_label=source_label)


@bp.post("/<int:person_id>/<int:other_id>/merge")
def merge(person_id: int, other_id: int):
    person, other = get_pair(person_id, other_id)
    form = MergeForm().offer([(person.id, ""), (other.id, "")])
    if not form.validate_on_submit():
        flash_errors(form)
        return redirect(url_for("duplicates.review", person_id=person.id, other_id=other.id))
    survivor, merged = (person, other) if form.survivor.data == person.id else (other, person)
    reasons = duplicates.pair_reasons(db(), person, other).reasons
    try:
        record = merging.merge_people(db(), survivor, merged, current_user, reasons=reasons)
    except merging.MergeError as error:
        db().rollback()
        flash(error.in_language(_), "error")
        return redirect(url_for("duplicates.review", person_id=person.id, other_id=other.id))
    db().commit()
    flash(_("Merged. %(name)s now holds everything from both records.", name=people.full_name(survivor)), "ok")
    return redirect(url_for("duplicates.record", merge_id=record.id))


@bp.post("/<int:person_id>/<int:other_id>/different")
def different(person_id: int, other_id: int):
    person, other = get_pair(person_id, other_id)
    form = DecisionForm()
    if not form.validate_on_submit():
        flash_errors(form)
        return redirect(url_for("duplicates.review", person_id=person.id, other_id=other.id))
    duplicates.mark_not_duplicates(db(), person, other, current_user)
    db().commit()
    flash(_("Noted: %(first)s and %(second)s are different people. They will not be offered again.",
            first=people.full_name(person), second=people.full_name(other)), "ok")
    return redirect(url_for("duplicates.index", campaign=person.campaign_id))


@bp.get("/merges/<int:merge_id>")
def record(merge_id: int):
    merge_record = get_merge(merge_id)
    return render_template("duplicates/record.html", record=merge_record,
                           survivor=db().get(Person, merge_record.survivor_id),
                           merged_name=merging.merged_name(merge_record),
                           moved=moved_words(merging.moved_counts(merge_record)), form=DecisionForm(formdata=None),
                           reason_text=reason_text, full_name=people.full_name)


@bp.post("/merges/<int:merge_id>/undo")
def undo(merge_id: int):
    merge_record = get_merge(merge_id)
    form = DecisionForm()
    if not form.validate_on_submit():
        flash_errors(form)
        return redirect(url_for("duplicates.record", merge_id=merge_record.id))
    try:
        person = merging.undo_merge(db(), merge_record, current_user)
    except merging.MergeError as error:
        db().rollback()
        flash(error.in_language(_), "error")
        return redirect(url_for("duplicates.record", merge_id=merge_record.id))
    db().commit()
    flash(_("Merge undone: %(name)s is a record of their own again.", name=people.full_name(person)), "ok")
    return redirect(url_for("people.show", person_id=person.id))


# ------------------------------------------------------------------------------------------------------------------
# Words


def source_label(source: str) -> str:
    """An external ID's source as the import page names it ("State voter ID")."""
    return _(FIELDS[source][0]) if source in FIELDS else source


def reason_text(reason: dict) -> str:
    """Why a pair was offered, in a sentence."""
    code = reason.get("code")
    if code == duplicates.SAME_ID:
        first, second = [source_label(s) for s in (reason["sources"] * 2)[:2]]
        return _("The same ID, %(value)s, given as %(first)s and as %(second)s.", value=reason["value"],
                 first=first, second=second)
    if code == duplicates.SAME_NAME_BIRTH_YEAR:
        if reason.get("two_addresses"):
            return _("The same name and birth year (%(year)s), at two addresses.", year=reason["birth_year"])
        return _("The same name and birth year (%(year)s).", year=reason["birth_year"])
    if code == duplicates.SAME_PHONE:
        return _("The same phone number, %(phone)s.", phone=phone_display(reason["phone"]))
    return str(code)


def likelihood(confidence: float) -> str:
    if confidence >= duplicates.VERY_LIKELY:
        return _("Very likely the same person")
    if confidence >= duplicates.LIKELY:
        return _("Likely the same person")
    return _("Possibly the same person")


def moved_words(counts: dict[str, int]) -> list[str]:
    """What a merge gave the survivor, in words: "3 contacts", "1 phone number"..."""
    words = {
        "contact_attempt": lambda n: ngettext("%(num)d contact", "%(num)d contacts", n),
        "external_id": lambda n: ngettext("%(num)d ID", "%(num)d IDs", n),
        "phone": lambda n: ngettext("%(num)d phone number", "%(num)d phone numbers", n),
        "email": lambda n: ngettext("%(num)d email address", "%(num)d email addresses", n),
        "person_tag": lambda n: ngettext("%(num)d tag", "%(num)d tags", n),
        "call_entry": lambda n: ngettext("%(num)d place on a call list", "%(num)d places on call lists", n),
        "vote": lambda n: ngettext("%(num)d vote in the history", "%(num)d votes in the history", n),
    }
    said = [words[table](n) for table, n in counts.items() if table in words and n]
    others = sum(n for table, n in counts.items() if table not in words)
    if others:
        said.append(ngettext("%(num)d other row", "%(num)d other rows", others))
    return said
