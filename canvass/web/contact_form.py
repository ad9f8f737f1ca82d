"""A contact as the door page, the caller's screen and the paper-entry page post it, read into ``ContactIn`` (which
checks every value; ``ValueError`` when one cannot be read)."""

from __future__ import annotations

import uuid
from typing import Any

from canvass.contact_input import ContactIn
from canvass.models import Channel, QuestionKind


def contact_from_form(form, survey: list[dict[str, Any]], *, channel: Channel, person_id: int | None,
                      household_id: int | None = None, turf_id: int | None = None,
                      phone_id: int | None = None) -> ContactIn:
    """The contact the form's fields describe. Its UUID is the one the page was rendered with, so a form sent twice
    (a double tap, a retry on a weak signal) stores one contact."""
    return ContactIn(
        client_uuid=form.get("client_uuid") or uuid.uuid4(), person_id=person_id, household_id=household_id,
        turf_id=turf_id, phone_id=phone_id, channel=channel, result_code=form.get("result", "").strip() or "?",
        answers=answers_from_form(form, survey, person_id or 0), notes=form.get("notes", ""),
        language_heard=form.get("language_heard", ""),
        followups=[int(t) for t in form.getlist("followups") if t.isdigit()])


def answers_from_form(form, survey: list[dict[str, Any]], person_id: int) -> dict[str, Any]:
    """The survey answers given for one person (fields ``q-<person>-<question>``), by question code."""
    answers: dict[str, Any] = {}
    for question in survey:
        key = f"q-{person_id}-{question['code']}"
        if question["kind"] == QuestionKind.multi.value:
            picked = form.getlist(key)
            if picked:
                answers[question["code"]] = picked
        elif form.get(key, "").strip():
            answers[question["code"]] = form.get(key).strip()
    return answers
