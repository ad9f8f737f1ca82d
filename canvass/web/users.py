"""People with accounts: admins manage everyone; field leads invite volunteers."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length

from canvass import access, accounts, audit
from canvass.models import LANGUAGE_NAMES, Role, User
from canvass.overview import pending_invites
from canvass.web.database import db
from canvass.web.language import said

bp = Blueprint("users", __name__, url_prefix="/users")


class InviteForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired()])
    name = StringField(_l("Name"), validators=[Length(max=120)])
    role = SelectField(_l("Role"), choices=[SelectChoice(r.value, r.value) for r in Role])
    language = SelectField(_l("Language"), choices=[SelectChoice(code, name) for code, name in LANGUAGE_NAMES.items()])


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=[SelectChoice(r.value, r.value) for r in Role])


def get_managed_user(user_id: int) -> User:
    """The user, if the current user may manage them (see ``access.may_manage``); otherwise 404."""
    user = db().get(User, user_id)
    if user is None or not access.may_manage(current_user, user):
        abort(404)
    return user


def _link(purpose: str, token: str) -> str:
    endpoint = "auth.accept_invite" if purpose == "invite" else "auth.reset_password"
    base = current_app.config["BASE_URL"].rstrip("/")
    return base + url_for(endpoint, token=token) if base else url_for(endpoint, token=token, _external=True)


@bp.get("/")
def index():
    form = InviteForm(role=Role.volunteer.value)  # the safe default: a slip never makes another admin
    form.role.choices = _role_choices()
    invites = [(u, t) for u, t in pending_invites(db()) if access.may_manage(current_user, u)]
    return render_template("users/index.html", users=accounts.users_seen_by(db(), current_user), form=form,
                           invites=invites,
                           role_form=RoleForm())


def _role_choices() -> list[SelectChoice]:
    """The roles this user may invite, volunteer first, named as the reader says them."""
    roles = sorted(access.invitable_roles(current_user), key=lambda role: role != Role.volunteer)
    return [SelectChoice(r.value, said(r)) for r in roles]


@bp.post("/invite")
def invite():
    form = InviteForm()
    form.role.choices = _role_choices()
    if not form.validate_on_submit():
        flash(_("Check the email address and role, then send the invite again."), "error")
        return redirect(url_for("users.index"))
    try:
        issued = accounts.invite_user(db(), current_user, form.email.data, form.role.data, name=form.name.data,
                                      language=form.language.data, hours=current_app.config["INVITE_HOURS"])
    except accounts.AccountError as exc:
        db().rollback()
        flash(exc.in_language(_), "error")
        return redirect(url_for("users.index"))
    audit.record(db(), current_user, "user.invited", object_type="user", object_id=issued.record.user_id,
                 role=form.role.data)
    db().commit()
    flash(_("Invite link for %(email)s (valid %(hours)s hours):", email=form.email.data.lower(),
            hours=current_app.config["INVITE_HOURS"]), "ok")
    flash(_link("invite", issued.token), "link")
    return redirect(url_for("users.index") + "#invites")


@bp.post("/<int:user_id>/role")
def change_role(user_id: int):
    user = get_managed_user(user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        flash(_("Choose one of the roles listed."), "error")
        return redirect(url_for("users.index") + f"#user-{user.id}")
    before = user.role
    try:
        accounts.change_role(current_user, user, form.role.data)
    except accounts.AccountError as exc:
        flash(exc.in_language(_), "error")
        return redirect(url_for("users.index") + f"#user-{user.id}")
    audit.record(db(), current_user, "user.role_changed", object_type="user", object_id=user.id, before=before,
                 after=user.role)
    db().commit()
    flash(_("%(email)s is now %(role)s.", email=user.email, role=said(user.role)), "ok")
    return redirect(url_for("users.index") + f"#user-{user.id}")


@bp.post("/<int:user_id>/active")
def toggle_active(user_id: int):
    user = get_managed_user(user_id)
    try:
        accounts.set_active(current_user, user, request.form.get("active") == "1")
    except accounts.AccountError as exc:
        flash(exc.in_language(_), "error")
        return redirect(url_for("users.index"))
    audit.record(db(), current_user, "user.activated" if user.is_active else "user.deactivated", object_type="user",
                 object_id=user.id)
    db().commit()
    flash(_("%(email)s can log in again.", email=user.email) if user.is_active
          else _("%(email)s can no longer log in.", email=user.email), "ok")
    return redirect(url_for("users.index") + f"#user-{user.id}")


@bp.post("/<int:user_id>/reset-link")
def reset_link(user_id: int):
    user = get_managed_user(user_id)
    purpose = "invite" if user.password_hash is None else "reset"
    hours = current_app.config["INVITE_HOURS" if purpose == "invite" else "RESET_HOURS"]
    issued = accounts.issue_token(db(), user, purpose, hours=hours, created_by=current_user)
    audit.record(db(), current_user, f"user.{purpose}_link", object_type="user", object_id=user.id)
    db().commit()
    flash(_("New link for %(email)s (valid %(hours)s hours):", email=user.email, hours=hours), "ok")
    flash(_link(purpose, issued.token), "link")
    return redirect(url_for("users.index") + f"#user-{user.id}")
