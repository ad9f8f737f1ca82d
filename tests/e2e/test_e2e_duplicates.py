"""A data lead finds a duplicate the voter files made, merges it on a phone against the running server, re-imports
the file (the merged record does not come back), and undoes the merge."""

from __future__ import annotations

import json

from tests.e2e.harness import follow, menu_link, save_screenshot, sign_in

VOTER_FILE = """voter_id,first_name,last_name,address,zip,phone,birth_year
NC100,Ana,Diaz,1 Oak St,27701,9195550001,1980
NC200,ANA,DÍAZ,9 Elm St,27702,9195550002,1980
NC300,Bo,Kim,5 Pine St,27701,9195550003,1975
"""
PEOPLE = "SELECT count(*) FROM person p JOIN campaign c ON c.id = p.campaign_id WHERE c.slug = 'fall'"
ID_OWNER = "SELECT person_id FROM external_id WHERE value = :value"


def test_a_duplicate_is_merged_survives_a_reimport_and_is_undone(empty_server, phones, tmp_path):
    server = empty_server
    voters = tmp_path / "voters.csv"
    voters.write_text(VOTER_FILE, encoding="utf-8")
    server.cli("campaign", "add", "Fall", "--slug", "fall")
    server.cli("import", str(voters), "--campaign", "fall", "--json")
    first, second = server.scalar(ID_OWNER, value="NC100"), server.scalar(ID_OWNER, value="NC200")

    page = phones.open().new_page()
    sign_in(page, server.base_url, "admin@example.org")
    follow(page, menu_link(page, "Find"))
    follow(page, page.get_by_role("link", name="Likely duplicates"))
    pair = page.locator(f"#pair-{first}-{second}")
    assert "The same name and birth year (1980), at two addresses." in pair.inner_text()
    save_screenshot(page, "e2e-duplicates-list")
    follow(page, pair.get_by_role("link", name="Review"))
    assert page.locator(".side-by-side > section").count() == 2
    save_screenshot(page, "e2e-duplicates-review")
    follow(page, page.get_by_role("button", name="Merge", exact=True))  # the first record's details stay
    assert page.locator(".flash-ok").inner_text() == "Merged. Ana Diaz now holds everything from both records."
    assert server.scalar(PEOPLE) == 2
    assert server.scalar(ID_OWNER, value="NC200") == first

    summary = json.loads(server.cli("import", str(voters), "--campaign", "fall", "--json").splitlines()[-1])
    assert summary["inserted"] == 0 and server.scalar(PEOPLE) == 2  # the voter file does not bring it back

    follow(page, page.get_by_role("button", name="Undo this merge"))
    assert page.locator(".flash-ok").inner_text() == "Merge undone: ANA DÍAZ is a record of their own again."
    assert server.scalar(PEOPLE) == 3
    assert server.scalar(ID_OWNER, value="NC200") == second
    save_screenshot(page, "e2e-duplicates-undone")
