"""Logging in on a phone, in real headless Chromium."""

import pytest

from tests.conftest import browser_login, screenshot

pytestmark = pytest.mark.browser


def test_volunteer_logs_in_on_a_phone_and_lands_on_their_lists(live_server, phone, volunteer):
    page = phone.new_page()
    page.goto(f"{live_server}/my")
    assert page.url.startswith(f"{live_server}/login")
    screenshot(page, "login-360")
    login_button = page.get_by_role("button", name="Log in").bounding_box()
    assert login_button["height"] >= 44 and login_button["width"] >= 300  # a thumb-sized target
    browser_login(page, live_server, volunteer)
    assert page.url == f"{live_server}/my"
    assert page.get_by_role("heading", name="My turfs").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # nothing overflows sideways
    screenshot(page, "volunteer-home-360")


def test_wrong_password_shows_the_message(live_server, phone, volunteer):
    page = phone.new_page()
    browser_login(page, live_server, volunteer, password="not my password")
    assert page.get_by_text("Wrong email or password.").is_visible()
