"""Users, passwords, invite and reset links, and login throttling. The caller commits."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, select
from werkzeug.security import check_password_hash

from canvass.i18n import N_, UserError
from canvass.models import LANGUAGE_NAMES, LoginAttempt, Role, User, UserToken, utcnow

MIN_PASSWORD_LENGTH = 10
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AccountError(UserError):
    """A user-facing problem with an account request; the message is shown as is."""


class LoginThrottled(AccountError):
    """Too many failed logins recently."""


@dataclass(frozen=True)
class IssuedToken:
    token: str  # the secret to put in the link; only its hash is stored
    record: UserToken


def normalize_email(email: str) -> str:
    email = (email or "").strip().lower()
    if not EMAIL_RE.match(email):
        raise AccountError(N_("%(email)s is not an email address."), email=email or "“”")
    return email


def check_password_strength(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError(N_("Choose a password of at least %(n)s characters."), n=MIN_PASSWORD_LENGTH)


def get_user_by_email(session: Session, email: str) -> User | None:
    return session.exec(select(User).where(User.email == email.strip().lower())).first()


def create_user(session: Session, email: str, role: Role | str, *, password: str | None = None, name: str = "",
                language: str = "en", languages_spoken: list[str] | None = None) -> User:
    """Returns the new user (without a password when it is to be set through an invite). The caller commits."""
    email = normalize_email(email)
    try:
        role = Role(role)
    except ValueError as exc:
        raise AccountError(N_("Unknown role %(role)s; choose one of %(roles)s."), role=role,
                           roles=", ".join(r.value for r in Role)) from exc
    if language not in LANGUAGE_NAMES:
        raise AccountError(N_("Unknown language %(language)s."), language=language)
    if get_user_by_email(session, email):
        raise AccountError(N_("There is already an account for %(email)s."), email=email)
    user = User(email=email, role=role, name=name.strip(), language=language,
                languages_spoken=languages_spoken or [language])
    if password is not None:
        set_password(user, password)
    session.add(user)
    session.flush()
    return user


#: New passwords are hashed with Argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): about 25 ms of
#: a core, where werkzeug's scrypt (2^15, below OWASP's scrypt minimum) took 60-130 ms. At a shift start 1,000 phones
#: sign in at once on two cores; the hash is what they wait for. Hashes of earlier versions (werkzeug's scrypt or
#: pbkdf2) still verify and are replaced by an Argon2id hash at the next sign-in.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
#: The tests' hasher: the same format, microseconds instead of milliseconds.
_FAST_TEST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def use_fast_password_hashing_for_tests() -> None:
    """Called by the app factory in testing mode only: fixtures then create users in microseconds, not 25 ms."""
    global _HASHER, _DUMMY_HASH
    _HASHER = _FAST_TEST_HASHER
    _DUMMY_HASH = _HASHER.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def password_matches(stored: str, password: str) -> bool:
    """Argon2id hashes, and werkzeug's scrypt and pbkdf2 hashes of earlier versions."""
    if stored.startswith("$argon2"):
        try:
            return _HASHER.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False
    return check_password_hash(stored, password)


def _needs_new_hash(stored: str) -> bool:
    return not stored.startswith("$argon2") or _HASHER.check_needs_rehash(stored)


# A hash to compare against when the email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = hash_password("not-a-real-password")


def set_password(user: User, password: str) -> None:
    """A new password also ends every sign-in of the user (on every device)."""
    check_password_strength(password)
    user.password_hash = hash_password(password)
    user.end_every_sign_in()


# ------------------------------------------------------------------------------------------------------------------
# Login


def authenticate(session: Session, email: str, password: str, *, remote_addr: str = "", max_failures: int = 5,
                 window_minutes: int = 15, now: datetime | None = None) -> User | None:
    """Returns the user when the email and password match an active account, else None.

    Raises LoginThrottled after too many recent failures for the account, or from one client address (the real
    one, as the trusted proxy reports it). Attempts on one account are checked one at a time (on PostgreSQL a lock
    per email; on SQLite the request's write lock), and each is recorded before its password is checked, so
    parallel guesses cannot slip under the limit, in any app process. The caller commits."""
    now = now or utcnow()
    email = (email or "").strip().lower()
    _one_attempt_at_a_time(session, email)
    prune_login_attempts(session, now=now)
    _raise_if_throttled(session, email, remote_addr, max_failures, window_minutes, now)
    attempt = LoginAttempt(email=email[:254], remote_addr=remote_addr[:64], succeeded=False, at=now)
    session.add(attempt)
    session.flush()
    user = get_user_by_email(session, email) if email else None
    if user and user.is_active and user.password_hash:
        ok = password_matches(user.password_hash, password or "")
    else:
        password_matches(_DUMMY_HASH, password or "")
        ok = False
    if not ok:
        return None
    attempt.succeeded = True
    user.last_login_at = now
    if _needs_new_hash(user.password_hash):
        # Not set_password: a sign-in must not end the user's other sign-ins.
        user.password_hash = hash_password(password)
    _forget_failures(session, email)
    return user


def _one_attempt_at_a_time(session: Session, email: str) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('login:' || :email))"), {"email": email})


def sign_out(session: Session, user: User) -> None:
    """Ends every sign-in of ``user``: their cookies, wherever copied, no longer count. The caller commits."""
    user.end_every_sign_in()
    session.add(user)


def _raise_if_throttled(session: Session, email: str, remote_addr: str, max_failures: int, window_minutes: int,
                        now: datetime) -> None:
    since = now - timedelta(minutes=window_minutes)
    recent = select(sa.func.count()).select_from(LoginAttempt).where(
        LoginAttempt.succeeded.is_(False), LoginAttempt.at >= since)
    by_email = session.exec(recent.where(LoginAttempt.email == email)).one()
    by_addr = session.exec(recent.where(LoginAttempt.remote_addr == remote_addr)).one() if remote_addr else 0
    if by_email >= max_failures or by_addr >= max_failures * 4:
        raise LoginThrottled(N_("Too many failed attempts. Wait %(minutes)s minutes, or ask a lead to reset "
                                "your password."), minutes=window_minutes)


def _forget_failures(session: Session, email: str) -> None:
    session.execute(sa.delete(LoginAttempt).where(LoginAttempt.email == email, LoginAttempt.succeeded.is_(False)))


def prune_login_attempts(session: Session, older_than: timedelta = timedelta(days=1), *,
                         now: datetime | None = None) -> int:
    """Forgets attempts older than any throttle looks at (run with every login: the table stays small)."""
    result = session.execute(sa.delete(LoginAttempt).where(LoginAttempt.at < (now or utcnow()) - older_than))
    return result.rowcount or 0


# ------------------------------------------------------------------------------------------------------------------
# Invite and reset links


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User, purpose: str, *, hours: int, created_by: User | None = None
                ) -> IssuedToken:
    """Returns a new single-use link token for ``user``; earlier unused ones of the same purpose stop working."""
    now = utcnow()
    session.execute(sa.update(UserToken).where(
        UserToken.user_id == user.id, UserToken.purpose == purpose, UserToken.used_at.is_(None)).values(used_at=now))
    token = secrets.token_urlsafe(32)
    record = UserToken(user_id=user.id, purpose=purpose, token_hash=_hash_token(token), created_at=now,
                       expires_at=now + timedelta(hours=hours), created_by_id=created_by.id if created_by else None)
    session.add(record)
    session.flush()
    return IssuedToken(token, record)


def find_token(session: Session, token: str, purpose: str, *, now: datetime | None = None) -> UserToken:
    """Returns the usable token record, or raises AccountError saying why the link does not work."""
    record = session.exec(select(UserToken).where(UserToken.token_hash == _hash_token(token or ""),
                                                  UserToken.purpose == purpose)).first()
    if record is None or record.used_at is not None:
        raise AccountError(N_("This link is not valid or was already used. Ask for a new one."))
    if (now or utcnow()) >= record.expires_at:
        raise AccountError(N_("This link has expired. Ask the person who sent it for a new one."))
    return record


def redeem_token(session: Session, token: str, purpose: str, password: str, *, name: str = "",
                 language: str = "") -> User:
    """Sets the password through an invite or reset link, which then stops working, and the name and language the
    newcomer gave when they are given. Returns the user.

    The link is spent by one conditional UPDATE: of several requests racing with it, only one gets it."""
    record = find_token(session, token, purpose)
    user = session.get(User, record.user_id)
    if user is None or not user.is_active:
        raise AccountError(N_("This account is no longer active."))
    spent = session.execute(sa.update(UserToken).where(UserToken.id == record.id, UserToken.used_at.is_(None))
                            .values(used_at=utcnow()))
    if spent.rowcount != 1:
        raise AccountError(N_("This link is not valid or was already used. Ask for a new one."))
    set_password(user, password)
    user.name = name.strip() or user.name
    if language in LANGUAGE_NAMES:
        user.language = language
    session.expire(record)
    return user


def volunteers(session: Session, *, active_only: bool = True) -> list[User]:
    """Volunteers by name, as the pickers list them (all of them, for filtering past results)."""
    query = select(User).where(User.role == Role.volunteer).order_by(User.name, User.email)
    if active_only:
        query = query.where(User.is_active.is_(True))
    return list(session.exec(query))


def users_seen_by(session: Session, viewer: User) -> list[User]:
    """The accounts ``viewer`` manages (see ``access.may_manage``), by role and name."""
    from canvass import access

    query = select(User).order_by(User.role, User.name, User.email)
    if viewer.role != Role.admin:
        query = query.where(User.role.in_(access.managed_roles(viewer)))
    return list(session.exec(query))


def change_role(actor: User, user: User, role: Role | str) -> None:
    if user.id == actor.id:
        raise AccountError(N_("You cannot change your own role."))
    user.role = Role(role)


def set_active(actor: User, user: User, active: bool) -> None:
    """Lets the user sign in again, or stops them (their open sessions end at their next request)."""
    if user.id == actor.id:
        raise AccountError(N_("You cannot deactivate your own account."))
    user.is_active = active


def set_language(user: User, language: str) -> None:
    if language in LANGUAGE_NAMES:
        user.language = language


def invite_user(session: Session, inviter: User, email: str, role: Role | str, *, name: str = "",
                language: str = "en", hours: int = 72) -> IssuedToken:
    """Creates an account without a password and returns its invite token. Leads may invite volunteers only."""
    from canvass import access

    role = Role(role)
    if not access.invitable_roles(inviter):
        raise AccountError(N_("Only admins and field leads can invite people."))
    if role not in access.invitable_roles(inviter):
        raise AccountError(N_("Field leads can invite volunteers; ask an admin for other roles."))
    existing = get_user_by_email(session, email)
    if existing is not None and existing.password_hash is None:
        if inviter.role != Role.admin and existing.role != role:
            raise AccountError(N_("This email already has an invitation for another role; only an admin can change it."))
        user = existing  # invited before and never joined: send a fresh link
        user.role, user.name = role, name or user.name
    else:
        user = create_user(session, email, role, name=name, language=language)
    return issue_token(session, user, "invite", hours=hours, created_by=inviter)
