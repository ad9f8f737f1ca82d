"""Relational lists on the web: a volunteer's own people (added typed, pasted or from a contacts file), their
suggested voter to confirm, tel: and sms: links with the script in each person's language, and a result per
person (queued offline by static/offline.js); for leads, the reach per volunteer."""

from __future__ import annotations

import uuid
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from canvass import access, address_book, campaigns, contacts, conversation, relational
from canvass.contact_input import ContactIn
from canvass.models import Campaign, Channel, RelationalPerson
from canvass.web.background import now
from canvass.web.database import db
from canvass.web.forms import flash_errors
from canvass.web.forms.relational import AddForm, LogForm, MatchForm, PasteForm, UploadForm
from canvass.web.language import page_language

bp = Blueprint("relational", __name__, url_prefix="/people-i-know")


def _today():
    return now().astimezone(ZoneInfo(current_app.config["TIMEZONE"])).date()


def _my_campaigns() -> list[Campaign]:
    return access.relational_campaigns(db(), current_user)


def _my_person(relational_id: int) -> RelationalPerson:
    """Someone on the current user's own list; anyone else's is a 404."""
    return access.my_relational_person(db(), relational_id, current_user) or abort(404)


@bp.get("/")
def index():
    return _index()


def _index(forms: dict | None = None, status: int = 200):
    choices = _my_campaigns()
    wanted = request.args.get("campaign_id", type=int) or (forms or {}).get("campaign_id")
    campaign = next((c for c in choices if c.id == wanted), choices[0] if choices else None)
    if campaign is None:
        return render_template("relational/index.html", campaign=None, campaigns=[], people=[]), status
    forms = forms or {}
    language = page_language()
    codes = conversation.result_codes_for(db(), campaign, Channel.relational, language)
    people = relational.my_list(db(), current_user, campaign, volunteer_language=current_user.language or language,
                                today=_today())
    return render_template(
        "relational/index.html", campaign=campaign, campaigns=choices, people=people,
        add_form=forms.get("add") or AddForm(formdata=None), paste_form=forms.get("paste") or PasteForm(formdata=None),
        upload_form=forms.get("upload") or UploadForm(formdata=None), buttons=conversation.door_buttons(codes),
        labels=conversation.result_labels(db(), campaign, language), new_uuid=uuid.uuid4,
        open_form=forms.get("open", "")), status


def _back(campaign_id: int, anchor: str = ""):
    return redirect(url_for("relational.index", campaign_id=campaign_id) + (f"#{anchor}" if anchor else ""))


def _added(campaign: Campaign, added: relational.Added):
    if added.added:
        flash(ngettext("Added %(n)s person to your list.", "Added %(n)s people to your list.", added.added,
                       n=added.added), "ok")
    if added.suggested:
        flash(ngettext("%(n)s of them may be in the voter file: check the suggestion.",
                       "%(n)s of them may be in the voter file: check the suggestions.", added.suggested,
                       n=added.suggested), "ok")
    if added.already:
        flash(ngettext("%(n)s was on your list already.", "%(n)s were on your list already.", added.already,
                       n=added.already), "warn")
    return _back(campaign.id, "my-people")


def _campaign_of(form) -> Campaign:
    return next(c for c in _my_campaigns() if c.id == form.campaign_id.data)


@bp.post("/add")
def add():
    form = AddForm().offer(_my_campaigns())
    if not form.validate():
        return _index({"add": form, "campaign_id": form.campaign_id.data, "open": "add"}, 400)
    campaign = _campaign_of(form)
    people = address_book.one_person(form.name.data.strip(), form.phone.data or "", form.city.data or "",
                                     form.age.data)
    added = relational.add_people(db(), current_user, campaign, people, "typed", today=_today(),
                                  language=form.language.data or "")
    db().commit()
    return _added(campaign, added)


@bp.post("/paste")
def paste():
    form = PasteForm().offer(_my_campaigns())
    if form.validate():
        campaign = _campaign_of(form)
        try:
            added = relational.add_people(db(), current_user, campaign, address_book.parse_lines(form.lines.data),
                                          "pasted", today=_today())
        except address_book.AddressBookError as exc:
            form.lines.errors = [exc.in_language(_)]
        else:
            db().commit()
            return _added(campaign, added)
    return _index({"paste": form, "campaign_id": form.campaign_id.data, "open": "paste"}, 400)


@bp.post("/upload")
def upload():
    form = UploadForm().offer(_my_campaigns())
    if form.validate():
        campaign = _campaign_of(form)
        data = form.file.data.read(address_book.MAX_BYTES + 1)
        try:
            people = address_book.read_upload(data, form.file.data.filename or "", today=_today())
            source = "vcard" if b"BEGIN:VCARD" in data.upper() else "csv"
            added = relational.add_people(db(), current_user, campaign, people, source, today=_today())
        except address_book.AddressBookError as exc:
            form.file.errors = [exc.in_language(_)]
        else:
            db().commit()
            return _added(campaign, added)
    return _index({"upload": form, "campaign_id": form.campaign_id.data, "open": "upload"}, 400)


@bp.post("/<int:relational_id>/match")
def match(relational_id: int):
    person = _my_person(relational_id)
    form = MatchForm()
    if not form.validate():
        flash_errors(form)
        return _back(person.campaign_id, f"rel-{person.id}")
    try:
        relational.decide_match(db(), person, confirmed=form.answer.data == "yes")
    except relational.RelationalError as exc:
        flash(exc.in_language(_), "error")
        return _back(person.campaign_id, f"rel-{person.id}")
    db().commit()
    flash(_("Saved: %(name)s is in the voter file.", name=person.name) if form.answer.data == "yes" else
          _("Saved: %(name)s stays on your list, not in the voter file.", name=person.name), "ok")
    return _back(person.campaign_id, f"rel-{person.id}")


@bp.post("/<int:relational_id>/log")
def log(relational_id: int):
    """Without JavaScript: the result tapped for one person (with JavaScript, offline.js queues it for the API)."""
    person = _my_person(relational_id)
    form = LogForm()
    if not form.validate():
        flash_errors(form)
        return _back(person.campaign_id, f"rel-{person.id}")
    item = ContactIn(client_uuid=form.client_uuid.data or uuid.uuid4(), channel=Channel.relational,
                     relational_id=person.id, result_code=form.result.data.strip())
    campaign = db().get(Campaign, person.campaign_id)
    [result] = contacts.log_contacts(db(), current_user, campaign, [item])
    db().commit()
    if result.status == "rejected":
        flash(result.error_in(_), "error")
    else:
        label = conversation.result_labels(db(), campaign, page_language()).get(item.result_code, "")
        flash(_("Saved: %(who)s · %(result)s", who=person.name, result=label), "ok")
    return _back(person.campaign_id, f"rel-{person.id}")


@bp.get("/reach")
def reach():
    choices = campaigns.list_campaigns(db())
    wanted = request.args.get("campaign_id", type=int)
    campaign = next((c for c in choices if c.id == wanted), choices[0] if choices else None)
    rows = relational.reach(db(), campaign) if campaign else []
    return render_template("relational/reach.html", campaign=campaign, campaigns=choices, rows=rows)
