"""Vote-history import speed against a floor measured in the same run (issue 24: 1M history rows in <= 3x the
floor the voter import is held to).

Floor, as in import_bench.py: pandas reads the file (as text) and the rows go into a table of text as they are
(sqlite3 executemany; PostgreSQL COPY). The import reads the same file, matches every row to a person by voter ID,
creates the elections and writes the votes. Each phase runs in a process of its own, so its peak memory is its own.

    python benchmarks/history_bench.py [--rows 1000000] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/bench]
        [--engines sqlite postgresql] [--out benchmarks/out]

The file is North Carolina's ncvhis layout (15 tab-separated columns), one row per person and election: people vote in
about 5 of 12 elections, and 3% of the rows belong to nobody in the campaign.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
HEADER = ["county_id", "county_desc", "voter_reg_num", "election_lbl", "election_desc", "voting_method",
          "voted_party_cd", "voted_party_desc", "pct_label", "pct_description", "ncid", "voted_county_id",
          "voted_county_desc", "vtd_label", "vtd_description"]
ELECTIONS = [("11/03/2020", "GENERAL"), ("03/03/2020", "PRIMARY"), ("11/05/2019", "MUNICIPAL GENERAL"),
             ("11/06/2018", "GENERAL"), ("05/08/2018", "PRIMARY"), ("11/07/2017", "MUNICIPAL GENERAL"),
             ("11/08/2016", "GENERAL"), ("03/15/2016", "PRIMARY"), ("11/03/2015", "MUNICIPAL GENERAL"),
             ("11/04/2014", "GENERAL"), ("05/06/2014", "PRIMARY"), ("11/06/2012", "GENERAL")]
METHODS = np.array(["IN-PERSON", "ABSENTEE ONESTOP", "ABSENTEE BY MAIL", "PROVISIONAL"])


def ncid(numbers: np.ndarray) -> np.ndarray:
    return np.char.add("AA", np.char.zfill(numbers.astype(str), 8))


def generate(path: Path, rows: int, seed: int = 24) -> int:
    """Writes the history file; returns how many people it names (the campaign holds 97% of them)."""
    rng = np.random.default_rng(seed)
    people = rows // 5
    person = rng.integers(0, people, rows)
    election = rng.integers(0, len(ELECTIONS), rows)
    days = np.array([e[0] for e in ELECTIONS])[election]
    frame = pd.DataFrame({
        "county_id": "19", "county_desc": "CHATHAM", "voter_reg_num": np.char.zfill(person.astype(str), 12),
        "election_lbl": days, "election_desc": np.char.add(np.char.add(days, " "),
                                                           np.array([e[1] for e in ELECTIONS])[election]),
        "voting_method": METHODS[rng.integers(0, len(METHODS), rows)], "voted_party_cd": "DEM",
        "voted_party_desc": "DEMOCRATIC", "pct_label": "HR", "pct_description": "HICKORY MOUNTAIN",
        "ncid": ncid(person), "voted_county_id": "19", "voted_county_desc": "CHATHAM", "vtd_label": "HR",
        "vtd_description": "HR"}, columns=HEADER)
    frame.to_csv(path, sep="\t", index=False)
    return people


# ------------------------------------------------------------------------------------------------------------------
# Phases (each in its own process)


def phase_people(url: str, people: int) -> None:
    """The campaign's people and their NC IDs (not timed): everyone but every 33rd of those the file names."""
    import sqlalchemy as sa
    from sqlmodel import Session

    from canvass import bulk, campaigns, db
    from canvass.models import ExternalId, Person

    engine = db.make_engine(url)
    with Session(engine) as session:
        campaign = campaigns.create_campaign(session, "Bench", "bench")
        session.flush()
        numbers = np.arange(people)
        numbers = numbers[numbers % 33 != 0]
        ids = bulk.reserve_ids(session, Person.__table__, len(numbers))
        frame = pd.DataFrame({"id": ids, "campaign_id": campaign.id})
        for column in Person.__table__.columns:
            if column.name in frame or column.nullable or column.server_default is not None:
                continue
            kind = column.type
            frame[column.name] = "{}" if isinstance(kind, sa.JSON) else False if isinstance(kind, sa.Boolean) else \
                0 if isinstance(kind, sa.Integer) else ""
        frame["last_name"] = ncid(numbers)
        bulk.insert_frame(session, Person.__table__, frame)
        bulk.insert_frame(session, ExternalId.__table__, pd.DataFrame({
            "campaign_id": campaign.id, "person_id": ids, "source": "voter_id", "value": ncid(numbers)}))
        session.commit()
    engine.dispose()


def phase_floor(path: Path, url: str) -> None:
    """pandas reads the file and the rows go into a table of text as they are, a million at a time."""
    chunks = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, chunksize=1_000_000)
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url.split("///", 1)[1])
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        for number, frame in enumerate(chunks):
            if number == 0:
                conn.execute(f"CREATE TABLE floor ({', '.join(f'{c} TEXT' for c in frame.columns)})")
            conn.executemany(f"INSERT INTO floor VALUES ({', '.join('?' for _ in frame.columns)})",
                             frame.itertuples(index=False, name=None))
        conn.commit()
        conn.close()
        return
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        conn.execute("DROP TABLE IF EXISTS floor")
        for number, frame in enumerate(chunks):
            if number == 0:
                conn.execute(f"CREATE TABLE floor ({', '.join(f'{c} TEXT' for c in frame.columns)})")
            buffer = io.StringIO()
            frame.to_csv(buffer, index=False, header=False)
            with conn.cursor().copy("COPY floor FROM STDIN WITH (FORMAT csv)") as copy:
                copy.write(buffer.getvalue())


def phase_import(path: Path, url: str) -> dict:
    from sqlmodel import Session

    from canvass import campaigns, db, history

    engine = db.make_engine(url)
    with Session(engine) as session:
        campaign = campaigns.get_campaign(session, "bench")
        report = history.import_history(session, campaign, path)
        session.commit()
    engine.dispose()
    return report.summary()


def _child(phase: list[str]) -> None:
    from canvass.allocators import tune_memory_for_bulk_work

    tune_memory_for_bulk_work()  # as the command line does when it starts
    import canvass.history  # noqa: F401  (libraries are loaded before the clock starts, the floor's too)

    started = time.perf_counter()
    result: dict = {}
    if phase[0] == "floor":
        phase_floor(Path(phase[1]), phase[2])
    elif phase[0] == "people":
        phase_people(phase[1], int(phase[2]))
    else:
        result["summary"] = phase_import(Path(phase[1]), phase[2])
    result["seconds_inside"] = time.perf_counter() - started
    result["peak_mb"] = _peak_mb()
    print(json.dumps(result))


def _peak_mb() -> float:
    """This process's peak memory. Not getrusage's ru_maxrss: Linux keeps it across exec, so a phase would report
    the parent's peak (the parent that generated the file)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def run_phase(*args: str) -> dict:
    output = subprocess.run([sys.executable, __file__, "--phase", *args], check=True, capture_output=True, text=True)
    return json.loads(output.stdout.strip().splitlines()[-1])


def fresh_database(kind: str, folder: Path, pg_url: str, name: str) -> str:
    from canvass import db

    if kind == "sqlite":
        url = f"sqlite:///{folder / name}.db"
    else:
        import psycopg

        database = f"{pg_url.rsplit('/', 1)[1] or 'bench'}_history_{name}"
        admin = pg_url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {database}")
        url = pg_url.rsplit("/", 1)[0] + f"/{database}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    engine.dispose()
    return url


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pg", default=os.environ.get("CANVASS_BENCH_PG", ""))
    parser.add_argument("--engines", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--out", type=Path, default=HERE / "out")
    parser.add_argument("--phase", nargs="*")
    args = parser.parse_args()
    if args.phase:
        return _child(args.phase)
    args.out.mkdir(parents=True, exist_ok=True)
    source = args.out / f"ncvhis_{args.rows}.txt"
    people = generate(source, args.rows)
    results = {"rows": args.rows, "people": people}
    with tempfile.TemporaryDirectory(dir=args.out) as folder:
        for kind in [e for e in args.engines if e == "sqlite" or args.pg]:
            floor = run_phase("floor", str(source), fresh_database(kind, Path(folder), args.pg, "floor"))
            url = fresh_database(kind, Path(folder), args.pg, "canvass")
            run_phase("people", url, str(people))
            first = run_phase("import", str(source), url)
            again = run_phase("import", str(source), url)
            results[kind] = {
                "floor_s": round(floor["seconds_inside"], 2), "floor_peak_mb": floor["peak_mb"],
                "import_s": round(first["seconds_inside"], 2), "ratio": round(first["seconds_inside"] /
                                                                              floor["seconds_inside"], 2),
                "peak_mb": first["peak_mb"], "reimport_s": round(again["seconds_inside"], 2),
                "import": first["summary"], "reimport": again["summary"]}
            print(json.dumps({kind: results[kind]}), flush=True)
    source.unlink()
    (args.out / "history.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
