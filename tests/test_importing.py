"""Importing into a campaign: counts, re-imports, what is never overwritten, all or nothing, CLI and web."""

import csv
import io
import json
import os
import signal
import subprocess
import sys
import uuid

import numpy as np
import openpyxl
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlmodel import Session, select

from canvass import importing
from canvass.cli import main
from canvass.importing import loading, reading, streaming
from canvass.models import (
    Campaign,
    ContactAttempt,
    Email,
    ExternalId,
    Household,
    ImportBatch,
    ImportStatus,
    Person,
    Phone,
    PhoneStatus,
    SavedMapping,
)
from tests.conftest import SHARED_DATA


def count(session, model, *where):
    query = select(sa.func.count()).select_from(model)
    for clause in where:
        query = query.where(clause)
    return session.exec(query).one()


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


HEADER = "voter_id,first_name,last_name,address,city,zip,phone,party,language,birth_year\n"

@pytest.fixture(params=["by the file's keys", "whole campaign"])
def lookup(request, monkeypatch):
    """Matching either way: a small file looks its people up by their IDs, doors and keys; a big one reads the
    campaign. Both must decide the same."""
    if request.param == "whole campaign":
        monkeypatch.setattr(loading, "SMALL_FILE_ROWS", 0)
    return request.param



@pytest.fixture(params=["whole", "in chunks"])
def written(request, monkeypatch):
    """A file is read, cleaned, planned and written a chunk at a time. One chunk or many must store the same: here
    in chunks of 40."""
    if request.param == "in chunks":
        monkeypatch.setattr(reading, "CHUNK_ROWS", 40)
    return request.param


@pytest.mark.parametrize(("name", "rows", "inserted", "households", "phones", "rejected"), [
    ("synthetic_fl_voter_extract_noheader_100.txt", 100, 100, 45, 12, 0),
    ("synthetic_wa_vrdb_2017header_1000.txt", 1000, 1000, 1000, 0, 0),
    ("contacts_dsa_actionkit_membership_export_fixture.csv", 2, 2, 2, 2, 0),
    ("contacts_dsa_actionkit_export_sample_fixture.csv", 1, 1, 1, 1, 0),
    ("addr_osm_sanford_nc.csv", 3949, 0, 3942, 0, 0),
])
def test_each_shared_sample_imports_with_the_right_counts(written, session, campaign, name, rows, inserted, households,
                                                          phones, rejected, monkeypatch):
    if written == "in chunks" and rows > 400:  # five chunks, not a hundred of 40 rows (35 s for the same check)
        monkeypatch.setattr(reading, "CHUNK_ROWS", rows // 5 + 1)
    summary = importing.import_file(session, campaign, SHARED_DATA / name)
    session.commit()
    assert (summary["rows"], summary["inserted"], summary["households"], summary["phones"], summary["rejected"]) == \
        (rows, inserted, households, phones, rejected)
    assert count(session, Person) == inserted
    assert count(session, Household) == households
    again = importing.import_file(session, campaign, SHARED_DATA / name)
    session.commit()
    assert (again["inserted"], again["updated"], again["unchanged"], again["households"]) == (0, 0, inserted, 0)
    assert count(session, Person) == inserted


def test_florida_protected_voters_are_kept_without_doors(written, session, campaign):
    importing.import_file(session, campaign, SHARED_DATA / "synthetic_fl_voter_extract_noheader_100.txt")
    session.commit()
    protected = session.exec(select(Person).where(Person.is_protected.is_(True))).all()
    assert protected and all(p.household_id is None for p in protected)


def test_reimport_updates_changed_rows_and_reports_the_diff_before(lookup, session, campaign, tmp_path):
    first = write(tmp_path, "v1.csv", HEADER + "1,Ana,Diaz,5 Oak St,Durham,27701,9195551212,DEM,es,1980\n"
                                               "2,Bo,Kim,7 Elm St,Durham,27701,,REP,,1975\n")
    importing.import_file(session, campaign, first)
    session.commit()
    second = write(tmp_path, "v2.csv", HEADER + "1,Ana,Diaz,5 Oak St,Durham,27701,9195551212,UNA,es,1980\n"
                                                "2,Bo,Kim,7 Elm St,Durham,27701,,REP,,1975\n"
                                                "3,Cy,Lo,9 Ash St,Durham,27701,,,,\n")
    report = importing.check_file(session, campaign, second)
    assert (report.counts["insert"], report.counts["update"], report.counts["unchanged"]) == (1, 1, 1)
    assert report.changes[0]["changes"] == [{"field": "party", "before": "DEM", "after": "UNA"}]
    assert count(session, Person) == 2  # the check wrote nothing
    summary = importing.import_file(session, campaign, second)
    session.commit()
    assert (summary["inserted"], summary["updated"], summary["unchanged"]) == (1, 1, 1)
    assert session.exec(select(Person.party).where(Person.first_name == "Ana")).one() == "UNA"


def test_people_without_ids_are_matched_by_name_and_door(lookup, session, campaign, tmp_path):
    signup = "First,Last,Address,Zip,Email\nana,DÍAZ,5 OAK STREET,27701,ana@example.org\n"
    importing.import_file(session, campaign, write(tmp_path, "signup.csv", signup))
    session.commit()
    voter = write(tmp_path, "voters.csv", HEADER + "1,Ana,Diaz,5 Oak St,Durham,27701,,DEM,,1980\n")
    summary = importing.import_file(session, campaign, voter)
    session.commit()
    assert (summary["inserted"], summary["updated"]) == (0, 1)
    person = session.exec(select(Person)).one()
    assert person.party == "DEM" and person.email == "ana@example.org"  # the file's blank email did not erase it
    assert session.exec(select(ExternalId.value).where(ExternalId.person_id == person.id)).all() == ["1"]


NAMES_OF_EVERY_SCRIPT = ("Name,Address,Zip\n"
                         "Đặng Văn Hùng,12 Oak St,27701\n"
                         "محمد علي,14 Oak St,27701\n"
                         "Дмитрий Петров,16 Oak St,27701\n"
                         "김민준,18 Oak St,27701\n"
                         "Jürgen Strauß,20 Oak St,27701\n")


def test_people_named_in_any_script_are_found_again_without_ids(session, campaign, tmp_path):
    signup = write(tmp_path, "signup.csv", NAMES_OF_EVERY_SCRIPT)
    assert importing.import_file(session, campaign, signup)["inserted"] == 5
    session.commit()
    keys = session.exec(select(Person.match_key).order_by(Person.id)).all()
    assert keys[0].startswith("DANG|HUNG|") and keys[1].startswith("علي|محمد|") and keys[2].startswith("ПЕТРОВ|")
    summary = importing.import_file(session, campaign, signup)
    session.commit()
    assert (summary["inserted"], summary["unchanged"]) == (0, 5)
    # Spelled without the accents, as another list may have it: the same people.
    plain = write(tmp_path, "plain.csv", "Name,Address,Zip,Party\nDang Van Hung,12 Oak St,27701,DEM\n"
                                         "Jurgen Strauss,20 Oak St,27701,DEM\n")
    summary = importing.import_file(session, campaign, plain)
    session.commit()
    assert (summary["inserted"], summary["updated"]) == (0, 2)
    assert count(session, Person) == 5


def test_a_vietnamese_name_on_a_sign_up_sheet_finds_the_voter(session, campaign, tmp_path):
    voters = write(tmp_path, "voters.csv", HEADER + "77,AN,NGUYEN,12 Oak St,Durham,27701,,DEM,,1980\n")
    importing.import_file(session, campaign, voters)
    session.commit()
    signup = write(tmp_path, "signup.csv", "Họ và tên,Address,Zip,Phone\nNguyễn Văn An,12 Oak St,27701,9195550177\n")
    summary = importing.import_file(session, campaign, signup)
    session.commit()
    assert (summary["inserted"], summary["updated"]) == (0, 1)
    person = session.exec(select(Person)).one()
    assert (person.first_name, person.middle_name, person.last_name) == ("An", "Văn", "Nguyễn")  # the later spelling
    assert session.exec(select(Phone.e164).where(Phone.person_id == person.id)).all() == ["+19195550177"]


def test_the_migration_recomputes_match_keys_made_before_every_script_was_kept(database_url, engine, session,
                                                                                campaign, tmp_path, volunteer):
    from alembic import command

    from canvass import db

    importing.import_file(session, campaign, write(tmp_path, "signup.csv", NAMES_OF_EVERY_SCRIPT))
    session.commit()
    made_now = dict(session.exec(select(Person.id, Person.match_key)).all())
    met = Person(campaign_id=campaign.id, first_name="Олена", last_name="Коваль", added_by_id=volunteer.id)
    session.add(met)
    session.commit()
    # What the importer stored before: Đ and ß dropped, Arabic and Cyrillic names without any key.
    before = {"DANG|HUNG||": "ANG|HNG||", "علي|محمد||": "", "ПЕТРОВ|ДМИТРИИ||": "", "STRAU|JURGEN||": "STRAU|JURGEN||"}
    with engine.begin() as conn:
        for person_id, key in made_now.items():
            old = next((v for k, v in before.items() if key.startswith(k)), None)
            if old is not None:
                conn.execute(sa.text("UPDATE person SET match_key = :key WHERE id = :id"),
                             {"key": old + key.split("|", 3)[3] if old else "", "id": person_id})
    command.downgrade(db.alembic_config(engine), "0006")
    db.upgrade(engine)
    session.expire_all()
    assert dict(session.exec(select(Person.id, Person.match_key).where(Person.id != met.id)).all()) == made_now
    assert session.get(Person, met.id).match_key == ""  # met at the door: not an import's key to make


def test_external_ids_keep_their_people_through_the_migration_to_natural_keys_and_back(database_url, engine, session,
                                                                                     campaign, tmp_path):
    from alembic import command

    from canvass import db

    importing.import_file(session, campaign, write(tmp_path, "van.csv", "VANID,FirstName,LastName\n11,Ana,Diaz\n"
                                                                       "12,Luis,Diaz\n"))
    session.commit()
    stored = sorted(session.exec(select(ExternalId.person_id, ExternalId.source, ExternalId.value)).all())
    session.commit()  # holds no lock the migration would wait for
    command.downgrade(db.alembic_config(engine), "0007")
    with engine.connect() as conn:
        before = sorted(conn.execute(sa.text("SELECT person_id, source, value FROM external_id")).all())
        numbered = conn.execute(sa.text("SELECT count(DISTINCT id) FROM external_id")).scalar_one()
        assert sa.inspect(conn).get_pk_constraint("external_id")["constrained_columns"] == ["id"]
    assert (before, numbered) == (stored, 2)
    # The old key still refuses a repeated ID.
    with engine.begin() as conn, pytest.raises(sa.exc.IntegrityError), conn.begin_nested():
        conn.execute(sa.text("INSERT INTO external_id (campaign_id, person_id, source, value) "
                             "SELECT campaign_id, person_id, source, value FROM external_id LIMIT 1"))
    db.upgrade(engine)
    with engine.connect() as conn:
        assert sa.inspect(conn).get_pk_constraint("external_id")["constrained_columns"] == ["campaign_id", "source",
                                                                                            "value"]
        assert "id" not in {c["name"] for c in sa.inspect(conn).get_columns("external_id")}
    summary = importing.import_file(session, campaign, write(tmp_path, "van2.csv", "VANID,FirstName,LastName\n"
                                                                                   "12,Luis,Diaz\n13,Rosa,Diaz\n"))
    session.commit()
    assert (summary["inserted"], summary["unchanged"]) == (1, 1)
    assert count(session, ExternalId) == 3


KEY_COLUMNS = [("email", "address"), ("external_id", "source"), ("external_id", "value"), ("household", "address_key"),
               ("household", "building_key"), ("phone", "e164")]


def _collations(engine) -> list:
    wanted = ", ".join(f"('{table}', '{column}')" for table, column in KEY_COLUMNS)
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT table_name, column_name, collation_name FROM information_schema.columns "  # noqa: S608 (constants)
            f"WHERE table_schema = current_schema() AND (table_name, column_name) IN ({wanted}) ORDER BY 1, 2")).all()


@pytest.mark.postgres_only
def test_keys_are_compared_byte_by_byte_on_postgresql_through_the_migration_and_back(engine, session, campaign,
                                                                                   tmp_path):
    """Doors' keys, IDs, numbers and emails are collated "C": their indexes compare bytes, whatever the database's
    locale, and what an import sorts in Python arrives in the indexes' order."""
    from alembic import command

    from canvass import db

    path = write(tmp_path, "v.csv", HEADER + "1,Ana,Diaz,5 Oak St,Durham,27701,9195551212,,,\n"
                                             "2,Bo,Kim,7 Élm St,Durham,27701,9195550000,,,\n")
    importing.import_file(session, campaign, path)
    session.commit()
    assert _collations(engine) == [(table, column, "C") for table, column in KEY_COLUMNS]
    command.downgrade(db.alembic_config(engine), "0008")
    assert [c for _, _, c in _collations(engine)] == [None] * len(KEY_COLUMNS)
    db.upgrade(engine)
    assert [c for _, _, c in _collations(engine)] == ["C"] * len(KEY_COLUMNS)
    summary = importing.import_file(session, campaign, path)
    session.commit()
    assert (summary["inserted"], summary["unchanged"]) == (0, 2)  # the stored keys are found as before
    assert (count(session, Household), count(session, Phone), count(session, ExternalId)) == (2, 2, 2)


def test_a_google_forms_sign_up_export_imports_without_a_mapping(session, campaign, tmp_path):
    export = ("Timestamp,Email Address,What's your name?,Phone number,Home address,Which languages do you speak?,"
              "Can we text you?\n"
              '5/4/2024 10:12:01,ana@example.org,Ana Diaz,(919) 555-0111,"12 Oak St Apt 3, Durham NC 27701",'
              '"Spanish, English",Yes\n')
    summary = importing.import_file(session, campaign, write(tmp_path, "Sign-ups (Responses).csv", export))
    session.commit()
    assert (summary["inserted"], summary["rejected"], summary["households"], summary["phones"]) == (1, 0, 1, 1)
    person = session.exec(select(Person)).one()
    door = session.get(Household, person.household_id)
    assert (person.first_name, person.last_name, person.language, person.email) == ("Ana", "Diaz", "es",
                                                                                     "ana@example.org")
    assert (door.address, door.unit, door.city, door.state, door.zip5) == ("12 Oak St", "Apt 3", "Durham", "NC",
                                                                           "27701")
    assert person.custom == {"Timestamp": "5/4/2024 10:12:01", "Can we text you?": "Yes"}


def test_ids_lost_to_scientific_notation_do_not_merge_different_people(session, campaign, tmp_path):
    mangled = HEADER + "".join(f"1.23457E+11,{first},Diaz,{n} Oak St,Durham,27701,,DEM,,1980\n"
                               for n, first in enumerate(["Ana", "Bo", "Cy"], start=1))
    summary = importing.import_file(session, campaign, write(tmp_path, "mangled.csv", mangled))
    session.commit()
    assert (summary["inserted"], summary["merged"], summary["problems"]) == (3, 0, 3)
    assert count(session, ExternalId) == 0


def test_a_sign_up_with_one_of_two_surnames_finds_the_voter(lookup, session, campaign, tmp_path):
    voters = write(tmp_path, "voters.csv", HEADER + "1,MARIA,GARCIA LOPEZ,5 Oak St,Durham,27701,,DEM,,1980\n"
                                                    "2,JOSE,DE LA CRUZ,7 Oak St,Durham,27701,,DEM,,1975\n"
                                                    "3,ANA,RUIZ,9 Oak St,Durham,27701,,DEM,,1990\n"
                                                    "4,ANA,RUIZ PEREZ,9 Oak St,Durham,27701,,DEM,,1960\n")
    importing.import_file(session, campaign, voters)
    session.commit()
    signup = write(tmp_path, "signup.csv", "First,Last,Address,Zip,Phone\n"
                                           "Maria,García,5 Oak St,27701,9195550101\n"  # one of her two surnames
                                           "Jose,de Leon,7 Oak St,27701,9195550102\n"  # only "de" shared: someone else
                                           "Ana,Pérez,9 Oak St,27701,9195550103\n")  # one fits: Ana Ruiz Perez
    summary = importing.import_file(session, campaign, signup)
    session.commit()
    assert (summary["inserted"], summary["updated"]) == (1, 2)
    maria = session.exec(select(ExternalId.person_id).where(ExternalId.value == "1")).one()
    ana = session.exec(select(ExternalId.person_id).where(ExternalId.value == "4")).one()
    phones = dict(session.exec(select(Phone.e164, Phone.person_id)).all())
    assert (phones["+19195550101"], phones["+19195550103"]) == (maria, ana)
    assert session.exec(select(Person.last_name).where(Person.id == phones["+19195550102"])).one() == "de Leon"
    assert session.get(Person, maria).last_name == "GARCIA LOPEZ"  # not cut down to the sign-up's one surname


def test_same_name_same_door_different_birth_year_is_another_person(lookup, session, campaign, tmp_path):
    importing.import_file(session, campaign, write(tmp_path, "a.csv", HEADER + ",Jose,Ruiz,5 Oak St,Durham,27701,,,,1950\n"))
    session.commit()
    summary = importing.import_file(session, campaign,
                                    write(tmp_path, "b.csv", HEADER + ",Jose,Ruiz,5 Oak St,Durham,27701,,,,1985\n"))
    session.commit()
    assert summary["inserted"] == 1 and count(session, Person) == 2
    assert count(session, Household) == 1


def test_duplicate_rows_in_one_file_are_merged_not_doubled(lookup, session, campaign, tmp_path):
    rows = HEADER + "1,Ana,Diaz,5 Oak St,Durham,27701,9195551212,,,\n1,Ana,Diaz,5 Oak St,Durham,27701,9195553434,,,\n"
    summary = importing.import_file(session, campaign, write(tmp_path, "dup.csv", rows))
    session.commit()
    assert (summary["inserted"], summary["merged"]) == (1, 1)
    assert sorted(session.exec(select(Phone.e164)).all()) == ["+19195551212", "+19195553434"]


def test_new_people_written_in_several_chunks_are_all_there_together_by_door_in_the_file_s_order(
        session, campaign, tmp_path, monkeypatch):
    """People are numbered door by door, the doors in the order the file first reaches them: a file sorted by
    address keeps its order (and its IDs' index on person_id grows at its end)."""
    from canvass import bulk

    monkeypatch.setattr(bulk, "CHUNK_ROWS", 2)  # each table's rows sent in chunks (built while the last is sent)
    doors = {1: 8, 2: 7, 3: 8, 4: 6, 5: 7}
    rows = "".join(f"{i},P{i},Q,{doors[i]} Oak St,Durham,27701,919555{1000 + i},,,\n" for i in range(1, 6))
    summary = importing.import_file(session, campaign, write(tmp_path, "chunks.csv", HEADER + rows))
    session.commit()
    assert (summary["inserted"], summary["households"]) == (5, 3)
    stored = session.exec(select(Person.id, Person.first_name, Household.id, Household.house_number)
                          .join(Household, Household.id == Person.household_id).order_by(Person.id)).all()
    assert [name for _, name, _, _ in stored] == ["P1", "P3", "P2", "P5", "P4"]
    assert [number for _, _, _, number in stored] == ["8", "8", "7", "7", "6"]
    assert [door for _, _, door, _ in stored] == sorted(door for _, _, door, _ in stored)
    assert count(session, ExternalId) == 5 and count(session, Phone) == 5


def _stored(session, campaign):
    """Everything an import stored in a campaign, without ids: each person with their door, IDs, phones, emails."""
    people = session.exec(select(Person).where(Person.campaign_id == campaign.id)).all()
    doors = {h.id: h for h in session.exec(select(Household).where(Household.campaign_id == campaign.id))}
    result = []
    for person in people:
        door = doors.get(person.household_id)
        result.append((
            person.first_name, person.middle_name, person.last_name, person.party, person.language,
            person.birth_year, person.is_protected, person.email, person.match_key, person.source_hash,
            json.dumps(person.custom, sort_keys=True), json.dumps(person.vote_history, sort_keys=True),
            (door.address_key, door.address, door.unit, door.zip5) if door else None,
            tuple(sorted(session.exec(select(ExternalId.source, ExternalId.value)
                                      .where(ExternalId.person_id == person.id)).all())),
            tuple(sorted(session.exec(select(Phone.e164, Phone.type, Phone.rank)
                                      .where(Phone.person_id == person.id)).all())),
            tuple(sorted(session.exec(select(Email.address).where(Email.person_id == person.id)).all()))))
    empty_doors = sorted(d.address_key for d in doors.values() if d.id not in {p.household_id for p in people})
    return sorted(result, key=repr), empty_doors


MIXED = ("voter_id,first_name,last_name,address,city,zip,phone,email,party,language,birth_year,status\n"
         + "".join(f"{i},  P{i} ,Q{i % 3},{i % 5 + 1} Oak St{' Apt ' + str(i % 3) if i % 5 == 0 else ''},Durham,27701,"
                   f"919555{1000 + i},p{i}@example.org,DEM,es,19{50 + i},ACTIVE\n" for i in range(1, 18))
         + ",,,,,,,,,,,\n"  # a blank line: skipped
         + ",Total: 17,,,,,,,,,,\n")  # a total line: rejected


def _import_whole_then_in_chunks(session, monkeypatch, path, chunk_rows: int, *, first=None, part=lambda args: 1):
    """Imports ``path`` whole into a campaign "whole", then in chunks of ``chunk_rows`` into a campaign "chunks" (each
    given the file ``first`` before, when set): (the two summaries without their timings, ``part`` of the arguments of
    each part written in chunks)."""
    from canvass import campaigns

    for name in ("Whole", "Chunks"):
        campaigns.create_campaign(session, name, name.lower())
    session.commit()
    if first is not None:
        for slug in ("whole", "chunks"):
            importing.import_file(session, campaigns.get_campaign(session, slug), first)
            session.commit()
    whole = importing.import_file(session, campaigns.get_campaign(session, "whole"), path)
    session.commit()
    monkeypatch.setattr(reading, "CHUNK_ROWS", chunk_rows)
    parts = []
    original = importing._write_part
    monkeypatch.setattr(importing, "_write_part", lambda *a, **k: parts.append(part(a)) or original(*a, **k))
    chunked = importing.import_file(session, campaigns.get_campaign(session, "chunks"), path)
    session.commit()
    for summary in (whole, chunked):
        summary.pop("seconds")
    return whole, chunked, parts


def _import_both_ways(session, tmp_path, monkeypatch, text):
    """The same file, whole into one campaign and in chunks of 3 into another: (summaries, stored)."""
    from canvass import campaigns

    whole, chunked, writes = _import_whole_then_in_chunks(session, monkeypatch, write(tmp_path, "mixed.csv", text), 3)
    stored = [_stored(session, campaigns.get_campaign(session, slug)) for slug in ("whole", "chunks")]
    return whole, chunked, stored, len(writes)


def test_a_first_import_written_while_it_is_cleaned_stores_what_a_whole_import_stores(session, tmp_path,
                                                                                      monkeypatch):
    whole, chunked, (stored_whole, stored_chunked), writes = _import_both_ways(session, tmp_path, monkeypatch, MIXED)
    assert writes == 7  # 18 rows (a blank line is none): 1, then 3 at a time, each written as it came
    assert chunked == whole
    assert (whole["inserted"], whole["rejected"], whole["households"], whole["phones"]) == (17, 1, 7, 17)
    assert stored_chunked == stored_whole
    assert len(stored_whole[0]) == 17


@pytest.mark.parametrize("repeat", [
    "12,Ana,Diaz,9 Elm St,Durham,27701,,,,,,\n",  # voter ID 12 again, three chunks later
    # One person twice without IDs, in two chunks
    ",P2,Q2,3 Oak St,Durham,27701,,,,,,\n,Zed,Y,8 Elm St,Durham,27701,,,,,,\n,Yan,X,8 Elm St,Durham,27701,,,,,,\n"
    ",P2,Q2,3 Oak St,Durham,27701,,,,,,\n",
    ",,,40 Elm St,Durham,27701,,,,,,\n",  # a door without a person
])
@pytest.mark.parametrize("spill_keys", [None, 2], ids=["keys in memory", "keys spilled to files"])
def test_rows_that_repeat_other_chunks_rows_are_planned_together(session, tmp_path, monkeypatch, repeat, spill_keys):
    if spill_keys:  # a statewide file's key maps, in miniature: the earlier chunks' keys are found in files
        monkeypatch.setattr(streaming.KeyMap, "SPILL_KEYS", spill_keys)
    whole, chunked, (stored_whole, stored_chunked), _ = _import_both_ways(session, tmp_path, monkeypatch,
                                                                          MIXED + repeat)
    assert chunked == whole
    assert whole["merged"] + whole["doors_only"] == 1
    assert stored_chunked == stored_whole


def test_a_reimport_cleans_and_writes_its_few_changed_rows_together_not_a_few_per_chunk(session, tmp_path,
                                                                                        monkeypatch):
    """A weekly file with a row changed here and there: the changed rows of many chunks make one part (each part
    costs its lookups), and the campaign ends as a whole-file re-import leaves it."""
    from canvass import campaigns

    monkeypatch.setattr(loading, "SMALL_FILE_ROWS", 0)  # as a big file: its unchanged rows left out unread
    rows = [f"{n},First{n},Last{n},{n} Elm St,Durham,27701,,DEM,,1980\n" for n in range(1, 31)]
    first = write(tmp_path, "week1.csv", HEADER + "".join(rows))
    rows[4], rows[17], rows[28] = (row.replace("DEM", "REP") for row in (rows[4], rows[17], rows[28]))
    again = write(tmp_path, "week2.csv", HEADER + "".join(rows))
    whole, chunked, parts = _import_whole_then_in_chunks(session, monkeypatch, again, 4, first=first,
                                                         part=lambda args: len(args[3].people))
    assert parts == [3]  # rows 5, 18 and 29 of eight chunks, cleaned and written once
    assert chunked == whole and (whole["updated"], whole["unchanged"]) == (3, 27)
    assert _stored(session, campaigns.get_campaign(session, "chunks")) == \
        _stored(session, campaigns.get_campaign(session, "whole"))


def test_a_check_of_a_file_that_changed_nothing_stages_nothing_to_write(session, campaign, tmp_path, monkeypatch):
    monkeypatch.setattr(loading, "SMALL_FILE_ROWS", 0)  # as a big file: its unchanged rows left out unread
    path = write(tmp_path, "v.csv", HEADER + "".join(f"{n},A{n},B{n},{n} Oak St,Durham,27701,,DEM,,1980\n"
                                                       for n in range(1, 8)))
    importing.import_file(session, campaign, path)
    session.commit()
    monkeypatch.setattr(reading, "CHUNK_ROWS", 3)
    report = importing.check_file(session, campaign, path, stage_to=tmp_path / "staged")
    assert (report.counts["unchanged"], report.counts["insert"], report.counts["update"]) == (7, 0, 0)
    staged = importing.staging.read_staging(tmp_path / "staged")
    assert staged.chunks == 0 and len(staged.unchanged()) == 7
    summary = importing.import_staged(session, campaign, staged)
    assert (summary["inserted"], summary["updated"], summary["unchanged"]) == (0, 0, 7)


def test_a_big_file_of_blank_rows_is_refused_in_one_sentence(session, campaign, tmp_path, monkeypatch):
    monkeypatch.setattr(reading, "CHUNK_ROWS", 3)
    with pytest.raises(importing.UnreadableFile, match="no rows"):
        importing.import_file(session, campaign, write(tmp_path, "blank.csv", HEADER + ",,,,,,,,,\n" * 8))


def test_a_chunk_that_fails_to_be_written_leaves_the_campaign_empty(session, campaign, tmp_path, monkeypatch):
    monkeypatch.setattr(reading, "CHUNK_ROWS", 3)
    calls = []
    original = importing.loading.write_plan

    def fails_on_the_third_chunk(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return original(*args, **kwargs)

    # On PostgreSQL the chunk is written on a thread of its own while the next is planned: its error still ends the
    # import, and nothing after it is written.
    monkeypatch.setattr(importing.loading, "write_plan", fails_on_the_third_chunk)
    with pytest.raises(RuntimeError):
        importing.import_file(session, campaign, write(tmp_path, "mixed.csv", MIXED))
    session.rollback()
    assert len(calls) == 3  # the chunks after the failed one were not tried
    assert [count(session, m) for m in (Person, Household, Phone, ExternalId, Email)] == [0, 0, 0, 0, 0]


def test_imports_into_one_campaign_at_once_wait_for_each_other(engine, session, campaign, tmp_path, monkeypatch):
    """The first import pauses between its plan and its writing; the second runs meanwhile. Planned side by side,
    both would add the same 50 people (or one would fail on a unique key)."""
    import threading

    path = write(tmp_path, "v.csv", "first_name,last_name,address,zip\n"
                 + "".join(f"P{i},Q,{i} Oak St,27701\n" for i in range(50)))
    summaries, errors = [], []
    first_planned, second_done = threading.Event(), threading.Event()
    write_plan = importing.loading.write_plan

    def write_after_a_pause(*args, **kwargs):
        if not first_planned.is_set():
            first_planned.set()
            second_done.wait(2)  # a second import that waits for this one never finishes in time
        return write_plan(*args, **kwargs)

    monkeypatch.setattr(importing.loading, "write_plan", write_after_a_pause)

    def one_import(finished=None):
        with Session(engine) as own:
            try:
                summaries.append(importing.import_file(own, own.get(Campaign, campaign.id), path))
                own.commit()
            except Exception as exc:  # noqa: BLE001 (reported by the assert below)
                errors.append(exc)
        if finished:
            finished.set()

    first = threading.Thread(target=one_import)
    first.start()
    assert first_planned.wait(30)
    second = threading.Thread(target=one_import, args=(second_done,))
    second.start()
    for thread in (first, second):
        thread.join()
    assert errors == []
    assert [(s["inserted"], s["unchanged"]) for s in summaries] == [(50, 0), (0, 50)]
    assert count(session, Person) == 50


def test_a_reimport_never_overwrites_what_canvassing_learned(lookup, session, campaign, tmp_path, volunteer):
    path = write(tmp_path, "v.csv", HEADER + "1,Ana,Diaz,5 Oak St,Durham,27701,9195551212,DEM,es,1980\n"
                                              "2,Bo,Kim,7 Elm St,Durham,27701,9195550000,REP,,1975\n")
    importing.import_file(session, campaign, path)
    session.commit()
    ana = session.exec(select(Person).where(Person.first_name == "Ana")).one()
    bo = session.exec(select(Person).where(Person.first_name == "Bo")).one()
    ana.do_not_contact, ana.language, ana.language_source, ana.moved = True, "vi", "door", True
    bo.deceased = True
    phone = session.exec(select(Phone).where(Phone.person_id == ana.id)).one()
    phone.status = PhoneStatus.wrong
    contact = ContactAttempt(client_uuid=uuid.uuid4(), campaign_id=campaign.id, person_id=ana.id, user_id=volunteer.id,
                             channel="door", result_code="TK", is_contact=True)
    session.add_all([ana, bo, phone, contact])
    session.commit()
    changed = write(tmp_path, "v2.csv", HEADER + "1,Ana,Diaz,5 Oak St,Durham,27701,9195551212,UNA,es,1980\n"
                                                 "2,Bo,Kim,7 Elm St,Durham,27701,9195550000,DEM,,1975\n")
    summary = importing.import_file(session, campaign, changed)
    session.commit()
    assert summary["updated"] == 2
    session.expire_all()
    ana, bo = session.get(Person, ana.id), session.get(Person, bo.id)
    assert ana.party == "UNA"  # the file's own news is taken
    assert (ana.do_not_contact, ana.language, ana.language_source, ana.moved) == (True, "vi", "door", True)
    assert bo.deceased is True
    assert session.get(Phone, phone.id).status == PhoneStatus.wrong
    assert count(session, ContactAttempt) == 1


def test_a_reimport_adds_a_known_persons_new_phone_and_id_and_keeps_the_stored_ones(session, campaign, tmp_path):
    header = "voter_id,van_id,first_name,last_name,address,zip,phone\n"
    importing.import_file(session, campaign, write(tmp_path, "a.csv", header + "1,,Ana,Diaz,5 Oak St,27701,9195551212\n"))
    session.commit()
    ana = session.exec(select(Person)).one()
    stored = session.exec(select(Phone)).one()
    stored.status = PhoneStatus.wrong
    session.add(stored)
    session.commit()
    again = header + "1,V77,Ana,Diaz,5 Oak St,27701,9195551212; 9195557777\n2,,Bo,Kim,7 Elm St,27701,9195551212\n"
    summary = importing.import_file(session, campaign, write(tmp_path, "b.csv", again))
    session.commit()
    assert (summary["updated"], summary["inserted"], summary["phones"]) == (1, 1, 2)  # Ana's new one and Bo's
    session.expire_all()
    assert {(p.e164, p.status) for p in session.exec(select(Phone).where(Phone.person_id == ana.id))} == \
        {("+19195551212", PhoneStatus.wrong), ("+19195557777", "ok")}
    assert sorted(session.exec(select(ExternalId.source, ExternalId.value).where(ExternalId.person_id == ana.id))) == \
        [("van_id", "V77"), ("voter_id", "1")]
    assert count(session, Phone) == 3 and count(session, ExternalId) == 3


def test_a_new_address_in_the_file_lifts_moved(session, campaign, tmp_path):
    importing.import_file(session, campaign, write(tmp_path, "a.csv", HEADER + "1,Ana,Diaz,5 Oak St,Durham,27701,,,,\n"))
    session.commit()
    ana = session.exec(select(Person)).one()
    ana.moved = True
    session.add(ana)
    session.commit()
    importing.import_file(session, campaign, write(tmp_path, "b.csv", HEADER + "1,Ana,Diaz,80 Pine St,Durham,27703,,,,\n"))
    session.commit()
    session.expire_all()
    ana = session.get(Person, ana.id)
    assert ana.moved is False
    assert session.get(Household, ana.household_id).address == "80 Pine St"


# Late steps, after doors and people are written: writing IDs and phones, and gathering them (on a second thread).
@pytest.mark.parametrize("step", ["_insert_skipping_stored", "_attached_rows"])
def test_a_failed_import_changes_nothing(session, campaign, tmp_path, monkeypatch, step):
    importing.import_file(session, campaign, write(tmp_path, "a.csv", HEADER + "1,Ana,Diaz,5 Oak St,Durham,27701,,,,\n"))
    session.commit()
    before = [count(session, m) for m in (Person, Household, Phone, ExternalId)]

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(loading, step, broken)
    path = write(tmp_path, "b.csv", HEADER + "2,Bo,Kim,7 Elm St,Durham,27701,9195551212,,,\n"
                                             "1,Ana,Diaz,5 Oak St,Durham,27701,,REP,,\n")
    with pytest.raises(RuntimeError):
        importing.import_file(session, campaign, path)
    session.rollback()
    assert [count(session, m) for m in (Person, Household, Phone, ExternalId)] == before
    assert session.exec(select(Person.party)).one() == ""


KILLER = """
import sys
from sqlmodel import Session
from canvass import db, campaigns
from canvass.importing import import_file, reading
engine = db.make_engine(sys.argv[1])
stop_at, times = sys.argv[3], int(sys.argv[4])
if sys.argv[5] == "in chunks":
    reading.CHUNK_ROWS = 500
def progress(fraction, message=""):
    global times
    print(message, flush=True)
    times -= message == stop_at
    if message == stop_at and times == 0:
        import time
        time.sleep(60)  # the parent kills us here, mid-transaction (in chunks: while the chunks are written)
with Session(engine) as session:
    import_file(session, campaigns.get_campaign(session, "test"), sys.argv[2], progress=progress)
    session.commit()
"""


@pytest.mark.slow
@pytest.mark.parametrize(("how", "stop_at", "times"), [("whole", "Saving the rows", 1),
                                                      ("in chunks", "Saving the rows", 4)])
def test_an_import_killed_midway_leaves_the_database_as_it_was(database_url, session, campaign, tmp_path, how,
                                                                stop_at, times):
    rows = "".join(f"{i},First{i},Last{i},{i} Oak St,Durham,27701,919555{i % 10000:04d},,,\n" for i in range(1, 3001))
    path = write(tmp_path, "big.csv", HEADER + rows)
    child = subprocess.Popen([sys.executable, "-c", KILLER, database_url, str(path), stop_at, str(times), how],
                             stdout=subprocess.PIPE, text=True, env={**os.environ})
    for line in child.stdout:
        if line.strip() == stop_at:
            times -= 1
            if times == 0:
                break
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stdout.close()
    session.rollback()
    assert [count(session, m) for m in (Person, Household, Phone, ExternalId)] == [0, 0, 0, 0]
    summary = importing.import_file(session, campaign, path)  # and the database still works
    session.commit()
    assert summary["inserted"] == 3000


# ------------------------------------------------------------------------------------------------------------------
# CLI


def test_cli_import_prints_the_summary_as_json(database_url, campaign, tmp_path):
    path = write(tmp_path, "v.csv", HEADER + "1,Ana,Diaz,5 Oak St,Durham,27701,9195551212,DEM,es,1980\n"
                                              ",,,,,,,,,\n,Nobody,,,,,,,,\n")
    result = CliRunner().invoke(main, ["import", str(path), "--campaign", "test", "--json", "--problems",
                                       str(tmp_path / "p.csv")], env={"CANVASS_DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    out = json.loads(result.output.strip().splitlines()[-1])
    assert list(out)[:8] == ["rows", "inserted", "updated", "unchanged", "rejected", "households", "phones", "seconds"]
    assert (out["rows"], out["inserted"], out["rejected"], out["households"], out["phones"]) == (2, 2, 0, 1, 1)


def test_cli_problems_csv_is_the_file_the_web_page_gives(app, database_url, data_staff, campaign, tmp_path):
    """A row longer than the header, a formula in a cell and a bad phone: the command line's problems file has the
    web page's columns and neutralising, byte for byte."""
    rows = "".join(f"Ana{n},Diaz,{n} Oak St,27701,9195551212\n" for n in range(2000))  # the long row comes late
    path = write(tmp_path, "signup.csv", "first,last,address,zip,phone\n" + rows +
                 "Bo,Kim,7 Elm St,27701,12,extra\nCy,Lo,9 Ash St,27701,=2+5\n")
    result = CliRunner().invoke(main, ["import", str(path), "--campaign", "test", "--dry-run", "--problems",
                                       str(tmp_path / "cli.csv")], env={"CANVASS_DATABASE_URL": database_url},
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    cli_file = (tmp_path / "cli.csv").read_bytes().decode("utf-8")
    client = app.test_client(user=data_staff)
    batch_url = upload(client, campaign, path).headers["Location"]
    web_file = client.get(f"{batch_url}/problems.csv").get_data(as_text=True)
    assert cli_file == web_file
    rows = list(csv.reader(io.StringIO(cli_file)))
    assert rows[0] == ["row", "column", "value", "level", "problem"]
    assert ["2002", "", "Bo,Kim,7 Elm St,27701,12,extra", "error"] in [r[:4] for r in rows]
    assert any(r[0] == "2002" and "has 6 columns but the file has 5" in r[4] for r in rows[1:])
    assert ["2003", "phone", "'=2+5", "warning"] in [r[:4] for r in rows]  # never a live formula


def test_cli_import_with_a_mapping_file_remembers_it(database_url, session, campaign, tmp_path):
    path = write(tmp_path, "odd.csv", "Col A,Col B,Col C\nAna,Diaz,27701\n")
    mapping = write(tmp_path, "map.json", json.dumps({"Col A": "first_name", "Col B": "last_name", "Col C": "zip"}))
    env = {"CANVASS_DATABASE_URL": database_url}
    result = CliRunner().invoke(main, ["import", str(path), "--campaign", "test", "--mapping", str(mapping)], env=env)
    assert result.exit_code == 0, result.output
    assert session.exec(select(Person.first_name)).all() == ["Ana"]
    assert count(session, SavedMapping) == 1
    report = importing.check_file(session, campaign, write(tmp_path, "odd2.csv", "Col A,Col B,Col C\nBo,Kim,27701\n"))
    assert report.mapping_source == "remembered" and report.mapping["Col A"] == "first_name"


def test_the_check_says_what_it_left_out_of_a_sign_up_sheet(database_url, session, campaign, tmp_path):
    path = write(tmp_path, "signup.csv", "Sign-up sheet\n\nFirst,Last,Address,ZIP\nAna,Diaz,5 Oak St,27701\n")
    report = importing.check_file(session, campaign, path)
    assert report.rows == 1 and (report.preview[0]["row"], report.preview[0]["name"]) == (4, "Ana Diaz")
    assert report.warnings == ["The column names are on row 3; the 2 rows above them (a title or blank lines) were "
                               "left out."]
    env = {"CANVASS_DATABASE_URL": database_url}
    result = CliRunner().invoke(main, ["import", str(path), "--campaign", "test", "--dry-run"], env=env)
    assert result.exit_code == 0 and "Note: The column names are on row 3" in result.output
    excel = write(tmp_path, "excel.csv", "sep=;\nFirst;Last;Zip\nBo;Kim;27701\n")  # Excel's separator hint
    assert importing.check_file(session, campaign, excel).warnings == [
        "The column names are on row 2; the row above them (a title or a blank line) was left out."]
    book = openpyxl.Workbook()
    book.active.append(["Instructions: call everyone on the next sheet."])
    book.create_sheet("Callers").append(["First", "Last", "Phone"])
    book["Callers"].append(["Bo", "Kim", "9195550112"])
    book.save(tmp_path / "callers.xlsx")
    report = importing.check_file(session, campaign, tmp_path / "callers.xlsx")
    assert report.rows == 1 and report.warnings == [
        "canvass read the sheet “Callers”: the sheets before it hold no list of people. To import another sheet, "
        "save it as its own file."]


def test_cli_import_explains_unusable_files(database_url, campaign, tmp_path):
    env = {"CANVASS_DATABASE_URL": database_url}
    result = CliRunner().invoke(main, ["import", str(write(tmp_path, "e.csv", "")), "--campaign", "test", "--json"],
                                env=env)
    assert result.exit_code == 1
    assert json.loads(result.output.strip().splitlines()[-1]) == {
        "error": "The file is empty. Check that you picked the right file."}
    result = CliRunner().invoke(main, ["import", str(write(tmp_path, "x.csv", "Shoe,Hat\n9,10\n")), "--campaign", "test"],
                                env=env)
    assert result.exit_code == 1 and "found no name, ID or address column" in result.output


def test_cli_dry_run_writes_nothing(database_url, session, campaign, tmp_path):
    path = write(tmp_path, "v.csv", HEADER + "1,Ana,Diaz,5 Oak St,Durham,27701,,,,\n")
    result = CliRunner().invoke(main, ["import", str(path), "--campaign", "test", "--dry-run"],
                                env={"CANVASS_DATABASE_URL": database_url})
    assert "Would add 1 people" in result.output
    assert count(session, Person) == 0


# ------------------------------------------------------------------------------------------------------------------
# Web: upload -> check -> confirm


def upload(client, campaign, path):
    with open(path, "rb") as handle:
        return client.post("/imports/", data={"campaign_id": campaign.id, "file": (handle, path.name)},
                           content_type="multipart/form-data")


def test_upload_check_edit_mapping_confirm_and_see_the_result(app, session, data_staff, campaign, tmp_path):
    client = app.test_client(user=data_staff)
    path = write(tmp_path, "list.csv", "Who,Family,Where,Post,Reach,Size\n"
                                       "Ana,Diaz,5 Oak St,27701,9195551212,M\nBo,Kim,7 Elm St,27701,12,L\n")
    batch_url = upload(client, campaign, path).headers["Location"]
    page = client.get(batch_url).get_data(as_text=True)
    assert "found no name, ID or address column" in page and 'id="mapping"' in page
    assert client.post(f"{batch_url}/confirm").status_code == 409  # nothing to confirm yet
    choice = ["first_name", "last_name", "address", "zip", "phone", "custom"]
    client.post(f"{batch_url}/mapping", data={f"map-{i}": field for i, field in enumerate(choice)})
    page = client.get(batch_url).get_data(as_text=True)
    assert "Check before importing" in page and "Ana Diaz" in page and "+19195551212" in page
    assert "This phone number is incomplete" in page  # Bo's phone, listed by row and column
    assert session.exec(select(sa.func.count()).select_from(Person)).one() == 0
    client.post(f"{batch_url}/confirm")
    page = client.get(batch_url).get_data(as_text=True)
    assert "Imported" in page
    session.rollback()  # see what the app's own connections committed since this session last read
    batch = session.exec(select(ImportBatch)).one()
    assert batch.status == ImportStatus.done and batch.summary["inserted"] == 2
    assert sorted(session.exec(select(Person.first_name)).all()) == ["Ana", "Bo"]
    assert session.exec(select(Person.custom).where(Person.first_name == "Ana")).one() == {"Size": "M"}
    assert not os.path.exists(batch.stored_path)  # the uploaded file is not kept once imported
    csv_text = client.get(f"{batch_url}/problems.csv").get_data(as_text=True)
    assert csv_text.splitlines()[0] == "row,column,value,level,problem"
    assert csv_text.splitlines()[1].startswith("3,Reach,12,warning,")
    assert client.post(f"{batch_url}/confirm").status_code == 409  # never imported twice
    assert "list.csv" in client.get("/imports/").get_data(as_text=True)
    # The confirmed mapping is remembered for the next file with the same header.
    report = importing.check_file(session, campaign, write(tmp_path, "next.csv", "Who,Family,Where,Post,Reach,Size\n"
                                                                            "Cy,Lo,9 Ash St,27701,,S\n"))
    assert report.mapping_source == "remembered" and not report.error


def test_confirming_writes_what_the_check_cleaned_without_reading_the_file_again(app, session, data_staff, campaign,
                                                                                  tmp_path, monkeypatch):
    """The check stages its cleaned rows beside the upload; confirming loads them (a data staffer does not wait
    for the file to be read and cleaned twice). Only if the campaign changed under rows the check found unchanged
    is the file read again."""
    client = app.test_client(user=data_staff)
    path = write(tmp_path, "list.csv", HEADER + "1,Ana,Diaz,5 Oak St,Durham,27701,9195551212,DEM,es,1980\n"
                                              "2,Bo,Kim,7 Elm St,Durham,27701,,REP,,1975\n")
    batch_url = upload(client, campaign, path).headers["Location"]
    assert "Check before importing" in client.get(batch_url).get_data(as_text=True)
    session.rollback()
    stored = session.exec(select(ImportBatch)).one().stored_path
    assert os.path.isdir(f"{stored}.staged")
    reads = []
    monkeypatch.setattr(importing, "stream_file", lambda *a, **k: reads.append(a) or pytest.fail("read again"))
    client.post(f"{batch_url}/confirm")
    assert "Imported" in client.get(batch_url).get_data(as_text=True)
    assert reads == []
    session.rollback()
    assert sorted(session.exec(select(Person.first_name)).all()) == ["Ana", "Bo"]
    assert session.exec(select(Phone.e164)).all() == ["+19195551212"]
    assert not os.path.exists(stored) and not os.path.exists(f"{stored}.staged")  # personal data: deleted


@pytest.mark.parametrize("whole", [False, True], ids=["in chunks", "whole"])
def test_a_small_file_into_a_big_campaign_is_matched_by_its_keys_not_by_every_stored_fingerprint(
        session, campaign, tmp_path, monkeypatch, whole):
    """A sign-up sheet of a few hundred rows into a statewide campaign: reading its ten million stored fingerprints
    took 25 s of the check. A small file is cleaned whole and its unchanged rows are found by their person, with
    the counts a big file's re-import gives."""
    rows = [f"{n},A{n},B{n},{n} Oak St,Durham,27701,,DEM,,1980\n" for n in range(1, 8)]
    importing.import_file(session, campaign, write(tmp_path, "v.csv", HEADER + "".join(rows)))
    session.commit()
    rows[3] = rows[3].replace("DEM", "REP")
    again = write(tmp_path, "again.csv", HEADER + "".join(rows) + "9,New,Person,9 Oak St,Durham,27701,,,,1990\n")
    if not whole:
        monkeypatch.setattr(reading, "CHUNK_ROWS", 3)
    counts = {}
    for size in ("big", "small"):
        if size == "small":
            monkeypatch.setattr(loading, "SMALL_FILE_ROWS", 20_000)

            def unread(*_args):
                raise AssertionError("a small file read every stored fingerprint")

            monkeypatch.setattr(importing, "stored_fingerprints", unread)
        else:
            monkeypatch.setattr(loading, "SMALL_FILE_ROWS", 0)
        report = importing.check_file(session, campaign, again, stage_to=tmp_path / size)
        counts[size] = {key: report.counts[key] for key in ("insert", "update", "unchanged")}
    assert counts["small"] == counts["big"] == {"insert": 1, "update": 1, "unchanged": 6}
    summary = importing.import_staged(session, campaign, importing.staging.read_staging(tmp_path / "small"))
    assert (summary["inserted"], summary["updated"], summary["unchanged"]) == (1, 1, 6)


def test_a_staged_check_whose_unchanged_rows_changed_since_is_read_again(session, campaign, tmp_path, monkeypatch):
    monkeypatch.setattr(loading, "SMALL_FILE_ROWS", 0)  # as a big file: its unchanged rows left out unread
    path = write(tmp_path, "v.csv", HEADER + "1,Ana,Diaz,5 Oak St,Durham,27701,9195551212,DEM,es,1980\n")
    importing.import_file(session, campaign, path)
    session.commit()
    again = write(tmp_path, "again.csv", HEADER + "1,Ana,Diaz,5 Oak St,Durham,27701,9195551212,DEM,es,1980\n"
                                                  "2,Bo,Kim,7 Elm St,Durham,27701,,REP,,1975\n")
    report = importing.check_file(session, campaign, again, stage_to=tmp_path / "staged")
    assert (report.counts["unchanged"], report.counts["insert"]) == (1, 1)
    session.exec(sa.update(Person).values(source_hash=""))  # imported again from another file meanwhile
    session.commit()
    staged = importing.staging.read_staging(tmp_path / "staged")
    with pytest.raises(importing.StagingOutdated):
        importing.import_staged(session, campaign, staged)
    session.rollback()
    assert count(session, Person) == 1


def test_an_unusable_upload_shows_the_sentence_and_nothing_is_imported(app, session, lead, campaign, tmp_path):
    client = app.test_client(user=lead)
    response = upload(client, campaign, write(tmp_path, "empty.csv", ""))
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "This file could not be imported" in page and "The file is empty." in page
    assert count(session, Person) == 0


@pytest.mark.parametrize(("language", "columns", "phone", "empty", "unmapped"), [
    ("en", "This row has 4 columns but the file has 3; it was skipped.", "This phone number is incomplete",
     "The file is empty.", "canvass found no name, ID or address column"),
    ("es", "Esta fila tiene 4 columnas pero el archivo tiene 3; se omitió.", "Este número de teléfono está incompleto",
     "El archivo está vacío.", "canvass no encontró ninguna columna de nombre"),
    ("vi", "Dòng này có 4 cột nhưng tệp có 3 cột", "Số điện thoại này thiếu số", "Tệp trống.",
     "canvass không tìm thấy cột tên")])
def test_row_problems_and_file_errors_are_shown_in_the_viewer_s_language(app, data_staff, campaign, tmp_path,
                                                                         language, columns, phone, empty, unmapped):
    client = app.test_client(user=data_staff)
    # The file's width is read from its first 2,000 lines; a longer row after them is reported and skipped.
    names = ("".join(chr(97 + i // 26**k % 26) for k in range(3)) for i in range(2100))  # people, no problems
    rows = "Ana,Diaz,12\n" + "".join(f"Pat{n},Quinn,\n" for n in names) + "Bo,Kim,9195551212,extra\n"
    path = write(tmp_path, "list.csv", "first_name,last_name,phone\n" + rows)
    batch_url = upload(client, campaign, path).headers["Location"]
    page = client.get(f"{batch_url}?lang={language}").get_data(as_text=True)
    assert columns in page and phone in page
    cell = {"en": "Cell phone", "es": "Teléfono celular", "vi": "Điện thoại di động"}[language]
    assert f">{cell}</option>" in page  # the mapping form's fields, too
    report = client.get(f"{batch_url}/problems.csv?lang={language}").get_data(as_text=True)
    assert columns in report and phone in report
    failed = upload(client, campaign, write(tmp_path, "empty.csv", "")).headers["Location"]
    assert empty in client.get(f"{failed}?lang={language}").get_data(as_text=True)
    odd = upload(client, campaign, write(tmp_path, "odd.csv", "Size,Color\nM,red\n")).headers["Location"]
    assert unmapped in client.get(f"{odd}?lang={language}").get_data(as_text=True)


def test_volunteers_cannot_import(app, volunteer, campaign, tmp_path):
    client = app.test_client(user=volunteer)
    assert client.get("/imports/").status_code == 403
    assert upload(client, campaign, write(tmp_path, "v.csv", HEADER)).status_code == 403


def test_the_import_runs_in_the_background_with_a_progress_page(database_url, tmp_path, session, campaign, data_staff):
    from flask_login import FlaskLoginClient

    from canvass.app import create_app

    app = create_app({"MODE": "testing", "DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path / "i"),
                      "SECRET_KEY": "x", "WTF_CSRF_ENABLED": False, "JOB_THREADS": 1})
    app.test_client_class = FlaskLoginClient
    client = app.test_client(user=data_staff)
    rows = "".join(f"{i},First{i},Last{i},{i} Oak St,Durham,27701,,,,\n" for i in range(1, 2001))
    response = upload(client, campaign, write(tmp_path, "bg.csv", HEADER + rows))
    batch_id = int(response.headers["Location"].rsplit("/", 1)[1])
    first_look = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Checking the file" in first_look or "Check before importing" in first_look
    if "Checking the file" in first_look:
        assert '<meta http-equiv="refresh" content="2">' in first_look and "<progress" in first_look
    runner = app.extensions["canvass.jobs"]
    runner.wait(session.get(ImportBatch, batch_id).job_id, timeout=60)
    client.post(f"/imports/{batch_id}/confirm")
    session.rollback()
    runner.wait(session.get(ImportBatch, batch_id).job_id, timeout=60)
    page = client.get(f"/imports/{batch_id}").get_data(as_text=True)
    assert "Imported" in page
    session.rollback()
    assert count(session, Person) == 2000
    app.extensions["canvass.engine"].dispose()


@pytest.mark.parametrize(("language", "shown"), [("en", "Saving people"), ("es", "Guardando a las personas"),
                                                ("vi", "Đang lưu danh sách người")])
def test_an_import_s_progress_is_shown_in_the_viewer_s_language(app, session, campaign, data_staff, tmp_path,
                                                                language, shown):
    from canvass.models import Job, JobStatus

    job = Job(kind="import", status=JobStatus.running, progress=0.65, message="Saving people",
              campaign_id=campaign.id)
    failed = Job(kind="import", status=JobStatus.failed, message='Row 3 holds "<b>x</b>"', campaign_id=campaign.id)
    session.add_all([job, failed])
    session.flush()
    running = importing.create_batch(session, campaign, "v.csv", tmp_path / "v.csv", data_staff)
    broken = importing.create_batch(session, campaign, "w.csv", tmp_path / "w.csv", data_staff)
    running.job_id, running.status = job.id, ImportStatus.running
    broken.job_id, broken.status = failed.id, ImportStatus.running
    session.add_all([running, broken])
    session.commit()
    client = app.test_client(user=data_staff)
    page = client.get(f"/imports/{running.id}?lang={language}").get_data(as_text=True)
    assert f"65% · {shown}</p>" in page
    page = client.get(f"/imports/{broken.id}?lang={language}").get_data(as_text=True)
    assert "Row 3 holds &#34;&lt;b&gt;x&lt;/b&gt;&#34;" in page  # a failure quoting the file is shown as text


def test_bulk_ids_do_not_collide_with_ordinary_inserts(session, campaign):
    import pandas as pd

    from canvass import bulk

    def bulk_households(prefix, count):
        bulk.take_write_lock(session, Household.__table__)
        ids = bulk.reserve_ids(session, Household.__table__, count)
        bulk.insert_frame(session, Household.__table__, pd.DataFrame({
            "id": ids, "campaign_id": campaign.id, "address_key": [f"{prefix}{i}" for i in range(count)],
            "building_key": "b", "address": "", "house_number": "", "street": "", "unit": "", "city": "", "state": "",
            "zip5": "", "zip4": "", "precinct": ""}))
        return set(int(i) for i in ids)

    first = bulk_households("a", 5)
    session.add(Household(campaign_id=campaign.id, address_key="ordinary", building_key="b"))
    session.flush()
    second = bulk_households("c", 3)
    session.add(Household(campaign_id=campaign.id, address_key="ordinary 2", building_key="b"))
    session.commit()
    ids = session.exec(select(Household.id)).all()
    assert len(ids) == len(set(ids)) == 10 and min(ids) >= 1
    assert first | second <= set(ids)


@pytest.mark.parametrize("rows", [[2, 3, 4], [4, 0, 2], [1]])
def test_bulk_inserts_take_exactly_the_rows_given(session, campaign, rows):
    import numpy as np
    import pandas as pd

    from canvass import bulk

    bulk.take_write_lock(session, Household.__table__)
    ids = bulk.reserve_ids(session, Household.__table__, 5)
    frame = pd.DataFrame({
        "id": ids, "campaign_id": campaign.id, "address_key": [f"k{i}" for i in range(5)], "building_key": "b",
        "address": "", "house_number": "", "street": "", "unit": "", "city": "", "state": "", "zip5": "", "zip4": "",
        "precinct": ""})
    assert bulk.insert_frame(session, Household.__table__, frame, rows=np.array(rows)) == len(rows)
    stored = session.exec(select(Household.id, Household.address_key).order_by(Household.id)).all()
    assert stored == sorted((int(ids[i]), f"k{i}") for i in rows)


def test_bulk_inserts_keep_every_character_and_tell_empty_from_missing(session, campaign):
    import pandas as pd

    from canvass import bulk

    tricky = ["tab\there", "two\nlines", "back\\slash", "\\N", "\\.", 'quote "q", comma', "return\r", "", "Đặng 한국"]
    bulk.take_write_lock(session, Household.__table__)
    ids = bulk.reserve_ids(session, Household.__table__, len(tricky))
    frame = pd.DataFrame({
        "id": ids, "campaign_id": campaign.id, "address_key": [f"k{i}" for i in range(len(tricky))],
        "building_key": "b", "address": tricky, "house_number": "", "street": "", "unit": "", "city": "", "state": "",
        "zip5": "", "zip4": "", "precinct": "", "house_number_int": [None, 7] + [None] * (len(tricky) - 2),
        "lat": [35.5, None] + [None] * (len(tricky) - 2)})
    bulk.insert_frame(session, Household.__table__, frame, created={})
    stored = session.exec(select(Household.address, Household.house_number_int, Household.lat)
                          .order_by(Household.id)).all()
    assert [address for address, _, _ in stored] == tricky
    assert [(number, lat) for _, number, lat in stored[:3]] == [(None, 35.5), (7, None), (None, None)]


def _bulk_person(campaign, person_id, household_id):
    import pandas as pd

    return pd.DataFrame({"id": [person_id], "campaign_id": campaign.id, "household_id": [household_id],
                         "first_name": "Ana", "last_name": "Diaz", "middle_name": "", "suffix": "", "language": "",
                         "language_source": "", "party": "", "precinct": "", "gender": "", "email": "",
                         "is_protected": False, "match_key": "", "source_hash": "", "custom": "{}",
                         "vote_history": "{}"})


def test_bulk_inserts_refuse_a_reference_to_a_missing_row(session, campaign):
    """Checking references in bulk (PostgreSQL, instead of a trigger per row) refuses what the foreign key would."""
    import sqlite3

    from canvass import bulk
    from tests.conftest import PG_URL

    if PG_URL:  # the test database's role is a superuser: the bulk check is what runs
        assert bulk.may_check_references_in_bulk(session)
    bulk.take_write_lock(session, Person.__table__)
    person_id = int(bulk.reserve_ids(session, Person.__table__, 1)[0])
    with pytest.raises(bulk.MissingReference if PG_URL else sqlite3.IntegrityError, match="FOREIGN KEY|no longer"):
        bulk.insert_frame(session, Person.__table__, _bulk_person(campaign, person_id, 987654), created={})
    session.rollback()
    assert count(session, Person) == 0


def test_bulk_inserts_trust_rows_of_their_own_transaction_and_leave_the_foreign_keys_on(session, campaign):
    from canvass import bulk

    door = Household(campaign_id=campaign.id, address_key="k", building_key="k")
    session.add(door)
    session.flush()
    bulk.take_write_lock(session, Person.__table__)
    first, second = (int(i) for i in bulk.reserve_ids(session, Person.__table__, 2))
    bulk.insert_frame(session, Person.__table__, _bulk_person(campaign, first, door.id),
                      created={"household_id": [door.id]})
    session.commit()
    assert session.get(Person, first).household_id == door.id
    if bulk.dialect(session) == "postgresql":
        assert session.execute(sa.text("SHOW session_replication_role")).scalar_one() == "origin"
    # Later writes in the same transaction are checked by the foreign keys again.
    bulk.insert_frame(session, Person.__table__, _bulk_person(campaign, second, door.id), created={})
    with pytest.raises(sa.exc.IntegrityError):
        session.execute(sa.insert(Phone).values(person_id=987654, e164="+19195550101", type="cell", status="ok",
                                                rank=0, source="test"))
    session.rollback()
    assert count(session, Person) == 1


@pytest.mark.postgres_only
def test_the_tables_written_in_bulk_have_no_triggers_of_their_own(session):
    """Checking references in bulk turns the triggers off for its COPY: a trigger of our own on these tables would be
    skipped silently, so adding one means revisiting bulk.insert_frame first."""
    own = session.execute(sa.text("SELECT tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal")).scalars()
    assert not set(own) & {"person", "household", "external_id", "phone", "email"}


@pytest.mark.postgres_only
def test_an_import_by_a_role_without_the_privilege_keeps_the_per_row_foreign_keys(session, campaign, tmp_path,
                                                                                 database_url):
    """Production roles are rarely superusers: without the privilege the import is the same, only slower; with
    ``GRANT SET ON PARAMETER session_replication_role`` the role checks references in bulk."""
    from canvass import bulk, campaigns, db

    role = "canvass_plain_role"
    admin = session.connection()
    admin.execute(sa.text(f"DROP OWNED BY {role}") if session.execute(sa.text(
        "SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first() else sa.text(f"CREATE ROLE {role} LOGIN"))
    admin.execute(sa.text(f"GRANT USAGE ON SCHEMA public TO {role}"))
    admin.execute(sa.text(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}"))
    admin.execute(sa.text(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}"))
    session.commit()
    engine = db.make_engine(sa.make_url(database_url).set(username=role).render_as_string(hide_password=False),
                            poolclass=sa.pool.NullPool)
    try:
        with Session(engine) as plain:
            assert not bulk.may_check_references_in_bulk(plain)
            summary = importing.import_file(plain, campaigns.get_campaign(plain, "test"), write(
                tmp_path, "a.csv", HEADER + "1,Ana,Diaz,5 Oak St,Durham,27701,9195551212,,,\n"
                                          "2,Bo,Kim,5 Oak St,Durham,27701,,,,\n"))
            plain.commit()
        assert (summary["inserted"], summary["households"], summary["phones"]) == (2, 1, 1)
        admin = session.connection()
        admin.execute(sa.text(f"GRANT SET ON PARAMETER session_replication_role TO {role}"))
        session.commit()
        with Session(engine) as granted:
            assert bulk.may_check_references_in_bulk(granted)
    finally:
        engine.dispose()
        session.rollback()
        session.execute(sa.text(f"REVOKE SET ON PARAMETER session_replication_role FROM {role}"))
        session.execute(sa.text(f"DROP OWNED BY {role}"))
        session.execute(sa.text(f"DROP ROLE {role}"))
        session.commit()
    assert count(session, Person) == 2


def test_read_frame_gives_back_exactly_what_is_stored(session, campaign):
    """Leading zeros, empty text, NULLs and flags survive the bulk read (COPY + pyarrow on PostgreSQL)."""
    from canvass import bulk
    from canvass.models import Household, Person

    door = Household(campaign_id=campaign.id, address_key="k", building_key="k", address="1 Oak St", house_number="1",
                     street="OAK ST")
    session.add(door)
    session.flush()
    session.add_all([
        Person(campaign_id=campaign.id, household_id=door.id, first_name="Ana", last_name="O'Neil, \"Jr\"",
               precinct="007", birth_year=1980, do_not_call=True),
        Person(campaign_id=campaign.id, household_id=None, first_name="", last_name="Lee", precinct="0",
               birth_year=None, do_not_call=False)])
    session.flush()
    query = sa.select(Person.first_name, Person.last_name, Person.precinct, Person.birth_year, Person.household_id,
                      Person.do_not_call).where(Person.campaign_id == campaign.id, Person.last_name != "x") \
        .order_by(Person.id)
    frame = bulk.read_frame(session, query)
    if bulk.dialect(session) == "postgresql":  # the fast path, not the fallback, answered
        assert bulk._copy_out_frame(session, query, None) is not None
    rows = [[None if pd_isna(v) else v for v in row] for row in frame.itertuples(index=False)]
    assert rows == [["Ana", "O'Neil, \"Jr\"", "007", 1980, door.id, True], ["", "Lee", "0", None, None, False]]
    assert bulk.read_frame(session, query.where(Person.id < 0)).empty


def pd_isna(value) -> bool:
    import pandas as pd

    return not isinstance(value, str) and pd.isna(value)


def test_a_copy_that_fails_in_a_later_chunk_stops_and_changes_nothing(session, campaign, monkeypatch):
    """The next chunk is built while one is sent: a refusal midway still ends the write, with nothing kept."""
    import sqlite3

    import pandas as pd
    import psycopg

    from canvass import bulk

    monkeypatch.setattr(bulk, "CHUNK_ROWS", 2)
    frame = pd.concat([_bulk_person(campaign, person_id, None) for person_id in (1, 2, 3, 4, 5)], ignore_index=True)
    frame.loc[3, "first_name"] = "x" * 200  # longer than the column allows (PostgreSQL refuses it; SQLite keeps it)
    frame.loc[4, "id"] = 1  # and a repeated id, which both refuse
    bulk.take_write_lock(session, Person.__table__)
    with pytest.raises((sqlite3.IntegrityError, psycopg.Error), match="too long|UNIQUE"):
        bulk.insert_frame(session, Person.__table__, frame, created={})
    session.rollback()
    assert count(session, Person) == 0


def test_importing_the_bulk_code_changes_no_process_setting_until_asked():
    """Loading the importer leaves Arrow's allocator alone; ``tune_memory_for_bulk_work`` (the app factory and the
    command line call it) sets it, whether Arrow is loaded before or after."""
    script = """
import os, sys
os.environ.pop("ARROW_DEFAULT_MEMORY_POOL", None)
import pyarrow as pa
import canvass.importing
from canvass.allocators import tune_memory_for_bulk_work
before = pa.default_memory_pool().backend_name
tune_memory_for_bulk_work()
print(before, pa.default_memory_pool().backend_name)
"""
    loaded_first = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert loaded_first.stdout.split() == [arrow_default_backend(), "system"]
    tuned_first = subprocess.run([sys.executable, "-c", "from canvass.allocators import tune_memory_for_bulk_work\n"
                                  "tune_memory_for_bulk_work()\nimport pyarrow as pa, canvass.importing\n"
                                  "print(pa.default_memory_pool().backend_name)"],
                                 capture_output=True, text=True, check=True)
    assert tuned_first.stdout.split() == ["system"]


def arrow_default_backend() -> str:
    """The allocator this pyarrow build uses when nobody chose one."""
    environment = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    return subprocess.run([sys.executable, "-c", "import pyarrow as pa; print(pa.default_memory_pool().backend_name)"],
                          capture_output=True, text=True, check=True, env=environment).stdout.strip()


def test_a_batch_waits_for_confirmation_only_once_its_check_is_done_and_found_no_error(session, campaign, tmp_path,
                                                                                        data_staff):
    from canvass.models import JobStatus

    batch = importing.create_batch(session, campaign, "v.csv", tmp_path / "v.csv", data_staff)
    assert importing.is_open(batch) and not importing.waits_for_confirmation(session, batch)  # not checked yet
    job = importing.start_batch_job(session, batch, "import-check", data_staff.id)
    batch.summary = {"check": {"rows": 3, "mapping": {"Name": "full_name"}, "error": ""}}
    assert batch.job_id == job.id and not importing.waits_for_confirmation(session, batch)  # the check still runs
    job.status = JobStatus.done
    assert importing.waits_for_confirmation(session, batch)
    batch.summary = {"check": {"rows": 3, "error": "canvass found no name, ID or address column in this file."}}
    assert importing.is_open(batch) and not importing.waits_for_confirmation(session, batch)
    batch.summary = {"check": {"rows": 3, "mapping": {"Name": "full_name"}, "error": ""}}
    importing.confirm_batch(batch)
    assert batch.mapping == {"Name": "full_name"} and batch.status == ImportStatus.running
    assert not importing.is_open(batch) and not importing.waits_for_confirmation(session, batch)


def test_a_discarded_batch_loses_its_file_and_cannot_be_confirmed(session, campaign, tmp_path, data_staff):
    folder = tmp_path / "upload"
    folder.mkdir()
    stored = folder / "v.csv"
    stored.write_text("Name\nAna Diaz\n")
    batch = importing.receive_upload(session, campaign, "v.csv", stored, data_staff)
    importing.discard_batch(session, batch)
    session.commit()
    assert not folder.exists() and batch.status == ImportStatus.cancelled and not importing.is_open(batch)


def test_stored_fingerprints_are_read_as_numbers_from_text_arrow_or_chunks():
    import numpy as np
    import pyarrow as pa

    from canvass.importing.streaming import _as_numbers

    texts = ["18446744073709551615", "12", "not one"]
    expected = np.array([18446744073709551615, 12], dtype=np.uint64)
    assert (_as_numbers(texts) == expected).all()
    assert (_as_numbers(pa.array(texts, type=pa.large_string())) == expected).all()
    chunked = pa.chunked_array([pa.array(texts[:2], type=pa.large_string()), pa.array(texts[2:3], type=pa.large_string())])
    assert (_as_numbers(chunked) == expected).all()
    assert _as_numbers(pa.array([])).dtype == np.uint64 and not len(_as_numbers([]))


@pytest.mark.postgres_only
def test_a_big_import_leaves_postgresql_statistics_for_the_next_imports_lookups(session, campaign, tmp_path):
    """Without them PostgreSQL takes a freshly loaded table for empty and looks IDs up by reading the campaign's
    every ID, for each 900 looked up: a 10M-row weekly re-import took 295 s, most of it there."""
    rows = "".join(f"{n},A{n},B{n},{n} Oak St,Durham,27701,919555{n:04d},DEM,,1980\n" for n in range(1, 1201))
    importing.import_file(session, campaign, write(tmp_path, "v.csv", HEADER + rows))
    session.commit()
    counted = dict(session.execute(sa.text(
        "SELECT relname, reltuples FROM pg_class WHERE relname IN ('person', 'household', 'external_id', 'phone')")).all())
    assert counted == {"person": 1200, "household": 1200, "external_id": 1200, "phone": 1200}


def test_stored_fingerprints_read_in_pages_and_apart_are_all_of_the_campaigns(session, campaign, tmp_path,
                                                                                monkeypatch):
    """A big campaign's fingerprints are read a page of ids at a time, its later pages on a second connection (both
    engines): every person's fingerprint comes back once, whatever the pages."""
    from canvass.importing import streaming

    rows = "".join(f"{n},A{n},B{n},{n} Oak St,Durham,27701,,DEM,,1980\n" for n in range(1, 41))
    importing.import_file(session, campaign, write(tmp_path, "v.csv", HEADER + rows))
    session.commit()
    stored = session.exec(sa.select(Person.source_hash).where(Person.campaign_id == campaign.id)).all()
    expected = np.sort(np.array([int(value) for (value,) in stored], dtype=np.uint64))
    assert len(expected) == 40
    whole = streaming.stored_fingerprints(session, campaign.id)
    monkeypatch.setattr(streaming, "PAGE_IDS", 3)  # 14 pages: the later 7 read on a second connection
    apart = []
    read_apart = streaming._fingerprints_apart
    monkeypatch.setattr(streaming, "_fingerprints_apart", lambda *args: apart.append(args) or read_apart(*args))
    paged = streaming.stored_fingerprints(session, campaign.id)
    assert np.array_equal(whole, expected) and np.array_equal(paged, expected)
    assert len(apart) == 1
