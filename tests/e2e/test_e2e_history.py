"""Data staff import vote history on a phone against a running server, then a lead cuts turf of rare voters.

The demo's people carry VAN IDs; the history is a VAN export's wide columns (General16 ... Primary20) for some of
them and for one person nobody knows. The check page says who matched before anything is written; the import
writes the votes; the same file again from the command line adds nothing; the person's page shows their turnout;
the turf board counts "voted in at most 1 of the last 3 generals" as the database does.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.e2e.harness import save_screenshot, sign_in

pytestmark = pytest.mark.e2e

HEADER = ["Voter File VANID", "LastName", "FirstName", "General16", "General18", "General20", "Primary20"]


def write_history(path, van_ids: list[str]):
    """Every 2nd person voted in every general (early in 2020); the others in 2016 only; one row names nobody."""
    rows = [HEADER]
    for number, van_id in enumerate(van_ids):
        regular = number % 2 == 0
        rows.append([van_id, "DOE", "PAT", "Y", "Y" if regular else "", "E" if regular else "", "Y" if regular else ""])
    rows.append(["99999999", "NOBODY", "KNOWN", "Y", "Y", "Y", "Y"])
    path.write_text("\n".join("\t".join(row) for row in rows) + "\n", encoding="utf-8")
    return path


def test_data_staff_import_vote_history_and_a_lead_targets_rare_voters(demo_server, phones, tmp_path):
    base = demo_server.base_url
    campaign_id, slug = demo_server.rows("SELECT id, slug FROM campaign ORDER BY id LIMIT 1")[0]
    people = demo_server.rows(
        "SELECT x.person_id, x.value FROM external_id x JOIN person p ON p.id = x.person_id "
        "WHERE x.source = 'van_id' AND x.campaign_id = :c ORDER BY "
        "CASE WHEN p.household_id IN (SELECT household_id FROM turf_door) THEN 1 ELSE 0 END, x.person_id LIMIT 40",
        c=campaign_id)
    history = write_history(tmp_path / "van_history.tsv", [value for _, value in people])

    page = phones.open().new_page()
    sign_in(page, base, "data@example.org")
    page.goto(f"{base}/history/")
    page.locator("#campaign_id").select_option(str(campaign_id))
    page.locator("#file").set_input_files(str(history))
    page.get_by_role("button", name="Upload and check").click()
    page.get_by_role("button", name="Import the votes").wait_for()
    page.wait_for_load_state()  # the button is there before the style sheet applies: a page measured unstyled is wider
    main = page.locator("main").inner_text()
    assert re.search(r"Matched to people\s+40", main) and re.search(r"Not matched\s+1", main), main
    assert "99999999" in main
    assert demo_server.scalar("SELECT count(*) FROM vote") == 0  # nothing before confirming
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    save_screenshot(page, "e2e-history-check")
    page.get_by_role("button", name="Import the votes").click()
    page.get_by_text("Vote history imported:").wait_for()
    votes = demo_server.scalar("SELECT count(*) FROM vote")
    assert votes == 20 * 4 + 20 * 1

    again = json.loads(demo_server.cli("history", "import", str(history), "--campaign", slug, "--json")
                       .strip().splitlines()[-1])
    assert (again["rows"], again["matched"], again["unmatched"], again["votes_added"]) == (41, 40, 1, 0)

    rare = people[1][0]
    page.goto(f"{base}/people/{rare}")
    turnout = page.locator("#turnout + section").inner_text()
    assert "voted in 1 of 3" in turnout, turnout
    save_screenshot(page, "e2e-history-person")

    lead = phones.open().new_page()
    sign_in(lead, base, "lead@example.org")
    lead.goto(f"{base}/turfs/?campaign={campaign_id}&election_kind=general&last_elections=3&voted_at_least=3#cut")
    counted = lead.locator(".stats-line").inner_text()
    regulars = [person_id for number, (person_id, _) in enumerate(people) if number % 2 == 0]
    expected = demo_server.scalar(
        "SELECT count(*) FROM person p WHERE p.id IN (" + ", ".join(map(str, regulars)) + ") "
        "AND p.household_id IS NOT NULL AND NOT p.do_not_contact AND NOT p.deceased AND NOT p.moved "
        "AND NOT p.is_protected AND p.household_id NOT IN (SELECT household_id FROM turf_door)")
    assert int(re.findall(r"\d+", counted)[1]) == expected, (counted, expected)  # the demo's doors are cut
    assert lead.locator("details.turnout-filters[open]").count() == 1
    lead.goto(f"{base}/calllists/?campaign={campaign_id}&election_kind=general&last_elections=3&voted_at_least=3")
    to_call = int(re.findall(r"\d+", lead.locator(".stats-line").inner_text())[0])
    assert 0 < to_call <= len(regulars)  # the regular voters with a number to call
    save_screenshot(lead, "e2e-history-turf-board")
