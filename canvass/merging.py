"""Merging one person into another, and undoing it. The caller commits.

A merge keeps everything: every row that refers to the merged person (contacts and their survey answers, phones,
emails, tags, external IDs, call-list places...) moves to the survivor; a row the survivor already has the same of
(the same phone number, the same tag) stays the survivor's, takes the safer of the two statuses, and the repeat is
saved in the record; flags combine in the safe direction (any do-not-contact, deceased or moved stays); custom
fields and vote history are united, and blanks filled. The merged person is then deleted, their row saved in the
``MergeRecord``, with what moved and what changed: undo puts each row back exactly.

Which columns refer to a person is read from the models' foreign keys; each must be listed in ``PERSON_REFERENCES``
with what a merge does to its rows, or merging refuses (and tests/test_merging.py fails) rather than let the merged
person's delete cascade through a table nobody thought of.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, SQLModel, select

from canvass import audit
from canvass.duplicates import check_pair
from canvass.i18n import N_, UserError
from canvass.models import MergeRecord, Person, PhoneStatus, User, utcnow


class MergeError(UserError):
    """A merge or an undo that cannot be done as asked."""


@dataclass(frozen=True)
class Move:
    """Rows move to the survivor. ``same``: the columns that, with the person, make a row unique: a repeat of a row
    the survivor has is dropped (saved in the record), the survivor's row taking the safer values (``combine``)."""

    same: tuple[str, ...] = ()


@dataclass(frozen=True)
class Drop:
    """Rows about the merged person alone (a "not the same person" decision): saved in the record and deleted."""


#: Every column that refers to person.id, and what a merge does with its rows. A new table that refers to people
#: must be added here.
PERSON_REFERENCES: dict[str, Move | Drop] = {
    "contact_attempt.person_id": Move(),  # survey responses hang on the contact, so they follow it
    "external_id.person_id": Move(),  # a re-import then finds the survivor by either person's IDs
    "phone.person_id": Move(same=("e164",)),
    "email.person_id": Move(same=("address",)),
    "person_tag.person_id": Move(same=("tag_id",)),
    "call_entry.person_id": Move(same=("call_list_id",)),
    "vote.person_id": Move(same=("election_id",)),  # vote history (canvass.models.Vote), once it lands
    "opt_out.person_id": Move(),  # the do-not-contact list follows the person (flags combine too, see FLAGS)
    "relational_person.person_id": Move(),  # a volunteer's friend, confirmed to be this voter
    "relational_person.suggested_id": Move(),
    "not_duplicate.person_id": Drop(),
    "not_duplicate.other_id": Drop(),
}

#: Person flags that, once true on either record, stay true: the safe direction.
FLAGS = ("do_not_contact", "do_not_call", "deceased", "moved", "needs_language", "is_protected")
#: Person columns a merge never changes on the survivor.
KEPT = ("id", "campaign_id", "created_at", "updated_at", "match_key", "source_hash")
#: Statuses, safest last: a repeated phone or email keeps the later of the two.
STATUS_ORDER = {"phone": [PhoneStatus.ok, PhoneStatus.wrong, PhoneStatus.disconnected],
                "email": ["ok", "bounced", "unsubscribed"]}
CALL_ENTRY_DONE = "done"


def person_references() -> list[sa.ForeignKey]:
    """Every foreign key in the schema that points at person.id."""
    person = SQLModel.metadata.tables["person"]
    return [key for table in SQLModel.metadata.sorted_tables for key in table.foreign_keys
            if key.column is person.c.id]


def unlisted_references() -> list[str]:
    return [f"{key.parent.table.name}.{key.parent.name}" for key in person_references()
            if f"{key.parent.table.name}.{key.parent.name}" not in PERSON_REFERENCES]


# ------------------------------------------------------------------------------------------------------------------
# Merging


def merge_people(session: Session, survivor: Person, merged: Person, user: User | None, *,
                 reasons: list | None = None) -> MergeRecord:
    """Merges ``merged`` into ``survivor`` (see the module's docstring) and returns the record of it."""
    check_pair(survivor, merged)
    unlisted = unlisted_references()
    if unlisted:
        raise MergeError(N_("Merging is off until %(tables)s is taught to merge."), tables=", ".join(unlisted))
    # Lock both people first: a contact logged for the merged person meanwhile waits, then fails, rather than
    # being deleted with them (PostgreSQL; SQLite's writer already holds the whole database).
    session.execute(select(Person.id).where(Person.id.in_([survivor.id, merged.id])).with_for_update())
    session.flush()
    saved: dict[str, Any] = {"person": _row(session, Person.__table__, {"id": merged.id}), "dropped": [],
                             "changed": [], "repointed": []}
    moved: dict[str, list] = {}
    for key in person_references():
        rule = PERSON_REFERENCES[f"{key.parent.table.name}.{key.parent.name}"]
        _move_or_drop(session, key.parent, rule, survivor.id, merged.id, moved, saved)
    before = _combine_people(session, survivor, merged)
    if before:
        saved["changed"].append({"table": "person", "key": {"id": survivor.id}, "before": before,
                                 "after": {column: _plain(getattr(survivor, column)) for column in before}})
    session.expunge(merged)
    session.execute(sa.delete(Person.__table__).where(Person.__table__.c.id == merged.id))
    record = MergeRecord(campaign_id=survivor.campaign_id, survivor_id=survivor.id, merged_id=merged.id,
                         reasons=reasons or [], moved=moved, saved=saved, merged_by_id=user.id if user else None)
    session.add(record)
    session.flush()
    audit.record(session, user, "person.merged", object_type="merge_record", object_id=record.id,
                 survivor_id=survivor.id, merged_id=merged.id, reasons=[r.get("code") for r in record.reasons],
                 moved={name: len(keys) for name, keys in moved.items()}, dropped=len(saved["dropped"]))
    return record


def _move_or_drop(session: Session, column: sa.Column, rule: Move | Drop, survivor_id: int, merged_id: int,
                  moved: dict, saved: dict) -> None:
    table = column.table
    keys = list(table.primary_key.columns)
    rows = session.execute(sa.select(table).where(column == merged_id)).mappings().all()
    if not rows:
        return
    if isinstance(rule, Drop):
        saved["dropped"] += [{"table": table.name, "row": _plain_row(row)} for row in rows]
        _delete(session, table, [{k.name: row[k.name] for k in keys} for row in rows])
        return
    theirs = {}
    if rule.same:
        mine = session.execute(sa.select(table).where(column == survivor_id)).mappings().all()
        theirs = {tuple(row[c] for c in rule.same): row for row in mine}
    repeats = [row for row in rows if rule.same and tuple(row[c] for c in rule.same) in theirs]
    for row in repeats:
        kept = theirs[tuple(row[c] for c in rule.same)]
        saved["dropped"].append({"table": table.name, "row": _plain_row(row)})
        _keep_safer(session, table, kept, row, saved)
        _repoint(session, table, row, kept, saved)
    _delete(session, table, [{k.name: row[k.name] for k in keys} for row in repeats])
    # Keys as they read after the move (a key may hold the person: person_tag, vote), so the undo finds the rows.
    moving = [[survivor_id if k is column else _plain(row[k.name]) for k in keys] for row in rows if row not in repeats]
    if moving:
        session.execute(sa.update(table).where(column == merged_id).values({column.name: survivor_id}))
        moved[f"{table.name}.{column.name}"] = moving


def _keep_safer(session: Session, table: sa.Table, kept, repeat, saved: dict) -> None:
    """The survivor's row takes the safer of the two values: a dead number stays dead, a list's finished entry
    stays finished."""
    after = {}
    if table.name in STATUS_ORDER and "status" in table.c:
        order = [str(s) for s in STATUS_ORDER[table.name]]
        rank = {status: position for position, status in enumerate(order)}
        if rank.get(repeat["status"], 0) > rank.get(kept["status"], 0):
            after["status"] = repeat["status"]
    if table.name == "call_entry":
        if repeat["status"] == CALL_ENTRY_DONE and kept["status"] != CALL_ENTRY_DONE:
            after["status"] = CALL_ENTRY_DONE
        if repeat["attempts"] > kept["attempts"]:
            after["attempts"] = repeat["attempts"]
    if after:
        key = {k.name: kept[k.name] for k in table.primary_key.columns}
        session.execute(sa.update(table).where(*(table.c[k] == v for k, v in key.items())).values(after))
        saved["changed"].append({"table": table.name, "key": _plain_dict(key),
                                 "before": {c: _plain(kept[c]) for c in after}, "after": _plain_dict(after)})


def _repoint(session: Session, table: sa.Table, repeat, kept, saved: dict) -> None:
    """Rows that refer to a dropped repeat (a contact made on that phone) refer to the survivor's row instead."""
    if list(table.primary_key.columns) != [table.c.get("id")]:
        return
    for key in _references_to(table):
        referring = key.parent.table
        ids = session.execute(sa.select(referring.c.id).where(key.parent == repeat["id"])).scalars().all()
        if ids:
            session.execute(sa.update(referring).where(referring.c.id.in_(ids)).values({key.parent.name: kept["id"]}))
            saved["repointed"].append({"table": referring.name, "column": key.parent.name, "ids": list(ids),
                                       "from": repeat["id"], "to": kept["id"]})


def _references_to(table: sa.Table) -> list[sa.ForeignKey]:
    return [key for other in SQLModel.metadata.sorted_tables for key in other.foreign_keys
            if key.column is table.c.id and "id" in other.c]


def _combine_people(session: Session, survivor: Person, merged: Person) -> dict[str, Any]:
    """Flags in the safe direction, blanks filled, custom fields and vote history united. Returns the survivor's
    values it replaced."""
    before: dict[str, Any] = {}

    def change(column: str, value) -> None:
        before[column] = _plain(getattr(survivor, column))
        setattr(survivor, column, value)

    for column in (c.name for c in Person.__table__.c):
        mine, theirs = getattr(survivor, column), getattr(merged, column)
        if column in KEPT or theirs in (None, "", {}, False):
            continue
        if column in FLAGS:
            if not mine:
                change(column, True)
        elif isinstance(theirs, dict):
            united = _united(mine or {}, theirs)
            if united != mine:
                change(column, united)
        elif mine in (None, ""):
            change(column, theirs)
    if before:
        change("updated_at", utcnow())
        session.add(survivor)
        session.flush()
    return before


def _united(mine: dict, theirs: dict) -> dict:
    """Both records' fields; where both hold a different value, the other record's is kept beside it as
    "NAME (2)"."""
    united = dict(mine)
    for key, value in theirs.items():
        if united.get(key) in (None, ""):
            united[key] = value
        elif united[key] != value and value not in (None, "") and value not in {
                united.get(f"{key} ({n})") for n in range(2, 10)}:
            n = 2
            while f"{key} ({n})" in united:
                n += 1
            united[f"{key} ({n})"] = value
    return united


def recent_merges(session: Session, campaign_id: int, limit: int = 20) -> list[MergeRecord]:
    return list(session.exec(select(MergeRecord).where(MergeRecord.campaign_id == campaign_id)
                             .order_by(MergeRecord.merged_at.desc(), MergeRecord.id.desc()).limit(limit)))


def merged_into(session: Session, person_id: int) -> MergeRecord | None:
    """The merge that removed this person, while it stands (not undone)."""
    return session.exec(select(MergeRecord).where(MergeRecord.merged_id == person_id, MergeRecord.undone_at.is_(None))
                        .order_by(MergeRecord.id.desc())).first()


def merged_name(record: MergeRecord) -> str:
    """The merged person's name, from the row the record keeps."""
    row = record.saved.get("person", {})
    return " ".join(row.get(part) or "" for part in ("first_name", "middle_name", "last_name", "suffix")
                    if row.get(part)) or "—"


def moved_counts(record: MergeRecord) -> dict[str, int]:
    """Rows the merge gave the survivor, per table: moved, and repeats folded into the survivor's own."""
    counts: dict[str, int] = {}
    for name, keys in record.moved.items():
        table = name.split(".")[0]
        counts[table] = counts.get(table, 0) + len(keys)
    for dropped in record.saved.get("dropped", []):
        if dropped["table"] != "not_duplicate":
            counts[dropped["table"]] = counts.get(dropped["table"], 0) + 1
    return counts


# ------------------------------------------------------------------------------------------------------------------
# Undoing


def undo_merge(session: Session, record: MergeRecord, user: User | None) -> Person:
    """Puts back the merged person and every row as it was before the merge; returns the person. Rows added to the
    survivor since stay the survivor's."""
    if record.undone_at is not None:
        raise MergeError(N_("This merge was already undone."))
    if session.get(Person, record.survivor_id) is None:
        raise MergeError(N_("The person these records were merged into was merged again or deleted: undo that first."))
    if session.get(Person, record.merged_id) is not None:
        raise MergeError(N_("This merge cannot be undone: the merged record's number was given to someone new."))
    person = Person.__table__
    session.execute(sa.insert(person).values(_typed_row(person, record.saved["person"])))
    for dropped in record.saved["dropped"]:
        table = SQLModel.metadata.tables[dropped["table"]]
        row = _typed_row(table, dropped["row"])
        if _targets_exist(session, table, row):
            session.execute(sa.insert(table).values(row))
    for repointed in record.saved["repointed"]:
        table = SQLModel.metadata.tables[repointed["table"]]
        session.execute(sa.update(table).where(table.c.id.in_(repointed["ids"]),
                                               table.c[repointed["column"]] == repointed["to"])
                        .values({repointed["column"]: repointed["from"]}))
    for name, keys in record.moved.items():
        table_name, column = name.split(".")
        table = SQLModel.metadata.tables[table_name]
        primary = list(table.primary_key.columns)
        for start in range(0, len(keys), 400):
            chunk = [tuple(_typed(c, v) for c, v in zip(primary, key, strict=True)) for key in keys[start:start + 400]]
            where = primary[0].in_([k[0] for k in chunk]) if len(primary) == 1 else sa.tuple_(*primary).in_(chunk)
            session.execute(sa.update(table).where(where, table.c[column] == record.survivor_id)
                            .values({column: record.merged_id}))
    for changed in record.saved["changed"]:
        _restore(session, changed)
    session.expire_all()
    record.undone_at, record.undone_by_id = utcnow(), user.id if user else None
    session.add(record)
    session.flush()
    audit.record(session, user, "person.merge_undone", object_type="merge_record", object_id=record.id,
                 survivor_id=record.survivor_id, merged_id=record.merged_id)
    return session.get(Person, record.merged_id)


def _restore(session: Session, changed: dict) -> None:
    """Puts back the values a merge replaced, each only where it still holds what the merge wrote (a flag a
    volunteer set since stays set)."""
    table = SQLModel.metadata.tables[changed["table"]]
    where = [table.c[k] == _typed(table.c[k], v) for k, v in changed["key"].items()]
    current = session.execute(sa.select(table).where(*where)).mappings().first()
    if current is None:
        return
    values = {column: _typed(table.c[column], value) for column, value in changed["before"].items()
              if _plain(current[column]) == changed["after"][column]}
    if values:
        session.execute(sa.update(table).where(*where).values(values))


def _targets_exist(session: Session, table: sa.Table, row: dict) -> bool:
    """Whether every row ``row`` refers to still exists (the other person of a decision may be gone since)."""
    for key in table.foreign_keys:
        value = row.get(key.parent.name)
        if value is not None and session.execute(sa.select(key.column).where(key.column == value)).first() is None:
            return False
    return True


def _delete(session: Session, table: sa.Table, keys: list[dict]) -> None:
    for key in keys:
        session.execute(sa.delete(table).where(*(table.c[k] == v for k, v in key.items())))


# ------------------------------------------------------------------------------------------------------------------
# Rows as JSON, and back


def _row(session: Session, table: sa.Table, key: dict) -> dict:
    row = session.execute(sa.select(table).where(*(table.c[k] == v for k, v in key.items()))).mappings().one()
    return _plain_row(row)


def _plain_row(row) -> dict:
    return {column: _plain(value) for column, value in row.items()}


def _plain_dict(values: dict) -> dict:
    return {column: _plain(value) for column, value in values.items()}


def _plain(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _typed_row(table: sa.Table, row: dict) -> dict:
    return {column: _typed(table.c[column], value) for column, value in row.items() if column in table.c}


def _typed(column: sa.Column, value):
    if value is None:
        return None
    try:
        python_type = getattr(column.type, "impl_instance", column.type).python_type  # UTCDateTime: its DateTime
    except NotImplementedError:
        return value
    if python_type is datetime:
        return datetime.fromisoformat(value)
    if python_type is date:
        return date.fromisoformat(value)
    if python_type is uuid.UUID:
        return uuid.UUID(value)
    return value
