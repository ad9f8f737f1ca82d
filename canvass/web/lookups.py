"""The object a URL or a form names, loaded for the current user or refused: the load-or-404 helpers the blueprints
share. Another user's turf, door or call list is a 404, so its existence is not revealed (see ``canvass.access``)."""

from __future__ import annotations

from flask import abort
from flask_babel import gettext as _
from flask_login import current_user

from canvass import access, campaigns, shifts, walk_lists
from canvass.models import CallList, Campaign, Household, ShiftEvent, Turf, User
from canvass.web.database import db


def get_campaign(campaign_id: int | None) -> Campaign:
    """The campaign a form names (a hidden field, checked by the form): 400 when it names none, 404 when there is no
    such campaign."""
    if campaign_id is None:
        abort(400, description=_("The form does not say which campaign it is for."))
    return db().get(Campaign, campaign_id) or abort(404)


def get_campaign_or_first(campaign_id: int | None) -> Campaign | None:
    """The campaign asked for (404 if there is none), else the first one the picker lists, else None."""
    if campaign_id:
        return db().get(Campaign, campaign_id) or abort(404)
    return campaigns.first_campaign(db())


def get_my_turf(turf_id: int) -> Turf:
    """The turf if the current user may open it (a volunteer's own turf, or any turf for staff); otherwise 404."""
    return get_my_turf_and_campaign(turf_id)[0]


def get_my_turf_and_campaign(turf_id: int) -> tuple[Turf, Campaign]:
    """``get_my_turf`` with the turf's campaign, in one statement."""
    found = access.visible_turf_and_campaign(db(), turf_id, current_user)
    if found is None:
        abort(404)
    return found


def get_turf_to_work(turf_id: int) -> Turf:
    """The turf if the current user may log contacts on it: 404 when they may not even open it, 403 when they may
    look but not knock (data staff without the turf assigned)."""
    turf = get_my_turf(turf_id)
    if not access.works_turf(db(), turf, current_user):
        abort(403)
    return turf


def get_lead_turf(turf_id: int) -> Turf:
    """Any turf, for the leads who run the board (the page's rule lets only them here)."""
    return db().get(Turf, turf_id) or abort(404)


def get_my_door(turf: Turf, household_id: int) -> Household:
    """A door of this turf (the turf was already checked to be the user's); anything else is a 404."""
    return walk_lists.door_of(db(), turf, household_id) or abort(404)


def get_my_door_place(turf: Turf, household_id: int) -> walk_lists.DoorPlace:
    """``get_my_door`` with the door's place in the walk (what a door page shows)."""
    return walk_lists.door_place(db(), turf, household_id) or abort(404)


def get_user(user_id: int) -> User:
    """Any account, for the leads who assign turf (the page's rule lets only them here)."""
    return db().get(User, user_id) or abort(404)


def get_call_list(list_id: int) -> CallList:
    """The call list if the current user may call from it (or run it, for leads); otherwise 404."""
    call_list = db().get(CallList, list_id)
    if call_list is None or not access.may_call(db(), call_list, current_user):
        abort(404)
    return call_list


def get_lead_call_list(list_id: int) -> CallList:
    """Any call list, for the leads who run phone banks (the page's rule lets only them here)."""
    return db().get(CallList, list_id) or abort(404)


def get_lead_shift(shift_id: int) -> ShiftEvent:
    """Any shift, for the leads who run them (the page's rule lets only them here)."""
    return db().get(ShiftEvent, shift_id) or abort(404)


def get_shift_by_code(code: str) -> ShiftEvent:
    """The shift a sign-up link names; a code that names none is a 404."""
    return shifts.find_by_code(db(), code) or abort(404)
