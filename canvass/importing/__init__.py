"""Importing voter files and contact lists: upload -> check (a dry run) -> confirm -> import, all or nothing.

``check_file`` and ``import_file`` serve the CLI and tests directly; ``check_batch`` and ``run_batch`` are the
background jobs behind the web flow, keeping their results on the ``ImportBatch``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine
from sqlmodel import Session

from canvass import audit, bulk
from canvass.bulk import take_write_lock
from canvass.db import begin_write, is_sqlite, read_session, write_session
from canvass.i18n import N_
from canvass.importing import loading
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
from canvass.importing.loading import (
    NewPeopleWriter,
    Plan,
    apply_plan,
    holds_people,
    lock_imports_into,
    plan_import,
)
from canvass.importing.normalize import Normalized, joined, normalize
from canvass.importing.reading import RawTable, UnreadableFile, read_file, trimmed_rows
from canvass.models import Campaign, Household, ImportBatch, ImportStatus, Person, SavedMapping, User, utcnow

__all__ = ["UnreadableFile", "MappingError", "CheckReport", "check_file", "import_file", "check_batch", "run_batch",
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


@dataclass
class Prepared:
    table: RawTable
    mapping: dict[str, str]
    mapping_source: str
    normalized: Normalized
    plan: Plan


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


def prepare(session: Session, campaign: Campaign, path: Path, mapping: dict[str, str] | None = None,
            progress=lambda fraction, message="": None) -> Prepared:
    table, resolved, source = read_and_map(session, path, mapping, progress)
    normalized = clean(table, resolved, progress)
    progress(0.45, N_("Matching with the people already in the campaign"))
    plan = plan_import(session, campaign.id, normalized)
    return Prepared(table, resolved, source, normalized, plan)


def read_and_map(session: Session, path: Path, mapping: dict[str, str] | None, progress, *,
                 big_stays_untrimmed: bool = False) -> tuple[RawTable, dict[str, str], str]:
    """The file read, and its mapping. With ``big_stays_untrimmed``, a file long enough to be imported while it is
    cleaned keeps its rows as read (see ``trim``)."""
    progress(0.05, N_("Reading the file"))
    table = read_file(path, trimmed=False)
    if not (big_stays_untrimmed and len(table.frame) >= loading.FIRST_IMPORT_ROWS):
        trim(table)
    resolved, source = resolve_mapping(session, table, mapping)
    if not set(resolved.values()) & IDENTITY_FIELDS:
        raise NoIdentityColumn(N_("canvass found no name, ID or address column in this file. Below, choose which "
                                  "column holds names (or IDs, or street addresses), then check again."),
                               table, resolved, source)
    return table, resolved, source


def trim(table: RawTable) -> None:
    """Trims an untrimmed table's rows (see ``read_file``)."""
    table.frame, table.trimmed = trimmed_rows(table, table.frame), True
    if table.frame.empty:
        raise UnreadableFile(NO_ROWS)


NO_ROWS = N_("The file has a header but no rows under it.")


def clean(table: RawTable, mapping: dict[str, str], progress) -> Normalized:
    progress(0.25, N_("Cleaning names, addresses and phones"))
    return _with_unreadable_rows(table, normalize(table.frame, mapping, table.layout))


def _with_unreadable_rows(table: RawTable, normalized: Normalized, rows: int | None = None) -> Normalized:
    """Adds the rows the reader could not split into columns to the problems, and frees the file's columns (no
    longer needed: the writes want the memory). ``rows``: how many there were, when not all still in the table."""
    table.row_count = len(table.frame) if rows is None else rows
    table.frame = table.frame.iloc[:0]
    if table.bad_rows:
        normalized.problems = table.bad_rows + normalized.problems
        normalized.problem_count += len(table.bad_rows)
        normalized.rejected_rows.update(r["row"] for r in table.bad_rows)
    # In the order of the file, as people go through it (each check lists its own rows, one check after another).
    normalized.problems.sort(key=lambda problem: problem["row"])
    return normalized


def report(prepared: Prepared) -> CheckReport:
    table, norm, plan = prepared.table, prepared.normalized, prepared.plan
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
    rows_total = table.row_count + len(table.bad_rows)
    return CheckReport(
        file_format=table.file_format, encoding=table.encoding, delimiter=table.delimiter,
        has_header=table.has_header, layout=table.layout.label if table.layout else "",
        headers=table.headers, mapping=prepared.mapping, rows=rows_total, preview=preview_rows(prepared),
        problems=norm.problems, problem_count=norm.problem_count, rejected=len(norm.rejected_rows),
        counts=plan.counts, changes=plan.changes, mapping_source=prepared.mapping_source, warnings=warnings)


def preview_rows(prepared: Prepared, limit: int = PREVIEW_ROWS) -> list[dict[str, Any]]:
    """The first rows as they will be stored."""
    people = prepared.plan.people.head(limit)
    phones = prepared.normalized.phones
    rows = []
    for row, person in people.iterrows():
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
               progress=lambda fraction, message="": None) -> CheckReport:
    """A dry run: what importing ``path`` would do. Writes nothing."""
    try:
        return report(prepare(session, campaign, Path(path), mapping, progress))
    except NoIdentityColumn as exc:
        table = exc.table
        return CheckReport(file_format=table.file_format, encoding=table.encoding, delimiter=table.delimiter,
                           has_header=table.has_header, layout=table.layout.label if table.layout else "",
                           headers=table.headers, mapping=exc.mapping, rows=len(table.frame), preview=[], problems=[],
                           problem_count=0, rejected=0, counts={}, changes=[], mapping_source=exc.source,
                           error=str(exc))


def import_file(session: Session, campaign: Campaign, path: str | Path, *, mapping: dict[str, str] | None = None,
                batch: ImportBatch | None = None, user: User | None = None,
                progress=lambda fraction, message="": None, problems_out: list | None = None) -> dict[str, Any]:
    """Imports ``path`` into the campaign in the caller's transaction. Returns the summary. The caller commits.

    Row problems (kept rows' warnings and rejected rows) are appended to ``problems_out`` when given."""
    started = time.perf_counter()
    campaign_id, batch_id = campaign.id, (batch.id if batch else None)
    lock_imports_into(session, campaign_id)
    table, resolved, mapping_source = read_and_map(session, Path(path), mapping, progress, big_stays_untrimmed=True)
    first_of_a_big_file = _first_import_of_a_big_file(session, campaign_id, len(table.frame))
    written = None
    if first_of_a_big_file:
        normalized, written, counts = _write_while_cleaning(session, campaign_id, table, resolved, batch_id, progress)
    else:
        if not table.trimmed:
            trim(table)
        normalized = clean(table, resolved, progress)
    if written is None:
        progress(0.45, N_("Matching with the people already in the campaign"))
        if is_sqlite(session) and not first_of_a_big_file:
            _plan_under_the_write_lock(session)
        plan = plan_import(session, campaign_id, normalized)
        written = apply_plan(session, campaign_id, plan, normalized, batch_id=batch_id, progress=progress)
        counts = plan.counts
    if mapping_source == "given":
        remember_mapping(session, table.headers, resolved)
    if counts["insert"] + written["households"] >= bulk.ANALYZE_AFTER_ROWS:
        bulk.refresh_statistics(session, Person.__table__, Household.__table__)  # the universe and turf queries
    summary = {"rows": table.row_count + len(table.bad_rows), "inserted": counts["insert"],
               "updated": counts["update"], "unchanged": counts["unchanged"],
               "rejected": len(normalized.rejected_rows), "merged": counts["merged"],
               "doors_only": counts["door"], "households": written["households"], "phones": written["phones"],
               "emails": written["emails"], "problems": normalized.problem_count,
               "seconds": round(time.perf_counter() - started, 2)}
    audit.record(session, user, "import.completed", object_type="campaign", object_id=campaign_id,
                 **{k: v for k, v in summary.items() if k != "seconds"})
    if problems_out is not None:
        problems_out.extend(normalized.problems)
    if batch is not None:
        batch.summary = {**(batch.summary or {}), **summary}
        batch.problems = normalized.problems
        batch.mapping = resolved
        session.add(batch)
    progress(1.0, N_("Done"))
    return summary


def _plan_under_the_write_lock(session: Session) -> None:
    """SQLite's stand-in for ``lock_imports_into``: the write lock is taken before the plan is made, so no other
    import can write between the plan and its writing (each would add the people the other adds). Reading and
    cleaning the file ran before, without the lock: volunteers' contacts wait only for the matching and writing.

    The transaction so far only read; a fresh one is begun, as SQLite cannot turn a stale reader into a writer."""
    begin_write(session)
    take_write_lock(session, Person.__table__)


def _first_import_of_a_big_file(session: Session, campaign_id: int, rows: int) -> bool:
    """Whether the file is big and the campaign holds nobody yet: then the rows are written while they are cleaned.
    On SQLite the write lock is taken now: the chunks are written from a second thread later, and a reader's
    snapshot can go stale before its first write."""
    if rows < loading.FIRST_IMPORT_ROWS or holds_people(session, campaign_id):
        return False
    if is_sqlite(session):
        begin_write(session)
        take_write_lock(session, Person.__table__)
        return not holds_people(session, campaign_id)
    return True


def _write_while_cleaning(session: Session, campaign_id: int, table: RawTable, mapping: dict[str, str],
                          batch_id: int | None, progress
                          ) -> tuple[Normalized, dict[str, int] | None, dict[str, int] | None]:
    """Cleans the file a chunk at a time, each chunk written while the next is cleaned (``NewPeopleWriter``).
    Returns the cleaned file with what was written and the counts, or with ``None`` twice when the rows repeat one
    another and must be planned together (nothing was kept)."""
    frame, today = table.frame, date.today()  # one day for every chunk, even across midnight
    parts, rows = [], 0
    with NewPeopleWriter(session, campaign_id, batch_id) as writer:
        start = 0
        while start < len(frame):
            progress(0.1 + 0.8 * start / len(frame), N_("Cleaning and saving the rows"))
            # A small first chunk sets the database to work sooner; once the writing has stopped, the rest is
            # cleaned in one go.
            step = max(1, loading.CHUNK_OF_ROWS // 4) if start == 0 else loading.CHUNK_OF_ROWS
            end = len(frame) if writer.stopped else start + step
            chunk = trimmed_rows(table, frame.iloc[start:end])
            start, rows = end, rows + len(chunk)
            if len(chunk):
                parts.append(normalize(chunk, mapping, table.layout, today))
                writer.add(parts[-1])
        if not rows:
            raise UnreadableFile(NO_ROWS)
        progress(0.9, N_("Saving the last rows"))
        kept = writer.finish()
    if not kept:
        return _with_unreadable_rows(table, joined(parts), rows), None, None
    # The rows are written: only the problems are needed, not a joined copy of a million rows.
    return _with_unreadable_rows(table, joined(parts, with_rows=False), rows), writer.written, writer.counts


def remember_mapping(session: Session, headers: list[str], mapping: dict[str, str]) -> None:
    signature = header_signature(headers)
    saved = session.get(SavedMapping, signature) or SavedMapping(header_signature=signature)
    saved.mapping = dict(mapping)
    saved.saved_at = utcnow()
    session.add(saved)


# ------------------------------------------------------------------------------------------------------------------
# The web flow's jobs: a batch (see ``batches``) is checked, then confirmed and imported, each as a background job.


def check_batch(progress, engine: Engine, batch_id: int) -> dict[str, Any]:
    """Background job: the dry run of a batch, stored on it for the check page (a read, then a short write)."""
    with read_session(engine) as session:
        batch = session.get(ImportBatch, batch_id)
        campaign = session.get(Campaign, batch.campaign_id)
        try:
            result = check_file(session, campaign, batch.stored_path, mapping=batch.mapping or None,
                                progress=progress)
        except (UnreadableFile, MappingError) as exc:
            result = exc
    with write_session(engine) as session:
        batch = session.get(ImportBatch, batch_id)
        if isinstance(result, Exception):
            batch.error, batch.summary = str(result), {}
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
    """Background job: imports a confirmed batch in one transaction; on any failure nothing is kept."""
    with write_session(engine) as session:
        batch = session.get(ImportBatch, batch_id)
        batch.status = ImportStatus.running
        session.add(batch)
    try:
        # A plain session: the import reads and cleans the file before it takes the write lock (begin_write).
        with Session(engine, expire_on_commit=False) as session:
            batch = session.get(ImportBatch, batch_id)
            campaign = session.get(Campaign, batch.campaign_id)
            user = session.get(User, user_id) if user_id else None
            mapping = batch.mapping or None
            summary = import_file(session, campaign, batch.stored_path, mapping=mapping, batch=batch, user=user,
                                  progress=progress)
            batch.status, batch.finished_at = ImportStatus.done, utcnow()
            session.add(batch)
            session.commit()
    except Exception as exc:
        _fail_batch(engine, batch_id, exc)
        raise
    discard_upload(batch.stored_path)
    return summary


def _fail_batch(engine: Engine, batch_id: int, exc: Exception) -> None:
    message = str(exc) if isinstance(exc, (UnreadableFile, MappingError)) else N_(
        "The import stopped on an unexpected error; nothing was changed. Try again, or send the file to your "
        "data lead.")
    with write_session(engine) as session:
        batch = session.get(ImportBatch, batch_id)
        batch.status, batch.error, batch.finished_at = ImportStatus.failed, message, utcnow()
        session.add(batch)

