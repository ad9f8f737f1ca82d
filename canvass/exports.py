"""Exports: contact results and counts as spreadsheets data staff can trust, and results back to VAN.

``contacts_frame`` reads every attempt in bulk and shapes it with pandas; the tallies (``canvass.tallies``) are pure (a
frame out); ``write_workbook`` streams sheets with xlsxwriter in constant memory. Text a spreadsheet would run as a
formula is neutralized in every format.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from canvass import bulk, opt_outs, tallies
from canvass.db import read_session, write_session
from canvass.i18n import N_, UserError
from canvass.models import (
    CallList,
    Campaign,
    ContactAttempt,
    ExternalId,
    Household,
    Person,
    PersonTag,
    ResultCode,
    SurveyOption,
    SurveyQuestion,
    SurveyResponse,
    Tag,
    Turf,
    User,
)
from canvass.spreadsheets import neutralize_frame
from canvass.universe import Universe

SHEETS = ("summary", "contacts", "by_volunteer", "by_turf", "by_day", "by_result", "survey", "survey_by_turf",
          "survey_by_precinct")
SHEET_TITLES = {"summary": N_("Summary"), "contacts": N_("Contacts"), "by_volunteer": N_("By volunteer"),
                "by_turf": N_("By turf"), "by_day": N_("By day"), "by_result": N_("By result"),
                "survey": N_("Survey results"), "survey_by_turf": N_("Survey by turf"),
                "survey_by_precinct": N_("Survey by precinct")}
ID_SOURCES = ("voter_id", "van_id", "county_voter_id", "vendor_id", "member_id")
# What VoteBuilder's bulk upload calls our default result codes (contacts themselves upload as "Canvassed").
VAN_RESULTS = {"NH": "Not Home", "RF": "Refused", "MV": "Moved", "DC": "Deceased", "IN": "Inaccessible",
               "HO": "Hostile", "CB": "Come Back", "LB": "Language Barrier", "WA": "Wrong Address",
               "NA": "No Answer", "LM": "Left Message", "BZ": "Busy", "WN": "Wrong Number", "DS": "Disconnected",
               "CL": "Call Back", "DNC": "Do Not Call"}


class ExportError(UserError):
    """An export that cannot be made; the message says why."""


@dataclass
class Filters:
    since: date | None = None
    until: date | None = None
    turf_id: int | None = None
    user_id: int | None = None
    channel: str | None = None
    people: Universe | None = None  # only the contacts with the people of this universe

    def as_dict(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, date) else v.__dict__ if isinstance(v, Universe) else v)
                for k, v in self.__dict__.items() if v}


@dataclass
class Export:
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    rows: int = 0


# ------------------------------------------------------------------------------------------------------------------
# Reading


def _bounds(filters: Filters, timezone: str) -> tuple[datetime | None, datetime | None]:
    zone = ZoneInfo(timezone)
    start = datetime.combine(filters.since, time.min, zone) if filters.since else None
    end = datetime.combine(filters.until, time.max, zone) if filters.until else None
    return start, end


def contacts_frame(session: Session, campaign: Campaign, filters: Filters, timezone: str) -> pd.DataFrame:
    """One row per attempt (undone ones left out), with person, IDs, door, volunteer and one column per question."""
    start, end = _bounds(filters, timezone)
    query = select(ContactAttempt.id, ContactAttempt.contacted_at, ContactAttempt.channel, ContactAttempt.result_code,
                   ContactAttempt.is_contact, ContactAttempt.person_id, ContactAttempt.household_id,
                   ContactAttempt.turf_id, ContactAttempt.call_list_id, ContactAttempt.user_id, ContactAttempt.notes,
                   ContactAttempt.language_heard).where(ContactAttempt.campaign_id == campaign.id,
                                                         ContactAttempt.undone_at.is_(None))
    if start:
        query = query.where(ContactAttempt.contacted_at >= start)
    if end:
        query = query.where(ContactAttempt.contacted_at <= end)
    if filters.turf_id:
        query = query.where(ContactAttempt.turf_id == filters.turf_id)
    if filters.user_id:
        query = query.where(ContactAttempt.user_id == filters.user_id)
    if filters.channel:
        query = query.where(ContactAttempt.channel == filters.channel)
    if filters.people is not None and filters.people.chooses_people:
        query = query.where(ContactAttempt.person_id.in_(filters.people.people_query(campaign.id)))
    frame = bulk.read_frame(session, query.order_by(ContactAttempt.contacted_at, ContactAttempt.id))
    frame["contacted_at"] = pd.to_datetime(frame["contacted_at"], utc=True, format="mixed") \
        .dt.tz_convert(timezone).dt.tz_localize(None)
    frame["is_contact"] = frame["is_contact"].astype(bool)
    for key in ("person_id", "household_id", "turf_id", "call_list_id", "user_id"):
        frame[key] = pd.to_numeric(frame[key]).astype("Int64")  # all empty (a phone-only export) is still integer
    frame = _join_people(session, campaign, frame)
    frame = _join_names(session, campaign, frame)
    frame = _join_answers(session, campaign, frame)
    return frame


def _lookup(session: Session, query, key: str) -> pd.DataFrame:
    return bulk.read_frame(session, query).drop_duplicates(key).set_index(key)


def _join_people(session: Session, campaign: Campaign, frame: pd.DataFrame) -> pd.DataFrame:
    people = _lookup(session, select(Person.id, Person.first_name, Person.last_name, Person.precinct,
                                     Person.language).where(Person.campaign_id == campaign.id), "id")
    doors = _lookup(session, select(Household.id, Household.address, Household.unit, Household.city,
                                    Household.zip5).where(Household.campaign_id == campaign.id), "id")
    frame = frame.join(people, on="person_id").join(doors, on="household_id")
    ids = bulk.read_frame(session, select(ExternalId.person_id, ExternalId.source, ExternalId.value).where(
        ExternalId.campaign_id == campaign.id))
    if not ids.empty:
        wide = ids.drop_duplicates(["person_id", "source"]).pivot(index="person_id", columns="source", values="value")
        frame = frame.join(wide[[c for c in ID_SOURCES if c in wide.columns]], on="person_id")
    tags = bulk.read_frame(session, select(PersonTag.person_id, Tag.name).join(Tag, Tag.id == PersonTag.tag_id)
                           .where(Tag.campaign_id == campaign.id))
    if not tags.empty:
        frame = frame.join(tags.groupby("person_id")["name"].agg("; ".join).rename("tags"), on="person_id")
    return frame


def _join_names(session: Session, campaign: Campaign, frame: pd.DataFrame) -> pd.DataFrame:
    turfs = _lookup(session, select(Turf.id, Turf.name.label("turf")).where(Turf.campaign_id == campaign.id), "id")
    lists = _lookup(session, select(CallList.id, CallList.name.label("call_list")).where(
        CallList.campaign_id == campaign.id), "id")
    users = _lookup(session, select(User.id, User.name.label("volunteer"), User.email.label("volunteer_email")), "id")
    codes = _lookup(session, select(ResultCode.code, ResultCode.label.label("result")).where(
        ResultCode.campaign_id == campaign.id), "code")
    return frame.join(turfs, on="turf_id").join(lists, on="call_list_id").join(users, on="user_id") \
        .join(codes, on="result_code")


def _join_answers(session: Session, campaign: Campaign, frame: pd.DataFrame) -> pd.DataFrame:
    """One column per question with the answers' codes (``Q_<code>``, what VAN and the tallies match on) and one with
    their labels (``L_<code>``, what people read)."""
    questions = session.exec(select(SurveyQuestion).where(SurveyQuestion.campaign_id == campaign.id)
                             .order_by(SurveyQuestion.position)).all()
    if not questions:
        return frame
    answers = bulk.read_frame(session, select(SurveyResponse.contact_id, SurveyQuestion.code, SurveyOption.code
                                              .label("option"), SurveyOption.label.label("option_label"),
                                              SurveyResponse.value)
                              .join(SurveyQuestion, SurveyQuestion.id == SurveyResponse.question_id)
                              .outerjoin(SurveyOption, SurveyOption.id == SurveyResponse.option_id)
                              .join(ContactAttempt, ContactAttempt.id == SurveyResponse.contact_id)
                              .where(ContactAttempt.campaign_id == campaign.id))
    columns = [f"{kind}_{q.code}" for q in questions for kind in ("Q", "L")]
    if answers.empty:
        return frame.assign(**{c: None for c in columns})
    answers["answer"] = answers["option"].where(answers["option"].notna(), answers["value"]).astype(str)
    answers["label"] = answers["option_label"].where(answers["option"].notna(), answers["value"]).astype(str)
    several = answers.duplicated(["contact_id", "code"], keep=False)
    if several.any():  # multiple-choice answers: joined with "; " (only these rows go through Python)
        joined = answers[several].groupby(["contact_id", "code"], sort=False)[["answer", "label"]] \
            .agg("; ".join).reset_index()
        answers = pd.concat([answers.loc[~several, ["contact_id", "code", "answer", "label"]], joined],
                            ignore_index=True)
    for kind, values in (("Q", "answer"), ("L", "label")):
        wide = answers.pivot(index="contact_id", columns="code", values=values)
        wide.columns = [f"{kind}_{c}" for c in wide.columns]
        frame = frame.join(wide, on="id")
    for column in columns:
        if column not in frame:
            frame[column] = None
    return frame


CONTACT_COLUMNS = ["contacted_at", "channel", "result_code", "result", "is_contact", "first_name", "last_name",
                   *ID_SOURCES, "address", "unit", "city", "zip5", "precinct", "language", "turf", "call_list",
                   "volunteer", "volunteer_email", "tags", "notes", "language_heard"]
CONTACT_HEADERS = {"contacted_at": "When", "channel": "Channel", "result_code": "Result code", "result": "Result",
                   "is_contact": "Contact made", "first_name": "First name", "last_name": "Last name",
                   "voter_id": "Voter ID", "van_id": "VAN ID", "county_voter_id": "County voter ID",
                   "vendor_id": "Vendor ID", "member_id": "Member ID", "address": "Address", "unit": "Unit",
                   "city": "City", "zip5": "ZIP", "precinct": "Precinct", "language": "Language", "turf": "Turf",
                   "call_list": "Call list", "volunteer": "Volunteer", "volunteer_email": "Volunteer email",
                   "tags": "Tags", "notes": "Notes", "language_heard": "Language heard"}


def contacts_sheet(frame: pd.DataFrame) -> pd.DataFrame:
    """The Contacts sheet: readable headers; per survey question, its answers in words (headed by the question's
    code) and their codes beside them (``SUPPORT code``), as VAN and other tools want them."""
    questions = [c[2:] for c in frame.columns if c.startswith("Q_")]
    columns = [c for c in CONTACT_COLUMNS if c in frame.columns] + \
        [column for code in questions for column in (f"L_{code}", f"Q_{code}")]
    names = {**CONTACT_HEADERS, **{f"L_{code}": code for code in questions},
             **{f"Q_{code}": f"{code} code" for code in questions}}
    return frame[columns].rename(columns=names)


SHEET_BUILDERS = {
    "summary": tallies.summary, "contacts": contacts_sheet,
    "by_volunteer": lambda f: tallies.tally_by(f.assign(v=f["volunteer"].fillna(f["volunteer_email"])), "v",
                                               "Volunteer"),
    "by_turf": lambda f: tallies.tally_by(f, "turf", "Turf"), "by_day": tallies.by_day, "by_result": tallies.by_result,
    "survey": tallies.survey_results, "survey_by_turf": lambda f: tallies.survey_crosstab(f, "turf", "Turf"),
    "survey_by_precinct": lambda f: tallies.survey_crosstab(f, "precinct", "Precinct")}


def build(session: Session, campaign: Campaign, filters: Filters, timezone: str, *, only: str | None = None
          ) -> Export:
    """Every sheet (or only the one named), from one read of the contacts."""
    if only is not None and only not in SHEET_BUILDERS:
        raise ExportError(N_("No sheet %(sheet)s; choose one of %(sheets)s."), sheet=only, sheets=", ".join(SHEETS))
    if campaign.purged_at is not None:
        return _purged(session, campaign, only)
    frame = contacts_frame(session, campaign, filters, timezone)
    frames = {name: make(frame) for name, make in SHEET_BUILDERS.items() if only in (None, name)}
    return Export(frames, len(frame))


def _purged(session: Session, campaign: Campaign, only: str | None) -> Export:
    """A purged campaign's export: the tallies kept when its contacts were deleted (whatever the filters), and an
    empty Contacts sheet."""
    from canvass.retention import stored_tallies

    kept = stored_tallies(session, campaign.id)
    kept["contacts"] = pd.DataFrame(columns=[CONTACT_HEADERS[c] for c in CONTACT_COLUMNS])
    return Export({name: kept.get(name, pd.DataFrame()) for name in SHEETS if only in (None, name)}, 0)


# ------------------------------------------------------------------------------------------------------------------
# Writing


def _cells(frame: pd.DataFrame):
    """Rows of plain Python values for xlsxwriter (None for missing, datetimes for timestamps), as tuples."""
    columns = []
    for name in frame.columns:
        series = frame[name]
        if pd.api.types.is_datetime64_any_dtype(series):
            values = series.dt.to_pydatetime().tolist() if not series.isna().any() else \
                [None if pd.isna(v) else v.to_pydatetime() for v in series]
        elif series.dtype.kind == "f":
            values = [None if v != v else v for v in series.tolist()]
        elif series.dtype.kind in "iub":
            values = series.tolist()
        else:
            values = series.astype(object).where(series.notna(), None).tolist()
        columns.append(values)
    return zip(*columns, strict=True) if columns else iter(())


def write_workbook(path: Path, export: Export, *, sheets: tuple[str, ...] = SHEETS, progress=None) -> None:
    """One XLSX, sheet by sheet in constant memory: real dates, bold frozen header, autofilter, column widths."""
    import xlsxwriter

    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False,
                                           "strings_to_urls": False, "strings_to_numbers": False,
                                           "default_date_format": "yyyy-mm-dd hh:mm"})
    header = book.add_format({"bold": True, "bg_color": "#E8E8E8", "border": 1})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    share = book.add_format({"num_format": "0.0%"})
    total = max(sum(len(export.frames[name]) for name in sheets), 1)
    done = 0
    for name in sheets:
        frame = neutralize_frame(export.frames[name])
        sheet = book.add_worksheet(SHEET_TITLES[name])
        for index, column in enumerate(frame.columns):
            longest = frame[column].head(200).astype(str).str.len().max() if len(frame) else 0
            width = min(max(len(str(column)), int(longest if longest == longest else 0)) + 2, 60)
            fmt = share if "rate" in str(column).lower() or "Share" in str(column) else \
                (day if column in ("Day",) else None)
            sheet.set_column(index, index, width, fmt)
        sheet.write_row(0, 0, [str(c) for c in frame.columns], header)
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, max(len(frame), 1), max(len(frame.columns) - 1, 0))
        for start in range(0, len(frame), 50_000):
            for offset, row in enumerate(_cells(frame.iloc[start:start + 50_000]), start=start + 1):
                sheet.write_row(offset, 0, row)
            done += min(50_000, len(frame) - start)
            if progress:
                progress(0.3 + 0.7 * done / total, N_("Writing the spreadsheet"))
    book.close()


def write_csv(path: Path, export: Export, sheet: str = "contacts") -> None:
    """One sheet as CSV (UTF-8 with a byte-order mark, so Excel reads accents right)."""
    if sheet not in export.frames:
        raise ExportError(N_("No sheet %(sheet)s; choose one of %(sheets)s."), sheet=sheet, sheets=", ".join(SHEETS))
    path.parent.mkdir(parents=True, exist_ok=True)
    neutralize_frame(export.frames[sheet]).to_csv(path, index=False, encoding="utf-8-sig", date_format="%Y-%m-%d %H:%M")


def van_results(session: Session, campaign: Campaign, filters: Filters, timezone: str) -> pd.DataFrame:
    """Canvass results and survey responses for VoteBuilder's bulk upload: people imported with a VAN ID only. The
    results are history and all go out; "Do Not Contact" marks the people on the do-not-contact list (its reason),
    so the file is never used to reach them."""
    frame = contacts_frame(session, campaign, filters, timezone)
    if "van_id" not in frame:
        raise ExportError(N_("No contact in this export belongs to someone imported with a VAN ID."))
    frame = frame[frame["van_id"].notna()]
    base = pd.DataFrame({
        "VANID": frame["van_id"], "Contact Type": np.where(frame["channel"] == "door", "Walk", "Phone"),
        "Result": np.where(frame["is_contact"], "", frame["result_code"].map(VAN_RESULTS).fillna(frame["result"])),
        "Date Canvassed": frame["contacted_at"].dt.strftime("%m/%d/%Y"),
        "Canvassed By": frame["volunteer"].fillna(frame["volunteer_email"]),
        "Do Not Contact": frame["person_id"].map(opt_outs.listed_people(session, campaign.id)).fillna("").to_numpy(),
        "id": frame["id"]})
    questions = [c for c in frame.columns if c.startswith("Q_")]
    long = frame[["id", *questions]].melt(id_vars="id", var_name="Survey Question", value_name="Survey Response") \
        .dropna(subset=["Survey Response"])
    long["Survey Question"] = long["Survey Question"].str.slice(2)
    long["Survey Response"] = long["Survey Response"].astype(str).str.split("; ")
    long = long.explode("Survey Response")
    rows = base.merge(long, on="id", how="left").drop(columns="id")
    return rows.fillna({"Survey Question": "", "Survey Response": ""}).reset_index(drop=True)


# ------------------------------------------------------------------------------------------------------------------
# Running an export (web job and CLI)


def export_file(session: Session, campaign: Campaign, filters: Filters, *, path: Path, timezone: str,
                sheet: str = "contacts", van: bool = False, progress=None) -> dict[str, Any]:
    """Writes the export to ``path`` (.xlsx: every sheet; .csv: one sheet, or VAN results). Reads only."""
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise ExportError(N_("Export to a file ending in .xlsx or .csv."))
    if van and suffix != ".csv":
        raise ExportError(N_("Results for VAN are a CSV file."))
    if progress:
        progress(0.05, N_("Reading contacts"))
    if van:
        table = van_results(session, campaign, filters, timezone)
        path.parent.mkdir(parents=True, exist_ok=True)
        neutralize_frame(table).to_csv(path, index=False)
        rows, what = len(table), "van"
    else:
        export = build(session, campaign, filters, timezone, only=None if suffix == ".xlsx" else sheet)
        if progress:
            progress(0.3, N_("Writing the spreadsheet"))
        if suffix == ".xlsx":
            write_workbook(path, export, progress=progress)
            what = "workbook"
        else:
            write_csv(path, export, sheet)
            what = f"csv:{sheet}"
        rows = export.rows
    return {"path": str(path), "filename": path.name, "rows": rows, "kind": what}


def make_export(engine: Engine, campaign_id: int, filters: Filters, *, path: Path, timezone: str,
                sheet: str = "contacts", van: bool = False, user_id: int | None = None, progress=None
                ) -> dict[str, Any]:
    """Writes the export file, then records it in the audit log: a read and then a short write, so a long export
    never holds the write lock, nor a read snapshot that the volunteers' syncs meanwhile make stale."""
    from canvass import audit

    with read_session(engine) as session:
        campaign = session.get(Campaign, campaign_id)
        result = export_file(session, campaign, filters, path=path, timezone=timezone, sheet=sheet, van=van,
                             progress=progress)
    with write_session(engine) as session:
        user = session.get(User, user_id) if user_id else None
        audit.record(session, user, "export", object_type="campaign", object_id=campaign_id, kind=result["kind"],
                     rows=result["rows"], filters=filters.as_dict(), file=path.name)
    return result


def export_name(slug: str, params: dict[str, Any], timezone: str) -> str:
    """The file name of a web export: the campaign, what it holds, when it was made (local time) and a random part,
    so two exports started in the same second never share (and overwrite) one file."""
    stamp = datetime.now(ZoneInfo(timezone)).strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)
    if params.get("format") == "van":
        return f"{slug}-van-results-{stamp}.csv"
    if params.get("format") == "xlsx":
        return f"{slug}-results-{stamp}.xlsx"
    return f"{slug}-{params.get('sheet', 'contacts')}-{stamp}.csv"


def run_export_job(progress, engine, campaign_id: int, params: dict[str, Any], user_id: int | None, folder: str,
                   timezone: str) -> dict[str, Any]:
    """Background job behind the web export page; the file lands in the export folder."""
    with read_session(engine) as session:
        slug = session.get(Campaign, campaign_id).slug
    filters = Filters(since=_day(params.get("since")), until=_day(params.get("until")),
                      turf_id=params.get("turf_id"), user_id=params.get("user_id"),
                      channel=params.get("channel") or None,
                      people=Universe.from_dict(params["people"]) if params.get("people") else None)
    return make_export(engine, campaign_id, filters, path=Path(folder) / export_name(slug, params, timezone),
                       timezone=timezone, sheet=params.get("sheet", "contacts"), van=params.get("format") == "van",
                       user_id=user_id, progress=progress)


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None
