"""The whole data model: every table canvass stores, and the closed vocabularies they use.

Times are stored in UTC (``UTCDateTime``); people, households, turfs and contacts belong to one campaign, so a
campaign can be imported, cut and exported on its own. Enum-valued columns are stored as short strings, so adding a
value never needs a database type migration.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator):
    """Timezone-aware UTC datetimes on every engine (SQLite keeps no offset, so it is stripped and restored here)."""

    impl = sa.DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect):
        return dialect.type_descriptor(sa.DateTime(timezone=dialect.name == "postgresql"))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use canvass.models.utcnow()")
        value = value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def _json(default=dict, **kw) -> Any:
    return Field(default_factory=default, sa_column=sa.Column(JSONType, nullable=False, **kw))


def _when(*, nullable: bool = False, index: bool = False, default=utcnow, server: bool = False) -> Any:
    if nullable:
        return Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=True, index=index))
    server_default = sa.text("CURRENT_TIMESTAMP") if server else None
    return Field(default_factory=default, sa_column=sa.Column(UTCDateTime(), nullable=False, index=index,
                                                              server_default=server_default))


def _flag() -> Any:
    """A boolean that is false unless set; the database fills it in, so bulk inserts can leave it out."""
    return Field(default=False, sa_column_kwargs={"server_default": sa.false()})


def _text(length: int, **kw) -> Any:
    return Field(sa_type=sa.String(length), **kw)


def _key_text(length: int, **kw) -> Any:
    """Text that identifies (a door's key, an ID, a phone number), never sorted for people to read. PostgreSQL
    compares it byte by byte (COLLATE "C"), as SQLite does: its indexes compare with memcmp instead of the
    database's locale (an en-US collation cost 60% more per key), and rows an import sorts in Python land at an
    index's end whatever that locale is."""
    return Field(sa_type=sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql"), **kw)


# --------------------------------------------------------------------------------------------------------------------
# Closed vocabularies


class Role(StrEnum):
    admin = "admin"
    lead = "lead"
    data = "data"
    volunteer = "volunteer"


class Channel(StrEnum):
    door = "door"
    phone = "phone"
    relational = "relational"  # a volunteer reaching someone they know, from their own phone


class PhoneType(StrEnum):
    cell = "cell"
    landline = "landline"
    unknown = "unknown"


class PhoneStatus(StrEnum):
    ok = "ok"
    wrong = "wrong"  # the number is not this person's
    disconnected = "disconnected"  # the number is dead for everyone


class TurfStatus(StrEnum):
    active = "active"
    closed = "closed"


class AssignmentStatus(StrEnum):
    active = "active"
    pending = "pending"  # joined by code, waiting for a lead's approval


class CallListStatus(StrEnum):
    active = "active"
    paused = "paused"
    closed = "closed"


class CallEntryStatus(StrEnum):
    pending = "pending"  # waiting to be handed out (possibly not before next_attempt_at)
    claimed = "claimed"  # under a caller's lease
    done = "done"  # finished: final result, max attempts, or nothing left to dial


class QuestionKind(StrEnum):
    scale = "scale"  # support 1-5
    single = "single"
    multi = "multi"
    yesno = "yesno"
    text = "text"


class Suppression(StrEnum):
    """What a result code does beyond recording the attempt."""

    none = "none"
    moved = "moved"  # the address is bad for this person
    deceased = "deceased"  # removed from every list; the volunteer confirms
    hostile = "hostile"  # warn the next volunteer at this door
    language_barrier = "language_barrier"  # route to a volunteer who speaks the person's language
    wrong_address = "wrong_address"
    wrong_number = "wrong_number"  # this phone is not the person's
    disconnected = "disconnected"  # this phone is dead
    do_not_call = "do_not_call"
    do_not_contact = "do_not_contact"
    call_back = "call_back"  # re-call at a time the caller picks
    refused = "refused"  # a refusal: when the code is final, the person goes on the do-not-contact list


class TagKind(StrEnum):
    tag = "tag"
    followup = "followup"


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class ImportStatus(StrEnum):
    checked = "checked"  # uploaded and checked, waiting for confirmation
    running = "running"
    done = "done"
    failed = "failed"
    cancelled = "cancelled"


class ElectionKind(StrEnum):
    """Turnout is counted per kind: a general-election voter is not a municipal one."""

    general = "general"
    primary = "primary"
    municipal = "municipal"  # city, town, school board: general and primary alike
    other = "other"  # special, runoff, anything the file does not name


class VoteMethod(StrEnum):
    """How a vote was cast, when the file says. One letter: the vote table holds tens of millions of rows."""

    unknown = ""
    absentee = "a"  # by mail
    early = "e"  # in person before election day
    election_day = "d"  # at the polls


LANGUAGE_NAMES = {"en": "English", "es": "Español", "vi": "Tiếng Việt", "ko": "한국어", "zh": "中文"}


# --------------------------------------------------------------------------------------------------------------------
# Accounts


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = _text(254, unique=True, index=True)
    name: str = _text(120, default="")
    role: Role = _text(20)
    password_hash: str | None = _text(255, default=None, nullable=True)  # None until an invite is accepted
    language: str = _text(8, default="en")  # interface language
    languages_spoken: list[str] = _json(list)  # for matching volunteers to turfs
    phone: str = _text(20, default="")
    is_active: bool = True
    created_at: datetime = _when()
    last_login_at: datetime | None = _when(nullable=True)
    # In every sign-in cookie (and remember-me cookie) of this user. A new key ends them all: set by a new password,
    # by logging out (on any device) and by deactivation.
    sign_in_key: str = _text(32, default_factory=lambda: secrets.token_hex(16))

    # The login-session protocol (Flask-Login's UserMixin, without importing Flask into the model).
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """What the sign-in cookie holds: the id and the current sign-in key."""
        return f"{self.id}.{self.sign_in_key}"

    def end_every_sign_in(self) -> None:
        self.sign_in_key = secrets.token_hex(16)

    @property
    def display_name(self) -> str:
        return self.name or self.email.split("@")[0]


class UserToken(SQLModel, table=True):
    """A single-use, expiring link (invite or password reset). Only a hash of the token is stored."""

    __tablename__ = "user_token"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    purpose: str = _text(16)  # invite | reset
    token_hash: str = _text(64, unique=True)
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = _when()
    expires_at: datetime = _when()
    used_at: datetime | None = _when(nullable=True)


class LoginAttempt(SQLModel, table=True):
    """Recent login attempts, kept in the database so throttling holds across app processes."""

    __tablename__ = "login_attempt"
    id: int | None = Field(default=None, primary_key=True)
    email: str = _text(254, index=True)
    remote_addr: str = _text(64, default="", index=True)
    succeeded: bool = False
    at: datetime = _when(index=True)


class AppMeta(SQLModel, table=True):
    """Facts about this database itself (``demo=1`` marks a database the demo command may rebuild)."""

    __tablename__ = "app_meta"
    key: str = Field(sa_type=sa.String(64), primary_key=True)
    value: str = _text(255, default="")


class AuditLog(SQLModel, table=True):
    """Who did what. Details hold ids, counts and filters, never names, addresses or phone numbers."""

    __tablename__ = "audit_log"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _when(index=True)
    user_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    action: str = _text(64, index=True)
    object_type: str = _text(32, default="")
    object_id: int | None = None
    details: dict = _json()


# --------------------------------------------------------------------------------------------------------------------
# Campaigns and their setup


class Campaign(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = _text(120)
    slug: str = _text(64, unique=True, index=True)
    created_at: datetime = _when()
    archived: bool = False
    # Calling hours, retry policy, which fields volunteers see; see canvass.campaigns.DEFAULT_SETTINGS.
    settings: dict = _json()
    # Changes whenever the campaign's result codes, survey, tags or scripts do (see _new_codes_version), so every
    # app process may keep them in memory and know, from the campaign row it reads anyway, when they are stale.
    # Random, not a counter: a version never means the same codes in two databases.
    codes_version: str = _text(32, default_factory=lambda: uuid.uuid4().hex,
                               sa_column_kwargs={"server_default": sa.text("''")})
    # Retention (canvass.retention): a closed campaign takes no new contacts; from ``purge_after`` (closed_at plus
    # the retention period) an admin may purge its personal data, keeping its tallies (CampaignTally).
    closed_at: datetime | None = _when(nullable=True)
    closed_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    retention_days: int | None = None  # this campaign's period; None: the organization's RETENTION_DAYS
    purge_after: datetime | None = _when(nullable=True, index=True)
    purged_at: datetime | None = _when(nullable=True)
    purged_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")


class CampaignMember(SQLModel, table=True):
    """A volunteer or lead working on a campaign (open call lists are offered to these callers)."""

    __tablename__ = "campaign_member"
    campaign_id: int = Field(foreign_key="campaign.id", primary_key=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id", primary_key=True, ondelete="CASCADE")
    joined_at: datetime = _when()


class Script(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("campaign_id", "channel", "language"),)
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True, ondelete="CASCADE")
    channel: Channel = _text(16)
    language: str = _text(8)
    body: str = Field(default="", sa_type=sa.Text)


class SurveyQuestion(SQLModel, table=True):
    __tablename__ = "survey_question"
    __table_args__ = (sa.UniqueConstraint("campaign_id", "code"),)
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True, ondelete="CASCADE")
    code: str = _text(32)  # short column name in exports (SUPPORT, ISSUE)
    text: str = Field(sa_type=sa.Text)
    translations: dict = _json()  # {language: text}
    kind: QuestionKind = _text(8)
    position: int = 0
    active: bool = True


class SurveyOption(SQLModel, table=True):
    __tablename__ = "survey_option"
    __table_args__ = (sa.UniqueConstraint("question_id", "code"),)
    id: int | None = Field(default=None, primary_key=True)
    question_id: int = Field(foreign_key="survey_question.id", index=True, ondelete="CASCADE")
    code: str = _text(32)  # response code shown on paper lists and exported
    label: str = _text(200)
    translations: dict = _json()
    position: int = 0


class ResultCode(SQLModel, table=True):
    """A result a volunteer can record, with the rules a lead can see and edit."""

    __tablename__ = "result_code"
    __table_args__ = (sa.UniqueConstraint("campaign_id", "code"),)
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True, ondelete="CASCADE")
    code: str = _text(16)  # NH, TK, RF ...
    label: str = _text(80)
    translations: dict = _json()
    channel: str = _text(8)  # door | phone | both
    is_contact: bool = False  # counts as a conversation, not only an attempt
    is_final: bool = False  # never approach this person again in this campaign
    retry_after_hours: int | None = None  # re-approach after this long (None: no automatic retry)
    max_attempts: int | None = None  # a person is out of the universe after this many attempts (None: no limit)
    suppresses: Suppression = _text(24, default=Suppression.none)
    position: int = 0
    active: bool = True


@sa.event.listens_for(orm.Session, "before_flush")
def _new_codes_version(session: orm.Session, _context, _instances) -> None:
    """A flush that adds, changes or deletes a campaign's result codes, survey questions or options, tags or scripts
    gives the campaign a new ``codes_version`` (processes keep these in memory by it)."""
    campaign_ids = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, (ResultCode, SurveyQuestion, Tag, Script)):
            campaign_ids.add(obj.campaign_id)
        elif isinstance(obj, SurveyOption) and obj.question_id is not None:
            question = session.get(SurveyQuestion, obj.question_id)
            campaign_ids.add(question.campaign_id if question is not None else None)
    for campaign_id in campaign_ids - {None}:
        campaign = session.get(Campaign, campaign_id)
        if campaign is not None:
            campaign.codes_version = uuid.uuid4().hex  # written by this same flush


class Tag(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("campaign_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True, ondelete="CASCADE")
    name: str = _text(80)
    kind: TagKind = _text(12, default=TagKind.tag)
    translations: dict = _json()


# --------------------------------------------------------------------------------------------------------------------
# People, doors, phones


class Household(SQLModel, table=True):
    """A door: one normalized street address plus unit. Apartments share ``building_key``."""

    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "address_key"),
        sa.Index("ix_household_campaign_building", "campaign_id", "building_key"),
    )
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", ondelete="CASCADE")
    address_key: str = _key_text(300)  # normalized address + unit + zip5: the identity of the door
    building_key: str = _key_text(300)  # the same without the unit
    address: str = _text(300, default="")  # street line as displayed, without the unit
    house_number: str = _text(20, default="")
    house_number_int: int | None = None  # for walk order (odd/even side, ascending)
    street: str = _text(120, default="")  # normalized street name, for grouping and ordering
    unit: str = _text(40, default="")
    city: str = _text(80, default="")
    state: str = _text(4, default="")
    zip5: str = _text(5, default="")
    zip4: str = _text(4, default="")
    precinct: str = _text(64, default="")
    lat: float | None = None
    lon: float | None = None
    hostile_note: str = _text(300, default="", sa_column_kwargs={"server_default": sa.text("''")})  # warning for the next volunteer
    hostile_at: datetime | None = _when(nullable=True)
    created_at: datetime = _when(server=True)


class Person(SQLModel, table=True):
    __table_args__ = (sa.Index("ix_person_campaign_household", "campaign_id", "household_id"),)
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", ondelete="CASCADE")
    household_id: int | None = Field(default=None, foreign_key="household.id", ondelete="SET NULL")
    first_name: str = _text(80, default="")
    middle_name: str = _text(80, default="")
    last_name: str = _text(80, default="")
    suffix: str = _text(20, default="")
    language: str = _text(8, default="")  # ISO 639-1, from the file or heard at the door
    language_source: str = _text(8, default="")  # file | door
    party: str = _text(40, default="")
    precinct: str = _text(64, default="")
    birth_year: int | None = None
    gender: str = _text(16, default="")
    email: str = _text(254, default="")
    is_protected: bool = False  # confidential record: kept, never shown with an address, never cut into turf
    # What canvassing learned; a re-import never changes these.
    do_not_contact: bool = _flag()
    do_not_call: bool = _flag()
    deceased: bool = _flag()
    moved: bool = _flag()  # the address on file is bad for this person
    needs_language: bool = _flag()  # language barrier: send a volunteer who speaks the person's language
    # Import bookkeeping: match_key finds the person again without an ID; source_hash detects unchanged rows.
    match_key: str = _text(200, default="")
    source_hash: str = _text(32, default="")
    import_batch_id: int | None = Field(default=None, foreign_key="import_batch.id", ondelete="SET NULL")
    added_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")  # met at the door
    custom: dict = _json()  # unmapped columns from the file, by header
    vote_history: dict = _json()  # election column -> value, as the voter file had it (canvass.history reads it)
    registered_on: date | None = None  # when known: turnout counts only the elections held since
    created_at: datetime = _when(server=True)
    updated_at: datetime = _when(server=True)


class ExternalId(SQLModel, table=True):
    """An ID a source system gave the person (``ncid``, ``van``, ``fl_voter_id`` ...)."""

    __tablename__ = "external_id"
    # Identified by what it is: a surrogate number would cost a third index (a second per million imported IDs on
    # PostgreSQL) and nothing refers to one.
    # The person's campaign is copied into the key; no foreign key of its own: the person's already deletes these
    # rows with the campaign, and a second check per row cost seconds on every million-row import.
    campaign_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    person_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    source: str = _key_text(32, primary_key=True)
    value: str = _key_text(64, primary_key=True)


class Election(SQLModel, table=True):
    """An election the campaign's history files name: a day and a kind (two files naming the same day's general
    election differently still mean one election)."""

    __table_args__ = (sa.UniqueConstraint("campaign_id", "kind", "held_on"),)  # also "the last N generals"
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", ondelete="CASCADE")
    held_on: date
    kind: ElectionKind = _text(12)
    name: str = _text(120, default="")  # as the first file to name it did


class Vote(SQLModel, table=True):
    """A person voted in an election (who did not vote has no row). Narrow, for tens of millions of rows: on
    SQLite the key is the table (WITHOUT ROWID); no foreign key to the election, whose rows go only with the
    campaign, and so with its people: a check per row cost seconds per million imported votes."""

    __table_args__ = (sa.Index("ix_vote_election_person", "election_id", "person_id"), {"sqlite_with_rowid": False})
    person_id: int = Field(foreign_key="person.id", primary_key=True, ondelete="CASCADE")
    election_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    method: VoteMethod = _text(1, default=VoteMethod.unknown, sa_column_kwargs={"server_default": sa.text("''")})


class Phone(SQLModel, table=True):
    # A hash index on PostgreSQL: the number is only ever looked up whole, and a million-row import adds numbers
    # in no order, which costs a B-tree twice as much (seconds per million). SQLite has only B-trees.
    __table_args__ = (sa.UniqueConstraint("person_id", "e164"), sa.Index("ix_phone_e164", "e164", postgresql_using="hash"))
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", ondelete="CASCADE")  # indexed by the unique constraint
    e164: str = _key_text(20)
    type: PhoneType = _text(12, default=PhoneType.unknown)
    status: PhoneStatus = _text(16, default=PhoneStatus.ok)
    rank: int = 0  # order within the person: lower is dialed first
    source: str = _text(40, default="")  # the column it came from
    status_changed_at: datetime | None = _when(nullable=True)


class Email(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("person_id", "address"),)
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", ondelete="CASCADE")  # indexed by the unique constraint
    address: str = _key_text(254)
    status: str = _text(16, default="ok")


class PersonTag(SQLModel, table=True):
    __tablename__ = "person_tag"
    person_id: int = Field(foreign_key="person.id", primary_key=True, ondelete="CASCADE")
    tag_id: int = Field(foreign_key="tag.id", primary_key=True, ondelete="CASCADE")
    created_at: datetime = _when()
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")


# --------------------------------------------------------------------------------------------------------------------
# Imports and background jobs


class Job(SQLModel, table=True):
    """A long task (import, export) run in the background; any app process can show its progress."""

    id: int | None = Field(default=None, primary_key=True)
    kind: str = _text(16)
    status: JobStatus = _text(12, default=JobStatus.queued)
    progress: float = 0.0  # 0..1
    message: str = _text(300, default="")
    result: dict = _json()
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id", ondelete="CASCADE")
    created_at: datetime = _when()
    started_at: datetime | None = _when(nullable=True)
    finished_at: datetime | None = _when(nullable=True)
    heartbeat_at: datetime | None = _when(nullable=True)
    # PostgreSQL: the procrastinate job that runs it (canvass.queue); none for a job run in the app process.
    queue_id: int | None = Field(default=None, sa_type=sa.BigInteger)
    runner: str | None = _text(120, default=None, nullable=True)  # host:pid of the process running it, if any


class ImportBatch(SQLModel, table=True):
    __tablename__ = "import_batch"
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True, ondelete="CASCADE")
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    job_id: int | None = Field(default=None, foreign_key="job.id", ondelete="SET NULL")
    filename: str = _text(255)
    stored_path: str = _text(500, default="")
    status: ImportStatus = _text(12, default=ImportStatus.checked)
    layout: str = _text(40, default="")  # detected known layout, if any
    file_format: str = _text(16, default="")  # csv | xlsx | fixed ...
    encoding: str = _text(20, default="")
    delimiter: str = _text(16, default="")  # comma, tab, pipe, semicolon, fixed width
    has_header: bool = True
    header_signature: str = _text(64, default="")
    mapping: dict = _json()
    summary: dict = _json()  # rows, inserted, updated, unchanged, rejected, households, phones, seconds
    problems: list = _json(list)  # [{row, column, value, message}] (first few thousand)
    error: str = Field(default="", sa_type=sa.Text)
    created_at: datetime = _when()
    finished_at: datetime | None = _when(nullable=True)


class SavedMapping(SQLModel, table=True):
    """A column mapping a user confirmed, reused for files with the same header."""

    __tablename__ = "saved_mapping"
    header_signature: str = Field(sa_type=sa.String(64), primary_key=True)
    mapping: dict = _json()
    saved_at: datetime = _when()


# --------------------------------------------------------------------------------------------------------------------
# Turf


class Turf(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True, ondelete="CASCADE")
    name: str = _text(120)
    status: TurfStatus = _text(10, default=TurfStatus.active)
    cut_method: str = _text(16, default="")
    join_code: str = _text(16, unique=True)
    join_requires_approval: bool = True  # who joins by code waits for a lead's one-tap approval
    created_at: datetime = _when()
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    # Doors are stored in street order when cut; the walking route is worked out on first use and kept.
    routed_at: datetime | None = _when(nullable=True)


class TurfDoor(SQLModel, table=True):
    """A door in a turf, in walk order. A household is in at most one turf per campaign."""

    __tablename__ = "turf_door"
    __table_args__ = (sa.UniqueConstraint("campaign_id", "household_id"),)
    turf_id: int = Field(foreign_key="turf.id", primary_key=True, ondelete="CASCADE")
    household_id: int = Field(foreign_key="household.id", primary_key=True, ondelete="CASCADE")
    campaign_id: int = Field(foreign_key="campaign.id", ondelete="CASCADE")
    position: int = 0


class TurfAssignment(SQLModel, table=True):
    __tablename__ = "turf_assignment"
    turf_id: int = Field(foreign_key="turf.id", primary_key=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id", primary_key=True, ondelete="CASCADE")
    status: AssignmentStatus = _text(10, default=AssignmentStatus.active)
    assigned_at: datetime = _when()
    assigned_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")


class Shift(SQLModel, table=True):
    """A volunteer's check-in on a turf (safety: leads see who is out and who is overdue)."""

    id: int | None = Field(default=None, primary_key=True)
    turf_id: int = Field(foreign_key="turf.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    checked_in_at: datetime = _when()
    expected_minutes: int = 180
    checked_out_at: datetime | None = _when(nullable=True)


# --------------------------------------------------------------------------------------------------------------------
# Phone banking


class CallList(SQLModel, table=True):
    __tablename__ = "call_list"
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True, ondelete="CASCADE")
    name: str = _text(120)
    status: CallListStatus = _text(10, default=CallListStatus.active)
    open_to_all: bool = False  # any caller of the campaign may take calls
    filters: dict = _json()
    created_at: datetime = _when()
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")


class CallListAssignment(SQLModel, table=True):
    __tablename__ = "call_list_assignment"
    call_list_id: int = Field(foreign_key="call_list.id", primary_key=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id", primary_key=True, ondelete="CASCADE")
    assigned_at: datetime = _when()


class CallEntry(SQLModel, table=True):
    """A person on a call list, with the lease a caller holds while calling them."""

    __tablename__ = "call_entry"
    __table_args__ = (
        sa.UniqueConstraint("call_list_id", "person_id"),
        sa.Index("ix_call_entry_next", "call_list_id", "status", "priority", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    call_list_id: int = Field(foreign_key="call_list.id", ondelete="CASCADE")
    person_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    priority: int = 0  # lower first
    status: CallEntryStatus = _text(10, default=CallEntryStatus.pending)
    attempts: int = 0
    next_attempt_at: datetime | None = _when(nullable=True)  # retry or call-back time
    claimed_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    lease_expires_at: datetime | None = _when(nullable=True)
    claim_token: str = _text(36, default="")  # proves which lease a result belongs to
    handed_out: int = 0  # times this entry was handed to a caller


# --------------------------------------------------------------------------------------------------------------------
# Contacts


class ContactAttempt(SQLModel, table=True):
    """One knock or call and its result. ``client_uuid`` makes logging idempotent across retries and devices."""

    __tablename__ = "contact_attempt"
    __table_args__ = (
        sa.Index("ix_contact_campaign_time", "campaign_id", "contacted_at"),
        sa.Index("ix_contact_person", "person_id", "contacted_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    client_uuid: uuid.UUID = Field(sa_type=sa.Uuid, unique=True)
    campaign_id: int = Field(foreign_key="campaign.id", ondelete="CASCADE")
    person_id: int | None = Field(default=None, foreign_key="person.id", ondelete="CASCADE")
    household_id: int | None = Field(default=None, foreign_key="household.id", ondelete="SET NULL", index=True)
    turf_id: int | None = Field(default=None, foreign_key="turf.id", ondelete="SET NULL", index=True)
    call_list_id: int | None = Field(default=None, foreign_key="call_list.id", ondelete="SET NULL", index=True)
    phone_id: int | None = Field(default=None, foreign_key="phone.id", ondelete="SET NULL")
    user_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL", index=True)
    channel: Channel = _text(16)
    result_code: str = _text(16)
    is_contact: bool = False  # the result code's rule when logged, so later edits to the rule do not rewrite history
    notes: str = Field(default="", sa_type=sa.Text)
    language_heard: str = _text(8, default="")
    contacted_at: datetime = _when()  # when it happened (the device's clock, bounded by the server's)
    received_at: datetime = _when()  # when the server stored it
    undone_at: datetime | None = _when(nullable=True)  # undo keeps the row for the audit trail
    effects: dict = _json()  # what logging it changed (flags, phone status), so an undo puts exactly that back
    # A relational contact: the volunteer's own person (canvass.relational), matched to the voter file or not.
    relational_id: int | None = Field(default=None, foreign_key="relational_person.id", ondelete="SET NULL",
                                      index=True)


class SurveyResponse(SQLModel, table=True):
    __tablename__ = "survey_response"
    __table_args__ = (sa.Index("ix_survey_response_question", "question_id", "option_id"),)
    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact_attempt.id", index=True, ondelete="CASCADE")
    question_id: int = Field(foreign_key="survey_question.id", ondelete="CASCADE")
    option_id: int | None = Field(default=None, foreign_key="survey_option.id", ondelete="CASCADE")
    value: str = Field(default="", sa_type=sa.Text)  # free-text answers


# --------------------------------------------------------------------------------------------------------------------
# Duplicate people


class NotDuplicate(SQLModel, table=True):
    """Two people a reviewer judged to be different people: never offered as likely duplicates again.
    ``person_id`` is the lower of the two ids."""

    __tablename__ = "not_duplicate"
    person_id: int = Field(foreign_key="person.id", primary_key=True, ondelete="CASCADE")
    other_id: int = Field(foreign_key="person.id", primary_key=True, ondelete="CASCADE", index=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True, ondelete="CASCADE")
    decided_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    decided_at: datetime = _when()


class MergeRecord(SQLModel, table=True):
    """One person merged into another, with what it moved and what it replaced, so an undo puts each row back.

    The two people are plain numbers, not foreign keys: the merged person no longer exists, and the record must not
    follow the survivor into a later merge (``canvass.merging``)."""

    __tablename__ = "merge_record"
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True, ondelete="CASCADE")
    survivor_id: int = Field(index=True)
    merged_id: int = Field(index=True)
    reasons: list = _json(list)  # why they were offered as duplicates (canvass.duplicates reason codes)
    moved: dict = _json()  # "table.column" -> primary keys of the rows moved to the survivor
    saved: dict = _json()  # the merged person's row, rows dropped as repeats, survivor values replaced
    merged_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    merged_at: datetime = _when()
    undone_at: datetime | None = _when(nullable=True)
    undone_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")


# ---- dnc ----


class OptOutScope(StrEnum):
    """Which channels an opt-out closes."""

    all = "all"  # every channel: not at the door, not on the phone, not by text
    phone = "phone"  # no calls (of a number: that number only)
    texts = "texts"  # no texts (of a number: that number only)
    door = "door"  # no knocking


class OptOutReason(StrEnum):
    do_not_contact = "do_not_contact"  # asked not to be contacted
    do_not_call = "do_not_call"
    stop_texting = "stop_texting"
    wrong_number = "wrong_number"  # the number is not the person's
    refused = "refused"  # a refusal the result code marks as final
    other = "other"


class OptOutSource(StrEnum):
    contact = "contact"  # a result logged at a door or on a call
    imported = "import"  # a do-not-contact file, or a voter file's do-not-call column
    manual = "manual"  # staff on the person's page, or a volunteer at the door without a result


class OptOut(SQLModel, table=True):
    """One entry of the campaign's do-not-contact list (``canvass.opt_outs``): who, which channels (of one number
    when ``phone_id`` is set), why, and where it came from. Lifting keeps the row (lifted_at, lifted_by): the list's
    history is its audit trail. Person.do_not_contact and do_not_call are kept equal to the active entries."""

    __tablename__ = "opt_out"
    __table_args__ = (sa.Index("ix_opt_out_person_active", "person_id", "lifted_at"),
                      sa.Index("ix_opt_out_phone", "phone_id"))  # a call list asks it of every number
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True, ondelete="CASCADE")
    person_id: int = Field(foreign_key="person.id", ondelete="CASCADE")
    phone_id: int | None = Field(default=None, foreign_key="phone.id", ondelete="SET NULL")
    e164: str = _key_text(20, default="")  # the number, kept even if the phone row goes
    scope: OptOutScope = _text(8)
    reason: OptOutReason = _text(16)
    note: str = _text(300, default="")
    source: OptOutSource = _text(8)
    contact_id: int | None = Field(default=None, foreign_key="contact_attempt.id", ondelete="SET NULL")
    import_name: str = _text(255, default="")  # the file it came from
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = _when()
    lifted_at: datetime | None = _when(nullable=True)
    lifted_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    lift_note: str = _text(300, default="")


# ---- relational ----


class RelationalMatch(StrEnum):
    """Where a volunteer's own person stands against the voter file."""

    suggested = "suggested"  # canvass found a likely voter; the volunteer has not said yet
    confirmed = "confirmed"  # the volunteer said it is them
    not_listed = "not_listed"  # the volunteer said none of the suggestions is them
    none = "none"  # nobody in the voter file looks like them


class RelationalPerson(SQLModel, table=True):
    """Someone a volunteer knows and reaches from their own phone: on that volunteer's list only.

    A row of its own rather than a Person: walk lists, call lists, turf cuts, duplicates and voter exports all read
    ``person``, so someone who is not in the voter file can never turn up on another volunteer's list. When the
    volunteer confirms a match, ``person_id`` links the voter (whose contacts, flags and language then count)."""

    __tablename__ = "relational_person"
    __table_args__ = (sa.UniqueConstraint("campaign_id", "user_id", "dedupe_key"),)
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")  # the volunteer whose list it is
    name: str = _text(160)  # as the volunteer typed it or the contacts file had it
    first_name: str = _text(80, default="")
    last_name: str = _text(80, default="")
    phone: str = _key_text(20, default="")  # E.164, the number the tel: and sms: links use
    phones: list[str] = _json(list)  # every number the contact card had, best first
    email: str = _text(254, default="")
    city: str = _text(80, default="")
    age: int | None = None
    language: str = _text(8, default="")  # when the volunteer knows it; a matched voter's language comes first
    source: str = _text(8, default="typed")  # typed | pasted | vcard | csv
    dedupe_key: str = _key_text(120)  # folded name + phone: the same card uploaded again is not added twice
    match: RelationalMatch = _text(12, default=RelationalMatch.none)
    suggested_id: int | None = Field(default=None, foreign_key="person.id", ondelete="SET NULL")
    person_id: int | None = Field(default=None, foreign_key="person.id", ondelete="SET NULL", index=True)
    created_at: datetime = _when()
    matched_at: datetime | None = _when(nullable=True)


# ---- shifts ----
# Shifts and events that volunteers sign up for (canvass/shifts.py). Not ``Shift`` above: that one is a volunteer's
# safety check-in on a turf, which checking in at one of these opens when the event carries turf.


class ShiftKind(StrEnum):
    canvass = "canvass"  # house visits: arriving volunteers get a turf
    clinic = "clinic"
    training = "training"
    meeting = "meeting"


class ShiftEvent(SQLModel, table=True):
    """A house-visit shift or an event of a campaign, with its place, its time (UTC) and whom it needs."""

    __tablename__ = "shift_event"
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True, ondelete="CASCADE")
    kind: ShiftKind = _text(12, default=ShiftKind.canvass)
    title: str = _text(120)
    address: str = _text(300, default="")
    directions: str = Field(default="", sa_type=sa.Text)  # "side door, ask for Rosa"
    starts_at: datetime = _when(index=True)
    ends_at: datetime = _when()
    head_count: int = 0  # volunteers wanted (0: no number set)
    languages_needed: dict = _json()  # {"es": 2, "vi": 1}: speakers wanted per language
    signup_code: str = _text(16, unique=True)  # the public sign-up link and its QR code
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = _when()


class ShiftSignup(SQLModel, table=True):
    """A volunteer signed up for a shift, and their attendance: checked in (by a lead or themself), the turf they got
    then, and whether they led it."""

    __tablename__ = "shift_signup"
    __table_args__ = (sa.UniqueConstraint("shift_id", "user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    shift_id: int = Field(foreign_key="shift_event.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    signed_up_at: datetime = _when()
    checked_in_at: datetime | None = _when(nullable=True)
    checked_in_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    turf_id: int | None = Field(default=None, foreign_key="turf.id", ondelete="SET NULL")
    # A lead marked this volunteer as the one leading the shift: with a check-in, it counts as a shift they led on
    # their path (canvass.volunteer_path).
    leader: bool = _flag()


class ShiftTurf(SQLModel, table=True):
    """A turf handed out at a shift: each volunteer who checks in gets one of them."""

    __tablename__ = "shift_turf"
    shift_id: int = Field(foreign_key="shift_event.id", primary_key=True, ondelete="CASCADE")
    turf_id: int = Field(foreign_key="turf.id", primary_key=True, ondelete="CASCADE", index=True)


class ShiftSignupAttempt(SQLModel, table=True):
    """A first-time volunteer's sign-up from a public link, by client address: what throttles them. Kept a day."""

    __tablename__ = "shift_signup_attempt"
    id: int | None = Field(default=None, primary_key=True)
    remote_addr: str = _text(64, default="", index=True)
    at: datetime = _when(index=True)


# ---- retention ----


class CampaignTally(SQLModel, table=True):
    """One tally sheet of a purged campaign (summary, by day, by result, by turf, survey...), computed from its
    contacts just before they were deleted: counts only, no person. Results pages and the tally export read these
    once the contacts are gone (canvass.retention)."""

    __tablename__ = "campaign_tally"
    __table_args__ = (sa.UniqueConstraint("campaign_id", "sheet"),)
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", ondelete="CASCADE")
    sheet: str = _text(32)  # a name of canvass.exports.SHEETS, or "counts"
    table: dict = _json()  # {"columns": [...], "types": [...], "rows": [[...], ...]}
    made_at: datetime = _when()
