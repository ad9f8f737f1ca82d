"""What a result code does beyond being counted: the flags it sets on the person, the door or the phone (moved,
deceased, hostile, language...) and the do-not-contact list entries it makes (do not contact, do not call, wrong
number, a final refusal: ``canvass.opt_outs``), each change recorded so that undoing the contact puts it back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from canvass import opt_outs
from canvass.models import (
    Household,
    OptOutReason,
    OptOutSource,
    Person,
    Phone,
    PhoneStatus,
    ResultCode,
    Suppression,
)

#: Result codes whose rule is to set a flag on the person.
PERSON_FLAGS = {Suppression.moved: "moved", Suppression.wrong_address: "moved", Suppression.deceased: "deceased",
                Suppression.language_barrier: "needs_language"}
#: Result codes whose rule puts the person on the do-not-contact list (a refusal only when the code is final).
LISTED = {Suppression.do_not_call: OptOutReason.do_not_call, Suppression.do_not_contact: OptOutReason.do_not_contact,
          Suppression.refused: OptOutReason.refused}


def apply_rules(session: Session, code: ResultCode, person: Person | None, household: Household | None,
                phone: Phone | None, item, now: datetime, *, contact_id: int | None = None, user=None
                ) -> dict[str, Any]:
    """Does what the result code suppresses, and records each change made (for undo)."""
    effects: dict[str, Any] = {}

    def set_flag(obj, name: str, value) -> None:
        if obj is not None and getattr(obj, name) != value:
            effects[f"{type(obj).__name__.lower()}.{obj.id}.{name}"] = getattr(obj, name)
            setattr(obj, name, value)
            session.add(obj)

    rule = code.suppresses
    if rule in PERSON_FLAGS:
        set_flag(person, PERSON_FLAGS[rule], True)
    elif rule == Suppression.hostile and household is not None:
        set_flag(household, "hostile_note", (item.notes.strip() or code.label)[:300])
        set_flag(household, "hostile_at", now)
    elif rule in LISTED and person is not None and (rule != Suppression.refused or code.is_final):
        _listed(session, effects, person, LISTED[rule], None, contact_id, user, now)
    elif rule == Suppression.wrong_number:
        set_flag(phone, "status", PhoneStatus.wrong)
        if phone is not None and person is not None and phone.person_id == person.id:
            _listed(session, effects, person, OptOutReason.wrong_number, phone, contact_id, user, now)
    elif rule == Suppression.disconnected and phone is not None:
        # A dead number is dead for everyone who has it, in every list.
        for same in session.exec(select(Phone).where(Phone.e164 == phone.e164)).all():
            set_flag(same, "status", PhoneStatus.disconnected)
    if item.language_heard and person is not None:
        set_flag(person, "language", item.language_heard.strip().lower()[:8])
        set_flag(person, "language_source", "door")
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in effects.items()}




def _listed(session: Session, effects: dict[str, Any], person: Person, reason: OptOutReason, phone: Phone | None,
            contact_id: int | None, user, now: datetime) -> None:
    """Puts the person (or the number) on the do-not-contact list, recording the new entry for undo."""
    entry = opt_outs.record(session, person, reason=reason, phone=phone, source=OptOutSource.contact, user=user,
                            contact_id=contact_id, now=now)
    if contact_id is not None and entry.contact_id == contact_id:
        effects[f"opt_out.{entry.id}.added"] = True


def apply_rules_if_any(session: Session, code, item, person, household, phone, now: datetime, *,
                       contact_id: int | None = None, user=None) -> dict[str, Any]:
    """Runs ``code``'s rules for ``item`` on the real objects, loaded (from the batch's rows) only when the code or
    the item changes something. Returns the changes made, for undo."""
    if code.suppresses == Suppression.none and not (item.language_heard and person is not None):
        return {}

    def load(model, row):
        return session.get(model, row.id) if row is not None else None

    return apply_rules(session, code, load(Person, person), load(Household, household), load(Phone, phone), item, now,
                       contact_id=contact_id, user=user)


def put_back(session: Session, effects: dict[str, Any]) -> None:
    """Undoes what ``apply_rules`` changed (its returned record)."""
    models = {"person": Person, "household": Household, "phone": Phone}
    for key, before in (effects or {}).items():
        kind, object_id, name = key.split(".")
        if kind == "opt_out":
            opt_outs.remove_for_undo(session, int(object_id))
            continue
        obj = session.get(models[kind], int(object_id))
        if obj is not None:
            value = datetime.fromisoformat(before) if name.endswith("_at") and before else before
            setattr(obj, name, value)
            session.add(obj)
