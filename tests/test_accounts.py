"""Accounts: login, logout, throttling, invites and reset links, role home pages."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from canvass import accounts
from canvass.models import AuditLog, LoginAttempt, Role, User, UserToken, utcnow
from tests.conftest import PASSWORD, login, make_user

HOMES = {Role.admin: "/admin", Role.lead: "/lead", Role.data: "/data", Role.volunteer: "/my"}


@pytest.mark.parametrize("role", list(Role))
def test_each_role_lands_on_its_own_home_page(client, session, role):
    user = make_user(session, role)
    response = login(client, user)
    assert response.status_code == 302
    assert response.headers["Location"] == HOMES[role]
    page = client.get(HOMES[role])
    assert page.status_code == 200
    assert user.display_name in page.get_data(as_text=True)


@pytest.mark.parametrize("role", list(Role))
def test_home_pages_are_closed_to_other_roles(client, session, role):
    login(client, make_user(session, role))
    allowed = {Role.admin: {"/admin", "/lead", "/data", "/my"}, Role.lead: {"/lead", "/data", "/my"},
               Role.data: {"/data", "/my"}, Role.volunteer: {"/my"}}[role]
    for path in HOMES.values():
        assert client.get(path).status_code == (200 if path in allowed else 403), path


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get("/lead")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_login_then_logout(client, volunteer):
    login(client, volunteer)
    assert client.get("/my").status_code == 200
    response = client.post("/logout")
    assert response.headers["Location"] == "/login"
    assert client.get("/my").status_code == 302


def test_wrong_password_is_refused_with_a_plain_message(client, volunteer):
    response = login(client, volunteer, password="not the password")
    assert response.status_code == 401
    assert "Wrong email or password." in response.get_data(as_text=True)
    assert client.get("/my").status_code == 302


def test_unknown_email_gets_the_same_message(client):
    response = client.post("/login", data={"email": "nobody@example.org", "password": "whatever-long"})
    assert response.status_code == 401
    assert "Wrong email or password." in response.get_data(as_text=True)


def test_login_is_throttled_after_repeated_failures(client, session, volunteer):
    for _ in range(5):
        assert login(client, volunteer, password="wrong password!").status_code == 401
    response = login(client, volunteer)  # even the right password is refused while throttled
    assert response.status_code == 429
    assert "Too many failed attempts. Wait 15 minutes" in response.get_data(as_text=True)
    assert client.get("/my").status_code == 302


def test_throttle_window_expires(session, volunteer):
    long_ago = utcnow() - timedelta(minutes=16)
    for _ in range(5):
        session.add(LoginAttempt(email=volunteer.email, succeeded=False, at=long_ago))
    session.commit()
    assert accounts.authenticate(session, volunteer.email, PASSWORD) is not None


def test_throttle_counts_attempts_from_one_address_across_emails(session, volunteer):
    for n in range(20):
        accounts.authenticate(session, f"guess{n}@example.org", "x" * 12, remote_addr="203.0.113.9")
    session.commit()
    with pytest.raises(accounts.LoginThrottled):
        accounts.authenticate(session, volunteer.email, PASSWORD, remote_addr="203.0.113.9")
    assert accounts.authenticate(session, volunteer.email, PASSWORD, remote_addr="198.51.100.1") is not None


def test_login_renews_the_session(client, volunteer):
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker"
    login(client, volunteer)
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess["_user_id"].startswith(f"{volunteer.id}.")


def test_password_change_ends_other_sessions(app, client, session, volunteer):
    assert login(client, volunteer).headers["Location"] == "/my"
    assert client.get("/my").status_code == 200  # signed in
    accounts.set_password(volunteer, "a brand new password")
    session.add(volunteer)
    session.commit()
    assert client.get("/my").status_code == 302


def test_deactivated_user_cannot_log_in(client, session, volunteer):
    volunteer.is_active = False
    session.add(volunteer)
    session.commit()
    assert login(client, volunteer).status_code == 401


def test_passwords_are_hashed(session, volunteer):
    stored = session.get(User, volunteer.id).password_hash
    assert PASSWORD not in stored and stored.startswith("$argon2id$")


@pytest.mark.parametrize("method", ["scrypt", "pbkdf2:sha256:1000"])
def test_a_password_hashed_by_an_earlier_version_signs_in_and_is_hashed_again(session, volunteer, method):
    from werkzeug.security import generate_password_hash

    volunteer.password_hash = generate_password_hash(PASSWORD, method=method)
    key = volunteer.sign_in_key
    session.add(volunteer)
    session.commit()
    assert accounts.authenticate(session, volunteer.email, "not the password") is None
    assert accounts.authenticate(session, volunteer.email, PASSWORD).id == volunteer.id
    session.commit()
    stored = session.get(User, volunteer.id)
    assert stored.password_hash.startswith("$argon2id$") and stored.sign_in_key == key  # other phones stay signed in
    assert accounts.authenticate(session, volunteer.email, PASSWORD).id == volunteer.id


def test_a_damaged_stored_hash_refuses_the_sign_in_without_an_error(session, volunteer):
    volunteer.password_hash = "$argon2id$v=19$m=8,t=1,p=1$garbage"
    session.add(volunteer)
    session.commit()
    assert accounts.authenticate(session, volunteer.email, PASSWORD) is None


def test_login_redirect_refuses_other_sites(client, volunteer):
    response = client.post("/login?next=https://evil.example/", data={"email": volunteer.email, "password": PASSWORD})
    assert response.headers["Location"] == "/my"
    client.post("/logout")
    response = client.post("/login?next=/users/", data={"email": volunteer.email, "password": PASSWORD})
    assert response.headers["Location"] == "/users/"


# ------------------------------------------------------------------------------------------------------------------
# Invites


def _invite(client, email="new@example.org", role="volunteer"):
    client.post("/users/invite", data={"email": email, "name": "New Person", "role": role, "language": "es"})
    with client.session_transaction() as sess:
        links = [message for category, message in sess.get("_flashes", []) if category == "link"]
    return links[-1] if links else None


def test_lead_invites_a_volunteer_who_sets_a_password_and_lands_home(app, session, lead):
    lead_client = app.test_client(user=lead)
    link = _invite(lead_client)
    assert link and "/invite/" in link
    path = link.split("localhost", 1)[1]
    newcomer = app.test_client()
    form = newcomer.get(path)
    assert form.status_code == 200 and "new@example.org" in form.get_data(as_text=True)
    response = newcomer.post(path, data={"name": "Nueva", "language": "es", "password": "a good long password",
                                         "confirm": "a good long password"})
    assert response.headers["Location"] == "/my"
    user = accounts.get_user_by_email(session, "new@example.org")
    session.refresh(user)
    assert user.role == Role.volunteer and user.language == "es" and user.name == "Nueva"
    assert newcomer.get("/my").status_code == 200
    assert session.exec(select(AuditLog).where(AuditLog.action == "user.invited")).first() is not None


def test_invite_link_works_once(app, lead):
    path = _invite(app.test_client(user=lead)).split("localhost", 1)[1]
    data = {"name": "", "language": "en", "password": "a good long password", "confirm": "a good long password"}
    assert app.test_client().post(path, data=data).status_code == 302
    again = app.test_client().post(path, data=data)
    assert again.status_code == 410
    assert "not valid or was already used" in again.get_data(as_text=True)


def test_expired_invite_is_refused(app, session, lead):
    path = _invite(app.test_client(user=lead)).split("localhost", 1)[1]
    session.execute(sa.update(UserToken).values(expires_at=utcnow() - timedelta(minutes=1)))
    session.commit()
    response = app.test_client().post(path, data={"password": "a good long password", "confirm": "a good long password",
                                                  "language": "en"})
    assert response.status_code == 410
    assert "This link has expired." in response.get_data(as_text=True)
    assert accounts.get_user_by_email(session, "new@example.org").password_hash is None


def test_lead_cannot_invite_an_admin(app, session, lead):
    assert _invite(app.test_client(user=lead), role="admin") is None
    assert accounts.get_user_by_email(session, "new@example.org") is None


def test_admin_invites_any_role(app, session, admin):
    assert _invite(app.test_client(user=admin), email="boss@example.org", role="lead")
    assert accounts.get_user_by_email(session, "boss@example.org").role == Role.lead


def test_volunteer_cannot_invite(app, volunteer):
    response = app.test_client(user=volunteer).post("/users/invite", data={"email": "x@example.org", "role": "volunteer"})
    assert response.status_code == 403


def test_short_password_is_refused_on_invite(app, session, lead):
    path = _invite(app.test_client(user=lead)).split("localhost", 1)[1]
    response = app.test_client().post(path, data={"password": "short", "confirm": "short", "language": "en"})
    assert response.status_code == 200
    assert accounts.get_user_by_email(session, "new@example.org").password_hash is None


def test_reset_link_sets_a_new_password_once(app, session, admin, volunteer):
    app.test_client(user=admin).post(f"/users/{volunteer.id}/reset-link")
    issued = session.exec(select(UserToken).where(UserToken.purpose == "reset")).one()
    assert issued.expires_at - issued.created_at == timedelta(hours=2)
    token = accounts.issue_token(session, volunteer, "reset", hours=2)  # a newer link replaces the first
    session.commit()
    client = app.test_client()
    response = client.post(f"/reset/{token.token}", data={"password": "another good password",
                                                          "confirm": "another good password"})
    assert response.status_code == 302
    session.expire_all()
    assert accounts.authenticate(session, volunteer.email, "another good password") is not None
    assert client.get(f"/reset/{token.token}").status_code == 410


def test_expired_reset_link_is_refused_and_the_password_stays(app, session, volunteer):
    token = accounts.issue_token(session, volunteer, "reset", hours=2)
    session.execute(sa.update(UserToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    response = app.test_client().post(f"/reset/{token.token}", data={"password": "another good password",
                                                                      "confirm": "another good password"})
    assert response.status_code == 410 and "This link has expired." in response.get_data(as_text=True)
    session.expire_all()
    assert accounts.authenticate(session, volunteer.email, "another good password") is None


def test_admin_deactivates_and_changes_roles_but_leads_cannot(app, session, admin, lead, volunteer):
    assert app.test_client(user=lead).post(f"/users/{volunteer.id}/active", data={"active": "0"}).status_code == 403
    admin_client = app.test_client(user=admin)
    admin_client.post(f"/users/{volunteer.id}/active", data={"active": "0"})
    admin_client.post(f"/users/{lead.id}/role", data={"role": "data"})
    session.expire_all()
    assert session.get(User, volunteer.id).is_active is False
    assert session.get(User, lead.id).role == Role.data


def test_lead_sees_only_volunteers_in_people_list(app, admin, lead, volunteer):
    page = app.test_client(user=lead).get("/users/").get_data(as_text=True)
    assert volunteer.email in page and admin.email not in page
    assert app.test_client(user=lead).post(f"/users/{admin.id}/reset-link").status_code == 404
