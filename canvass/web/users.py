"""People with accounts: admins manage everyone; field leads invite volunteers."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from canvass import access, accounts, audit
from canvass.models import User
from canvass.overview import pending_invites
from canvass.web.database import db
from canvass.web.forms import flash_errors
from canvass.web.forms.users import ActiveForm, InviteForm, RoleForm
from canvass.web.language import said

bp = Blueprint("users", __name__, url_prefix="/users")


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
    form = InviteForm(formdata=None, role="volunteer")  # the safe default: a slip never makes another admin
    return _page(form.offer(access.invitable_roles(current_user)))


def _page(invite: InviteForm, sent_role: tuple[int, RoleForm] | None = None, status: int = 200):
    """The accounts page: the invite form, and a role form per account this user may manage (``sent_role``, a
    role form that failed, in its account's row)."""
    users = accounts.users_seen_by(db(), current_user)
    role_forms = {user.id: RoleForm(formdata=None, role=user.role).offer(access.managed_roles(current_user))
                  for user in users}
    if sent_role is not None:
        role_forms[sent_role[0]] = sent_role[1]
    for user_id, form in role_forms.items():
        form.role.id = f"role-{user_id}"
    invites = [(u, t) for u, t in pending_invites(db()) if access.may_manage(current_user, u)]
    return render_template("users/index.html", users=users, form=invite, invites=invites,
                           role_forms=role_forms), status


@bp.post("/invite")
def invite():
    form = InviteForm().offer(access.invitable_roles(current_user))
    if form.validate_on_submit():
        try:
            issued = accounts.invite_user(db(), current_user, form.email.data, form.role.data, name=form.name.data,
                                          language=form.language.data, hours=current_app.config["INVITE_HOURS"])
        except accounts.AccountError as exc:
            db().rollback()
            form.refuse(exc)
        else:
            audit.record(db(), current_user, "user.invited", object_type="user", object_id=issued.record.user_id,
                         role=form.role.data)
            db().commit()
            flash(_("Invite link for %(email)s (valid %(hours)s hours):", email=form.email.data.lower(),
                    hours=current_app.config["INVITE_HOURS"]), "ok")
            flash(_link("invite", issued.token), "link")
            return redirect(url_for("users.index") + "#invites")
    return _page(form, status=400)


@bp.post("/<int:user_id>/role")
def change_role(user_id: int):
    user = get_managed_user(user_id)
    form = RoleForm().offer(access.managed_roles(current_user))
    before = user.role
    if form.validate_on_submit():
        try:
            accounts.change_role(current_user, user, form.role.data)
        except accounts.AccountError as exc:
            form.refuse(exc)
    if form.has_errors:
        db().rollback()
        form.role.errors = [*form.form_errors, *form.role.errors]  # the row has room for one message: beside it
        invite = InviteForm(formdata=None, role="volunteer").offer(access.invitable_roles(current_user))
        return _page(invite, (user.id, form), 400)
    audit.record(db(), current_user, "user.role_changed", object_type="user", object_id=user.id, before=before,
                 after=user.role)
    db().commit()
    flash(_("%(email)s is now %(role)s.", email=user.email, role=said(user.role)), "ok")
    return redirect(url_for("users.index") + f"#user-{user.id}")


@bp.post("/<int:user_id>/active")
def toggle_active(user_id: int):
    user = get_managed_user(user_id)
    form = ActiveForm()
    if form.validate_on_submit():
        try:
            accounts.set_active(current_user, user, form.active.data)
        except accounts.AccountError as exc:
            form.refuse(exc)
    if form.has_errors:
        flash_errors(form)
        return redirect(url_for("users.index") + f"#user-{user.id}")
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
