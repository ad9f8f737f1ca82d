"""Export speed against plain writers measured in the same run (issue: exports).

    python benchmarks/export_bench.py [--contacts 1000000]

Targets: 1,000,000 contact attempts to XLSX in at most 1.3x a plain xlsxwriter constant_memory write of the same rows
and columns, peak memory under 1.5 GB; CSV within 1.5x of pandas to_csv of the same frame. Each phase runs in its own
process; the baselines time only their write (the rows are prepared before the clock starts).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TZ = "America/New_York"


def build_database(url: str, contacts: int) -> None:
    """People, doors, volunteers, a survey and ``contacts`` attempts over a week, written in bulk."""
    from sqlmodel import Session, select

    from canvass import bulk, campaigns, db
    from canvass.models import (
        ContactAttempt,
        ExternalId,
        Household,
        Person,
        SurveyOption,
        SurveyResponse,
        User,
    )

    engine = db.make_engine(url)
    db.upgrade(engine)
    rng = np.random.default_rng(3)
    people = max(contacts // 4, 10)
    doors = max(people // 2, 5)
    with Session(engine) as session:
        campaign = campaigns.create_campaign(session, "Bench", "bench")
        question = campaigns.add_question(session, campaign, code="SUPPORT", text="Support?", kind="scale")
        session.flush()
        options = list(session.exec(select(SurveyOption.id).where(SurveyOption.question_id == question.id)))
        bulk.take_write_lock(session, Person.__table__)
        user_ids = bulk.reserve_ids(session, User.__table__, 50)
        bulk.insert_frame(session, User.__table__, pd.DataFrame({
            "id": user_ids, "email": [f"v{i}@example.org" for i in range(50)], "name": [f"Volunteer {i}" for i in
                                                                                         range(50)],
            "role": "volunteer", "language": "en", "languages_spoken": '["en"]', "phone": "", "is_active": True,
            "created_at": datetime.now(UTC)}))
        door_ids = bulk.reserve_ids(session, Household.__table__, doors)
        bulk.insert_frame(session, Household.__table__, pd.DataFrame({
            "id": door_ids, "campaign_id": campaign.id, "address_key": [f"{i} MAIN ST|27701|" for i in range(doors)],
            "building_key": [f"{i} MAIN ST|27701" for i in range(doors)],
            "address": [f"{i} Main St" for i in range(doors)], "house_number": "", "street": "MAIN ST", "unit": "",
            "city": "Durham", "state": "NC", "zip5": "27701", "zip4": "", "precinct": "P1"}))
        person_ids = bulk.reserve_ids(session, Person.__table__, people)
        bulk.insert_frame(session, Person.__table__, pd.DataFrame({
            "id": person_ids, "campaign_id": campaign.id, "household_id": door_ids[np.arange(people) % doors],
            "first_name": "Maria", "middle_name": "", "last_name": [f"Garcia{i}" for i in range(people)],
            "suffix": "", "language": "es", "language_source": "file", "party": "DEM", "precinct": "P1",
            "gender": "", "email": "", "is_protected": False, "match_key": "", "source_hash": "", "custom": "{}",
            "vote_history": "{}"}))
        bulk.insert_frame(session, ExternalId.__table__, pd.DataFrame({
            "campaign_id": campaign.id, "person_id": person_ids, "source": "voter_id",
            "value": [f"{100000 + i}" for i in range(people)]}))
        contact_ids = bulk.reserve_ids(session, ContactAttempt.__table__, contacts)
        who = rng.integers(0, people, contacts)
        codes = rng.choice(["NH", "TK", "RF", "NA", "LM"], contacts, p=[.45, .25, .1, .15, .05])
        start = datetime(2026, 10, 26, 14, 0, tzinfo=UTC)
        bulk.insert_frame(session, ContactAttempt.__table__, pd.DataFrame({
            "id": contact_ids, "client_uuid": [uuid.uuid4().hex for _ in range(contacts)], "campaign_id": campaign.id,
            "person_id": person_ids[who], "household_id": door_ids[who % doors],
            "user_id": user_ids[rng.integers(0, 50, contacts)],
            "channel": np.where(np.isin(codes, ["NA", "LM"]), "phone", "door"), "result_code": codes,
            "is_contact": codes == "TK", "notes": np.where(rng.random(contacts) < 0.1, "Talked about rent", ""),
            "language_heard": "",
            "contacted_at": [start + timedelta(seconds=int(s)) for s in rng.integers(0, 7 * 86400, contacts)],
            "received_at": start, "effects": "{}"}))
        talked = contact_ids[codes == "TK"]
        bulk.insert_frame(session, SurveyResponse.__table__, pd.DataFrame({
            "contact_id": talked, "question_id": question.id,
            "option_id": np.array(options)[rng.integers(0, len(options), len(talked))], "value": ""}))
        session.commit()
    engine.dispose()


def _child(args: list[str]) -> None:
    from sqlmodel import Session

    from canvass import campaigns, db, exports

    phase, url, folder = args
    engine = db.make_engine(url)
    with Session(engine) as session:
        campaign = campaigns.get_campaign(session, "bench")
        if phase in ("xlsx", "csv"):
            started = time.perf_counter()
            exports.export_file(session, campaign, exports.Filters(), path=Path(folder) / f"ours.{phase}",
                                timezone=TZ)
            seconds = time.perf_counter() - started
        elif phase == "csv_writer":  # our CSV writer on the built frame, timed like pandas' to_csv below
            export = exports.build(session, campaign, exports.Filters(), TZ, only="contacts")
            started = time.perf_counter()
            exports.write_csv(Path(folder) / "writer.csv", export)
            seconds = time.perf_counter() - started
        else:
            sheet = exports.contacts_sheet(exports.contacts_frame(session, campaign, exports.Filters(), TZ))
            if phase == "plain_xlsx":
                import xlsxwriter

                rows = exports._cells(sheet)
                header = [str(c) for c in sheet.columns]
                started = time.perf_counter()
                book = xlsxwriter.Workbook(str(Path(folder) / "plain.xlsx"), {"constant_memory": True})
                worksheet = book.add_worksheet()
                worksheet.write_row(0, 0, header)
                for index, row in enumerate(rows, start=1):
                    worksheet.write_row(index, 0, row)
                book.close()
            else:
                started = time.perf_counter()
                sheet.to_csv(Path(folder) / "plain.csv", index=False)
            seconds = time.perf_counter() - started
    engine.dispose()
    print(json.dumps({"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def run(*args: str) -> dict:
    output = subprocess.run([sys.executable, __file__, "--phase", *args], check=True, capture_output=True, text=True)
    return json.loads(output.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--phase", nargs="*")
    args = parser.parse_args()
    if args.phase:
        return _child(args.phase)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/export.db"
        started = time.perf_counter()
        build_database(url, args.contacts)
        print(f"database with {args.contacts:,} contacts built in {time.perf_counter() - started:.0f} s", flush=True)
        plain_xlsx, ours_xlsx = run("plain_xlsx", url, folder), run("xlsx", url, folder)
        plain_csv, ours_csv, writer_csv = run("plain_csv", url, folder), run("csv", url, folder), \
            run("csv_writer", url, folder)
    results = {"contacts": args.contacts,
               "xlsx": {"plain_xlsxwriter_s": round(plain_xlsx["seconds"], 1), "export_s": round(ours_xlsx["seconds"], 1),
                        "ratio": round(ours_xlsx["seconds"] / plain_xlsx["seconds"], 2),
                        "export_peak_mb": round(ours_xlsx["peak_mb"])},
               "csv": {"pandas_to_csv_s": round(plain_csv["seconds"], 1), "writer_s": round(writer_csv["seconds"], 1),
                       "writer_ratio": round(writer_csv["seconds"] / plain_csv["seconds"], 2),
                       "whole_export_with_database_read_s": round(ours_csv["seconds"], 1),
                       "export_peak_mb": round(ours_csv["peak_mb"])}}
    print(json.dumps(results, indent=2))
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    (out / "export.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
