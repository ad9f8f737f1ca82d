"""Import speed against a floor measured in the same run (issue: import voter files fast).

Floor: pandas reading the CSV plus a plain bulk insert of the same rows (sqlite3 executemany; PostgreSQL COPY), with
no normalising. Each phase runs in its own process, so its peak memory is its own.

    python benchmarks/import_bench.py [--rows 1000000] [--xlsx-rows 200000] [--pg URL] [--out benchmarks/out]
        [--only csv|xlsx]

Targets: first import <= 3x floor (SQLite and PostgreSQL), peak memory < 2 GB; re-import with 10% of rows changed
<= 4x floor; XLSX of 200k rows <= 1.5x pandas + python-calamine reading it. Also timed, without a target: checking
and importing a 500-row sign-up sheet (no IDs) into the million-person campaign.
"""

from __future__ import annotations

import argparse
import csv
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
COLUMNS = ["voter_id", "first_name", "middle_name", "last_name", "res_street_address", "res_city", "state", "zip_code",
           "phone", "party", "precinct", "birth_year", "gender", "registration_date", "status"]

FIRST = np.array(["MARIA", "JOSE", "JAMES", "MARY", "MINH", "LAN", "JISOO", "WEI", "ANA", "JOHN", "LINDA", "CARLOS",
                  "ROSA", "DAVID", "THU", "HUNG", "KEVIN", "SARAH", "LUIS", "PATRICIA"])
LAST = np.array(["GARCIA", "NGUYEN", "SMITH", "KIM", "LEE", "HERNANDEZ", "TRAN", "JOHNSON", "LOPEZ", "CHEN", "PARK",
                 "WILLIAMS", "MARTINEZ", "PHAM", "BROWN", "WANG", "DAVIS", "GONZALEZ", "LE", "JONES", "RIVERA"])
STREETS = np.array([f"{name} {kind}" for name in ["MAIN", "OAK", "MAPLE", "CEDAR", "ELM", "PINE", "WASHINGTON", "LAKE",
                                                  "HILL", "PARK", "1ST", "2ND", "3RD", "4TH", "5TH", "BROADWAY",
                                                  "MARKET", "CHURCH", "RIVER", "SUNSET", "LINCOLN", "JACKSON"]
                    for kind in ["ST", "AVE", "RD", "DR", "LN", "CT", "BLVD", "WAY"]])
CITIES = np.array(["DURHAM", "RALEIGH", "CARY", "APEX", "GARNER", "SANFORD", "CHAPEL HILL", "MORRISVILLE"])
PARTIES = np.array(["DEM", "REP", "UNA", "LIB", "GRE"])


def generate(path: Path, rows: int, seed: int = 1) -> None:
    """A voter file like a county's: households of 1-4 people, apartments, phones for most, padded spaces."""
    rng = np.random.default_rng(seed)
    doors = rows * 10 // 24
    door = np.sort(rng.integers(0, doors, rows))
    number = (door * 7919 % 9000 + 100).astype(str)
    street = STREETS[door % len(STREETS)]
    unit = np.where(door % 9 == 0, np.char.add(" APT ", (door % 40 + 1).astype(str)), "")
    city_index = door % len(CITIES)
    frame = pd.DataFrame({
        "voter_id": np.char.zfill((np.arange(rows) * 37 + 1000).astype(str), 12),
        "first_name": FIRST[rng.integers(0, len(FIRST), rows)],
        "middle_name": np.where(rng.random(rows) < 0.6, FIRST[rng.integers(0, len(FIRST), rows)], ""),
        "last_name": LAST[door % len(LAST)],
        "res_street_address": np.char.add(np.char.add(np.char.add(number, "  "), street), unit),
        "res_city": CITIES[city_index], "state": "NC",
        "zip_code": (27500 + city_index * 3 + door % 3).astype(str),
        "phone": np.where(rng.random(rows) < 0.65, (9190000000 + rng.integers(2000000, 9999999, rows)).astype(str), ""),
        "party": PARTIES[rng.integers(0, len(PARTIES), rows)],
        "precinct": np.char.add("P", (door % 250).astype(str)),
        "birth_year": rng.integers(1935, 2006, rows).astype(str),
        "gender": np.where(rng.random(rows) < 0.5, "F", "M"),
        "registration_date": np.char.add("03/15/", rng.integers(1980, 2024, rows).astype(str)),
        "status": np.where(rng.random(rows) < 0.9, "ACTIVE", "INACTIVE"),
    })
    frame.to_csv(path, index=False)


def change_tenth(source: Path, target: Path) -> None:
    """The same file with 10% of its rows changed (party and phone), as next week's file would be."""
    frame = pd.read_csv(source, dtype=str, keep_default_na=False)
    picked = frame.index[::10]
    frame.loc[picked, "party"] = "UNA"
    frame.loc[picked, "precinct"] = frame.loc[picked, "precinct"] + "A"
    frame.to_csv(target, index=False)


def write_xlsx(source: Path, target: Path, rows: int) -> None:
    import xlsxwriter

    frame = pd.read_csv(source, dtype=str, keep_default_na=False, nrows=rows)
    book = xlsxwriter.Workbook(str(target), {"constant_memory": True})
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, list(frame.columns))
    for index, row in enumerate(frame.itertuples(index=False), start=1):
        sheet.write_row(index, 0, row)
    book.close()


# ------------------------------------------------------------------------------------------------------------------
# Phases (each in its own process)


def phase_floor(path: Path, url: str) -> None:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url.split("///", 1)[1])
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"CREATE TABLE floor ({', '.join(f'{c} TEXT' for c in frame.columns)})")
        conn.executemany(f"INSERT INTO floor VALUES ({', '.join('?' for _ in frame.columns)})",
                         frame.itertuples(index=False, name=None))
        conn.commit()
        conn.close()
    else:
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
            conn.execute("DROP TABLE IF EXISTS floor")
            conn.execute(f"CREATE TABLE floor ({', '.join(f'{c} TEXT' for c in frame.columns)})")
            buffer = io.StringIO()
            frame.to_csv(buffer, index=False, header=False)
            with conn.cursor().copy("COPY floor FROM STDIN WITH (FORMAT csv)") as copy:
                copy.write(buffer.getvalue())
            conn.commit()


def phase_import(path: Path, url: str) -> dict:
    from sqlmodel import Session

    from canvass import campaigns, db
    from canvass.importing import import_file

    engine = db.make_engine(url)
    with Session(engine) as session:
        campaign = campaigns.get_campaign(session, "bench") or campaigns.create_campaign(session, "Bench", "bench")
        session.commit()
        summary = import_file(session, campaign, path)
        session.commit()
    engine.dispose()
    return summary


def write_signup(source: Path, target: Path, rows: int = 500) -> None:
    """A sign-up sheet as a field team sends it: names, addresses and phones of some voters, no IDs, spread over the
    file."""
    frame = pd.read_csv(source, dtype=str, keep_default_na=False)
    picked = frame.iloc[:: max(1, len(frame) // rows)].head(rows)
    picked[["first_name", "last_name", "res_street_address", "res_city", "zip_code", "phone"]].rename(columns={
        "first_name": "First", "last_name": "Last", "res_street_address": "Address", "res_city": "City",
        "zip_code": "Zip", "phone": "Phone"}).to_csv(target, index=False)


def phase_small(path: Path, url: str) -> dict:
    """Checks, then imports, a small file into the big campaign, and rolls the import back (the campaign stays as
    the re-import left it)."""
    from sqlmodel import Session

    from canvass import campaigns, db
    from canvass.importing import check_file, import_file

    engine = db.make_engine(url)
    with Session(engine) as session:
        campaign = campaigns.get_campaign(session, "bench")
        started = time.perf_counter()
        check_file(session, campaign, path)
        session.rollback()
        checked = time.perf_counter() - started
        summary = import_file(session, campaign, path)
        session.rollback()
    engine.dispose()
    return {"check_s": round(checked, 2), "import_s": summary["seconds"], "updated": summary["updated"],
            "inserted": summary["inserted"]}


def phase_calamine(path: Path) -> None:
    pd.read_excel(path, engine="calamine", dtype=str)


def run_phase(*args: str) -> tuple[float, float, dict]:
    """Runs one phase in a child process. Returns (seconds, peak MB, its result)."""
    started = time.perf_counter()
    output = subprocess.run([sys.executable, __file__, "--phase", *args], check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    result = json.loads(output.stdout.strip().splitlines()[-1])
    return result.get("seconds_inside", seconds), result["peak_mb"], result


def fresh_database(kind: str, folder: Path, pg_url: str, name: str) -> str:
    from canvass import db

    if kind == "sqlite":
        url = f"sqlite:///{folder / name}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{folder / name}.db{suffix}").unlink(missing_ok=True)
    else:
        import psycopg

        admin = pg_url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS bench_{name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE bench_{name}")
        url = pg_url.rsplit("/", 1)[0] + f"/bench_{name}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    engine.dispose()
    return url


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=200_000)
    parser.add_argument("--pg", default=os.environ.get("CANVASS_BENCH_PG", ""), help="PostgreSQL URL (server/db)")
    parser.add_argument("--out", type=Path, default=HERE / "out")
    parser.add_argument("--repeat", type=int, default=2, help="best of N runs of each phase (the machine is shared)")
    parser.add_argument("--only", choices=["csv", "xlsx"], help="run only the CSV (1M rows) or only the XLSX part")
    parser.add_argument("--phase", nargs="*")
    args = parser.parse_args()
    if args.phase:
        return _child(args.phase)
    args.out.mkdir(parents=True, exist_ok=True)
    source, changed, book = args.out / f"voters_{args.rows}.csv", args.out / f"voters_{args.rows}_changed.csv", \
        args.out / f"voters_{args.xlsx_rows}.xlsx"
    if not source.exists():
        generate(source, args.rows)
    if not changed.exists():
        change_tenth(source, changed)
    signup = args.out / "signup_500.csv"
    if not signup.exists():
        write_signup(source, signup)
    results = {"rows": args.rows}
    engines = [] if args.only == "xlsx" else ["sqlite"] + (["postgresql"] if args.pg else [])
    with tempfile.TemporaryDirectory(dir=args.out) as folder:
        for kind in engines:
            trials = []
            for _ in range(args.repeat):
                floor_url = fresh_database(kind, Path(folder), args.pg, "floor")
                floor, _, _ = run_phase("floor", str(source), floor_url)
                url = fresh_database(kind, Path(folder), args.pg, "canvass")
                first, first_mb, summary = run_phase("import", str(source), url)
                again, again_mb, summary2 = run_phase("import", str(changed), url)
                small = run_phase("small", str(signup), url)[2]["summary"]
                trials.append((floor, first, first_mb, again, again_mb, summary, summary2, small))
            floor = min(t[0] for t in trials)
            first, again = min(t[1] for t in trials), min(t[3] for t in trials)
            results[kind] = {"floor_s": round(floor, 2), "first_import_s": round(first, 2),
                             "first_ratio": round(first / floor, 2),
                             "first_peak_mb": round(max(t[2] for t in trials)),
                             "reimport_s": round(again, 2), "reimport_ratio": round(again / floor, 2),
                             "reimport_peak_mb": round(max(t[4] for t in trials)),
                             "first_summary": trials[0][5]["summary"], "reimport_summary": trials[0][6]["summary"],
                             # a 500-row sign-up sheet without IDs against the million people: seconds, not a ratio
                             "small_file": min((t[7] for t in trials), key=lambda r: r["check_s"] + r["import_s"])}
            print(kind, json.dumps(results[kind]), flush=True)
        if args.xlsx_rows and args.only != "csv":
            if not book.exists():
                write_xlsx(source, book, args.xlsx_rows)
            reads, imports, peaks = [], [], []
            for _ in range(max(args.repeat, 3)):
                reads.append(run_phase("calamine", str(book))[0])
                url = fresh_database("sqlite", Path(folder), args.pg, "xlsx")
                seconds, peak, _ = run_phase("import", str(book), url)
                imports.append(seconds)
                peaks.append(peak)
            read, xlsx = min(reads), min(imports)
            results["xlsx"] = {"rows": args.xlsx_rows, "pandas_calamine_s": round(read, 2), "import_s": round(xlsx, 2),
                               "ratio": round(xlsx / read, 2), "peak_mb": round(max(peaks))}
            print("xlsx", json.dumps(results["xlsx"]), flush=True)
    (args.out / "import.json").write_text(json.dumps(results, indent=2))


def _child(phase: list[str]) -> None:
    from canvass.allocators import tune_memory_for_bulk_work

    tune_memory_for_bulk_work()  # as the app and the command line do when they start (the floor too, as before)
    # Libraries are loaded before the clock starts: the floor does not pay for importing them either.
    import fastexcel  # noqa: F401
    import python_calamine  # noqa: F401
    import sqlmodel  # noqa: F401

    import canvass.importing  # noqa: F401

    started = time.perf_counter()
    summary = {}
    if phase[0] == "floor":
        phase_floor(Path(phase[1]), phase[2])
    elif phase[0] == "import":
        summary = phase_import(Path(phase[1]), phase[2])
    elif phase[0] == "small":
        summary = phase_small(Path(phase[1]), phase[2])
    elif phase[0] == "calamine":
        phase_calamine(Path(phase[1]))
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds_inside": seconds, "peak_mb": _peak_mb(), "summary": summary}))


def _peak_mb() -> float:
    """This process's own peak memory. ``ru_maxrss`` carries over the parent's peak through fork and exec: after the
    parent had generated the million-row files, every phase reported the parent's 1.6 GB."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):  # not Linux
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    csv.field_size_limit(1 << 30)
    main()
