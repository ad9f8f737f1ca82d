"""Retention: closing a campaign, reopening it, and purging its personal data once its retention period has passed,
keeping its tallies (counts only) so its results pages and tally exports still work. The caller commits.

What a purge deletes, in one transaction: the campaign's people, doors, phones, emails, voter IDs, vote history,
tags on people, contacts (with their notes and survey answers), do-not-contact entries (the list is per campaign,
so it goes with the people it names; export it first to carry it to a follow-on campaign), relational lists,
walk lists (a turf's doors), call-list entries, duplicate decisions and merge records, and the import batches'
stored files, previews and problem rows. What it keeps: the campaign, its set-up (scripts, survey, result codes),
its turfs and call lists by name, volunteer accounts, and the tally sheets (``CampaignTally``) computed just before.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session, select

from canvass import audit, exports
from canvass.i18n import N_, UserError
from canvass.importing.batches import discard_upload
from canvass.models import (
    CallEntry,
    CallList,
    Campaign,
    CampaignTally,
    ContactAttempt,
    Email,
    ExternalId,
    Household,
    ImportBatch,
    Job,
    JobStatus,
    MergeRecord,
    NotDuplicate,
    OptOut,
    Person,
    PersonTag,
    Phone,
    RelationalPerson,
    SurveyResponse,
    Turf,
    TurfDoor,
    User,
    Vote,
)

MAX_DAYS = 3650
TALLY_SHEETS = tuple(sheet for sheet in exports.SHEETS if sheet != "contacts")


class RetentionError(UserError):
    """A close, reopen or purge that cannot be done; the message says why."""


def state(campaign: Campaign, now: datetime) -> str:
    """open | closed (kept until its purge date) | due (may be purged) | purged."""
    if campaign.purged_at is not None:
        return "purged"
    if campaign.closed_at is None:
        return "open"
    return "due" if campaign.purge_after is not None and campaign.purge_after <= now else "closed"


def close_campaign(session: Session, campaign: Campaign, user: User | None, *, days: int, now: datetime) -> None:
    """Closes the campaign to new contacts; its personal data may be purged ``days`` days from ``now``."""
    if campaign.purged_at is not None:
        raise RetentionError(N_("This campaign's personal data was purged; it cannot be closed or reopened."))
    if campaign.closed_at is not None:
        raise RetentionError(N_("This campaign is already closed."))
    if not 0 <= days <= MAX_DAYS:
        raise RetentionError(N_("Keep the data for a number of days between 0 and %(most)s."), most=MAX_DAYS)
    campaign.closed_at, campaign.closed_by_id = now, user.id if user else None
    campaign.retention_days, campaign.purge_after = days, now + timedelta(days=days)
    session.add(campaign)
    audit.record(session, user, "campaign.closed", object_type="campaign", object_id=campaign.id,
                 retention_days=days, purge_after=campaign.purge_after.isoformat())


def reopen_campaign(session: Session, campaign: Campaign, user: User | None) -> None:
    """Opens a closed campaign again (before its purge): contacts are taken again and no purge date is set."""
    if campaign.purged_at is not None:
        raise RetentionError(N_("This campaign's personal data was purged; it cannot be closed or reopened."))
    if campaign.closed_at is None:
        raise RetentionError(N_("This campaign is open."))
    campaign.closed_at = campaign.closed_by_id = campaign.purge_after = None
    session.add(campaign)
    audit.record(session, user, "campaign.reopened", object_type="campaign", object_id=campaign.id)


def due_campaigns(session: Session, now: datetime) -> list[Campaign]:
    """Closed campaigns whose purge date has passed and whose data is still there, oldest date first."""
    return list(session.exec(select(Campaign).where(Campaign.closed_at.is_not(None), Campaign.purged_at.is_(None),
                                                    Campaign.purge_after <= now).order_by(Campaign.purge_after)))


# ------------------------------------------------------------------------------------------------------------------
# What a purge deletes and keeps


def _people(campaign_id: int):
    return sa.select(Person.id).where(Person.campaign_id == campaign_id).scalar_subquery()


def _contacts(campaign_id: int):
    return sa.select(ContactAttempt.id).where(ContactAttempt.campaign_id == campaign_id).scalar_subquery()


def _call_lists(campaign_id: int):
    return sa.select(CallList.id).where(CallList.campaign_id == campaign_id).scalar_subquery()


def _deletes(campaign_id: int) -> list[tuple[str, Any]]:
    """(what, the table's rows of the campaign) in an order that leaves no row pointing at a deleted one."""
    people, contacts = _people(campaign_id), _contacts(campaign_id)
    return [
        ("survey_answers", (SurveyResponse, SurveyResponse.contact_id.in_(contacts))),
        ("do_not_contact_entries", (OptOut, OptOut.campaign_id == campaign_id)),
        ("contacts", (ContactAttempt, ContactAttempt.campaign_id == campaign_id)),
        ("relational_people", (RelationalPerson, RelationalPerson.campaign_id == campaign_id)),
        ("call_list_entries", (CallEntry, CallEntry.call_list_id.in_(_call_lists(campaign_id)))),
        ("walk_list_doors", (TurfDoor, TurfDoor.campaign_id == campaign_id)),
        ("tags_on_people", (PersonTag, PersonTag.person_id.in_(people))),
        ("votes", (Vote, Vote.person_id.in_(people))),
        ("voter_ids", (ExternalId, ExternalId.campaign_id == campaign_id)),
        ("phones", (Phone, Phone.person_id.in_(people))),
        ("emails", (Email, Email.person_id.in_(people))),
        ("duplicate_decisions", (NotDuplicate, NotDuplicate.campaign_id == campaign_id)),
        ("merge_records", (MergeRecord, MergeRecord.campaign_id == campaign_id)),
        ("people", (Person, Person.campaign_id == campaign_id)),
        ("doors", (Household, Household.campaign_id == campaign_id)),
    ]


#: What the page lists as deleted, in this order (the rest of ``_deletes`` goes too, uncounted on the page).
SHOWN_DELETED = ("people", "doors", "phones", "emails", "contacts", "survey_answers", "do_not_contact_entries",
                 "relational_people", "walk_list_doors", "call_list_entries")


@dataclass
class Preview:
    """What a purge of the campaign would delete and keep, in counts."""

    deleted: dict[str, int] = field(default_factory=dict)
    kept: dict[str, int] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)  # stored imports and exports that hold personal data


def preview(session: Session, campaign: Campaign, *, export_folder: Path | None = None) -> Preview:
    """Counts of the rows a purge deletes, and of what it keeps. Reads only."""
    counts = [sa.select(sa.func.count()).select_from(model).where(where).scalar_subquery().label(name)
              for name, (model, where) in _deletes(campaign.id)]
    kept = [
        sa.select(sa.func.count()).select_from(ContactAttempt).where(
            ContactAttempt.campaign_id == campaign.id, ContactAttempt.undone_at.is_(None))
        .scalar_subquery().label("contacts_tallied"),
        sa.select(sa.func.count()).select_from(Turf).where(Turf.campaign_id == campaign.id)
        .scalar_subquery().label("turfs"),
        sa.select(sa.func.count()).select_from(CallList).where(CallList.campaign_id == campaign.id)
        .scalar_subquery().label("call_lists"),
        sa.select(sa.func.count(sa.distinct(ContactAttempt.user_id))).where(ContactAttempt.campaign_id == campaign.id)
        .scalar_subquery().label("volunteers"),
    ]
    row = session.execute(sa.select(*counts, *kept)).one()._mapping
    files = _files(session, campaign, export_folder)
    deleted = {name: int(row[name]) for name, _what in _deletes(campaign.id)}
    deleted["files"] = len(files)
    return Preview(deleted=deleted, kept={k: int(row[k]) for k in ("contacts_tallied", "turfs", "call_lists",
                                                                    "volunteers")}, files=files)


def _files(session: Session, campaign: Campaign, export_folder: Path | None) -> list[Path]:
    """The campaign's uploaded import files still stored, and its export files (people's names and addresses)."""
    uploads = session.exec(select(ImportBatch.stored_path).where(ImportBatch.campaign_id == campaign.id,
                                                                 ImportBatch.stored_path != "")).all()
    found = [Path(path) for path in uploads if Path(path).exists()]
    if export_folder is not None:
        results = session.exec(select(Job.result).where(Job.campaign_id == campaign.id, Job.kind == "export",
                                                        Job.status == JobStatus.done)).all()
        names = {Path(result.get("filename", "")).name for result in results if result.get("filename")}
        found += [export_folder / name for name in sorted(names) if (export_folder / name).exists()]
    return found


# ------------------------------------------------------------------------------------------------------------------
# The purge


@dataclass
class PurgeReport:
    campaign_id: int
    slug: str
    deleted: dict[str, int]
    kept: dict[str, int]
    files: list[Path]  # deleted by ``remove_files`` once the purge is committed
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"campaign": self.slug, "campaign_id": self.campaign_id, "deleted": self.deleted, "kept": self.kept,
                "dry_run": self.dry_run}


def purge_campaign(session: Session, campaign: Campaign, user: User | None, *, timezone: str, now: datetime,
                   export_folder: Path | None = None, dry_run: bool = False,
                   typed_name: str | None = None) -> PurgeReport:
    """Deletes the campaign's personal data, keeping its tallies, and records the purge (counts only) in the audit
    log. Only a closed campaign whose purge date has passed; with ``typed_name`` (a person confirming on the page),
    only when it is the campaign's name. With ``dry_run``, reads only and says what it would do. The caller
    commits, then calls ``remove_files`` with the report."""
    if state(campaign, now) != "due":
        raise RetentionError(_NOT_DUE[state(campaign, now)])
    if typed_name is not None and " ".join(typed_name.split()).casefold() != " ".join(campaign.name.split()).casefold():
        raise RetentionError(N_("The name typed is not this campaign's: nothing was purged."))
    found = preview(session, campaign, export_folder=export_folder)
    report = PurgeReport(campaign.id, campaign.slug, found.deleted, found.kept, found.files, dry_run)
    if dry_run:
        return report
    _store_tallies(session, campaign, timezone, now)
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # Building and dropping the lookups' indexes waits for every open transaction on these tables, and while it
        # waits every new reader queues behind it: give up after a few seconds (nothing purged, try again) rather
        # than stall the volunteers' pages behind one long export.
        session.execute(sa.text(f"SET LOCAL lock_timeout = '{LOCK_WAIT_SECONDS}s'"))
    try:
        for index in _LOOKUPS:  # dropped again below: only the purge looks rows up this way
            index.create(connection, checkfirst=True)
        for _name, (model, where) in _deletes(campaign.id):
            session.execute(sa.delete(model).where(where).execution_options(synchronize_session=False))
        for index in _LOOKUPS:
            index.drop(connection, checkfirst=True)
    except sa.exc.OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) != "55P03":  # lock_not_available
            raise
        raise RetentionError(BUSY) from exc
    _forget_import_rows(session, campaign)
    campaign.purged_at, campaign.purged_by_id = now, user.id if user else None
    session.add(campaign)
    audit.record(session, user, "campaign.purged", object_type="campaign", object_id=campaign.id,
                 deleted=report.deleted, kept=report.kept)
    session.flush()
    return report


#: Deleting a door, a person, a phone or a contact makes the database look up every row still referring to it
#: (its foreign keys): these columns have no index of their own, so each deleted row would cost a scan of every
#: other campaign's rows (30,000 people beside another 30,000 took 390 s on SQLite). They are indexed for the
#: purge's transaction only, and not for good, so imports and contact logging never pay for them. On PostgreSQL
#: the build holds writes to these tables until the purge commits (seconds; a purge is an admin's or a nightly job).
#: (On a table of their own metadata: the app's tables and migrations never see them.)
_LOOKUPS = tuple(sa.Index(f"ix_purge_{table}_{column}", sa.Table(table, sa.MetaData(), sa.Column(column, sa.Integer))
                          .c[column])
                 for table, column in (("person", "household_id"), ("turf_door", "household_id"),
                                       ("relational_person", "suggested_id"), ("opt_out", "contact_id"),
                                       ("contact_attempt", "phone_id")))

LOCK_WAIT_SECONDS = 10
BUSY = N_("Other work is using this campaign's data right now, so nothing was purged. Try again in a few minutes.")

_NOT_DUE = {"open": N_("Close the campaign first: its data can be purged once its retention period has passed."),
            "closed": N_("This campaign's retention period has not passed yet."),
            "purged": N_("This campaign's personal data was purged already.")}


def _forget_import_rows(session: Session, campaign: Campaign) -> None:
    """An import batch keeps its counts; the rows it showed (preview, problems) and its stored file go. A campaign
    has a handful of batches: one at a time."""
    for batch in session.exec(select(ImportBatch).where(ImportBatch.campaign_id == campaign.id)):
        summary = dict(batch.summary or {})
        if "check" in summary:
            summary["check"] = {**summary["check"], "preview": []}
        batch.summary, batch.problems, batch.stored_path = summary, [], ""
        session.add(batch)


def remove_files(report: PurgeReport) -> None:
    """Deletes the purged campaign's stored import and export files (after the purge is committed)."""
    for path in report.files:
        discard_upload(str(path))


# ------------------------------------------------------------------------------------------------------------------
# Tallies kept after a purge


def _store_tallies(session: Session, campaign: Campaign, timezone: str, now: datetime) -> None:
    export = exports.build(session, campaign, exports.Filters(), timezone)
    session.execute(sa.delete(CampaignTally).where(CampaignTally.campaign_id == campaign.id))
    session.execute(sa.insert(CampaignTally), [
        {"campaign_id": campaign.id, "sheet": sheet, "table": frame_to_table(export.frames[sheet]), "made_at": now}
        for sheet in TALLY_SHEETS])


def stored_tallies(session: Session, campaign_id: int) -> dict[str, pd.DataFrame]:
    """The tally sheets kept when the campaign was purged, by sheet name."""
    rows = session.exec(select(CampaignTally).where(CampaignTally.campaign_id == campaign_id)).all()
    return {row.sheet: table_to_frame(row.table) for row in rows}


def frame_to_table(frame: pd.DataFrame) -> dict[str, Any]:
    """A tally frame as JSON: its columns, each column's type, and its rows."""
    types = [_type_of(frame[column]) for column in frame.columns]
    columns = [[_json_value(value, kind) for value in frame.iloc[:, index].tolist()]
               for index, kind in enumerate(types)]
    return {"columns": [str(c) for c in frame.columns], "types": types, "rows": [list(r) for r in zip(*columns, strict=True)]}


def table_to_frame(table: dict[str, Any]) -> pd.DataFrame:
    frame = pd.DataFrame(table["rows"], columns=table["columns"], dtype=object) if table["rows"] else \
        pd.DataFrame({column: pd.Series(dtype=object) for column in table["columns"]})
    for index, kind in enumerate(table["types"]):
        values = frame.iloc[:, index]
        if kind == "int":
            values = values.astype("Int64" if values.isna().any() else "int64")
        elif kind == "float":
            values = values.astype("float64")
        elif kind == "bool":
            values = values.astype(bool)
        elif kind == "date":
            values = values.map(lambda v: None if v is None else dt.date.fromisoformat(v))
        frame.isetitem(index, values)
    return frame


def _type_of(series: pd.Series) -> str:
    kind = series.dtype.kind
    if kind in "iu":
        return "int"
    if kind == "f":
        return "float"
    if kind == "b":
        return "bool"
    if any(isinstance(v, dt.date) for v in series.head(5)):
        return "date"
    return "text"


def _json_value(value: Any, kind: str) -> Any:
    if value is None or (not isinstance(value, str | dt.date) and pd.isna(value)):
        return None
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    if kind == "bool":
        return bool(value)
    if kind == "date":
        return value.isoformat()
    return str(value)
