"""What a volunteer says and records in a conversation, at a door or on the phone: the script, the survey, the
result buttons and the follow-ups, in the volunteer's language; and the person as a volunteer may see them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from canvass import campaigns, contacts
from canvass.models import (
    Campaign,
    Channel,
    Person,
    ResultCode,
    Script,
    SurveyOption,
    SurveyQuestion,
    Tag,
    TagKind,
)


def localized(text: str, translations: dict, language: str) -> str:
    return (translations or {}).get(language) or text


@dataclass
class ScriptView:
    volunteer_language: str
    volunteer_text: str
    resident_language: str = ""
    resident_text: str = ""


@dataclass(frozen=True)
class Wording:
    """A campaign's conversation as stored, in every language: what each door page, call and walk list shows. Plain
    values, shared by the threads of a process."""

    codes: tuple[dict[str, Any], ...]  # every result code, retired ones too, in their order
    questions: tuple[dict[str, Any], ...]  # active survey questions in order, each with its "options"
    followups: tuple[dict[str, Any], ...]  # follow-up tags by name
    scripts: dict[tuple[str, str], str]  # (channel, language) -> script


#: Wordings by ``Campaign.codes_version``, which changes with any edit of the campaign's result codes, survey,
#: follow-up tags or scripts (models._new_codes_version), and is on the campaign row every page reads anyway: a
#: door page asks the database for none of them (six queries of sixteen), and no process keeps an old wording.
_WORDINGS: dict[str, Wording] = {}
MAX_CACHED_WORDINGS = 256


def wording_of(session: Session, campaign: Campaign) -> Wording:
    version = campaign.codes_version
    if version and (wording := _WORDINGS.get(version)) is not None:
        return wording
    wording = _read_wording(session, campaign.id)
    if version:
        if len(_WORDINGS) >= MAX_CACHED_WORDINGS:
            _WORDINGS.clear()
        _WORDINGS[version] = wording
    return wording


def _read_wording(session: Session, campaign_id: int) -> Wording:
    codes = tuple({"code": c.code, "label": c.label, "translations": dict(c.translations or {}),
                   "channel": c.channel, "is_contact": c.is_contact, "is_final": c.is_final,
                   "suppresses": str(c.suppresses), "active": c.active}
                  for c in session.exec(select(ResultCode).where(ResultCode.campaign_id == campaign_id)
                                        .order_by(ResultCode.position, ResultCode.id)))
    questions = session.exec(select(SurveyQuestion).where(SurveyQuestion.campaign_id == campaign_id,
                                                          SurveyQuestion.active.is_(True))
                             .order_by(SurveyQuestion.position)).all()
    options = session.exec(select(SurveyOption).where(SurveyOption.question_id.in_([q.id for q in questions]))
                           .order_by(SurveyOption.position)).all() if questions else []
    survey = tuple({"id": q.id, "code": q.code, "kind": q.kind.value if hasattr(q.kind, "value") else q.kind,
                    "text": q.text, "translations": dict(q.translations or {}),
                    "options": tuple({"code": o.code, "label": o.label, "translations": dict(o.translations or {})}
                                     for o in options if o.question_id == q.id)}
                   for q in questions)
    followups = tuple({"id": t.id, "name": t.name, "translations": dict(t.translations or {})}
                      for t in session.exec(select(Tag).where(Tag.campaign_id == campaign_id,
                                                              Tag.kind == TagKind.followup).order_by(Tag.name)))
    scripts = {(str(s.channel), s.language): s.body
               for s in session.exec(select(Script).where(Script.campaign_id == campaign_id))}
    return Wording(codes, survey, followups, scripts)


def scripts_for(session: Session, campaign: Campaign, channel: Channel) -> dict[str, str]:
    """The channel's script in each language it is written in."""
    return {language: body for (of, language), body in wording_of(session, campaign).scripts.items()
            if of == str(channel)}


def script_for(session: Session, campaign: Campaign, channel: Channel, volunteer_language: str,
               resident_language: str = "") -> ScriptView | None:
    """The script in the volunteer's language (else English), and beside it the resident's when that differs."""
    scripts = scripts_for(session, campaign, channel)
    if not scripts:
        return None
    own = volunteer_language if volunteer_language in scripts else ("en" if "en" in scripts else next(iter(scripts)))
    view = ScriptView(own, scripts[own])
    if resident_language and resident_language != own and resident_language in scripts:
        view.resident_language, view.resident_text = resident_language, scripts[resident_language]
    return view


def survey_for(session: Session, campaign: Campaign, language: str) -> list[dict[str, Any]]:
    """The active survey questions with their options, labelled in ``language`` where a translation exists."""
    return [{"id": q["id"], "code": q["code"], "kind": q["kind"],
             "text": localized(q["text"], q["translations"], language),
             "options": [{"code": o["code"], "label": localized(o["label"], o["translations"], language)}
                         for o in q["options"]]}
            for q in wording_of(session, campaign).questions]


def result_codes_for(session: Session, campaign: Campaign, channel: Channel, language: str) -> list[dict[str, Any]]:
    """The active result codes a contact on ``channel`` may record, in their order, labelled in ``language``."""
    allowed = contacts.CODE_CHANNELS[channel]
    return [{"code": c["code"], "label": localized(c["label"], c["translations"], language),
             "is_contact": c["is_contact"], "is_final": c["is_final"], "suppresses": c["suppresses"],
             "confirm": c["suppresses"] == "deceased"}
            for c in wording_of(session, campaign).codes if c["active"] and c["channel"] in allowed]


def door_buttons(codes: list[dict[str, Any]]) -> dict[str, Any]:
    """A contact form's result buttons: "Talked" (the first code that is a contact; it opens the survey), beside it
    the usual miss (the first code that tries again: not home, no answer) and the usual refusal (the next final
    contact), and the rest behind "Other…"."""
    talked = next((c for c in codes if c["is_contact"]), codes[0] if codes else None)
    miss = next((c for c in codes if not c["is_contact"] and not c["is_final"] and c["suppresses"] == "none"), None)
    refusal = next((c for c in codes if c["is_contact"] and c["is_final"] and c is not talked and not c["confirm"]),
                   None)
    quick = [c for c in (miss, refusal) if c is not None]
    # What one tap may record for everyone at a door: results about the door, not a conversation (not home, moved,
    # inaccessible, come back later, wrong address).
    door_wide = [c for c in codes if not c["is_contact"] and c["suppresses"] in DOOR_WIDE and c is not miss]
    return {"talked": talked, "quick": quick, "others": [c for c in codes if c is not talked and c not in quick],
            "not_home": miss or talked, "door_wide": door_wide}


#: Result rules that make sense for a whole door at once.
DOOR_WIDE = {"none", "moved", "wrong_address"}


def followup_tags(session: Session, campaign: Campaign, language: str) -> list[dict[str, Any]]:
    return [{"id": t["id"], "name": localized(t["name"], t["translations"], language)}
            for t in wording_of(session, campaign).followups]


def person_view(person: Person, campaign: Campaign) -> dict[str, Any]:
    """Only what a volunteer needs at the door: no birth date or IDs, and party only if the campaign uses it."""
    view = {"id": person.id, "first_name": person.first_name, "last_name": person.last_name,
            "language": person.language, "needs_language": person.needs_language, "moved": person.moved}
    if campaigns.setting(campaign, "show_party"):
        view["party"] = person.party
    return view


def result_labels(session: Session, campaign: Campaign, language: str) -> dict[str, str]:
    """Every result code of the campaign (retired ones too) -> its label in ``language``: people never read codes."""
    return {c["code"]: localized(c["label"], c["translations"], language) for c in wording_of(session, campaign).codes}
