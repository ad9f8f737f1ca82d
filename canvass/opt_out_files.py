"""The do-not-contact list as a CSV file: exported (formula-safe) and imported (voter ID, phone or email, and a
reason; checked before anything is written), so a list moves between campaigns and survives a clean start. Bulk:
a file of any size costs a handful of queries. The caller commits."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session, select

from canvass import audit, opt_outs
from canvass.i18n import N_, UserError
from canvass.importing.columns import per_unique_text
from canvass.importing.phones import phone_e164
from canvass.models import (
    Campaign,
    Email,
    ExternalId,
    OptOut,
    OptOutReason,
    OptOutScope,
    OptOutSource,
    Person,
    Phone,
    PhoneStatus,
    User,
    utcnow,
)
from canvass.spreadsheets import csv_text

HEADER = ["Voter ID", "Phone", "Email", "First name", "Last name", "Reason", "Channels", "Note", "Source",
          "Recorded at (UTC)", "Recorded by"]
ID_ORDER = ("voter_id", "van_id", "county_voter_id", "vendor_id", "member_id")
MAX_PROBLEMS = 1000
# A header as people write it -> the column it is.
_HEADERS = {"voter id": "id", "voterid": "id", "voter_id": "id", "id": "id", "van id": "id", "vanid": "id",
            "phone": "phone", "phone number": "phone", "number": "phone", "email": "email", "e-mail": "email",
            "reason": "reason", "channels": "scope", "channel": "scope", "scope": "scope", "note": "note",
            "notes": "note"}


class OptOutFileError(UserError):
    """A file that cannot be read as a do-not-contact list; the message says why."""


def _words(text: str) -> str:
    return " ".join(text.strip().lower().replace("_", " ").replace("-", " ").split())


#: What a file may say as a reason: our words (as exported), our codes, and the usual short forms.
REASONS = {**{_words(words): reason for reason, words in opt_outs.REASON_WORDS.items()},
           **{_words(reason.value): reason for reason in OptOutReason},
           "": OptOutReason.do_not_contact, "dnc": OptOutReason.do_not_contact,
           "do not call": OptOutReason.do_not_call, "stop": OptOutReason.stop_texting,
           "no texts": OptOutReason.stop_texting, "wrong": OptOutReason.wrong_number,
           "refusal": OptOutReason.refused}
SCOPES = {**{_words(words): scope for scope, words in opt_outs.SCOPE_WORDS.items()},
          **{scope.value: scope for scope in OptOutScope}, "every channel": OptOutScope.all, "calls": OptOutScope.phone,
          "phones": OptOutScope.phone, "text": OptOutScope.texts, "doors": OptOutScope.door}
#: Reasons about a number rather than the person: matched by phone, they close that number only.
NUMBER_REASONS = {OptOutReason.wrong_number, OptOutReason.stop_texting}


# ------------------------------------------------------------------------------------------------------------------
# Export


def export_csv(session: Session, campaign: Campaign) -> str:
    """The campaign's active list as CSV text (UTF-8; cells that would run as formulas are neutralized)."""
    rows = session.execute(
        select(OptOut.person_id, OptOut.e164, OptOut.reason, OptOut.scope, OptOut.note, OptOut.source,
               OptOut.created_at, Person.first_name, Person.last_name, Person.email, User.email.label("by"))
        .join(Person, Person.id == OptOut.person_id).outerjoin(User, User.id == OptOut.created_by_id)
        .where(OptOut.campaign_id == campaign.id, opt_outs.active()).order_by(OptOut.id)).all()
    ids = _best_ids(session, campaign.id, sorted({r.person_id for r in rows}))
    return csv_text(HEADER, ([ids.get(r.person_id, ""), _readable(r.e164), r.email, r.first_name, r.last_name,
                              opt_outs.REASON_WORDS[OptOutReason(r.reason)],
                              opt_outs.SCOPE_WORDS[OptOutScope(r.scope)], r.note,
                              opt_outs.SOURCE_WORDS[OptOutSource(r.source)], r.created_at.strftime("%Y-%m-%d %H:%M"),
                              r.by or ""] for r in rows))


def _readable(e164: str) -> str:
    """A US number as ten digits (a spreadsheet would read "+1..." as a formula); any other as E.164."""
    return e164[2:] if e164.startswith("+1") and len(e164) == 12 else e164


def _best_ids(session: Session, campaign_id: int, person_ids: list[int]) -> dict[int, str]:
    if not person_ids:
        return {}
    rank = {source: n for n, source in enumerate(ID_ORDER)}
    best: dict[int, tuple[int, str]] = {}
    for person_id, source, value in session.execute(select(ExternalId.person_id, ExternalId.source, ExternalId.value)
                                                    .where(ExternalId.campaign_id == campaign_id,
                                                           ExternalId.person_id.in_(person_ids))):
        key = (rank.get(source, len(rank)), value)
        if person_id not in best or key < best[person_id]:
            best[person_id] = key
    return {person_id: value for person_id, (_rank, value) in best.items()}


# ------------------------------------------------------------------------------------------------------------------
# Import: check, then confirm


@dataclass
class Check:
    """What a file would add: counts, the rows it cannot use (spreadsheet row, column, value, what to do)."""

    rows: int = 0
    matched: int = 0  # rows that found someone
    new: int = 0  # entries that would be added
    already: int = 0  # matched rows already on the list
    problems: list[dict[str, Any]] = field(default_factory=list)
    sample: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_file(path: Path) -> pd.DataFrame:
    """The file's rows as text, its headers mapped to id, phone, email, reason, scope, note."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, sep=delimiter)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise OptOutFileError(N_("This file cannot be read as a CSV file. Save it as CSV and upload it again.")) from exc
    columns = {c: _HEADERS.get(_words(str(c))) for c in frame.columns}
    sample = frame.head(5)[[c for c, name in columns.items() if name]].astype(str).to_dict("records")
    frame = frame.rename(columns={c: name for c, name in columns.items() if name})
    frame = frame.loc[:, ~frame.columns.duplicated()]
    if not {"id", "phone", "email"} & set(frame.columns):
        raise OptOutFileError(N_("The file needs a column named Voter ID, Phone or Email (and one named Reason)."))
    for name in ("id", "phone", "email", "reason", "scope", "note"):
        if name not in frame:
            frame[name] = ""
        # An apostrophe is what a formula-safe export put before a cell such as "+52...": it is not part of it.
        frame[name] = frame[name].astype(str).str.strip().str.removeprefix("'")
    frame.index = pd.RangeIndex(2, len(frame) + 2)  # spreadsheet rows: the header is row 1
    frame = frame[["id", "phone", "email", "reason", "scope", "note"]]
    frame.attrs["sample"] = sample  # the first rows as the file has them, under its own headers
    return frame


def _plan(session: Session, campaign: Campaign, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """One row per entry the file asks for (row, person_id, phone_id, e164, reason, scope, note), and the problems."""
    problems: list[dict[str, Any]] = []

    def problem(rows: pd.Index, column: str, message: str) -> None:
        for row in rows[:MAX_PROBLEMS - len(problems)]:
            problems.append({"row": int(row), "column": column, "value": str(frame.at[row, _COLUMN_KEYS[column]]),
                             "message": message})

    reasons = frame["reason"].map(lambda v: REASONS.get(_words(v)))
    problem(frame.index[reasons.isna()], "Reason", N_("This reason is not one we know: write Asked not to be "
                                                      "contacted, Asked not to be called, Asked for no texts, "
                                                      "Wrong number, Refused or Other reason."))
    scopes = frame["scope"].map(lambda v: SCOPES.get(_words(v)) if v else None)
    bad_scope = (frame["scope"] != "") & scopes.isna()
    problem(frame.index[bad_scope], "Channels", N_("Write Every channel, Calls, Texts or Doors (or leave it blank)."))
    e164 = per_unique_text(frame["phone"], phone_e164)
    bad_phone = (frame["phone"] != "") & (e164 == "")
    problem(frame.index[bad_phone], "Phone", N_("This is not a phone number we can use. Write it with its area code."))
    nothing = (frame["id"] == "") & (frame["phone"] == "") & (frame["email"] == "")
    problem(frame.index[nothing], "Voter ID", N_("Give a voter ID, a phone number or an email on every row."))
    usable = reasons.notna() & ~bad_scope & ~bad_phone & ~nothing

    by_id = _lookup_in(session, lambda chunk: select(ExternalId.value.label("key"), ExternalId.person_id).where(
        ExternalId.campaign_id == campaign.id, ExternalId.value.in_(chunk)), set(frame["id"]))
    # By the number first (its index), then kept to the campaign's people: SQLite would otherwise walk every person.
    by_phone = _lookup_in(session, lambda chunk: select(Phone.e164.label("key"), Phone.person_id,
                                                        Phone.id.label("phone_id")).where(Phone.e164.in_(chunk)),
                          set(e164))
    if not by_phone.empty:
        ours = set(_lookup_in(session, lambda chunk: select(Person.id.label("person_id")).where(
            Person.campaign_id == campaign.id, Person.id.in_(chunk)), set(by_phone["person_id"]))["person_id"])
        by_phone = by_phone[by_phone["person_id"].isin(ours)]
    emails = set(frame["email"].str.lower())
    by_email = pd.concat([
        _lookup_in(session, lambda chunk: select(sa.func.lower(Person.email).label("key"), Person.id.label("person_id"))
                   .where(Person.campaign_id == campaign.id, sa.func.lower(Person.email).in_(chunk)), emails),
        _lookup_in(session, lambda chunk: select(sa.func.lower(Email.address).label("key"), Email.person_id)
                   .join(Person, Person.id == Email.person_id)
                   .where(Person.campaign_id == campaign.id, sa.func.lower(Email.address).in_(chunk)), emails)]) \
        .drop_duplicates()

    rows = pd.DataFrame({"row": frame.index, "id": frame["id"].to_numpy(), "e164": e164.to_numpy(),
                         "email": frame["email"].str.lower().to_numpy(), "reason": reasons.to_numpy(),
                         "scope": scopes.to_numpy(), "note": frame["note"].str.slice(0, 300).to_numpy()})[usable.to_numpy()]
    # Each row is matched by its voter ID if it has one, else its phone, else its email.
    rows["how"] = np.where(rows["id"] != "", "id", np.where(rows["e164"] != "", "phone", "email"))
    matches = pd.concat([
        rows[rows["how"] == "id"].merge(by_id, left_on="id", right_on="key"),
        rows[rows["how"] == "phone"].merge(by_phone, left_on="e164", right_on="key"),
        rows[rows["how"] == "email"].merge(by_email, left_on="email", right_on="key")], ignore_index=True)
    unmatched = rows[~rows["row"].isin(matches["row"])]
    for how, column, message in (("id", "Voter ID", N_("Nobody in this campaign has this voter ID.")),
                                 ("phone", "Phone", N_("Nobody in this campaign has this phone number.")),
                                 ("email", "Email", N_("Nobody in this campaign has this email."))):
        problem(pd.Index(unmatched.loc[unmatched["how"] == how, "row"]), column, message)
    # A wrong number or no texts is about the number the row gives, when it is the person's; else about the person.
    numbers = by_phone.rename(columns={"key": "e164", "phone_id": "number_id"}) if not by_phone.empty else \
        pd.DataFrame({"e164": pd.Series(dtype=str), "person_id": pd.Series(dtype="int64"),
                      "number_id": pd.Series(dtype="int64")})
    matches = matches.drop(columns=["phone_id"], errors="ignore").merge(numbers, on=["person_id", "e164"], how="left")
    about_number = matches["reason"].isin(NUMBER_REASONS) & matches["number_id"].notna()
    matches["phone_id"] = matches["number_id"].where(about_number).astype("Int64")
    matches["e164"] = matches["e164"].where(about_number, "")
    matches["scope"] = [scope if isinstance(scope, str) else opt_outs.DEFAULT_SCOPE[reason] for scope, reason in
                        zip(matches["scope"], matches["reason"], strict=True)]
    return matches[["row", "person_id", "phone_id", "e164", "reason", "scope", "note"]], problems


COLUMN_WORDS = (N_("Reason"), N_("Channels"), N_("Phone"), N_("Voter ID"), N_("Email"))  # in problems, translated
_COLUMN_KEYS = {"Reason": "reason", "Channels": "scope", "Phone": "phone", "Voter ID": "id", "Email": "email"}


LOOKUP_CHUNK = 5000  # values per IN list (SQLite takes at most 32766 parameters)


def _lookup_in(session: Session, query, values: set[str]) -> pd.DataFrame:
    """``query(chunk)`` for the non-blank values, a chunk at a time, as one frame."""
    wanted = sorted(v for v in values if v != "" and not pd.isna(v))
    frames = [_lookup(session, query(wanted[i:i + LOOKUP_CHUNK])) for i in range(0, len(wanted), LOOKUP_CHUNK)]
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else _lookup(session, query([]).limit(0))


def _lookup(session: Session, query: sa.Select) -> pd.DataFrame:
    frame = pd.DataFrame(session.execute(query).all(), columns=list(query.selected_columns.keys()))
    return frame.astype({"person_id": "int64"}) if not frame.empty else frame


def _new_entries(session: Session, campaign: Campaign, matches: pd.DataFrame) -> pd.DataFrame:
    """The matches not on the list yet (an active entry of the same person, channels and number)."""
    if matches.empty:
        return matches
    matches = matches.drop_duplicates(subset=["person_id", "scope", "phone_id"])
    stored = _lookup_in(session, lambda chunk: select(OptOut.person_id, OptOut.scope, OptOut.phone_id).where(
        OptOut.campaign_id == campaign.id, opt_outs.active(), OptOut.person_id.in_(chunk)),
        {int(p) for p in matches["person_id"]})
    if stored.empty:
        return matches
    key = ["person_id", "scope", "phone_id"]
    stored["phone_id"] = stored["phone_id"].astype("Int64")
    stored["scope"] = stored["scope"].astype(str)
    merged = matches.assign(scope=matches["scope"].astype(str)).merge(stored.assign(on_list=True), on=key, how="left")
    return matches[merged["on_list"].isna().to_numpy()]


def check_file(session: Session, campaign: Campaign, path: Path) -> Check:
    """What importing the file would do, without writing anything."""
    frame = read_file(path)
    matches, problems = _plan(session, campaign, frame)
    new = _new_entries(session, campaign, matches)
    return Check(rows=len(frame), matched=int(matches["row"].nunique()) if not matches.empty else 0, new=len(new),
                 already=len(matches.drop_duplicates(subset=["person_id", "scope", "phone_id"])) - len(new),
                 problems=sorted(problems, key=lambda p: (p["row"], p["column"])), sample=frame.attrs["sample"])


def import_file(session: Session, campaign: Campaign, path: Path, user: User | None, filename: str) -> int:
    """Adds the file's entries (those not on the list yet) and keeps the flags and numbers in step. Returns how many
    were added; audited."""
    frame = read_file(path)
    matches, _problems = _plan(session, campaign, frame)
    new = _new_entries(session, campaign, matches)
    now = utcnow()
    if not new.empty:
        session.execute(sa.insert(OptOut), [
            {"campaign_id": campaign.id, "person_id": int(r.person_id),
             "phone_id": None if pd.isna(r.phone_id) else int(r.phone_id), "e164": r.e164, "scope": str(r.scope),
             "reason": str(r.reason), "note": r.note, "source": OptOutSource.imported.value,
             "import_name": filename[:255], "created_by_id": user.id if user else None, "created_at": now,
             "lift_note": ""} for r in new.itertuples()])
        wrong = [int(p) for p, reason in zip(new["phone_id"], new["reason"], strict=True)
                 if not pd.isna(p) and reason == OptOutReason.wrong_number]
        for start in range(0, len(wrong), LOOKUP_CHUNK):
            session.execute(sa.update(Phone).where(Phone.id.in_(wrong[start:start + LOOKUP_CHUNK]),
                                                   Phone.status == PhoneStatus.ok)
                            .values(status=PhoneStatus.wrong, status_changed_at=now))
        opt_outs.sync_flags(session, [int(p) for p in new["person_id"]])
    audit.record(session, user, "opt_out.imported", object_type="campaign", object_id=campaign.id,
                 rows=len(frame), added=len(new))
    return len(new)

