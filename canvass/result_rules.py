"""What a result code does beyond being counted: the flags it sets on the person, the door or the phone (moved,
deceased, do not call, hostile, wrong number...), each change recorded so that undoing the contact puts it back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from canvass.models import Household, Person, Phone, PhoneStatus, ResultCode, Suppression

#: Result codes whose rule is to set a flag on the person.
PERSON_FLAGS = {Suppression.moved: "moved", Suppression.wrong_address: "moved", Suppression.deceased: "deceased",
                Suppression.do_not_call: "do_not_call", Suppression.do_not_contact: "do_not_contact",
                Suppression.language_barrier: "needs_language"}


def apply_rules(session: Session, code: ResultCode, person: Person | None, household: Household | None,
                phone: Phone | None, item, now: datetime) -> dict[str, Any]:
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
    elif rule == Suppression.wrong_number:
        set_flag(phone, "status", PhoneStatus.wrong)
    elif rule == Suppression.disconnected and phone is not None:
        # A dead number is dead for everyone who has it, in every list.
        for same in session.exec(select(Phone).where(Phone.e164 == phone.e164)).all():
            set_flag(same, "status", PhoneStatus.disconnected)
    if item.language_heard and person is not None:
        set_flag(person, "language", item.language_heard.strip().lower()[:8])
        set_flag(person, "language_source", "door")
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in effects.items()}




def apply_rules_if_any(session: Session, code, item, person, household, phone, now: datetime) -> dict[str, Any]:
    """Runs ``code``'s rules for ``item`` on the real objects, loaded (from the batch's rows) only when the code or
    the item changes something. Returns the changes made, for undo."""
    if code.suppresses == Suppression.none and not (item.language_heard and person is not None):
        return {}

    def load(model, row):
        return session.get(model, row.id) if row is not None else None

    return apply_rules(session, code, load(Person, person), load(Household, household), load(Phone, phone), item, now)


def put_back(session: Session, effects: dict[str, Any]) -> None:
    """Undoes what ``apply_rules`` changed (its returned record)."""
    models = {"person": Person, "household": Household, "phone": Phone}
    for key, before in (effects or {}).items():
        kind, object_id, name = key.split(".")
        obj = session.get(models[kind], int(object_id))
        if obj is not None:
            value = datetime.fromisoformat(before) if name.endswith("_at") and before else before
            setattr(obj, name, value)
            session.add(obj)
