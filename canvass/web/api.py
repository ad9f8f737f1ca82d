"""The JSON API the phone's offline queue uses (session cookie + X-CSRFToken header). Described in openapi.json."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import ValidationError

from canvass import access, batch_reads, canvassing, contacts
from canvass.web.database import db
from canvass.web.language import page_language
from canvass.web.lookups import get_my_turf_and_campaign
from canvass.web.security import signed_in_claim, signed_in_user

bp = Blueprint("api", __name__, url_prefix="/api/v1")

MAX_BATCH = 200
#: A full batch of 200 contacts with long notes and answers is well under this; anything larger is refused unread.
MAX_BODY_BYTES = 2 * 1024 * 1024
OPENAPI = Path(__file__).resolve().parent.parent / "openapi.json"


@bp.get("/openapi.json")
def openapi():
    return Response(OPENAPI.read_text(), mimetype="application/json")


@bp.get("/me")
def me():
    """Who is logged in, and which turfs the phone may keep."""
    return {"user": {"id": current_user.id, "name": current_user.display_name, "role": str(current_user.role),
                     "language": current_user.language},
            "turfs": canvassing.my_turf_ids(db(), current_user)}


@bp.get("/turfs/<int:turf_id>")
def turf(turf_id: int):
    found, campaign = get_my_turf_and_campaign(turf_id)
    package = canvassing.turf_package(db(), found, current_user, campaign)
    response = jsonify(package)
    response.set_etag(canvassing.turf_version(db(), found, current_user, package, page_language()))
    return response.make_conditional(request)  # 304 when the phone already holds this version


@bp.post("/contacts")
def post_contacts():
    """Stores a batch of contacts; each item is answered created, duplicate or rejected, in order.

    The busiest route on a GOTV weekend, so it reads in one statement everything its checks need: the signed-in
    user (checked here as Flask-Login's loader would, see ``signed_in_user``), the campaigns of the turfs the items
    name that the user may open, and the items' people and doors. Then one INSERT and the commit."""
    claim = signed_in_claim()
    if claim is None:
        return current_app.login_manager.unauthorized()
    body = _json_body()
    if not isinstance(body, dict) or not isinstance(body.get("contacts"), list):
        return {"error": 'Send {"contacts": [...]}.'}, 400
    items = body["contacts"]
    if len(items) > MAX_BATCH:
        return {"error": f"Send at most {MAX_BATCH} contacts at a time."}, 413
    results, parsed = [None] * len(items), []
    for index, raw in enumerate(items):
        try:
            parsed.append((index, contacts.ContactIn.model_validate(raw)))
        except ValidationError as exc:
            key = str(raw.get("client_uuid", "")) if isinstance(raw, dict) else ""
            results[index] = contacts.ItemResult(key, "rejected", error=_first_error(exc)).as_dict()
    user_id, key = claim
    read = batch_reads.read_for_sync(db(), user_id, [item for _i, item in parsed])
    user = signed_in_user(read.user, key)
    if user is None:
        return current_app.login_manager.unauthorized()
    by_campaign: dict[int, tuple[batch_reads.CampaignRef, list[tuple[int, contacts.ContactIn]]]] = {}
    not_yours: list[tuple[int, contacts.ContactIn]] = []
    # Only the user's own relational people are there (a second statement, only when a batch names some).
    relational = batch_reads.relational_campaigns(db(), user.id, [item for _i, item in parsed])
    for index, item in parsed:
        # Only the turfs this user may open are in read.campaigns
        campaign = relational.get(item.relational_id) if item.relational_id else read.campaigns.get(item.turf_id)
        if campaign is None:
            not_yours.append((index, item))
        else:
            by_campaign.setdefault(campaign.id, (campaign, []))[1].append((index, item))
    _answer_not_yours(results, not_yours)
    for campaign, group in by_campaign.values():
        logged = contacts.log_contacts(db(), user, campaign, [item for _i, item in group],
                                       on_turfs=access.turfs_to_log_on(user, {item.turf_id for _i, item in group
                                                                              if item.turf_id}),
                                       read=read)
        for (index, _item), result in zip(group, logged, strict=True):
            results[index] = result.as_dict(_)
    db().commit()
    current_app.logger.info("contacts batch: %d items, %d created", len(items),
                            sum(1 for r in results if r and r["status"] == "created"))
    return {"results": results}


def _json_body():
    """The request's JSON, read only if it is small enough (413 otherwise); None when it is not JSON at all (deeply
    nested JSON included, which would exhaust the parser's stack)."""
    if (request.content_length or 0) > MAX_BODY_BYTES:
        abort(413, description=f"Send at most {MAX_BATCH} contacts at a time.")
    request.max_content_length = MAX_BODY_BYTES  # also bounds a body sent without a length (chunked)
    try:
        return json.loads(request.get_data(cache=False))
    except (ValueError, RecursionError):
        return None


def _answer_not_yours(results: list, items: list[tuple[int, contacts.ContactIn]]) -> None:
    """Items for a turf the user may not work: rejected, unless already stored (a queue replayed after the turf
    was reassigned must hear that its contacts are safe)."""
    if not items:
        return
    stored = contacts.stored_contact_ids(db(), [item.client_uuid for _i, item in items])
    for index, item in items:
        results[index] = contacts.refusal(stored, item.client_uuid, contacts.not_yours()).as_dict(_)


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    return f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"


def schema() -> dict:
    return json.loads(OPENAPI.read_text())
