"""Matching a normalized file against the campaign's people, and writing it in bulk (the caller commits).

Matching: by external ID (per source) first, then by name + door (or email), refusing a match when both sides carry
different birth years. Updating never touches what canvassing learned: contact history, phone status, moved,
deceased, do-not-contact, and a language heard at the door.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlmodel import Session

from canvass import bulk, opt_outs
from canvass.i18n import N_
from canvass.importing.fields import ID_FIELDS
from canvass.importing.normalize import Normalized
from canvass.models import Email, ExternalId, Household, ImportBatch, Person, Phone, utcnow

ID_PRIORITY = ("voter_id", "van_id", "vendor_id", "county_voter_id", "member_id")
PERSON_FIELDS = ["first_name", "middle_name", "last_name", "suffix", "party", "precinct", "birth_year", "gender",
                 "email", "is_protected"]
SAMPLE_CHANGES = 12


@dataclass
class Plan:
    """What an import would do, row by row (``action``: insert, update, unchanged or merged)."""

    people: pd.DataFrame  # normalized rows + person_id, action, household_key
    new_households: pd.DataFrame
    counts: dict[str, int] = field(default_factory=dict)
    household_ids: pd.Series | None = None  # the stored doors' ids, indexed by address key
    changes: list[dict[str, Any]] = field(default_factory=list)  # samples of field changes for the dry-run
    own_doors: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))  # stored by this transaction
    new_door_ids: pd.Series | None = None  # set by number_plan: the new doors' ids by address key
    new_rows: pd.Index | None = None  # set by number_plan: the rows adding people, in the order they are numbered


def plan_import(session: Session, campaign_id: int, normalized: Normalized) -> Plan:
    """Decides, without writing anything, which rows insert, update, stay unchanged or merge into another row."""
    people = normalized.people  # extended in place: a copy of a million wide rows costs hundreds of MB
    people["person_id"] = _no_ids(len(people))
    # A sign-up sheet of a few hundred rows is looked up by its own IDs, doors and keys (indexed), not by reading a
    # campaign of a million people.
    small = len(people) <= SMALL_FILE_ROWS
    doors = _stored_doors(session, campaign_id, people["address_key"] if small else None)
    _match_by_ids(session, campaign_id, people, small)
    unmatched = people["person_id"].isna() & (people["match_key"] != "")
    existing = _existing_people(session, campaign_id, with_keys=bool(unmatched.any()),
                                near=(people, doors) if small else None)
    keys = doors["address_key"].astype("str")
    plan = _decide(people, pd.Index(keys), existing)
    plan.household_ids = pd.Series(doors["id"].to_numpy(dtype=np.int64), index=keys.to_numpy())
    plan.changes = _sample_changes(session, people)
    return plan


def _decide(people: pd.DataFrame, door_keys: pd.Index, existing: pd.DataFrame, earlier=None) -> Plan:
    """``earlier``: merges the rows that repeat an earlier chunk's rows of the same file (see ``streaming``)."""
    _match_by_name_and_door(people, existing)
    _match_by_a_shared_surname(people, existing)
    people["action"] = "insert"
    people.loc[people["person_id"].notna(), "action"] = "update"
    _merge_duplicates(people)
    if earlier is not None:
        earlier(people)
    stored_hash = existing.set_index("id")["source_hash"] if not existing.empty else pd.Series(dtype="str")
    matched = people["action"] == "update"
    same = people.loc[matched, "source_hash"].to_numpy() == stored_hash.reindex(
        people.loc[matched, "person_id"].astype("int64")).to_numpy()
    people.loc[people.index[matched][same], "action"] = "unchanged"
    people.loc[people["doors_only"] & (people["action"] == "insert"), "action"] = "door"
    new_households = _new_households(door_keys, people)
    counts = people["action"].value_counts().to_dict()
    counts = {k: int(counts.get(k, 0)) for k in ("insert", "update", "unchanged", "merged", "door")}
    counts["households"] = len(new_households)
    return Plan(people, new_households, counts)


def _no_ids(count: int) -> pd.arrays.IntegerArray:
    """``count`` missing ids (built from arrays: a list of a million NAs takes a fifth of a second)."""
    return pd.arrays.IntegerArray(np.zeros(count, dtype=np.int64), np.ones(count, dtype=bool))


SMALL_FILE_ROWS = 20_000
LOOKUP_CHUNK = 900  # values per IN (...): under every SQLite build's limit on bound values


def _read_in_chunks(session: Session, query: sa.Select, column: sa.Column, values) -> pd.DataFrame:
    """``query`` restricted to rows whose ``column`` is one of ``values``, a chunk of values at a time."""
    values = sorted(set(values))
    frames = [bulk.read_frame(session, query.where(column.in_(values[start:start + LOOKUP_CHUNK])))
              for start in range(0, len(values), LOOKUP_CHUNK)]
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0] if frames else \
        bulk.read_frame(session, query.where(sa.false()))


def _stored_doors(session: Session, campaign_id: int, keys: pd.Series | None) -> pd.DataFrame:
    """The campaign's doors (address key, id): all of them, or those at ``keys``."""
    query = sa.select(Household.address_key, Household.id).where(Household.campaign_id == campaign_id)
    if keys is None:
        return bulk.read_frame(session, query)
    return _read_in_chunks(session, query, Household.address_key, keys[keys != ""])


def _existing_people(session: Session, campaign_id: int, *, with_keys: bool,
                     near: tuple[pd.DataFrame, pd.DataFrame] | None = None) -> pd.DataFrame:
    """The campaign's people: fingerprints always, name-and-door keys only when some rows still need matching.

    With ``near`` (the file's rows and their stored doors), only the people the file can match: those found by ID,
    those with the file's name-and-door keys, and everyone living at the file's doors."""
    columns = [Person.id, Person.source_hash] + ([Person.match_key, Person.birth_year] if with_keys else [])
    query = sa.select(*columns).where(Person.campaign_id == campaign_id)
    if near is None:
        return bulk.read_frame(session, query)
    people, doors = near
    # By primary key, the campaign checked on what comes back: SQLite, which plans without statistics, answered
    # "campaign_id = ? AND id IN (...)" by walking the campaign's index, every person of it (1-2 s a chunk on a
    # million people, against 20 ms by the key), so a 1% re-import spent half its time here.
    by_id = _read_in_chunks(session, sa.select(*columns, Person.campaign_id), Person.id,
                            people["person_id"].dropna().astype("int64"))
    found = [by_id[by_id["campaign_id"] == campaign_id].drop(columns="campaign_id")]
    if with_keys:
        keys = people["match_key"]
        found += [_read_in_chunks(session, query, Person.match_key, keys[keys != ""]),
                  _read_in_chunks(session, query, Person.household_id, doors["id"].astype("int64"))]
    return pd.concat(found, ignore_index=True).drop_duplicates("id")


def _match_by_ids(session: Session, campaign_id: int, people: pd.DataFrame, small: bool = False) -> None:
    for source in ID_PRIORITY:
        match_source(session, campaign_id, people, source, small)


def match_source(session: Session, campaign_id: int, people: pd.DataFrame, source: str, small: bool) -> None:
    """Rows not yet matched whose ``source`` ID is stored get that person's id."""
    given = people[source] != ""
    if not given.any():
        return
    # One source at a time, without the source column: a million IDs come back as two columns. The unique key
    # (campaign, source, value) makes each value name one person.
    query = sa.select(ExternalId.value, ExternalId.person_id).where(ExternalId.campaign_id == campaign_id,
                                                                    ExternalId.source == source)
    need = people["person_id"].isna() & given
    if not need.any():
        return
    known = _read_in_chunks(session, query, ExternalId.value, people.loc[need, source]) if small else \
        bulk.read_frame(session, query)
    if known.empty:
        return
    found = _ids_by_key(people.loc[need, source], pd.Series(known["person_id"].to_numpy(), index=known["value"]))
    people.loc[people.index[need], "person_id"] = found


def _match_by_name_and_door(people: pd.DataFrame, existing: pd.DataFrame) -> None:
    need = people["person_id"].isna() & (people["match_key"] != "")
    if not need.any() or existing.empty or "match_key" not in existing:
        return
    keyed = existing[existing["match_key"] != ""].sort_values("id").drop_duplicates("match_key")
    candidates = people.loc[need, ["match_key", "birth_year"]].reset_index().merge(
        keyed, on="match_key", how="inner", suffixes=("", "_stored"))
    # Same name at the same door but a different birth year: a parent and child, not one person.
    both = candidates["birth_year"].notna() & candidates["birth_year_stored"].notna()
    conflict = both & (candidates["birth_year"].astype("float") != candidates["birth_year_stored"].astype("float"))
    candidates = candidates[~conflict]
    row_column = candidates.columns[0]
    people.loc[candidates[row_column].to_numpy(), "person_id"] = candidates["id"].astype("Int64").to_numpy()


def _match_by_a_shared_surname(people: pd.DataFrame, existing: pd.DataFrame) -> None:
    """Same first name at the same door, and one surname among the other's: "Maria Garcia" on a sign-up sheet is
    "MARIA GARCIA LOPEZ" in the voter file (two surnames, and lists keep one or both). Only when exactly one stored
    person fits and no other row of the file wants them; never across different birth years."""
    need = people["person_id"].isna() & (people["match_key"] != "")
    if not need.any() or existing.empty or "match_key" not in existing:
        return
    taken = people["person_id"].dropna().astype("int64")
    stored = existing[(existing["match_key"] != "") & ~existing["id"].isin(taken)]  # not found by another row
    if stored.empty:
        return
    wanted = _surname_words(people.loc[need, "match_key"], people.loc[need, "birth_year"])
    known = _surname_words(stored["match_key"], stored["birth_year"], stored["id"])
    pairs = wanted.merge(known, on=["word", "rest"], suffixes=("", "_stored"))
    both = pairs["birth_year"].notna() & pairs["birth_year_stored"].notna()
    pairs = pairs[~(both & (pairs["birth_year"].astype("float") != pairs["birth_year_stored"].astype("float")))]
    pairs = pairs.drop_duplicates(["row", "id"])
    pairs = pairs[~pairs["row"].duplicated(keep=False) & ~pairs["id"].duplicated(keep=False)]
    people.loc[pairs["row"].to_numpy(), "person_id"] = pairs["id"].astype("Int64").to_numpy()
    # The fuller surname stays: "García" on a sign-up sheet does not cut "GARCIA LOPEZ" down (a blank keeps it).
    shorter = pairs.loc[pairs["words"] < pairs["words_stored"], "row"].to_numpy()
    people.loc[shorter, "last_name"] = ""


def _surname_words(keys: pd.Series, birth_years: pd.Series, ids: pd.Series | None = None) -> pd.DataFrame:
    """One row per word of each key's surname, with the rest of the key (first name, suffix, door) beside it."""
    parts = keys.astype("str").str.partition("|")  # three columns even when no key holds a "|" (split would not)
    words = parts[0].str.split(" ")
    frame = pd.DataFrame({"row": keys.index, "word": words.to_numpy(), "words": words.str.len().to_numpy(),
                          "rest": parts[2].to_numpy(), "birth_year": birth_years.to_numpy()})
    if ids is not None:
        frame["id"] = ids.to_numpy()
        frame = frame.drop(columns="row")
    frame = frame.explode("word")
    return frame[(frame["word"].str.len() > 1) & ~frame["word"].isin(_SURNAME_PARTICLES)]


# Words that join surnames ("de la Cruz", "dos Santos", "van der Berg"): sharing one says nothing.
_SURNAME_PARTICLES = {"DE", "DEL", "LA", "LAS", "LOS", "Y", "DA", "DAS", "DOS", "DI", "DU", "VAN", "VON", "DER", "DEN"}


def _merge_duplicates(people: pd.DataFrame) -> None:
    """Rows that are one person (same stored person, same ID, or same name and door without IDs) become one."""
    people["merged_into"] = _no_ids(len(people))
    rows = pd.Series(people.index, index=people.index)
    keys = [("person_id", people["person_id"].notna())]
    keys += [(f, people[f] != "") for f in ID_PRIORITY]
    no_ids = (people[list(ID_FIELDS)] == "").all(axis=1)
    keys.append(("match_key", no_ids & (people["match_key"] != "")))
    for column, usable in keys:
        values = people.loc[usable & people["merged_into"].isna(), column]
        # Most files repeat nobody: only repeated values are grouped (one column at a time, never whole rows).
        values = values[values.duplicated(keep=False)]
        if values.empty:
            continue
        first = rows[values.index].groupby(values.astype("str")).transform("first")
        later = first[first != first.index.to_series()]
        people.loc[later.index, "merged_into"] = later.astype("Int64")
        people.loc[later.index, "action"] = "merged"


def _new_households(door_keys: pd.Index, people: pd.DataFrame) -> pd.DataFrame:
    """The file's first row at each door not among ``door_keys``."""
    keys = people["address_key"]
    wanted = (keys != "") & (people["action"] != "merged") & (_positions_in(keys, door_keys) < 0)
    # The new doors' first rows only: the wide frame is copied for those, not for every row.
    return people.loc[keys[wanted].drop_duplicates().index]


def _positions_in(keys: pd.Series, stored: pd.Index | pd.Series) -> np.ndarray:
    """Where each key is among ``stored`` (-1 where absent), by pyarrow's hash lookup: pandas' ``isin`` and ``map``
    walk the stored text values in Python (a second for a million keys)."""
    if len(stored) == 0:
        return np.full(len(keys), -1, dtype=np.int64)
    found = pc.index_in(pa.array(keys, type=pa.large_string()), value_set=pa.array(stored, type=pa.large_string()))
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def _ids_by_key(keys: pd.Series, ids: pd.Series) -> pd.arrays.IntegerArray:
    """The id ``ids`` (indexed by key) holds for each key; missing where it holds none."""
    at = _positions_in(keys, ids.index)
    values = ids.to_numpy(dtype=np.int64)[np.maximum(at, 0)] if len(ids) else np.zeros(len(keys), dtype=np.int64)
    return pd.arrays.IntegerArray(values, at < 0)


def _sample_changes(session: Session, people: pd.DataFrame) -> list[dict[str, Any]]:
    """A few examples of what an update would change, field by field, for the check page."""
    updates = people[people["action"] == "update"].head(SAMPLE_CHANGES)
    if updates.empty:
        return []
    ids = [int(i) for i in updates["person_id"]]
    stored = bulk.read_frame(session, sa.select(Person.id, *[getattr(Person, f) for f in PERSON_FIELDS],
                                                Household.address_key, Household.address)
                             .outerjoin(Household, Household.id == Person.household_id).where(Person.id.in_(ids)))
    stored = stored.set_index("id")
    samples = []
    for row, person in updates.iterrows():
        before = stored.loc[int(person["person_id"])]
        fields = []
        for name in PERSON_FIELDS + ["address_key"]:
            old, new = before[name], person[name]
            old = "" if old is None or (isinstance(old, float) and np.isnan(old)) or old is pd.NA else old
            new = "" if new is None or new is pd.NA or (isinstance(new, float) and np.isnan(new)) else new
            if name == "is_protected":  # the driver's 0/1 against the file's True/False
                old, new = ("yes" if old else "no"), ("yes" if new else "no")
            if str(new) != "" and str(old) != str(new):
                label = "address" if name == "address_key" else name
                shown_old = before["address"] if name == "address_key" else old
                shown_new = person["address"] if name == "address_key" else new
                fields.append({"field": label, "before": str(shown_old or ""), "after": str(shown_new or "")})
        if fields:
            samples.append({"row": int(row), "person_id": int(person["person_id"]), "changes": fields})
    return samples


# ------------------------------------------------------------------------------------------------------------------
# Writing


def number_plan(session: Session, plan: Plan) -> None:
    """Gives the plan's new doors and people their ids, reserved in the database; nothing is written yet (see
    ``write_plan``), so the next chunk can be planned against these ids while this one is written."""
    people = plan.people
    bulk.take_write_lock(session, Person.__table__)
    plan.new_door_ids = _reserve_door_ids(session, plan.new_households)
    people["household_id"] = _ids_by_key(people["address_key"], pd.concat([plan.household_ids, plan.new_door_ids]))
    # New people are numbered in door order, so every index on person grows at its end (much cheaper to keep).
    inserting = people["household_id"][people["action"] == "insert"]
    plan.new_rows = inserting.sort_values(kind="stable", na_position="last").index
    people.loc[plan.new_rows, "person_id"] = pd.array(bulk.reserve_ids(session, Person.__table__, len(plan.new_rows)),
                                                      dtype="Int64")
    # Merged into a row of this chunk (a row merged into an earlier chunk's row holds its person already).
    merged = (people["action"] == "merged") & people["merged_into"].notna()
    people.loc[merged, "person_id"] = people.loc[people.loc[merged, "merged_into"].astype("int64"), "person_id"].to_numpy()


def write_plan(session: Session, campaign_id: int, plan: Plan, normalized: Normalized, *, batch_id: int | None,
               progress=lambda fraction, message="": None) -> dict[str, int]:
    """Writes a plan ``number_plan`` numbered. Returns what was written."""
    now = utcnow()
    people, new_rows, new_doors = plan.people, plan.new_rows, plan.new_door_ids
    progress(0.55, N_("Saving doors"))
    _insert_households(session, campaign_id, plan.new_households, new_doors.to_numpy())
    progress(0.65, N_("Saving people"))
    # An unchanged row's fingerprint covers its IDs, phones and emails: they went in when that fingerprint was stored,
    # so a weekly re-import only looks at the rows that changed.
    fresh = people.loc[people["person_id"].notna() & (people["action"] != "unchanged"), ["person_id", *ID_FIELDS]]
    new_people = people.loc[new_rows, "person_id"]
    with ThreadPoolExecutor(max_workers=1) as pool:
        # The people's IDs, phones and emails are gathered and sorted while the database writes the people: it is
        # busy keeping indexes, and would otherwise sit idle for a second or two per million rows.
        attached = pool.submit(_attached_rows, campaign_id, fresh, normalized)
        _insert_people(session, campaign_id, people, new_rows, batch_id, now,
                       new_doors=np.concatenate([plan.own_doors, new_doors.to_numpy()]))
        progress(0.75, N_("Updating people"))
        _update_people(session, people.loc[people["action"] == "update", ["person_id", *PERSON_COPIED]], batch_id, now)
        ids, phones, emails = attached.result()
    progress(0.85, N_("Saving IDs, phones and emails"))
    written = {"external_ids": _insert_skipping_stored(session, ExternalId.__table__, ids,
                                                       ["campaign_id", "source", "value"], new_people),
               "phones": _insert_skipping_stored(session, Phone.__table__, phones, ["person_id", "e164"], new_people),
               "emails": _insert_skipping_stored(session, Email.__table__, emails, ["person_id", "address"],
                                                 new_people)}
    if "do_not_call" in people and people["do_not_call"].any():
        # The file's do-not-call column goes on the do-not-contact list, so the list and the flag agree.
        batch = session.get(ImportBatch, batch_id) if batch_id else None
        opt_outs.entries_for_flags(session, campaign_id, import_name=batch.filename if batch else "",
                                   user_id=batch.created_by_id if batch else None)
    progress(0.98, N_("Finishing"))
    return {"households": len(plan.new_households), **written}


def _attached_rows(campaign_id: int, fresh: pd.DataFrame, normalized: Normalized
                   ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The ``fresh`` rows' external IDs, phones and emails: each once, in key order."""
    return (_external_id_rows(campaign_id, fresh),
            _new_rows(_with_person(normalized.phones, fresh), ["person_id", "e164"], {"status": "ok"}),
            _new_rows(_with_person(normalized.emails, fresh), ["person_id", "address"], {"status": "ok"}))


def _reserve_door_ids(session: Session, fresh: pd.DataFrame) -> pd.Series:
    """Ids for the new doors, by address key. Numbered in the file's order, so are their people (``number_plan``): a
    file sorted by address then keeps its order through the import, and its IDs' index on person_id grows at its end."""
    if fresh.empty:
        return pd.Series([], index=pd.Index([], dtype="str"), dtype=np.int64)
    ids = bulk.reserve_ids(session, Household.__table__, len(fresh))
    return pd.Series(np.asarray(ids, dtype=np.int64), index=fresh["address_key"].astype("str").to_numpy())


def _insert_households(session: Session, campaign_id: int, fresh: pd.DataFrame, ids: np.ndarray) -> None:
    """Writes the new doors with their reserved ids."""
    if fresh.empty:
        return
    frame = fresh[["address_key", "building_key", "address", "house_number", "house_number_int", "street", "unit",
                   "city", "state", "zip5", "zip4", "precinct", "lat", "lon"]].reset_index(drop=True)
    frame.insert(0, "id", ids)
    frame["campaign_id"] = campaign_id
    # Written in key order, so the unique index on the key is appended to, not split.
    bulk.insert_frame(session, Household.__table__, frame, created={},
                      rows=frame["address_key"].sort_values(kind="stable").index.to_numpy())


PERSON_COPIED = ["household_id", "first_name", "middle_name", "last_name", "suffix", "language", "party", "precinct",
                 "birth_year", "gender", "email", "is_protected", "do_not_call", "match_key", "source_hash", "custom",
                 "vote_history"]


def _person_columns(people: pd.DataFrame, batch_id: int | None, now) -> pd.DataFrame:
    """The person table's columns from the normalized rows (pandas keeps its compact text arrays; no copies)."""
    frame = people[PERSON_COPIED].copy(deep=False)
    frame.insert(0, "id", people["person_id"].astype("Int64"))
    frame["language_source"] = people["language"].where(people["language"] == "", "file")
    frame["import_batch_id"] = batch_id
    return frame.reset_index(drop=True)


def _insert_people(session: Session, campaign_id: int, people: pd.DataFrame, rows: pd.Index, batch_id: int | None,
                   now, new_doors: np.ndarray) -> None:
    """Inserts ``people``'s ``rows``, in that order: taken a chunk at a time while the last is sent (a reordered copy
    of a million wide rows took a second or more while the database waited, and 1.8 GB at its peak)."""
    frame = _person_columns(people[["person_id", *PERSON_COPIED]], batch_id, now)
    frame["household_id"] = frame["household_id"].astype("Int64")
    frame["birth_year"] = frame["birth_year"].astype("Int64")
    frame["campaign_id"] = campaign_id  # flags and timestamps are filled in by the database's defaults
    bulk.insert_frame(session, Person.__table__, frame, created={"household_id": new_doors},
                      rows=people.index.get_indexer(rows))


def _update_people(session: Session, people: pd.DataFrame, batch_id: int | None, now) -> None:
    if people.empty:
        return
    frame = _person_columns(people, batch_id, now)
    frame["household_id"] = frame["household_id"].astype("Int64")
    frame["birth_year"] = frame["birth_year"].astype("Int64")
    frame["moved"] = False
    frame["updated_at"] = now
    stored = '"person"'
    # A blank in the file never erases what is stored (a sign-up sheet without addresses keeps people's doors).
    keep_if_blank = {name: f"COALESCE(NULLIF(new.{name}, ''), {stored}.{name})" for name in
                     ("first_name", "middle_name", "last_name", "suffix", "party", "precinct", "gender", "email")}
    bulk.update_frame(session, Person.__table__, frame, set_sql={
        **keep_if_blank,
        "birth_year": f"COALESCE(new.birth_year, {stored}.birth_year)",
        "household_id": f"CASE WHEN new.is_protected THEN NULL "
                        f"ELSE COALESCE(new.household_id, {stored}.household_id) END",
        # What the door taught wins over the file: a language heard, a do-not-call, a bad address.
        "language": f"CASE WHEN {stored}.language_source = 'door' OR new.language = '' "
                    f"THEN {stored}.language ELSE new.language END",
        "language_source": f"CASE WHEN {stored}.language_source = 'door' OR new.language = '' "
                           f"THEN {stored}.language_source ELSE 'file' END",
        "do_not_call": f"({stored}.do_not_call OR new.do_not_call)",
        # "Moved" was learned about the old door: a new address in the file lifts it, the same address keeps it.
        "moved": f"CASE WHEN new.household_id IS NULL OR {stored}.household_id IS NOT DISTINCT FROM new.household_id "
                 f"THEN {stored}.moved ELSE FALSE END",
        "custom": bulk.json_merge_sql(session, "custom", "person"),
        "vote_history": bulk.json_merge_sql(session, "vote_history", "person"),
    })


def _external_id_rows(campaign_id: int, people: pd.DataFrame) -> pd.DataFrame:
    pieces = [pd.DataFrame({"person_id": people.loc[given, "person_id"].astype("int64").array, "source": source,
                            "value": people.loc[given, source].array})
              for source, given in ((source, people[source] != "") for source in ID_FIELDS) if given.any()]
    if not pieces:
        return pd.DataFrame({"person_id": pd.Series(dtype="int64")})
    # In key order, the key's index is appended to rather than split all over (PostgreSQL: a million IDs in 4.8-5.7 s
    # instead of 7.1 s); only the index on person_id is then written out of order, and its keys are small.
    frame = pd.concat(pieces, ignore_index=True).drop_duplicates(["source", "value"]).sort_values(["source", "value"])
    frame["campaign_id"] = campaign_id
    return frame


def _with_person(items: pd.DataFrame, people: pd.DataFrame) -> pd.DataFrame:
    person_ids = people["person_id"]
    items = items[items["row"].isin(person_ids[person_ids.notna()].index)].copy()
    items["person_id"] = person_ids.reindex(items["row"]).astype("int64").to_numpy()
    return items.drop(columns="row")


def _new_rows(items: pd.DataFrame, key: list[str], defaults: dict) -> pd.DataFrame:
    """One row per key, in key order, with the defaults filled in."""
    items = items.drop_duplicates(key).sort_values(key, kind="stable")
    for column, value in defaults.items():
        items[column] = value
    return items


def _insert_skipping_stored(session: Session, table: sa.Table, items: pd.DataFrame, key: list[str],
                            new_people: pd.Series) -> int:
    """A person added by this import has nothing stored yet: their rows go straight in. (An ID is matched before a
    person is added, so a new person's ID is not stored either.) Known people's rows skip what is stored."""
    new = items["person_id"].isin(new_people)
    return bulk.insert_frame(session, table, items[new], created={"person_id": new_people}) + \
        bulk.insert_frame(session, table, items[~new], skip_stored=key)


# ------------------------------------------------------------------------------------------------------------------
# Locks


def holds_people(session: Session, campaign_id: int) -> bool:
    return bool(session.execute(sa.select(sa.exists().where(Person.campaign_id == campaign_id))).scalar_one())


def lock_imports_into(session: Session, campaign_id: int) -> None:
    """One import at a time per campaign, until this transaction ends (PostgreSQL; on SQLite the write lock does it).

    Two imports planned side by side would each add the people the other is adding."""
    if bulk.dialect(session) == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:kind, :campaign)"),
                        {"kind": IMPORT_LOCK, "campaign": campaign_id})


IMPORT_LOCK = 0x63616E76  # the advisory lock's first key: "canv"
