"""Each role's landing page after login."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template
from flask_login import current_user

from canvass import db as database
from canvass import overview
from canvass.web.database import db
from canvass.web.security import home_url

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    return redirect(home_url())


@bp.get("/healthz")
def health():
    """For load balancers and process managers: the app answers and the database is reachable."""
    database.ping(db())
    return {"status": "ok"}


@bp.get("/sw.js")
def service_worker():
    """Served from the root so that it may keep the /walk/ pages for offline use."""
    from flask import current_app, send_from_directory

    response = send_from_directory(current_app.static_folder, "sw.js", mimetype="application/javascript",
                                   max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/admin")
def admin():
    return render_template("home/admin.html", **overview.admin_overview(db()))


@bp.get("/lead")
def lead():
    return render_template("home/lead.html", **overview.lead_overview(db()))


@bp.get("/data")
def data():
    return render_template("home/data.html", **overview.data_overview(db()))


@bp.get("/my")
def volunteer():
    return render_template("home/volunteer.html", **overview.volunteer_overview(db(), current_user))
