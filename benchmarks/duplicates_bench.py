"""How long finding likely duplicates takes on a large campaign.

    python benchmarks/duplicates_bench.py [--people 1000000] [--database URL]

Builds a campaign of made-up people in bulk (a door per two people, a phone each and a shared landline at one door
in five, a voter ID each), plants a thousand duplicates of each kind, and times ``duplicates.find_duplicates``.
Prints one JSON object: people, pairs found, seconds.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session

from canvass import bulk, campaigns, db, duplicates
from canvass.models import ExternalId, Household, Person, Phone

PLANTED = 1000


def build(session: Session, people: int, seed: int = 7) -> int:
    rng = np.random.default_rng(seed)
    campaign = campaigns.create_campaign(session, "Benchmark", "bench")
    session.flush()
    doors = people // 2
    household_ids = np.arange(1, doors + 1)
    bulk.insert_frame(session, Household.__table__, pd.DataFrame({
        "id": household_ids, "campaign_id": campaign.id, "address_key": [f"{i} MAIN ST|27701" for i in household_ids],
        "building_key": [f"{i} MAIN ST|27701" for i in household_ids], "address": "", "house_number": "",
        "street": "MAIN ST", "unit": "", "city": "", "state": "", "zip5": "27701", "zip4": "", "precinct": "",
        "hostile_note": ""}))
    ids = np.arange(1, people + 1)
    first = np.array([f"FIRST{n}" for n in range(2000)])[rng.integers(0, 2000, people)]
    last = np.array([f"LAST{n}" for n in range(8000)])[rng.integers(0, 8000, people)]
    year = rng.integers(1940, 2006, people)
    door = rng.integers(1, doors + 1, people)
    planted = rng.choice(people // 2, PLANTED * 3, replace=False) * 2  # even rows: each copied onto the next one
    names, phones_of, ids_of = planted[:PLANTED], planted[PLANTED:2 * PLANTED], planted[2 * PLANTED:]
    for rows in (names, phones_of):
        first[rows + 1], year[rows + 1] = first[rows], year[rows]
    last[names + 1] = last[names]
    frame = pd.DataFrame({"id": ids, "campaign_id": campaign.id, "household_id": door, "first_name": first,
                          "middle_name": "", "last_name": last, "suffix": "", "language": "", "language_source": "",
                          "party": "", "precinct": "", "birth_year": year, "gender": "", "email": "",
                          "is_protected": False, "match_key": "", "source_hash": "", "custom": "{}",
                          "vote_history": "{}"})
    bulk.insert_frame(session, Person.__table__, frame)
    numbers = np.array([f"+1919{n:07d}" for n in rng.choice(10_000_000, people, replace=False)])
    landline = rng.random(people) < 0.2  # one door in five shares a landline: every person there gets it
    numbers[landline] = [f"+1984{d:07d}" for d in door[landline]]
    numbers[phones_of + 1] = numbers[phones_of]
    phones = pd.DataFrame({"person_id": ids, "e164": numbers, "type": "unknown", "status": "ok", "rank": 0,
                           "source": ""}).drop_duplicates(["person_id", "e164"])
    bulk.insert_frame(session, Phone.__table__, phones)
    external = pd.DataFrame({"campaign_id": campaign.id, "person_id": ids, "source": "voter_id",
                             "value": [f"NC{n:09d}" for n in ids]})
    copies = external.iloc[ids_of].assign(person_id=ids[ids_of + 1], source="county_voter_id")
    bulk.insert_frame(session, ExternalId.__table__, pd.concat([external, copies], ignore_index=True))
    session.commit()
    bulk.refresh_statistics(session, Person.__table__, Phone.__table__, ExternalId.__table__, Household.__table__)
    session.commit()
    return campaign.id


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--database", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database or f"sqlite:///{folder}/bench.db"
        engine = db.make_engine(url)
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        db.upgrade(engine)
        with Session(engine) as session:
            started = time.perf_counter()
            campaign_id = build(session, args.people)
            built = time.perf_counter() - started
        timings = []
        for _ in range(2):
            with Session(engine) as session:
                started = time.perf_counter()
                found = duplicates.find_duplicates(session, campaign_id)
                timings.append(time.perf_counter() - started)
        counts = pd.Series([r["code"] for rs in found["reasons"] for r in rs]).value_counts().to_dict()
        print(json.dumps({"engine": engine.dialect.name, "people": args.people, "pairs": len(found),
                          "by_reason": counts, "seconds": round(min(timings), 2), "build_seconds": round(built, 1)}))
        engine.dispose()


if __name__ == "__main__":
    main()
