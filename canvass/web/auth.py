"""Logging in and out, accepting an invite, resetting a password, choosing the interface language."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from canvass import accounts, audit
from canvass.web.database import db
from canvass.web.forms.auth import LanguageForm, LoginForm, SetPasswordForm
from canvass.web.security import home_url, safe_next

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(home_url())
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(db(), form.email.data, form.password.data, remote_addr=request.remote_addr or "",
                                         max_failures=current_app.config["LOGIN_MAX_FAILURES"],
                                         window_minutes=current_app.config["LOGIN_WINDOW_MINUTES"])
        except accounts.LoginThrottled as exc:
            db().commit()
            flash(exc.in_language(_), "error")
            return render_template("auth/login.html", form=form), 429
        db().commit()
        if user is not None:
            _start_session(user)
            return redirect(safe_next(request.args.get("next")) or home_url(user))
        flash(_("Wrong email or password."), "error")
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


def _start_session(user) -> None:
    """A fresh session on every login, so a session id planted before login is worthless."""
    lang = session.get("lang")
    session.clear()
    login_user(user, remember=True)
    session.permanent = True
    if lang:
        session["lang"] = lang


@bp.post("/logout")
def logout():
    """Ends the session here and on the server: the cookie, and a copy of it or of the remember-me cookie kept
    elsewhere, stop working (every device of this user signs in again)."""
    if current_user.is_authenticated:
        accounts.sign_out(db(), current_user)
        db().commit()
    session.clear()
    logout_user()  # after clear(): it leaves the instruction that deletes the remember-me cookie
    flash(_("You are logged out."), "ok")
    response = redirect(url_for("auth.login"))
    # The turf pages kept for offline use leave the phone with the volunteer; contacts not yet sent are kept.
    response.headers["Clear-Site-Data"] = '"cache"'
    return response


@bp.route("/invite/<token>", methods=["GET", "POST"])
def accept_invite(token: str):
    return _set_password_from_link(token, "invite")


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    return _set_password_from_link(token, "reset")


def _set_password_from_link(token: str, purpose: str):
    try:
        record = accounts.find_token(db(), token, purpose)
    except accounts.AccountError as exc:
        return render_template("auth/link_invalid.html", message=exc.in_language(_)), 410
    user = db().get(accounts.User, record.user_id)
    form = SetPasswordForm(obj=user)
    if form.validate_on_submit():
        try:
            user = accounts.redeem_token(db(), token, purpose, form.password.data,
                                         **({"name": form.name.data, "language": form.language.data}
                                            if purpose == "invite" else {}))
        except accounts.AccountError as exc:  # spent meanwhile (a second tap, another device) or deactivated
            db().rollback()
            return render_template("auth/link_invalid.html", message=exc.in_language(_)), 410
        else:
            audit.record(db(), user, f"user.{purpose}_accepted", object_type="user", object_id=user.id)
            db().commit()
            _start_session(user)
            flash(_("Welcome! Your password is set."), "ok")
            return redirect(home_url(user))
    return render_template("auth/set_password.html", form=form, user=user, purpose=purpose)


@bp.post("/language")
def choose_language():
    form = LanguageForm()
    form.lang.choices = [choice for choice in form.lang.choices if choice.value in current_app.config["LANGUAGES"]]
    if form.validate_on_submit():
        session["lang"] = form.lang.data
        if current_user.is_authenticated:
            accounts.set_language(current_user, form.lang.data)
            db().commit()
    return redirect(safe_next(form.next.data) or home_url())
