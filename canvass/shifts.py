"""Shifts and events: leads set them up, volunteers sign up from a link (a first-timer gets an account invite),
attendance is taken at check-in, and a house-visit shift hands each arriving volunteer one of its turfs.
The caller commits."""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from canvass import accounts, canvassing, turfs
from canvass.calendars import CalendarEvent
from canvass.i18n import N_, UserError
from canvass.importing.phones import phone_e164
from canvass.models import (
    LANGUAGE_NAMES,
    Campaign,
    Role,
    ShiftEvent,
    ShiftKind,
    ShiftSignup,
    ShiftSignupAttempt,
    ShiftTurf,
    Turf,
    TurfStatus,
    User,
)

CODE_ALPHABET = turfs.JOIN_ALPHABET
CODE_LENGTH = 10  # 32^10: a sign-up link cannot be guessed from another
#: A volunteer may check themself in from this long before the start until the end.
EARLY_CHECK_IN = timedelta(minutes=30)
#: Public sign-ups by first-timers: at most this many per client address per hour, and per shift per hour.
SIGNUPS_PER_ADDRESS_PER_HOUR = 5
NEWCOMERS_PER_SHIFT_PER_HOUR = 40
LONGEST_SHIFT = timedelta(hours=24)


class ShiftError(UserError):
    """A shift request that cannot be done; the message says why."""


class SignupThrottled(ShiftError):
    """Too many first-time sign-ups lately, from one address or for one shift."""


@dataclass(frozen=True)
class ShiftIn:
    """What a lead sets for a shift (the times already in UTC)."""

    kind: ShiftKind
    title: str
    starts_at: datetime
    ends_at: datetime
    address: str = ""
    directions: str = ""
    head_count: int = 0
    languages_needed: dict[str, int] = field(default_factory=dict)
    turf_ids: Sequence[int] = ()


@dataclass(frozen=True)
class LanguageNeed:
    language: str
    needed: int
    signed_up: int

    @property
    def short(self) -> int:
        return max(self.needed - self.signed_up, 0)


@dataclass(frozen=True)
class ShiftSummary:
    shift: ShiftEvent
    signed_up: int
    checked_in: int
    needs: list[LanguageNeed]


@dataclass(frozen=True)
class RosterRow:
    signup: ShiftSignup
    user: User
    turf_name: str


def plain_code(code: str) -> str:
    """A sign-up code as typed off a poster: any case, dashes and spaces ignored."""
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())[:16]


def _new_code(session: Session) -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if session.exec(select(ShiftEvent.id).where(ShiftEvent.signup_code == code)).first() is None:
            return code


def _checked(data: ShiftIn) -> ShiftIn:
    if not data.title.strip():
        raise ShiftError(N_("Give the shift a name."))
    if data.ends_at <= data.starts_at:
        raise ShiftError(N_("The end must come after the start."))
    if data.ends_at - data.starts_at > LONGEST_SHIFT:
        raise ShiftError(N_("A shift lasts at most a day; make one per day."))
    unknown = [code for code in data.languages_needed if code not in LANGUAGE_NAMES]
    if unknown:
        raise ShiftError(N_("Unknown language %(language)s."), language=", ".join(unknown))
    return data


def _set_turfs(session: Session, shift: ShiftEvent, turf_ids: Sequence[int]) -> None:
    wanted = set(turf_ids)
    found = set(session.exec(select(Turf.id).where(Turf.id.in_(wanted), Turf.campaign_id == shift.campaign_id))
                ) if wanted else set()
    if found != wanted:
        raise ShiftError(N_("Choose turfs of this campaign."))
    session.execute(sa.delete(ShiftTurf).where(ShiftTurf.shift_id == shift.id))
    session.add_all(ShiftTurf(shift_id=shift.id, turf_id=turf_id) for turf_id in sorted(wanted))
    session.flush()


def _apply(shift: ShiftEvent, data: ShiftIn) -> None:
    shift.kind, shift.title = ShiftKind(data.kind), data.title.strip()[:120]
    shift.starts_at, shift.ends_at = data.starts_at, data.ends_at
    shift.address, shift.directions = data.address.strip()[:300], data.directions.strip()[:2000]
    shift.head_count = max(int(data.head_count or 0), 0)
    shift.languages_needed = {code: int(n) for code, n in data.languages_needed.items() if n and int(n) > 0}


def create_shift(session: Session, campaign: Campaign, data: ShiftIn, *, by: User | None = None) -> ShiftEvent:
    """Returns the new shift with its sign-up code."""
    shift = ShiftEvent(campaign_id=campaign.id, signup_code=_new_code(session), title="", starts_at=data.starts_at,
                       ends_at=data.ends_at, created_by_id=by.id if by else None)
    _apply(shift, _checked(data))
    session.add(shift)
    session.flush()
    _set_turfs(session, shift, data.turf_ids)
    return shift


def update_shift(session: Session, shift: ShiftEvent, data: ShiftIn) -> ShiftEvent:
    _apply(shift, _checked(data))
    session.add(shift)
    _set_turfs(session, shift, data.turf_ids)
    return shift


def find_by_code(session: Session, code: str) -> ShiftEvent | None:
    code = plain_code(code)
    return session.exec(select(ShiftEvent).where(ShiftEvent.signup_code == code)).first() if code else None


def shift_turf_ids(session: Session, shift: ShiftEvent) -> list[int]:
    return list(session.exec(select(ShiftTurf.turf_id).where(ShiftTurf.shift_id == shift.id)
                             .order_by(ShiftTurf.turf_id)))


def shift_turfs(session: Session, shift: ShiftEvent) -> list[Turf]:
    return list(session.exec(select(Turf).join(ShiftTurf, ShiftTurf.turf_id == Turf.id)
                             .where(ShiftTurf.shift_id == shift.id).order_by(Turf.name, Turf.id)))


# ------------------------------------------------------------------------------------------------------------------
# What a lead sees


def language_needs(needed: dict[str, int], spoken: Sequence[Sequence[str]]) -> list[LanguageNeed]:
    """Speakers wanted per language against those signed up (a volunteer speaking two counts for both)."""
    counts = Counter(code for languages in spoken for code in set(languages or ()))
    return [LanguageNeed(code, int(n), counts.get(code, 0)) for code, n in sorted(needed.items()) if n]


def roster(session: Session, shift: ShiftEvent) -> list[RosterRow]:
    """Who signed up, by name, with the turf each got at check-in."""
    rows = session.execute(select(ShiftSignup, User, Turf.name).join(User, User.id == ShiftSignup.user_id)
                           .outerjoin(Turf, Turf.id == ShiftSignup.turf_id)
                           .where(ShiftSignup.shift_id == shift.id)
                           .order_by(sa.func.lower(User.name), User.email)).all()
    return [RosterRow(signup, user, turf_name or "") for signup, user, turf_name in rows]


def summaries(session: Session, campaign: Campaign, *, now: datetime, past: bool = False) -> list[ShiftSummary]:
    """The campaign's shifts still to come (or those over), soonest (latest) first, with their counts and
    language needs."""
    query = select(ShiftEvent).where(ShiftEvent.campaign_id == campaign.id)
    query = query.where(ShiftEvent.ends_at < now).order_by(ShiftEvent.starts_at.desc()) if past else \
        query.where(ShiftEvent.ends_at >= now).order_by(ShiftEvent.starts_at)
    return _summarize(session, list(session.exec(query.limit(200))))


def summary(session: Session, shift: ShiftEvent) -> ShiftSummary:
    return _summarize(session, [shift])[0]


def _summarize(session: Session, found: list[ShiftEvent]) -> list[ShiftSummary]:
    """Counts and language needs of these shifts: one query for everyone signed up to any of them."""
    people: dict[int, list] = {shift.id: [] for shift in found}
    if found:
        for shift_id, checked_in_at, languages in session.execute(
                select(ShiftSignup.shift_id, ShiftSignup.checked_in_at, User.languages_spoken)
                .join(User, User.id == ShiftSignup.user_id).where(ShiftSignup.shift_id.in_(people))):
            people[shift_id].append((checked_in_at, languages))
    return [ShiftSummary(shift, len(people[shift.id]), sum(at is not None for at, _ in people[shift.id]),
                         language_needs(shift.languages_needed, [langs for _, langs in people[shift.id]]))
            for shift in found]


# ------------------------------------------------------------------------------------------------------------------
# Signing up


def signup_of(session: Session, shift: ShiftEvent, user: User) -> ShiftSignup | None:
    return session.exec(select(ShiftSignup).where(ShiftSignup.shift_id == shift.id,
                                                  ShiftSignup.user_id == user.id)).first()


def sign_up(session: Session, shift: ShiftEvent, user: User, *, now: datetime) -> ShiftSignup:
    """Signs ``user`` up (once: a second tap changes nothing). Returns their sign-up."""
    existing = signup_of(session, shift, user)
    if existing is not None:
        return existing
    if shift.ends_at <= now:
        raise ShiftError(N_("This shift is over."))
    if not user.is_active:
        raise ShiftError(N_("This account is no longer active."))
    signup = ShiftSignup(shift_id=shift.id, user_id=user.id, signed_up_at=now)
    try:
        with session.begin_nested():  # a second tap racing the first: theirs stands
            session.add(signup)
    except sa.exc.IntegrityError:
        return signup_of(session, shift, user)
    return signup


def _throttle_newcomers(session: Session, shift: ShiftEvent, remote_addr: str, now: datetime) -> None:
    if session.get_bind().dialect.name == "postgresql":  # one address's tries are counted one at a time
        session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('shift-signup:' || :addr))"),
                        {"addr": remote_addr})
    session.execute(sa.delete(ShiftSignupAttempt).where(ShiftSignupAttempt.at < now - timedelta(days=1)))
    since = now - timedelta(hours=1)
    recent = select(sa.func.count()).select_from(ShiftSignupAttempt).where(ShiftSignupAttempt.at >= since,
                                                                           ShiftSignupAttempt.remote_addr == remote_addr)
    newcomers = select(sa.func.count()).select_from(ShiftSignup).join(User, User.id == ShiftSignup.user_id).where(
        ShiftSignup.shift_id == shift.id, ShiftSignup.signed_up_at >= since, User.created_at >= since)
    if session.exec(recent).one() >= SIGNUPS_PER_ADDRESS_PER_HOUR or \
            session.exec(newcomers).one() >= NEWCOMERS_PER_SHIFT_PER_HOUR:
        raise SignupThrottled(N_("Too many sign-ups from here just now. Wait an hour, or ask the shift's lead to "
                                 "sign you up."))
    # Counted before anything is checked, so a wrong or taken email costs a try too.
    session.add(ShiftSignupAttempt(remote_addr=remote_addr[:64], at=now))
    session.flush()


def sign_up_newcomer(session: Session, shift: ShiftEvent, *, name: str, phone: str, email: str,
                     languages: Sequence[str], language: str, remote_addr: str, now: datetime,
                     invite_hours: int = 72) -> tuple[ShiftSignup, accounts.IssuedToken]:
    """A first-time volunteer signs up from the public link: a volunteer account without a password, signed up for
    the shift, and the invite that sets its password. An email that already has an account is refused (its
    owner signs in and signs up in one tap); nothing about that account is shown or changed."""
    _throttle_newcomers(session, shift, remote_addr, now)
    if shift.ends_at <= now:
        raise ShiftError(N_("This shift is over."))
    if not name.strip():
        raise ShiftError(N_("Give your name."))
    number = phone_e164(phone or "")
    if not number:
        raise ShiftError(N_("%(phone)s is not a phone number we can call."), phone=(phone or "").strip()[:30])
    email = accounts.normalize_email(email)
    if accounts.get_user_by_email(session, email) is not None:
        raise ShiftError(N_("This email already has an account. Sign in to sign up in one tap."))
    spoken = [code for code in LANGUAGE_NAMES if code in set(languages)] or [language]
    user = accounts.create_user(session, email, Role.volunteer, name=name.strip()[:120],
                                language=language if language in LANGUAGE_NAMES else "en", languages_spoken=spoken)
    user.phone = number
    token = accounts.issue_token(session, user, "invite", hours=invite_hours)
    return sign_up(session, shift, user, now=now), token


# ------------------------------------------------------------------------------------------------------------------
# Check-in


def _pick_turf(session: Session, shift: ShiftEvent, user: User) -> Turf | None:
    """The shift's open turf with the fewest volunteers checked in so far; of those, the one whose doors speak the
    volunteer's languages most."""
    options = [t for t in shift_turfs(session, shift) if t.status == TurfStatus.active]
    if not options:
        return None
    taken = Counter(session.exec(select(ShiftSignup.turf_id).where(ShiftSignup.shift_id == shift.id,
                                                                   ShiftSignup.turf_id.is_not(None))))
    spoken = set(user.languages_spoken or ()) - {"en"}
    heard = turfs.turf_languages(session, [t.id for t in options]) if spoken else {}
    return min(options, key=lambda t: (taken[t.id], -sum(heard.get(t.id, Counter())[c] for c in spoken), t.id))


def check_in(session: Session, shift: ShiftEvent, user: User, *, by: User, now: datetime) -> ShiftSignup:
    """Records that ``user`` came (once), and when the shift carries turf hands them one: assigned to them, with
    their safety check-in opened on it. Returns the sign-up.

    The sign-up row is locked first (PostgreSQL; SQLite writes one at a time anyway): two leads tapping the same
    name at once would otherwise each hand out a turf."""
    signup = session.exec(select(ShiftSignup).where(ShiftSignup.shift_id == shift.id, ShiftSignup.user_id == user.id)
                          .with_for_update().execution_options(populate_existing=True)).first()
    if signup is None:
        raise ShiftError(N_("%(name)s is not signed up for this shift."), name=user.display_name)
    if signup.checked_in_at is None:
        signup.checked_in_at, signup.checked_in_by_id = now, by.id
    if signup.turf_id is None:
        turf = _pick_turf(session, shift, user)
        if turf is not None:
            turfs.assign_turf(session, turf, user, by=by)
            canvassing.check_in(session, user, turf)
            signup.turf_id = turf.id
    session.add(signup)
    session.flush()
    return signup


def set_leader(session: Session, shift: ShiftEvent, user: User, leader: bool) -> ShiftSignup:
    """Marks (or unmarks) ``user`` as the one leading ``shift``: once they are checked in, it counts as a shift they
    led on their path (canvass.volunteer_path). Returns the sign-up."""
    signup = signup_of(session, shift, user)
    if signup is None:
        raise ShiftError(N_("%(name)s is not signed up for this shift."), name=user.display_name)
    signup.leader = leader
    session.add(signup)
    session.flush()
    return signup


def check_in_myself(session: Session, shift: ShiftEvent, user: User, *, now: datetime) -> ShiftSignup:
    """A volunteer checks in on their own phone, from half an hour before the start until the end."""
    if signup_of(session, shift, user) is None:
        raise ShiftError(N_("Sign up for this shift first."))
    if now < shift.starts_at - EARLY_CHECK_IN:
        raise ShiftError(N_("Check-in opens half an hour before the start."))
    if now > shift.ends_at:
        raise ShiftError(N_("This shift is over."))
    return check_in(session, shift, user, by=user, now=now)


# ------------------------------------------------------------------------------------------------------------------
# A volunteer's shifts


@dataclass(frozen=True)
class MyShift:
    shift: ShiftEvent
    signup: ShiftSignup
    turf_name: str  # the turf they got at check-in

    def may_check_in(self, now: datetime) -> bool:
        return self.signup.checked_in_at is None and self.shift.starts_at - EARLY_CHECK_IN <= now <= self.shift.ends_at


def my_shifts(session: Session, user: User, *, now: datetime) -> list[MyShift]:
    """The shifts ``user`` signed up for that are not over yet, soonest first."""
    return [MyShift(*row) for row in session.execute(
        select(ShiftEvent, ShiftSignup, sa.func.coalesce(Turf.name, ""))
        .join(ShiftSignup, ShiftSignup.shift_id == ShiftEvent.id).outerjoin(Turf, Turf.id == ShiftSignup.turf_id)
        .where(ShiftSignup.user_id == user.id, ShiftEvent.ends_at >= now).order_by(ShiftEvent.starts_at)).all()]


def turf_of(session: Session, signup: ShiftSignup) -> Turf | None:
    """The turf a volunteer got at check-in, if any."""
    return session.get(Turf, signup.turf_id) if signup.turf_id else None


def calendar_event(shift: ShiftEvent, *, url: str, description: str, host: str) -> CalendarEvent:
    """A shift as a calendar event (the same UID in every file, so a calendar updates it rather than adding it
    twice)."""
    return CalendarEvent(uid=f"shift-{shift.id}-{shift.signup_code}@{host or 'canvass'}", starts_at=shift.starts_at,
                         ends_at=shift.ends_at, summary=shift.title, location=shift.address,
                         description=description, url=url)
