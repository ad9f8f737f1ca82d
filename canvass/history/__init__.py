"""Vote history: the files states publish beside their voter files, read into elections and votes, linked to the
campaign's people by the state's voter ID (per source, as the voter import stored it).

``check_history`` reads the file and matches it without writing; ``import_history`` writes it too, in the caller's
transaction (the caller commits): elections first (a few), then the votes in bulk, a batch of rows at a time. The
same rows imported again add nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session, select

from canvass import bulk
from canvass.history import registration
from canvass.history.layouts import HistoryFileError, Layout, methods, parse_date
from canvass.history.layouts import election_kind as kind_of
from canvass.history.reading import Batch, read_batches, read_layout
from canvass.i18n import N_
from canvass.importing.columns import clean_id
from canvass.models import Campaign, Election, ElectionKind, ExternalId, Vote

__all__ = ["HistoryFileError", "HistoryReport", "check_history", "import_history"]

SAMPLE_ROWS = 10  # rows shown on the check page
UNMATCHED_SHOWN = 50
UNDATED = np.iinfo(np.int64).min  # the election of a row whose date cannot be read (a check's stand-in ids are < 0)


@dataclass
class HistoryReport:
    """What a history file holds and how it matched the campaign's people; ``written`` once imported."""

    layout: str
    label: str
    source: str  # the kind of ID matched on
    rows: int = 0
    matched: int = 0
    unmatched: int = 0
    rejected: int = 0  # rows without a readable election date, or that did not split into columns
    votes: int = 0  # rows that are a vote (Florida's file also lists who did not vote)
    elections: int = 0
    new_elections: int = 0
    added: int = 0  # votes written (0 for a check, and for rows imported before)
    seconds: float = 0.0
    written: bool = False
    by_kind: dict[str, int] = field(default_factory=dict)  # elections in the file per kind
    first_election: str = ""
    last_election: str = ""
    sample: list[dict[str, str]] = field(default_factory=list)
    unmatched_rows: list[dict[str, Any]] = field(default_factory=list)  # {row, value}, the first few
    problems: list[dict[str, Any]] = field(default_factory=list)  # {row, column, value, message}, the first few

    def summary(self) -> dict[str, Any]:
        """The command line's JSON line: the figures first, in a fixed order."""
        return {"rows": self.rows, "matched": self.matched, "unmatched": self.unmatched,
                "elections": self.elections, "seconds": self.seconds, "votes_added": self.added,
                "new_elections": self.new_elections, "rejected": self.rejected, "layout": self.layout}

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


Progress = Callable[[float], None]


def check_history(session: Session, campaign: Campaign, path: str | Path, *,
                  progress: Progress = lambda fraction: None) -> HistoryReport:
    """Reads and matches the file; nothing is written."""
    return _run(session, campaign, Path(path), write=False, progress=progress)


def import_history(session: Session, campaign: Campaign, path: str | Path, *,
                   progress: Progress = lambda fraction: None) -> HistoryReport:
    """Imports the file's votes for the people it matches. The caller commits."""
    return _run(session, campaign, Path(path), write=True, progress=progress)


def _run(session: Session, campaign: Campaign, path: Path, *, write: bool, progress: Progress) -> HistoryReport:
    started = time.perf_counter()
    layout = read_layout(path)
    report = HistoryReport(layout.name, layout.label, layout.source, written=write)
    if write:
        bulk.take_write_lock(session, Election.__table__)
    people = _stored_ids(session, campaign.id, layout.source)
    elections = Elections(session, campaign.id, write)
    size = max(path.stat().st_size, 1)
    bad_rows: list[int] = []
    for batch in read_batches(path, layout, bad_rows=bad_rows):
        if not report.sample:
            report.sample = [{layout.headers[c]: str(v) for c, v in row.items()}
                             for row in batch.frame.head(SAMPLE_ROWS).to_dict("records")]
        votes = _batch_votes(batch, layout, people, elections, report)
        if write and len(votes):
            report.added += bulk.insert_frame(session, Vote.__table__, votes,
                                              skip_stored=["person_id", "election_id"])
        progress(min(0.95, report.rows * 60 / size))  # about 60 bytes per history row
    report.rejected += len(bad_rows)
    report.rows += len(bad_rows)
    report.unmatched = report.rows - report.matched - report.rejected
    report.problems += [{"row": r, "column": "", "value": "",
                         "message": N_("This row does not have as many columns as the header.")}
                        for r in bad_rows[:UNMATCHED_SHOWN]]
    seen = elections.seen
    report.elections, report.new_elections = len(seen), len(elections.created)
    report.by_kind = {k.value: sum(1 for e in seen if e[0] == k) for k in ElectionKind if any(e[0] == k for e in seen)}
    if seen:
        days = sorted(e[1] for e in seen)
        report.first_election, report.last_election = days[0].isoformat(), days[-1].isoformat()
    if write:
        registration.fill_registration_dates(session, campaign.id)
        bulk.refresh_statistics(session, Vote.__table__, Election.__table__)
    report.seconds = round(time.perf_counter() - started, 2)
    progress(1.0)
    return report


def _stored_ids(session: Session, campaign_id: int, source: str) -> pd.Series:
    """The campaign's people by their ``source`` ID: person ids indexed by the ID's text."""
    frame = bulk.read_frame(session, select(ExternalId.value, ExternalId.person_id).where(
        ExternalId.campaign_id == campaign_id, ExternalId.source == source))
    return pd.Series(frame["person_id"].to_numpy(dtype=np.int64), index=pd.Index(frame["value"].astype(str)))


class Elections:
    """The campaign's elections by (kind, day), created as the file names them (ids only when writing)."""

    def __init__(self, session: Session, campaign_id: int, write: bool):
        self.session, self.campaign_id, self.write = session, campaign_id, write
        rows = session.execute(select(Election.kind, Election.held_on, Election.id).where(
            Election.campaign_id == campaign_id)).all()
        self.ids: dict[tuple[ElectionKind, date], int] = {(ElectionKind(k), d): i for k, d, i in rows}
        self.seen: set[tuple[ElectionKind, date]] = set()
        self.created: set[tuple[ElectionKind, date]] = set()

    def id_of(self, kind: ElectionKind, held_on: date, name: str) -> int:
        key = (kind, held_on)
        self.seen.add(key)
        if key not in self.ids:
            self.created.add(key)
            if self.write:
                election = Election(campaign_id=self.campaign_id, kind=kind, held_on=held_on, name=name[:120])
                self.session.add(election)
                self.session.flush()
                self.ids[key] = election.id
            else:
                self.ids[key] = -len(self.created)  # a stand-in: a check writes nothing
        return self.ids[key]


def _batch_votes(batch: Batch, layout: Layout, people: pd.Series, elections: Elections,
                 report: HistoryReport) -> pd.DataFrame:
    """The batch's votes (person_id, election_id, method), counting its rows, matches and problems."""
    frame = batch.frame
    ids = clean_id(frame[layout.id_column].str.strip())
    person = people.index.get_indexer(ids)
    person_ids = np.where(person >= 0, people.to_numpy()[np.maximum(person, 0)], -1) if len(people) else \
        np.full(len(frame), -1, dtype=np.int64)
    report.rows += len(frame)
    if layout.wide:
        return _wide_votes(frame, layout, ids, person_ids, elections, report, batch.first_row)
    return _long_votes(frame, layout, ids, person_ids, elections, report, batch.first_row)


def _long_votes(frame: pd.DataFrame, layout: Layout, ids: pd.Series, person_ids: np.ndarray, elections: Elections,
                report: HistoryReport, first_row: int) -> pd.DataFrame:
    dates = frame[layout.date_column].str.strip()
    names = frame[layout.name_column].str.strip() if layout.name_column is not None else pd.Series("", index=frame.index)
    # Each distinct (date, name) is decided once: a file of millions of rows names a few dozen elections.
    codes, uniques = pd.factorize(dates + "\x1f" + names)
    election_of = np.full(len(uniques), UNDATED, dtype=np.int64)
    for code, key in enumerate(uniques):
        day_text, name = key.split("\x1f", 1)
        held_on = parse_date(day_text)
        if held_on is not None:
            election_of[code] = elections.id_of(kind_of(name, held_on), held_on, name or day_text)
    election_ids = election_of[codes]
    undated = election_ids == UNDATED
    if undated.any():
        report.rejected += int(undated.sum())
        rows = np.flatnonzero(undated)[:max(0, UNMATCHED_SHOWN - len(report.problems))]
        report.problems += [{"row": first_row + int(r), "column": layout.headers[layout.date_column],
                             "value": dates.iloc[r], "message": N_("This is not a date canvass can read.")}
                            for r in rows]
    matched = (person_ids >= 0) & ~undated
    report.matched += int(matched.sum())
    _note_unmatched(report, ids, (person_ids < 0) & ~undated, first_row)
    if layout.method_column is not None:
        voted, how = methods(frame[layout.method_column], layout.name)
    else:
        voted, how = np.ones(len(frame), dtype=bool), np.full(len(frame), "", dtype=object)
    report.votes += int((voted & ~undated).sum())
    keep = matched & voted
    return _votes_frame(person_ids[keep], election_ids[keep], how[keep])


def _wide_votes(frame: pd.DataFrame, layout: Layout, ids: pd.Series, person_ids: np.ndarray, elections: Elections,
                report: HistoryReport, first_row: int) -> pd.DataFrame:
    matched = person_ids >= 0
    report.matched += int(matched.sum())
    _note_unmatched(report, ids, ~matched, first_row)
    pieces = []
    for column, (held_on, kind, name) in layout.elections.items():
        election_id = elections.id_of(kind, held_on, name)
        voted, how = methods(frame[column], "wide")
        report.votes += int(voted.sum())
        keep = voted & matched
        pieces.append(_votes_frame(person_ids[keep], np.full(int(keep.sum()), election_id), how[keep]))
    return pd.concat(pieces, ignore_index=True) if pieces else _votes_frame(np.empty(0), np.empty(0), np.empty(0))


def _votes_frame(person_ids: np.ndarray, election_ids: np.ndarray, how: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame({"person_id": person_ids.astype(np.int64), "election_id": election_ids.astype(np.int64),
                          "method": how.astype(object)})
    # A person listed twice for one election (two IDs, or a file's duplicate rows) votes once.
    return frame.drop_duplicates(["person_id", "election_id"]) if len(frame) else frame


def _note_unmatched(report: HistoryReport, ids: pd.Series, unmatched: np.ndarray, first_row: int) -> None:
    room = UNMATCHED_SHOWN - len(report.unmatched_rows)
    if room > 0 and unmatched.any():
        rows = np.flatnonzero(unmatched)[:room]
        report.unmatched_rows += [{"row": first_row + int(r), "value": ids.iloc[r]} for r in rows]


def stored_counts(session: Session, campaign_id: int) -> dict[str, int]:
    """How many elections and votes the campaign holds (the history page shows them)."""
    elections = session.execute(select(sa.func.count()).where(Election.campaign_id == campaign_id)).scalar_one()
    votes = session.execute(select(sa.func.count()).select_from(Vote).join(
        Election, Election.id == Vote.election_id).where(Election.campaign_id == campaign_id)).scalar_one()
    return {"elections": elections, "votes": votes}
