"""The do-not-contact list against the running server, on 360 px phones: a volunteer records "asked not to be
contacted" at a door, data staff put a second person on the list from the person's page, and the door then shows
both greyed with the reason in words and no result buttons, in English, Spanish and Vietnamese. The list is then
downloaded, cleared by staff, and imported back (upload -> check -> confirm)."""

from __future__ import annotations

import re

from tests.e2e.harness import choose_language, follow, save_screenshot, sign_in

VOLUNTEER = "volunteer@example.org"
OPEN_DOORS = """SELECT td.turf_id, td.household_id FROM turf_door td
    JOIN turf_assignment ta ON ta.turf_id = td.turf_id JOIN "user" u ON u.id = ta.user_id AND u.email = :email
    JOIN person p ON p.household_id = td.household_id AND NOT p.deceased AND NOT p.is_protected
    GROUP BY td.turf_id, td.household_id HAVING count(p.id) >= 3 AND max(CASE WHEN p.do_not_contact THEN 1 ELSE 0 END) = 0
    ORDER BY td.turf_id, td.household_id"""
PEOPLE_AT = """SELECT id, first_name, last_name FROM person WHERE household_id = :door AND NOT deceased
               AND NOT is_protected ORDER BY last_name, first_name"""
ENTRIES = """SELECT o.reason, o.scope, o.source, u.email FROM opt_out o LEFT JOIN "user" u ON u.id = o.created_by_id
             WHERE o.person_id = :person AND o.lifted_at IS NULL"""
ACTIVE = "SELECT count(*) FROM opt_out WHERE lifted_at IS NULL AND person_id IN (:a, :b)"
WORDS = {"en": "Asked not to be contacted. Do not knock for them.",
         "es": "Pidió que no le contacten. No toques a su puerta.",
         "vi": "Yêu cầu không liên lạc. Đừng gõ cửa tìm họ."}
SAVED = "Saved: {name} asked not to be contacted. Nobody will be sent to them again."


def test_opted_out_people_are_greyed_at_the_door_in_three_languages_and_the_list_round_trips(demo_server, phones,
                                                                                           tmp_path):
    server = demo_server
    turf, door = server.rows(OPEN_DOORS, email=VOLUNTEER)[0]
    (first, first_name, first_last), (second, second_name, second_last), *others = server.rows(PEOPLE_AT, door=door)
    door_url = f"{server.base_url}/walk/{turf}/door/{door}"

    # The volunteer records, at the door, that the first person asked not to be contacted (no result needed).
    volunteer = phones.open().new_page()
    sign_in(volunteer, server.base_url, VOLUNTEER)
    volunteer.goto(door_url)
    section = volunteer.locator(f"#person-{first}")
    section.locator("details.other-results summary").click()  # "Other…": it is not a result, and it is for good
    questions = []
    volunteer.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    follow(volunteer, section.get_by_role("button", name="Asked not to be contacted", exact=True))
    assert questions == [f"Record that {first_name} asked not to be contacted? Nobody will knock, call or text them "
                         "again."]
    assert volunteer.locator(".flash-ok").first.inner_text() == SAVED.format(name=f"{first_name} {first_last}")
    assert server.rows(ENTRIES, person=first) == [("do_not_contact", "all", "manual", VOLUNTEER)]

    # Data staff put the second person on the list from the person's page, without a contact.
    staff = phones.open().new_page()
    sign_in(staff, server.base_url, "data@example.org")
    staff.goto(f"{server.base_url}/people/{second}")
    staff.locator("#do-not-contact details summary", has_text="Put on the list").click()
    staff.get_by_label("Why", exact=True).select_option("do_not_contact")
    staff.get_by_label("Which channels").select_option("door")
    follow(staff, staff.get_by_role("button", name="Put on the do-not-contact list"))
    assert staff.locator(".flash-ok").first.inner_text() == "Saved: on the do-not-contact list."
    assert server.rows(ENTRIES, person=second) == [("do_not_contact", "door", "manual", "data@example.org")]
    save_screenshot(staff, "e2e-opt-out-person")

    # The door, in each language: both greyed with the reason in words, no result buttons, nothing wider than 360.
    for code in ("en", "es", "vi"):
        volunteer.goto(door_url)
        if code != "en":
            choose_language(volunteer, code)
        for person in (first, second):
            closed = volunteer.locator(f"section.person.closed#person-{person}")
            assert closed.locator(".closed-reason").inner_text() == WORDS[code]
            assert closed.locator("button, form").count() == 0
            background = closed.evaluate("el => getComputedStyle(el).backgroundColor")
            assert background == "rgb(236, 236, 236)"  # greyed
        open_ids = volunteer.locator("section.person:not(.closed)").evaluate_all("els => els.map(e => e.id)")
        assert open_ids == [f"person-{pid}" for pid, _f, _l in others]
        assert volunteer.locator("input[name=person_ids]").get_attribute("value") == \
            ",".join(str(pid) for pid, _f, _l in others)  # "Nobody home" is for the others only
        assert volunteer.evaluate("document.documentElement.scrollWidth") <= 360
        save_screenshot(volunteer, f"e2e-opt-out-door-{code}")
    choose_language(volunteer, "en")

    # Staff download the list, take both off it, and import the file back.
    staff.goto(f"{server.base_url}/do-not-contact/")
    with staff.expect_download() as download:
        staff.locator("form[action$='/export'] button").click()
    listed = tmp_path / "list.csv"
    download.value.save_as(listed)
    text = listed.read_text(encoding="utf-8-sig")
    assert f"{first_name},{first_last},Asked not to be contacted,Every channel" in text
    assert f"{second_name},{second_last},Asked not to be contacted,Doors" in text
    for person in (first, second):
        staff.goto(f"{server.base_url}/people/{person}")
        follow(staff, staff.get_by_role("button", name="Take off the list"))
        assert staff.locator(".flash-ok").first.inner_text() == "Taken off the do-not-contact list."
    assert server.scalar(ACTIVE, a=first, b=second) == 0
    volunteer.goto(door_url)
    assert volunteer.locator("section.person.closed").count() == 0  # lifted: offered again

    staff.goto(f"{server.base_url}/do-not-contact/")
    staff.locator("input[type=file]").set_input_files(str(listed))
    follow(staff, staff.get_by_role("button", name="Upload and check"))
    facts = staff.locator("dl.facts").inner_text()
    assert re.search(r"New on the list\s+2\b", facts), facts
    save_screenshot(staff, "e2e-opt-out-check")
    follow(staff, staff.get_by_role("button", name="Add them to the list"))
    assert re.fullmatch(r"Imported: \d+ people or numbers added to the do-not-contact list\.",
                        staff.locator(".flash-ok").first.inner_text())
    assert server.scalar(ACTIVE, a=first, b=second) == 2
    volunteer.goto(door_url)
    assert volunteer.locator("section.person.closed").count() == 2
