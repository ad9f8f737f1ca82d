"""A file checked or imported a chunk at a time, so memory holds a chunk and a few numbers per row, whatever the
file's size.

Each chunk is cleaned on its own (a second thread cleans the next while this one is matched and written), then
planned against the database and against what the file's earlier chunks planned (``FileState``), with the rules a
whole-file plan follows (``loading._merge_duplicates``): a row that repeats an earlier row's person, ID, or (without
IDs) name and door is merged into it. So a file gives the same people, doors, IDs, phones and emails whether it is
read in one chunk or in many.

On a re-import, rows whose fingerprint (``normalize.row_fingerprints``) is stored are unchanged: they are counted and
left out before they are cleaned, so a weekly file with 1% of its rows changed cleans, matches and writes 1% of it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import queue
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import sqlalchemy as sa
from sqlmodel import Session

from canvass.importing.loading import (
    ID_PRIORITY,
    Plan,
    _decide,
    _existing_people,
    _no_ids,
    _stored_doors,
    match_source,
)
from canvass.importing.normalize import Normalized
from canvass.importing.problems import PROBLEM_LIMIT
from canvass.models import Household, Person

KEYS_HASH = "canvass-keys-v01"  # 16 characters: pandas' hash key


def key_hashes(values: pd.Series | np.ndarray) -> np.ndarray:
    """64-bit hashes of text keys: ten million IDs take 80 MB instead of a gigabyte of text. Two different keys
    share a hash about once in 10^12 imports of ten million rows."""
    return pd.util.hash_array(np.asarray(values, dtype=object), hash_key=KEYS_HASH, categorize=False)


class KeyMap:
    """Keys (64-bit numbers) to ids, added a chunk at a time; a key keeps the first id it was given.

    The newest keys are held in memory as sorted runs, each at most half the size of the one before (merged when
    not), so adding n keys in chunks costs O(n log n) and a lookup searches a few runs. Ids are kept in 32 bits (the
    tables' ids are 32-bit integers, and a dry run's stand-ins count down from -1): 12 bytes a key.

    Past ``spill_keys`` keys in memory, they go to a file of their own (``SpilledRun``), and memory keeps 2 bytes a
    key of them (a filter) and a key in a thousand: the key maps of a file of any size take a bounded part of memory
    (they were most of what grew with a big file: 12 bytes a row, twice that while two runs merged)."""

    SPILL_KEYS = 4_000_000  # 48 MB of keys and ids in memory, per map

    def __init__(self, spill_keys: int | None = None):
        self.spill_keys = spill_keys or self.SPILL_KEYS
        self.runs: list[tuple[np.ndarray, np.ndarray]] = []
        self.spilled: list[SpilledRun] = []

    def __len__(self) -> int:
        return sum(len(keys) for keys, _ in self.runs) + sum(run.count for run in self.spilled)

    def add(self, keys: np.ndarray, ids: np.ndarray) -> None:
        if not len(keys):
            return
        order = np.argsort(keys, kind="stable")
        self.runs.append((keys[order], _as_ids(ids)[order]))
        while len(self.runs) > 1 and len(self.runs[-2][0]) <= 2 * len(self.runs[-1][0]):
            self._merge_last_two()
        if sum(len(run) for run, _ in self.runs) > self.spill_keys:
            self._spill()

    def _merge_last_two(self) -> None:
        (older, older_ids), (newer, newer_ids) = self.runs[-2:]
        # Both are sorted: the newer go in after the older equal keys (the older id stays first). Sorting the two
        # together took five copies of them at once, the import's peak at ten million rows.
        at = np.searchsorted(older, newer, side="right")
        self.runs[-2:] = [(np.insert(older, at, newer), np.insert(older_ids, at, newer_ids))]

    def _spill(self) -> None:
        """The runs in memory, as one run of distinct keys (each with its first id), to a file."""
        while len(self.runs) > 1:
            self._merge_last_two()
        keys, ids = self.runs.pop()
        first = np.r_[True, keys[1:] != keys[:-1]]
        if not first.all():
            keys, ids = keys[first], ids[first]
        self.spilled.append(SpilledRun(keys, ids))

    def get(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which keys are held, and their ids (0 where not)."""
        # Searched in order: sorted keys share the search's first steps, so the runs' pages stay in the cache; in
        # the file's order each key's search missed it, and at ten million rows the lookups took a tenth of a
        # first import on PostgreSQL (a chunk's IDs: 120 ms instead of 30).
        order = np.argsort(keys)
        wanted = np.asarray(keys)[order]
        found = np.zeros(len(keys), dtype=bool)
        ids = np.zeros(len(keys), dtype=np.int64)
        for spilled in self.spilled:  # the oldest first: a key keeps its first id
            spilled.get(wanted, found, ids)
        for run, run_ids in self.runs:
            at = np.minimum(np.searchsorted(run, wanted), len(run) - 1)
            hit = (run[at] == wanted) & ~found
            ids[hit] = run_ids[at[hit]]
            found |= hit
        found_in_order, ids_in_order = np.empty_like(found), np.empty_like(ids)
        found_in_order[order], ids_in_order[order] = found, ids
        return found_in_order, ids_in_order

    def close(self) -> None:
        for spilled in self.spilled:
            spilled.close()
        self.spilled = []


class SpilledRun:
    """Sorted distinct keys and their ids in a temporary file (deleted when closed, or when the process ends however
    it ends), with a filter in memory that says which keys may be there, and every ``BLOCK``-th key: a lookup reads
    only the blocks that may hold a key asked for. On a first import nearly every key asked for is new, so a
    chunk's lookup reads a few blocks."""

    BLOCK = 1024  # keys a read: 8 kB

    def __init__(self, keys: np.ndarray, ids: np.ndarray):
        self.count = len(keys)
        self.file = tempfile.TemporaryFile(prefix="canvass-import-keys-")  # noqa: SIM115 (kept open: close())
        # Closed, and so its space freed, when the map is dropped at the import's end (or by close()), even when
        # the import fails
        self._closing = weakref.finalize(self, self.file.close)
        self.file.write(memoryview(np.ascontiguousarray(keys, dtype=np.uint64)).cast("B"))
        self.file.write(memoryview(np.ascontiguousarray(ids, dtype=np.int32)).cast("B"))
        self.file.flush()
        self.firsts = keys[::self.BLOCK].copy()
        self.filter = KeyFilter(keys)

    def get(self, wanted: np.ndarray, found: np.ndarray, ids: np.ndarray) -> None:
        """Marks the sorted ``wanted`` keys held here and not ``found`` before, with their ids."""
        maybe = np.flatnonzero(self.filter.may_hold(wanted) & ~found)
        if not len(maybe):
            return
        blocks = np.searchsorted(self.firsts, wanted[maybe], side="right") - 1
        maybe, blocks = maybe[blocks >= 0], blocks[blocks >= 0]  # below the first key: not here
        # Neighbouring blocks are read together: a chunk that finds many keys reads long stretches at once
        starts = np.flatnonzero(np.r_[True, np.diff(blocks) > 1])
        for begin, end in zip(starts, [*starts[1:], len(blocks)], strict=True):
            first, last = int(blocks[begin]), int(blocks[end - 1])
            keys = self._read(first * self.BLOCK, min(self.count, (last + 1) * self.BLOCK), np.uint64)
            asked = maybe[begin:end]
            at = np.minimum(np.searchsorted(keys, wanted[asked]), len(keys) - 1)
            hit = keys[at] == wanted[asked]
            if hit.any():
                block_ids = self._read(first * self.BLOCK, min(self.count, (last + 1) * self.BLOCK), np.int32)
                ids[asked[hit]] = block_ids[at[hit]]
                found[asked[hit]] = True

    def _read(self, start: int, stop: int, dtype) -> np.ndarray:
        size = np.dtype(dtype).itemsize
        offset = 0 if dtype is np.uint64 else self.count * 8
        data = os.pread(self.file.fileno(), (stop - start) * size, offset + start * size)
        return np.frombuffer(data, dtype=dtype)

    def close(self) -> None:
        self._closing()


class KeyFilter:
    """Which 64-bit keys (hashes already, so their bits are random) may be in a set: 16 bits a key, in 64-bit words,
    8 bits a key in one word (a blocked Bloom filter). A key not held is let through about 5 times in 1,000;
    a key held always is."""

    BITS_PER_KEY = 16
    SLICE = 500_000
    _PLACE = np.uint64(0xD6E8FEB86659FD93)  # the word comes from one mix of the key
    _SPREAD = np.uint64(0x9E3779B97F4A7C15)  # the bits' positions from another

    def __init__(self, keys: np.ndarray):
        self.words = np.zeros(max(1, len(keys) * self.BITS_PER_KEY // 64), dtype=np.uint64)
        if not len(keys):
            return
        for start in range(0, len(keys), self.SLICE):  # a slice at a time: building took 8 copies of the keys
            at, masks = self._places(keys[start:start + self.SLICE])
            order = np.argsort(at)
            at, masks = at[order], masks[order]
            starts = np.flatnonzero(np.r_[True, at[1:] != at[:-1]])
            self.words[at[starts]] |= np.bitwise_or.reduceat(masks, starts)

    def may_hold(self, keys: np.ndarray) -> np.ndarray:
        at, masks = self._places(keys)
        return (self.words[at] & masks) == masks

    def _places(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        keys = np.asarray(keys, dtype=np.uint64)
        # Mixed first (a product's high bits depend on all of the key's): keys whose high bits are all alike (small
        # numbers, a tenth of the words) still spread over every word
        at = (((keys * self._PLACE) >> np.uint64(32)) * np.uint64(len(self.words))) >> np.uint64(32)
        mixed = keys * self._SPREAD
        masks = np.zeros(len(keys), dtype=np.uint64)
        for i in range(8):
            masks |= np.uint64(1) << ((mixed >> np.uint64(6 * i + 16)) & np.uint64(63))
        return at.astype(np.intp), masks


def _as_ids(ids: np.ndarray) -> np.ndarray:
    ids = np.asarray(ids, dtype=np.int64)
    if len(ids) and (ids.max() > np.iinfo(np.int32).max or ids.min() < np.iinfo(np.int32).min):
        raise OverflowError("an id past 32 bits: the tables' ids are 32-bit integers")
    return ids.astype(np.int32)


class IdSet:
    """Ids (the people rows already took), a bit each: a bit per id up to the highest instead of 16 bytes per id
    held, so ten million people take about a megabyte. A dry run's stand-ins count down from -1: they are held
    as their negation, in bits of their own."""

    def __init__(self):
        self.count = 0
        self._bits = {1: np.zeros(0, dtype=np.uint8), -1: np.zeros(0, dtype=np.uint8)}

    def __len__(self) -> int:
        return self.count

    def add(self, ids: np.ndarray) -> None:
        ids = np.sort(np.asarray(ids, dtype=np.int64))  # np.unique hashes first: 10x slower on 100,000 ids
        ids = ids[np.r_[True, ids[1:] != ids[:-1]]] if len(ids) else ids
        self.count += int((~self.contains(ids)).sum())
        for sign, some in ((1, ids[ids >= 0]), (-1, -ids[ids < 0])):
            if not len(some):
                continue
            bits = self._bits[sign]
            needed = int(some.max()) // 8 + 1
            if needed > len(bits):  # grown by half again at least: growing costs O(n) over the file
                bits = np.concatenate([bits, np.zeros(max(needed, len(bits) * 3 // 2) - len(bits), dtype=np.uint8)])
                self._bits[sign] = bits
            # ``some`` is sorted and unique: one OR a byte, its bits gathered first (ufunc.at took 5 s over 10M ids)
            at = some >> 3
            starts = np.flatnonzero(np.r_[True, at[1:] != at[:-1]])
            bits[at[starts]] |= np.bitwise_or.reduceat((1 << (some & 7)).astype(np.uint8), starts)

    def contains(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64)
        held = np.zeros(len(ids), dtype=bool)
        for sign in (1, -1):
            bits = self._bits[sign]
            some = ids * sign
            inside = (some >= 0) & (some >> 3 < len(bits)) & ((ids >= 0) if sign == 1 else (ids < 0))
            some = some[inside]
            held[inside] = ((bits[some >> 3] >> (some & 7)) & 1).astype(bool)
        return held


@dataclass
class FileState:
    """What the file's chunks planned so far, for the next chunk's plan."""

    lookups: bool  # the campaign held people or doors before: chunks are matched against the database too
    people: IdSet = field(default_factory=IdSet)  # the people rows already took
    own_people: IdSet = field(default_factory=IdSet)  # the people this file adds (only kept with ``lookups``)
    ids: dict[str, KeyMap] = field(default_factory=lambda: {source: KeyMap() for source in ID_PRIORITY})
    keys: KeyMap = field(default_factory=KeyMap)  # name-and-door keys of rows without IDs -> their person
    doors: KeyMap = field(default_factory=KeyMap)  # address keys -> the doors this file adds
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("insert", "update", "unchanged", "merged", "door", "households"), 0))
    written: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("households", "external_ids", "phones", "emails"), 0))
    next_stand_in: int = -1  # a dry run's ids for the people and doors it would add (negative: never stored)

    def plan(self, session: Session, campaign_id: int, part: Normalized) -> Plan:
        """Decides what the chunk's rows do, as a whole-file plan would (see the module's docstring)."""
        people = part.people
        people["person_id"] = _no_ids(len(people))
        doors = None
        if self.lookups:
            doors = _stored_doors(session, campaign_id, people["address_key"])
        for source in ID_PRIORITY:
            self._match_earlier_ids(people, source)
            if self.lookups:
                match_source(session, campaign_id, people, source, small=True)
        existing = _no_one()
        if self.lookups:
            unmatched = people["person_id"].isna() & (people["match_key"] != "")
            existing = _existing_people(session, campaign_id, with_keys=bool(unmatched.any()), near=(people, doors))
            if len(self.own_people):  # found again by the file's own rules below, never by name alone
                existing = existing[~self.own_people.contains(existing["id"].to_numpy(dtype=np.int64))]
        door_ids = self._door_ids(people["address_key"], doors)
        plan = _decide(people, pd.Index(door_ids.index), existing, earlier=self._merge_into_earlier_rows)
        plan.household_ids = door_ids
        return plan

    def _match_earlier_ids(self, people: pd.DataFrame, source: str) -> None:
        need = (people[source] != "") & people["person_id"].isna()
        if not need.any() or not len(self.ids[source]):
            return
        found, ids = self.ids[source].get(key_hashes(people.loc[need, source]))
        people.loc[people.index[need][found], "person_id"] = ids[found]

    def _door_ids(self, keys: pd.Series, stored: pd.DataFrame | None) -> pd.Series:
        """The ids of the chunk's doors known already (stored, or added by an earlier chunk), by address key."""
        parts = []
        if stored is not None and not stored.empty:
            parts.append(pd.Series(stored["id"].to_numpy(dtype=np.int64), index=stored["address_key"].astype("str")))
        wanted = pd.unique(keys[keys != ""].to_numpy(dtype=object))
        if len(wanted) and len(self.doors):
            found, ids = self.doors.get(key_hashes(wanted))
            parts.append(pd.Series(ids[found], index=pd.Index(wanted[found], dtype="str")))
        if not parts:
            return pd.Series([], index=pd.Index([], dtype="str"), dtype=np.int64)
        ids = pd.concat(parts)
        return ids[~ids.index.duplicated()]

    def _merge_into_earlier_rows(self, people: pd.DataFrame) -> None:
        """Rows that repeat an earlier chunk's row: the same person, or (without IDs) the same name and door."""
        leading = people["person_id"].notna() & (people["action"] != "merged")
        if leading.any() and len(self.people):
            taken = self.people.contains(people.loc[leading, "person_id"].astype("int64").to_numpy())
            people.loc[people.index[leading][taken], "action"] = "merged"
        without_ids = (people[list(ID_PRIORITY)] == "").all(axis=1)
        new = without_ids & (people["match_key"] != "") & (people["action"] == "insert")
        if new.any() and len(self.keys):
            found, ids = self.keys.get(key_hashes(people.loc[new, "match_key"]))
            rows = people.index[new][found]
            people.loc[rows, "person_id"] = ids[found]
            people.loc[rows, "action"] = "merged"

    def stand_in_ids(self, plan: Plan) -> None:
        """A dry run's stand-ins for the ids writing would give the new people and doors."""
        people = plan.people
        new = people.index[people["action"] == "insert"]
        people.loc[new, "person_id"] = self._stand_ins(len(new))
        merged = (people["action"] == "merged") & people["merged_into"].notna()
        people.loc[merged, "person_id"] = people.loc[people.loc[merged, "merged_into"].astype("int64"),
                                                     "person_id"].to_numpy()
        keys = plan.new_households["address_key"].astype("str").to_numpy()
        plan.new_door_ids = pd.Series(self._stand_ins(len(keys)), index=keys)

    def _stand_ins(self, count: int) -> np.ndarray:
        ids = np.arange(self.next_stand_in, self.next_stand_in - count, -1, dtype=np.int64)
        self.next_stand_in -= count
        return ids

    def record(self, plan: Plan) -> None:
        """Keeps what the chunk's written (or stood-in) rows hold, for the chunks after it."""
        self._keep(plan)
        give_memory_back()

    def _keep(self, plan: Plan) -> None:
        people = plan.people
        for name in ("insert", "update", "unchanged", "merged", "door", "households"):
            self.counts[name] += plan.counts.get(name, 0)
        leading = people["action"].isin(["insert", "update", "unchanged"]) & people["person_id"].notna()
        ids = people.loc[leading, "person_id"].astype("int64").to_numpy()
        self.people.add(ids)
        if self.lookups:
            added = people.loc[people["action"] == "insert", "person_id"].astype("int64").to_numpy()
            self.own_people.add(added)
        for source in ID_PRIORITY:
            given = leading & (people[source] != "")
            if given.any():
                self.ids[source].add(key_hashes(people.loc[given, source]),
                                     people.loc[given, "person_id"].astype("int64").to_numpy())
        without_ids = leading & (people[list(ID_PRIORITY)] == "").all(axis=1) & (people["match_key"] != "")
        if without_ids.any():
            self.keys.add(key_hashes(people.loc[without_ids, "match_key"]),
                          people.loc[without_ids, "person_id"].astype("int64").to_numpy())
        if plan.new_door_ids is not None and len(plan.new_door_ids):
            self.doors.add(key_hashes(plan.new_door_ids.index.to_numpy(dtype=object)),
                           plan.new_door_ids.to_numpy(dtype=np.int64))


def _no_one() -> pd.DataFrame:
    return pd.DataFrame({"id": pd.Series(dtype="int64"), "source_hash": pd.Series(dtype="str")})


def holds_anything(session: Session, campaign_id: int) -> bool:
    """Whether the campaign holds people or doors (else nothing needs looking up)."""
    return bool(session.execute(sa.select(sa.exists().where(Person.campaign_id == campaign_id))).scalar_one()
                or session.execute(sa.select(sa.exists().where(Household.campaign_id == campaign_id))).scalar_one())


# ------------------------------------------------------------------------------------------------------------------
# Rows unchanged since the last import


def stored_fingerprints(session: Session, campaign_id: int) -> np.ndarray:
    """The fingerprints the campaign's people were last imported with, sorted (8 bytes a person)."""
    parts = list(_fingerprint_pages_of(session, campaign_id))
    return np.sort(np.concatenate(parts)) if parts else np.empty(0, dtype=np.uint64)


PAGE_IDS = 1_000_000  # people ids read at a time: 20 MB of text


def _fingerprint_pages_of(session: Session, campaign_id: int) -> Iterator[np.ndarray]:
    """The fingerprints a page of ids at a time, each page as one text of comma-separated numbers that the database
    builds itself and Arrow splits and reads as numbers: a million Python strings a page took 2 s of a 1M-row
    re-import on SQLite, holding the lock the cleaning thread needs, and PostgreSQL's COPY, a message a row, took
    7.7 s of a 10M-row one (3.9 s now, sorting included). Pages are ranges of ids (the table's own order), so none is sorted or held
    whole. A big campaign's later pages are read at once on a second connection: the cleaning thread waits for them
    all, and the database reads them on the other core."""
    low, high = session.execute(sa.text("SELECT min(id), max(id) FROM person")).one()
    if low is None:
        return
    starts = list(range(low, high + 1, PAGE_IDS))
    engine = session.get_bind()
    if len(starts) < 4 or not isinstance(engine, sa.Engine) or engine.url.database in (None, "", ":memory:"):
        yield from _fingerprint_pages(session.connection(), campaign_id, starts)
        return
    half = len(starts) // 2
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-fingerprints") as pool:
        # Committed rows only, as the import's own connection sees them: nothing is written before they are read.
        later = pool.submit(_fingerprints_apart, engine, campaign_id, starts[half:])
        yield from _fingerprint_pages(session.connection(), campaign_id, starts[:half])
        yield from later.result()


def _fingerprints_apart(engine: sa.Engine, campaign_id: int, starts: list[int]) -> list[np.ndarray]:
    with engine.connect() as connection:
        return list(_fingerprint_pages(connection, campaign_id, starts))


_PAGE_QUERIES = {
    # '+campaign_id' keeps SQLite on the id range rather than the campaign's index (a sort per page)
    "sqlite": "SELECT group_concat(source_hash, ',') FROM person WHERE +campaign_id = :campaign "
              "AND id >= :start AND id < :end AND length(source_hash) BETWEEN 1 AND 20",
    "postgresql": "SELECT string_agg(source_hash, ',') FROM person WHERE campaign_id = :campaign "
                  "AND id >= :start AND id < :end AND length(source_hash) BETWEEN 1 AND 20",
}


def _fingerprint_pages(connection: sa.Connection, campaign_id: int, starts: list[int]) -> Iterator[np.ndarray]:
    query = sa.text(_PAGE_QUERIES[connection.dialect.name])
    for start in starts:
        text = connection.execute(query, {"campaign": campaign_id, "start": start, "end": start + PAGE_IDS}).scalar()
        if text:
            yield _as_numbers(pa.compute.split_pattern(pa.array([text], type=pa.large_string()), ",").flatten())


def _as_numbers(texts) -> np.ndarray:
    """Fingerprints as numbers; a fingerprint of another form (none is, today) never matches."""
    if isinstance(texts, pa.ChunkedArray):  # Arrow hands back a big result in several chunks
        texts = texts.combine_chunks()
    array = texts if isinstance(texts, pa.Array) else pa.array(texts, type=pa.string())
    if not len(array):  # no one stored yet (an empty result has no text type)
        return np.empty(0, dtype=np.uint64)
    valid = pa.compute.match_substring_regex(array, r"^\d{1,20}$").fill_null(False)
    array = array.filter(valid)
    try:
        return array.cast(pa.uint64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:  # above 2^64: not a fingerprint
        return np.empty(0, dtype=np.uint64)


def among(values: np.ndarray, stored: np.ndarray) -> np.ndarray:
    """Which ``values`` are in the sorted ``stored``."""
    if not len(stored) or not len(values):
        return np.zeros(len(values), dtype=bool)
    # Searched in order: a hash's neighbours share the search's first steps, so ten million stored fingerprints
    # are searched 4x faster than for the same values unsorted (~200 ms a chunk of 100,000, most of a re-import).
    order = np.argsort(values)
    wanted = values[order]
    at = np.minimum(np.searchsorted(stored, wanted), len(stored) - 1)
    found = np.empty(len(values), dtype=bool)
    found[order] = stored[at] == wanted
    return found


# ------------------------------------------------------------------------------------------------------------------
# Problems over all chunks


@dataclass
class ProblemList:
    """The file's problems, chunk after chunk: the first ``PROBLEM_LIMIT`` kept in detail, all counted."""

    items: list[dict[str, Any]] = field(default_factory=list)
    count: int = 0
    rejected: int = 0

    def add(self, part: Normalized) -> None:
        self.items.extend(part.problems[:max(0, PROBLEM_LIMIT - len(self.items))])
        self.count += part.problem_count
        self.rejected += len(part.rejected_rows)

    def finish(self, bad_rows: list[dict]) -> list[dict[str, Any]]:
        """With the rows the reader could not split into columns; in the order of the file."""
        self.count += len(bad_rows)
        self.rejected += len(bad_rows)
        items = (bad_rows + self.items)[:PROBLEM_LIMIT]
        return sorted(items, key=lambda problem: problem["row"])


# ------------------------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def ahead(items: Iterator, depth: int = 1) -> Iterator[Iterator]:
    """``items``, made on a second thread up to ``depth`` ahead of the caller (cleaning the next chunk while this one
    is written). The thread starts at once, so it reads the first chunk while the caller is still busy (loading the
    stored fingerprints); an exception in making the items is raised to the caller; leaving the block stops the
    making."""
    handoff: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def make() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        handoff.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            handoff.put((done, None))
        except BaseException as exc:  # handed to the caller
            handoff.put((done, exc))

    def taken() -> Iterator:
        while True:
            item, error = handoff.get()
            if error is not None:
                raise error
            if item is done:
                return
            yield item

    thread = threading.Thread(target=make, name="import-cleaning", daemon=True)
    thread.start()
    try:
        yield taken()
    finally:
        stop.set()
        while thread.is_alive():
            with contextlib.suppress(queue.Empty):
                handoff.get(timeout=0.1)
        thread.join()


class WriteBehind:
    """A chunk written on a second thread while the caller plans the next one, on the same session: the caller
    waits (``wait``) before it touches the database again, so the session is only ever used by one thread at a time.

    Worth it where the database runs in a process of its own (PostgreSQL): a first import's main thread otherwise
    sat idle waiting for the server's index upkeep, then planned the next chunk while the server sat idle. Off, the
    writing happens at once, in the caller's thread."""

    def __init__(self, enabled: bool):
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-writing") if enabled else None
        self._pending: tuple[Any, Callable[[Any], None]] | None = None

    def submit(self, write: Callable[[], Any], then: Callable[[Any], None]) -> None:
        """Runs ``write`` (after the writing before it), then ``then`` with its result in the caller's thread."""
        self.wait()
        if self._pool is None:
            then(write())
        else:
            self._pending = (self._pool.submit(write), then)

    def wait(self) -> None:
        """Until the writing submitted last is done; its error is raised here."""
        if self._pending is not None:
            future, then = self._pending
            self._pending = None
            then(future.result())

    def close(self) -> None:
        """Waits for the writing still under way without raising its error (the caller is raising one already)."""
        if self._pending is not None:
            future, _ = self._pending
            self._pending = None
            futures_wait([future])
        if self._pool is not None:
            self._pool.shutdown()


@contextlib.contextmanager
def write_behind(enabled: bool) -> Iterator[WriteBehind]:
    """A ``WriteBehind`` whose last writing is done (or its error raised) when the block ends; when the block raises,
    the writing under way is waited for before the error goes on, so the transaction is never rolled back under it."""
    behind = WriteBehind(enabled)
    try:
        yield behind
        behind.wait()
    finally:
        behind.close()


class Later:
    """A value one thread gives another later: the stored fingerprints, which the main thread reads from the database
    while the cleaning thread reads and fingerprints the first chunk (on two cores the two overlap)."""

    def __init__(self):
        self._given = threading.Event()
        self._value: Any = None
        self._error: BaseException | None = None

    def give(self, value: Any) -> None:
        self._value = value
        self._given.set()

    def fail(self, error: BaseException) -> None:
        """The value will never come: the waiting thread gets ``error`` instead of waiting for ever."""
        self._error = error
        self._given.set()

    def get(self) -> Any:
        self._given.wait()
        if self._error is not None:
            raise self._error
        return self._value

    @contextlib.contextmanager
    def failing_on_error(self) -> Iterator[None]:
        try:
            yield
        except BaseException as exc:
            self.fail(exc)
            raise


Progress = Callable[..., None]


def give_memory_back() -> None:
    """Between chunks, hands the freed heap back to the system: glibc keeps a chunk's freed arrays in its arenas,
    fragmented, and over fifty chunks a 10M-row check had grown past 2 GB."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc (macOS, musl): nothing to do
        ctypes.CDLL(None).malloc_trim(0)
