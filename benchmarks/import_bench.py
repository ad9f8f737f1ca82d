"""Import speed and memory against a floor measured in the same run (issues: import voter files fast; statewide
files in bounded memory).

Floor: pandas reading the CSV plus a plain bulk insert of the same rows (sqlite3 executemany; PostgreSQL COPY), with
no normalising, a million rows at a time. Read: pandas reading the re-imported file, nothing more. Each phase runs in
its own process, so its peak memory is its own. Generated files (1 GB for 10M rows) are deleted afterwards.

    python benchmarks/import_bench.py [--rows 1000000 10000000] [--pg URL] [--engines sqlite postgresql]
        [--changed-every 100] [--xlsx-rows 200000] [--out benchmarks/out] [--only csv|xlsx]

Targets: first import <= 3x floor (SQLite and PostgreSQL), peak memory < 2 GB whatever the file's size; re-import
with 1 row in 100 changed writes only those rows and takes <= 2x reading the file (measured as next week's file
meets the database: after autovacuum's pass, see ``settle``; also straight after the first import); XLSX of 200k
rows <= 1.5x pandas + python-calamine reading it. Also timed, without a target: checking and importing a 500-row
sign-up sheet (no IDs) into the big campaign.
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


GENERATE_ROWS = 1_000_000  # rows generated (and changed) at a time: a 10M-row file never sits in memory


def generate(path: Path, rows: int, seed: int = 1) -> None:
    """A voter file like a county's: households of 1-4 people, apartments, phones for most, padded spaces. Sorted by
    door, as voter files usually are; written a million rows at a time."""
    rng = np.random.default_rng(seed)
    for start in range(0, rows, GENERATE_ROWS):
        count = min(GENERATE_ROWS, rows - start)
        first_door, doors = start * 10 // 24, max(1, count * 10 // 24)
        door = first_door + np.sort(rng.integers(0, doors, count))
        _voters(rng, door, start, count).to_csv(path, index=False, header=start == 0, mode="w" if start == 0 else "a")


def _voters(rng, door: np.ndarray, start: int, rows: int) -> pd.DataFrame:
    number = (door * 7919 % 9000 + 100).astype(str)
    street = STREETS[door % len(STREETS)]
    unit = np.where(door % 9 == 0, np.char.add(" APT ", (door % 40 + 1).astype(str)), "")
    city_index = door % len(CITIES)
    return pd.DataFrame({
        "voter_id": np.char.zfill((np.arange(start, start + rows) * 37 + 1000).astype(str), 12),
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


def change_some(source: Path, target: Path, every: int) -> None:
    """The same file with one row in ``every`` changed (party and precinct), as next week's file would be."""
    with pd.read_csv(source, dtype=str, keep_default_na=False, chunksize=GENERATE_ROWS) as chunks:
        for number, frame in enumerate(chunks):
            picked = frame.index[::every]
            frame.loc[picked, "party"] = "UNA"
            frame.loc[picked, "precinct"] = frame.loc[picked, "precinct"] + "A"
            frame.to_csv(target, index=False, header=number == 0, mode="w" if number == 0 else "a")


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
    """pandas reads the file and the rows go into a table of text as they are, a million at a time."""
    chunks = pd.read_csv(path, dtype=str, keep_default_na=False, chunksize=GENERATE_ROWS)
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
    else:
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
            conn.commit()


def phase_read(path: Path) -> None:
    """Reading the file, nothing more: what a re-import that changes 1% of it is measured against."""
    with pd.read_csv(path, dtype=str, keep_default_na=False, chunksize=GENERATE_ROWS) as chunks:
        for _ in chunks:
            pass


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


def phase_check(path: Path, url: str) -> dict:
    """The web flow's check of the file (read, clean, match, no writes) into an empty campaign: what bounds the
    memory of reading, cleaning and matching, without the hours a 10M-row write takes on a shared machine."""
    from sqlmodel import Session

    from canvass import campaigns, db
    from canvass.importing import check_file

    engine = db.make_engine(url)
    with Session(engine) as session:
        campaign = campaigns.get_campaign(session, "bench") or campaigns.create_campaign(session, "Bench", "bench")
        session.commit()
        report = check_file(session, campaign, path)
    engine.dispose()
    return {"rows": report.rows, **report.counts}


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


def _pg_name(pg_url: str, name: str) -> str:
    return f"{pg_url.rsplit('/', 1)[1] or 'bench'}_{name}"


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
            conn.execute(f"DROP DATABASE IF EXISTS {_pg_name(pg_url, name)} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {_pg_name(pg_url, name)}")
        url = pg_url.rsplit("/", 1)[0] + f"/{_pg_name(pg_url, name)}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    engine.dispose()
    return url


def drop_databases(kind: str, pg_url: str) -> None:
    """A 10M-row campaign takes GBs of disk: dropped once measured."""
    if kind != "postgresql":
        return
    import psycopg

    admin = pg_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        for name in ("floor", "canvass"):
            conn.execute(f"DROP DATABASE IF EXISTS {_pg_name(pg_url, name)} WITH (FORCE)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--xlsx-rows", type=int, default=200_000)
    parser.add_argument("--pg", default=os.environ.get("CANVASS_BENCH_PG", ""),
                        help="PostgreSQL URL; its databases are named after the URL's (<db>_floor, <db>_canvass)")
    parser.add_argument("--out", type=Path, default=HERE / "out")
    parser.add_argument("--repeat", type=int, default=1, help="best of N runs of each phase (the machine is shared)")
    parser.add_argument("--changed-every", type=int, default=100, help="the re-imported file changes 1 row in N")
    parser.add_argument("--only", choices=["csv", "xlsx"], help="run only the CSV or only the XLSX part")
    parser.add_argument("--engines", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--keep-files", action="store_true", help="keep the generated files (they take GBs)")
    parser.add_argument("--check-only", action="store_true",
                        help="for each size, only the read and the dry-run check (SQLite): time and peak memory")
    parser.add_argument("--phase", nargs="*")
    args = parser.parse_args()
    if args.phase:
        return _child(args.phase)
    args.out.mkdir(parents=True, exist_ok=True)
    results = {}
    if args.only != "xlsx":
        for rows in args.rows:
            results[str(rows)] = check_results(args, rows) if args.check_only else csv_results(args, rows)
            (args.out / "import.json").write_text(json.dumps(results, indent=2))
    if args.xlsx_rows and args.only != "csv":
        results["xlsx"] = xlsx_results(args)
    (args.out / "import.json").write_text(json.dumps(results, indent=2))


def csv_results(args, rows: int) -> dict:
    """First import and re-import of a generated file of ``rows`` rows, against the floor and the read measured in the
    same run, on each engine."""
    source, changed = args.out / f"voters_{rows}.csv", args.out / f"voters_{rows}_changed_{args.changed_every}.csv"
    signup = args.out / "signup_500.csv"
    if not source.exists():
        generate(source, rows)
    if not changed.exists():
        change_some(source, changed, args.changed_every)
    if not signup.exists():
        write_signup(source, signup)
    results = {"rows": rows, "changed": f"1 in {args.changed_every}"}
    engines = [e for e in args.engines if e == "sqlite" or args.pg]
    try:
        with tempfile.TemporaryDirectory(dir=args.out) as folder:
            for kind in engines:
                trials = []
                for _ in range(args.repeat):
                    read = run_phase("read", str(changed))[0]
                    floor_url = fresh_database(kind, Path(folder), args.pg, "floor")
                    floor, floor_mb, _ = run_phase("floor", str(source), floor_url)
                    url = fresh_database(kind, Path(folder), args.pg, "canvass")
                    first, first_mb, summary = run_phase("import", str(source), url)
                    at_once = run_phase("import", str(changed), url)[0]
                    settle(kind, url)
                    # Back to the first file: again 1 row in N changed, now into a database as a week later
                    again, again_mb, summary2 = run_phase("import", str(source), url)
                    small = run_phase("small", str(signup), url)[2]["summary"]
                    trials.append((floor, first, first_mb, again, again_mb, summary, summary2, small, read, at_once))
                floor, read = min(t[0] for t in trials), min(t[8] for t in trials)
                first, again = min(t[1] for t in trials), min(t[3] for t in trials)
                results[kind] = {"floor_s": round(floor, 2), "read_s": round(read, 2),
                                 "first_import_s": round(first, 2), "first_ratio": round(first / floor, 2),
                                 "first_peak_mb": round(max(t[2] for t in trials)),
                                 "reimport_s": round(again, 2), "reimport_ratio": round(again / floor, 2),
                                 "reimport_to_read": round(again / read, 2),
                                 "reimport_peak_mb": round(max(t[4] for t in trials)),
                                 "reimport_right_after_load_s": round(min(t[9] for t in trials), 2),
                                 "reimport_right_after_load_to_read": round(min(t[9] for t in trials) / read, 2),
                                 "first_summary": trials[0][5]["summary"], "reimport_summary": trials[0][6]["summary"],
                                 # a 500-row sign-up sheet without IDs against the big campaign: seconds, not a ratio
                                 "small_file": min((t[7] for t in trials), key=lambda r: r["check_s"] + r["import_s"])}
                print(rows, kind, json.dumps(results[kind]), flush=True)
                drop_databases(kind, args.pg)
    finally:
        if not args.keep_files:
            for path in (source, changed):
                path.unlink(missing_ok=True)
    return results


def settle(kind: str, url: str) -> None:
    """What the days between two weekly files do to a PostgreSQL database: autovacuum goes over the freshly loaded
    tables. Until then the first full read of a bulk-loaded table checks every row's transaction and writes every
    page back with hint bits, which a re-import straight after a 10M-row load pays (reported apart, as
    ``reimport_right_after_load_s``). Not timed."""
    if kind != "postgresql":
        return
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")


def check_results(args, rows: int) -> dict:
    source = args.out / f"voters_{rows}.csv"
    if not source.exists():
        generate(source, rows)
    try:
        with tempfile.TemporaryDirectory(dir=args.out) as folder:
            read = run_phase("read", str(source))[0]
            url = fresh_database("sqlite", Path(folder), args.pg, "check")
            seconds, peak, result = run_phase("check", str(source), url)
    finally:
        if not args.keep_files:
            source.unlink(missing_ok=True)
    result = {"rows": rows, "read_s": round(read, 2), "check_s": round(seconds, 2),
              "check_to_read": round(seconds / read, 2), "check_peak_mb": round(peak), "counts": result["summary"]}
    print(rows, "check", json.dumps(result), flush=True)
    return result


def xlsx_results(args) -> dict:
    rows = args.xlsx_rows
    source, book = args.out / f"voters_{rows}.csv", args.out / f"voters_{rows}.xlsx"
    with tempfile.TemporaryDirectory(dir=args.out) as folder:
        if not book.exists():
            generate(source, rows)
            write_xlsx(source, book, rows)
            source.unlink()
        reads, imports, peaks = [], [], []
        for _ in range(max(args.repeat, 3)):
            reads.append(run_phase("calamine", str(book))[0])
            url = fresh_database("sqlite", Path(folder), args.pg, "xlsx")
            seconds, peak, _ = run_phase("import", str(book), url)
            imports.append(seconds)
            peaks.append(peak)
    read, xlsx = min(reads), min(imports)
    result = {"rows": rows, "pandas_calamine_s": round(read, 2), "import_s": round(xlsx, 2),
              "ratio": round(xlsx / read, 2), "peak_mb": round(max(peaks))}
    print("xlsx", json.dumps(result), flush=True)
    return result


def _child(phase: list[str]) -> None:
    from canvass.allocators import tune_memory_for_bulk_work

    tune_memory_for_bulk_work()  # as the app and the command line do when they start (the floor too, as before)
    # Libraries are loaded before the clock starts: the floor does not pay for importing them either.
    import fastexcel  # noqa: F401
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
    elif phase[0] == "check":
        summary = phase_check(Path(phase[1]), phase[2])
    elif phase[0] == "read":
        phase_read(Path(phase[1]))
    elif phase[0] == "calamine":
        import python_calamine  # noqa: F401 (the bench extra; only this phase needs it)

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
