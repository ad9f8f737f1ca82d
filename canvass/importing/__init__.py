"""Importing voter files and contact lists: upload -> check (a dry run) -> confirm -> import, all or nothing.

``check_file`` and ``import_file`` serve the CLI and tests directly; ``check_batch`` and ``run_batch`` are the
background jobs behind the web flow, keeping their results on the ``ImportBatch``.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine
from sqlmodel import Session

from canvass import audit, bulk
from canvass.bulk import take_write_lock
from canvass.db import begin_write, is_sqlite, read_session, write_session
from canvass.i18n import N_
from canvass.importing import loading, reading
from canvass.importing.batches import (
    BatchProgress,
    batch_progress,
    choose_mapping,
    confirm_batch,
    create_batch,
    discard_batch,
    discard_upload,
    is_open,
    latest_batches,
    receive_upload,
    start_batch_job,
    waits_for_confirmation,
)
from canvass.importing.fields import header_signature, map_columns, validate_mapping
from canvass.importing.layouts import layout_mapping
from canvass.importing.loading import SAMPLE_CHANGES, _sample_changes, lock_imports_into
from canvass.importing.normalize import Normalized, normalize, row_fingerprints
from canvass.importing.reading import RawTable, UnreadableFile, read_file, stream_file
from canvass.importing.staging import Staged, StagingWriter, discard_staging, read_staging, staging_folder
from canvass.importing.streaming import (
    FileState,
    Later,
    ProblemList,
    WriteBehind,
    ahead,
    among,
    give_memory_back,
    holds_anything,
    stored_fingerprints,
    write_behind,
)
from canvass.models import (
    Campaign,
    Email,
    ExternalId,
    Household,
    ImportBatch,
    ImportStatus,
    Person,
    Phone,
    SavedMapping,
    User,
    utcnow,
)

__all__ = ["UnreadableFile", "MappingError", "CheckReport", "check_file", "import_file", "import_staged",
           "check_batch", "run_batch", "read_file",
           # the web flow's batches
           "BatchProgress", "batch_progress", "choose_mapping", "confirm_batch", "create_batch", "discard_batch",
           "discard_upload", "is_open", "latest_batches", "receive_upload", "start_batch_job",
           "waits_for_confirmation"]

PREVIEW_ROWS = 10
IDENTITY_FIELDS = {"first_name", "last_name", "full_name", "voter_id", "county_voter_id", "van_id", "vendor_id",
                   "member_id", "address", "street_name"}


class MappingError(ValueError):
    """The column mapping cannot be used; the message lists what to fix."""


class NoIdentityColumn(MappingError):
    """No column holds names, IDs or addresses: the user must say which does."""

    def __init__(self, message: str, table: RawTable, mapping: dict[str, str], source: str):
        super().__init__(message)
        self.table, self.mapping, self.source = table, mapping, source


@dataclass
class CheckReport:
    """Everything the check page shows before anything is written."""

    file_format: str
    encoding: str
    delimiter: str
    has_header: bool
    layout: str
    headers: list[str]
    mapping: dict[str, str]
    rows: int
    preview: list[dict[str, Any]]
    problems: list[dict[str, Any]]
    problem_count: int
    rejected: int
    counts: dict[str, int]
    changes: list[dict[str, Any]]
    mapping_source: str  # automatic | remembered | given
    warnings: list[str] = field(default_factory=list)
    error: str = ""  # set when the file cannot be imported with this mapping (the form shows why)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def resolve_mapping(session: Session, table: RawTable, given: dict[str, str] | None) -> tuple[dict[str, str], str]:
    """The mapping to use: automatic (with the layout's rules), then a remembered one, then what the user gave."""
    mapping = layout_mapping(table.layout, table.headers, map_columns(table.headers))
    source = "automatic"
    saved = session.get(SavedMapping, header_signature(table.headers))
    if saved is not None:
        mapping.update({h: f for h, f in saved.mapping.items() if h in mapping})
        source = "remembered"
    if given:
        problems = validate_mapping(given, table.headers)
        if problems:
            raise MappingError(" ".join(problems))
        mapping.update(given)
        source = "given"
    problems = validate_mapping(mapping, table.headers)
    if problems:
        raise MappingError(" ".join(problems))
    return mapping, source


def map_table(session: Session, table: RawTable, mapping: dict[str, str] | None) -> tuple[dict[str, str], str]:
    """The file's mapping, and where it came from; refused when no column holds names, IDs or addresses."""
    resolved, source = resolve_mapping(session, table, mapping)
    if not set(resolved.values()) & IDENTITY_FIELDS:
        raise NoIdentityColumn(N_("canvass found no name, ID or address column in this file. Below, choose which "
                                  "column holds names (or IDs, or street addresses), then check again."),
                               table, resolved, source)
    return resolved, source


NO_ROWS = N_("The file has a header but no rows under it.")


# Changed rows left after the unchanged are taken out are cleaned and written a quarter chunk at a time: written
# while the next chunks are read rather than all at the end of the file (a 10M-row weekly file's 100,000 changed
# rows took 10 s to write after the last chunk was read), and still enough per part that its lookups pay.
CHANGED_PART_ROWS = reading.CHUNK_ROWS // 4


def cleaned(table: RawTable, chunks: Iterator[pd.DataFrame], mapping: dict[str, str], stored: Later | None,
            progress, part_rows: int | None = None) -> Iterator[tuple[Normalized | None, np.ndarray]]:
    """The file's rows, cleaned in parts of about ``part_rows``; and, for each chunk read, the fingerprints of its
    rows left out as unchanged (their fingerprint is in ``stored``, given later by the caller; None when the
    campaign holds no one). Where rows were left out, the part is None while the rest wait for more: the few changed
    rows of a weekly re-import are cleaned, matched and written ``part_rows`` at a time, not a handful per chunk
    (each part costs its lookups)."""
    today = date.today()  # one day for every chunk, even across midnight
    part_rows = part_rows or CHANGED_PART_ROWS
    # A re-import reads the file on a thread of its own while this one fingerprints and sets aside what it read:
    # each is about half of a weekly file's time. (A first import's cleaning is eight times its reading: there a
    # chunk more in memory would buy little.)
    with ahead(chunks) if stored is not None else contextlib.nullcontext(chunks) as read:
        yield from _left_to_clean(table, read, mapping, stored, progress, part_rows, today)


def _left_to_clean(table: RawTable, chunks: Iterator[pd.DataFrame], mapping: dict[str, str], stored: Later | None,
                   progress, part_rows: int, today: date) -> Iterator[tuple[Normalized | None, np.ndarray]]:
    waiting: list[pd.DataFrame] = []
    held = 0
    for chunk in chunks:
        progress(0.05 + 0.85 * min(1.0, table.row_count / max(table.estimated_rows, 1)),
                 N_("Reading and cleaning the rows"))
        unchanged = np.empty(0, dtype=np.uint64)
        if stored is not None and len(chunk):
            fingerprints = row_fingerprints(chunk, mapping, table.layout)
            same = among(fingerprints, stored.get())
            unchanged, chunk = fingerprints[same], chunk[~same]
            # Most chunks of a weekly file are left out whole and never planned (where memory is otherwise given
            # back): a 10M-row re-import's fragmented heap grew to 2 GB on their rows' text alone.
            give_memory_back()
        if len(chunk):
            waiting.append(chunk)
            held += len(chunk)
        if held < part_rows and len(unchanged):
            yield None, unchanged
            continue
        if not held:
            yield None, unchanged
            continue
        yield normalize(pd.concat(waiting) if len(waiting) > 1 else waiting[0], mapping, table.layout, today), \
            unchanged
        waiting, held = [], 0
    if waiting:
        yield normalize(pd.concat(waiting) if len(waiting) > 1 else waiting[0], mapping, table.layout, today), \
            np.empty(0, dtype=np.uint64)


def _unchanged_rows_left_out(table: RawTable, state: FileState) -> Later | None:
    """Where the campaign's stored fingerprints will go (``_stored_later``), when the file's unchanged rows are to be
    left out before cleaning: a re-import of a big file, most of it unchanged. A small file (a sign-up sheet) is
    cleaned whole and matched by its own keys, its unchanged rows found so by their person: reading a statewide
    campaign's ten million fingerprints for it took 25 s of a 500-row check."""
    if not state.lookups or table.estimated_rows <= loading.SMALL_FILE_ROWS:
        return None
    return Later()


def _stored_later(session: Session, campaign_id: int, stored: Later | None) -> None:
    """Reads the campaign's fingerprints for the cleaning thread, which meanwhile reads the first chunk."""
    if stored is not None:
        with stored.failing_on_error():
            stored.give(stored_fingerprints(session, campaign_id))


def _warnings(table: RawTable) -> list[str]:
    warnings = []
    if table.encoding in ("cp1252", "latin-1"):
        warnings.append("The file is not UTF-8; it was read as Windows/Latin-1 text. Check accented names in the "
                        "preview.")
    if table.sheet:
        warnings.append(f"canvass read the sheet “{table.sheet}”: the sheets before it hold no list of people. To "
                        "import another sheet, save it as its own file.")
    if table.header_row > 1:
        above = "the row above them (a title or a blank line) was" if table.header_row == 2 else \
            f"the {table.header_row - 1} rows above them (a title or blank lines) were"
        warnings.append(f"The column names are on row {table.header_row}; {above} left out.")
    return warnings


def preview_rows(people: pd.DataFrame, phones: pd.DataFrame, limit: int = PREVIEW_ROWS) -> list[dict[str, Any]]:
    """The first rows as they will be stored."""
    rows = []
    for row, person in people.head(limit).iterrows():
        ids = {f: person[f] for f in ("voter_id", "county_voter_id", "van_id", "vendor_id", "member_id") if person[f]}
        rows.append({
            "row": int(row), "action": person["action"],
            "name": " ".join(p for p in (person["first_name"], person["middle_name"], person["last_name"],
                                         person["suffix"]) if p),
            "address": "" if person["is_protected"] else person["address"],
            "unit": "" if person["is_protected"] else person["unit"],
            "city": "" if person["is_protected"] else person["city"],
            "zip": "" if person["is_protected"] else "-".join(p for p in (person["zip5"], person["zip4"]) if p),
            "phones": phones.loc[phones["row"] == row, "e164"].tolist(), "email": person["email"],
            "language": person["language"], "party": person["party"], "precinct": person["precinct"],
            "birth_year": "" if pd.isna(person["birth_year"]) else int(person["birth_year"]),
            "ids": ids, "protected": bool(person["is_protected"]),
            "custom_count": len(json.loads(person["custom"]))})
    return rows


def check_file(session: Session, campaign: Campaign, path: str | Path, *, mapping: dict[str, str] | None = None,
               progress=lambda fraction, message="": None, stage_to: Path | None = None) -> CheckReport:
    """A dry run: what importing ``path`` would do. Writes nothing to the database.

    Reads, cleans and plans the file a chunk at a time. With ``stage_to``, the cleaned rows are kept in that folder,
    for ``import_staged`` to write without reading and cleaning the file again."""
    with stream_file(path) as (table, chunks):
        try:
            resolved, source = map_table(session, table, mapping)
        except NoIdentityColumn as exc:
            return CheckReport(file_format=table.file_format, encoding=table.encoding, delimiter=table.delimiter,
                               has_header=table.has_header, layout=table.layout.label if table.layout else "",
                               headers=table.headers, mapping=exc.mapping, rows=0, preview=[], problems=[],
                               problem_count=0, rejected=0, counts={}, changes=[], mapping_source=exc.source,
                               error=str(exc))
        state = FileState(lookups=holds_anything(session, campaign.id))
        stored = _unchanged_rows_left_out(table, state)
        staging = StagingWriter(stage_to) if stage_to is not None else None
        problems, preview, changes = ProblemList(), None, []
        with ahead(cleaned(table, chunks, resolved, stored, progress)) as parts:
            _stored_later(session, campaign.id, stored)
            for part, unchanged in parts:
                state.counts["unchanged"] += len(unchanged)
                if staging is not None:
                    staging.add(part, unchanged)  # before the plan adds its columns
                if part is None:
                    continue
                problems.add(part)
                plan = state.plan(session, campaign.id, part)
                state.stand_in_ids(plan)
                state.record(plan)
                if preview is None:
                    preview = preview_rows(plan.people, part.phones)
                if len(changes) < SAMPLE_CHANGES:
                    changes += _sample_changes(session, plan.people)[:SAMPLE_CHANGES - len(changes)]
        if not table.row_count:
            raise UnreadableFile(NO_ROWS)
        report = CheckReport(
            file_format=table.file_format, encoding=table.encoding, delimiter=table.delimiter,
            has_header=table.has_header, layout=table.layout.label if table.layout else "", headers=table.headers,
            mapping=resolved, rows=table.row_count + len(table.bad_rows), preview=preview or [],
            problems=problems.finish(table.bad_rows), problem_count=0, rejected=0, counts=state.counts,
            changes=changes, mapping_source=source, warnings=_warnings(table))
        report.problem_count, report.rejected = problems.count, problems.rejected
        if staging is not None:
            staging.finish(mapping=resolved, mapping_source=source, headers=table.headers,
                           rows=report.rows, rejected=report.rejected, problem_count=report.problem_count)
        return report


def import_file(session: Session, campaign: Campaign, path: str | Path, *, mapping: dict[str, str] | None = None,
                batch: ImportBatch | None = None, user: User | None = None,
                progress=lambda fraction, message="": None, problems_out: list | None = None) -> dict[str, Any]:
    """Imports ``path`` into the campaign in the caller's transaction, a chunk at a time. Returns the summary. The
    caller commits.

    Row problems (kept rows' warnings and rejected rows) are appended to ``problems_out`` when given."""
    started = time.perf_counter()
    campaign_id = campaign.id
    lock_imports_into(session, campaign_id)
    with stream_file(path) as (table, chunks):
        resolved, mapping_source = map_table(session, table, mapping)
        _take_the_write_lock(session)
        state = FileState(lookups=holds_anything(session, campaign_id))
        stored = _unchanged_rows_left_out(table, state)
        problems = ProblemList()
        with ahead(cleaned(table, chunks, resolved, stored, progress)) as parts, \
                write_behind(_writes_behind(session, state)) as behind:
            _stored_later(session, campaign.id, stored)
            for part, unchanged in parts:
                state.counts["unchanged"] += len(unchanged)
                if part is not None:
                    problems.add(part)
                    _write_part(session, campaign_id, state, part, batch.id if batch else None, behind=behind)
                    progress(0.05 + 0.85 * min(1.0, table.row_count / max(table.estimated_rows, 1)),
                             N_("Saving the rows"))
        if not table.row_count:
            raise UnreadableFile(NO_ROWS)
        problem_items = problems.finish(table.bad_rows)
        facts = {"rows": table.row_count + len(table.bad_rows), "rejected": problems.rejected,
                 "problem_count": problems.count, "headers": table.headers}
    if mapping_source == "given":
        remember_mapping(session, table.headers, resolved)
    return _finish_import(session, campaign_id, state, facts, resolved, batch, user, started, progress,
                          problem_items, problems_out)


class StagingOutdated(Exception):
    """People the check found unchanged are no longer as it found them: the file must be checked again."""


def import_staged(session: Session, campaign: Campaign, staged: Staged, *, batch: ImportBatch | None = None,
                  user: User | None = None, progress=lambda fraction, message="": None) -> dict[str, Any]:
    """Imports what a check staged (``check_file(stage_to=...)``), in the caller's transaction: the file is not read
    or cleaned again, only matched against the campaign as it now is. Raises ``StagingOutdated`` (nothing written)
    when rows the check left out as unchanged are no longer stored so."""
    started = time.perf_counter()
    campaign_id = campaign.id
    lock_imports_into(session, campaign_id)
    _take_the_write_lock(session)
    state = FileState(lookups=holds_anything(session, campaign_id))
    unchanged = staged.unchanged()
    if len(unchanged) and not among(unchanged, stored_fingerprints(session, campaign_id)).all():
        raise StagingOutdated()
    state.counts["unchanged"] += len(unchanged)
    with ahead(staged.parts()) as parts, write_behind(_writes_behind(session, state)) as behind:
        for index, part in enumerate(parts):
            span = (0.05 + 0.9 * index / max(staged.chunks, 1), 0.05 + 0.9 * (index + 1) / max(staged.chunks, 1))
            _write_part(session, campaign_id, state, part, batch.id if batch else None, _within(progress, *span),
                        behind=behind)
    facts = staged.facts
    if facts.get("mapping_source") == "given":
        remember_mapping(session, facts["headers"], facts["mapping"])
    return _finish_import(session, campaign_id, state, facts, facts["mapping"], batch, user, started, progress,
                          None, None)


def _take_the_write_lock(session: Session) -> None:
    """On SQLite the write lock is taken before the first chunk is planned, so no other import can write between
    a chunk's plan and its writing (each would add the people the other adds). (``lock_imports_into`` does it on
    PostgreSQL.) The transaction so far only read; a fresh one is begun, as SQLite cannot turn a stale reader into
    a writer."""
    if is_sqlite(session):
        begin_write(session)
        take_write_lock(session, Person.__table__)


def _write_part(session: Session, campaign_id: int, state: FileState, part: Normalized, batch_id: int | None,
                progress=lambda fraction, message="": None, *, behind: WriteBehind | None = None) -> None:
    """Plans the chunk, numbers its new doors and people, and writes it (behind the next chunk's plan when
    ``behind`` writes on a thread of its own)."""
    behind = behind or WriteBehind(enabled=False)
    if state.lookups:
        behind.wait()  # the plan reads the campaign as the chunks before this one left it
    plan = state.plan(session, campaign_id, part)
    behind.wait()
    loading.number_plan(session, plan)
    state.record(plan)
    behind.submit(lambda: loading.write_plan(session, campaign_id, plan, part, batch_id=batch_id, progress=progress),
                  then=lambda written: _count_written(state, written))


def _count_written(state: FileState, written: dict[str, int]) -> None:
    for name, count in written.items():
        state.written[name] += count


def _writes_behind(session: Session, state: FileState) -> bool:
    """A chunk is written while the next is planned on PostgreSQL (the server keeps indexes on a core of its own),
    when the next plan needs nothing from the database: the campaign held no one before."""
    return not state.lookups and not is_sqlite(session)


def _within(progress, start: float, end: float):
    """``progress`` for one chunk's writing: its steps (``write_plan`` reports them from 0.5 to 1) spread over the
    chunk's share of the import."""
    return lambda fraction, message="": progress(start + (end - start) * max(0.0, fraction - 0.5) * 2, message)


def _finish_import(session: Session, campaign_id: int, state: FileState, facts: dict[str, Any],
                   mapping: dict[str, str], batch: ImportBatch | None, user: User | None, started: float, progress,
                   problem_items: list | None, problems_out: list | None) -> dict[str, Any]:
    counts, written = state.counts, state.written
    if counts["insert"] + written["households"] >= bulk.ANALYZE_AFTER_ROWS:
        # The universe and turf queries, and the next import's lookups by ID: a table PostgreSQL never analysed
        # looks empty to its planner, which then read the campaign's every ID for each 900 looked up (a 10M-row
        # re-import took 295 s, most of it there)
        bulk.refresh_statistics(session, Person.__table__, Household.__table__, ExternalId.__table__,
                                Phone.__table__, Email.__table__)
    summary = {"rows": facts["rows"], "inserted": counts["insert"], "updated": counts["update"],
               "unchanged": counts["unchanged"], "rejected": facts["rejected"], "merged": counts["merged"],
               "doors_only": counts["door"], "households": written["households"], "phones": written["phones"],
               "emails": written["emails"], "problems": facts["problem_count"],
               "seconds": round(time.perf_counter() - started, 2)}
    audit.record(session, user, "import.completed", object_type="campaign", object_id=campaign_id,
                 **{k: v for k, v in summary.items() if k != "seconds"})
    if problems_out is not None and problem_items is not None:
        problems_out.extend(problem_items)
    if batch is not None:
        batch.summary = {**(batch.summary or {}), **summary}
        if problem_items is not None:
            batch.problems = problem_items
        batch.mapping = mapping
        session.add(batch)
    progress(1.0, N_("Done"))
    return summary


def remember_mapping(session: Session, headers: list[str], mapping: dict[str, str]) -> None:
    signature = header_signature(headers)
    saved = session.get(SavedMapping, signature) or SavedMapping(header_signature=signature)
    saved.mapping = dict(mapping)
    saved.saved_at = utcnow()
    session.add(saved)


# ------------------------------------------------------------------------------------------------------------------
# The web flow's jobs: a batch (see ``batches``) is checked, then confirmed and imported, each as a background job.


def check_batch(progress, engine: Engine, batch_id: int) -> dict[str, Any]:
    """Background job: the dry run of a batch, stored on it for the check page (a read, then a short write). The
    cleaned rows are staged beside the upload for the import."""
    with read_session(engine) as session:
        batch = session.get(ImportBatch, batch_id)
        campaign = session.get(Campaign, batch.campaign_id)
        folder = staging_folder(batch.stored_path)
        discard_staging(folder)
        try:
            result = check_file(session, campaign, batch.stored_path, mapping=batch.mapping or None,
                                progress=progress, stage_to=folder)
        except (UnreadableFile, MappingError) as exc:
            discard_staging(folder)
            result = exc
    with write_session(engine) as session:
        batch = session.get(ImportBatch, batch_id)
        if isinstance(result, Exception):
            if isinstance(result, UnreadableFile):  # nothing to choose or confirm: failed, never "waiting"
                batch.status, batch.finished_at = ImportStatus.failed, utcnow()
                discard_upload(batch.stored_path)
            batch.error = str(result)
            batch.summary = {"error": {"text": getattr(result, "text", str(result)),
                                       "args": getattr(result, "figures", {})}}
            session.add(batch)
            return {"error": str(result)}
        batch.error = result.error
        batch.file_format, batch.encoding, batch.delimiter = result.file_format, result.encoding, result.delimiter
        batch.has_header, batch.layout = result.has_header, result.layout
        batch.header_signature = header_signature(result.headers)
        batch.summary = {"check": {k: v for k, v in result.as_dict().items() if k not in ("problems",)}}
        batch.problems = result.problems
        session.add(batch)
        return {"rows": result.rows}


def run_batch(progress, engine: Engine, batch_id: int, user_id: int | None) -> dict[str, Any]:
    """Background job: imports a confirmed batch in one transaction; on any failure nothing is kept.

    What the check staged is written as it is (matched again: the campaign may have changed); the file is read and
    cleaned again only when there is no staging for this mapping, or rows it found unchanged have changed since."""
    with write_session(engine) as session:
        batch = session.get(ImportBatch, batch_id)
        batch.status = ImportStatus.running
        session.add(batch)
    try:
        # A plain session: the import reads before it takes the write lock (begin_write).
        with Session(engine, expire_on_commit=False) as session:
            batch = session.get(ImportBatch, batch_id)
            campaign = session.get(Campaign, batch.campaign_id)
            user = session.get(User, user_id) if user_id else None
            summary = _import_batch(session, campaign, batch, user, progress)
            batch.status, batch.finished_at = ImportStatus.done, utcnow()
            session.add(batch)
            session.commit()
    except Exception as exc:
        _fail_batch(engine, batch_id, exc)
        raise
    discard_staging(staging_folder(batch.stored_path))
    discard_upload(batch.stored_path)
    return summary


def _import_batch(session: Session, campaign: Campaign, batch: ImportBatch, user: User | None, progress
                  ) -> dict[str, Any]:
    staged = read_staging(staging_folder(batch.stored_path))
    if staged is not None and staged.facts.get("mapping") == batch.mapping:
        try:
            return import_staged(session, campaign, staged, batch=batch, user=user, progress=progress)
        except StagingOutdated:
            session.rollback()
    return import_file(session, campaign, batch.stored_path, mapping=batch.mapping or None, batch=batch, user=user,
                       progress=progress)


def _fail_batch(engine: Engine, batch_id: int, exc: Exception) -> None:
    message = str(exc) if isinstance(exc, (UnreadableFile, MappingError)) else N_(
        "The import stopped on an unexpected error; nothing was changed. Try again, or send the file to your "
        "data lead.")
    with write_session(engine) as session:
        batch = session.get(ImportBatch, batch_id)
        batch.status, batch.error, batch.finished_at = ImportStatus.failed, message, utcnow()
        session.add(batch)

