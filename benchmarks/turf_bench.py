"""Turf cutting and walking routes (issue: turf).

    python benchmarks/turf_bench.py [--doors 1000000] [--target 60]

Targets: cutting 1,000,000 doors into ~60-door turfs under 30 s, with at least 90% of turfs within +/-20% of the
target; a 60-door route under 50 ms, at most 0.85x the plain street/house-number order on the real Sanford address
points (median over the turfs).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from canvass import bulk, campaigns, cutting, db, routing, turfs  # noqa: E402
from canvass.models import Household  # noqa: E402
from canvass.universe import Universe  # noqa: E402

SANFORD = Path(__file__).resolve().parents[1] / "imports" / "addr_osm_sanford_nc.csv"


def synthetic_doors(count: int, seed: int = 5) -> pd.DataFrame:
    """A metro area: clustered neighbourhoods on street grids, 12% of addresses apartment buildings."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform([35.6, -79.1], [36.2, -78.4], size=(300, 2))
    which = rng.integers(0, len(centres), count)
    lat = centres[which, 0] + rng.normal(0, 0.01, count)
    lon = centres[which, 1] + rng.normal(0, 0.012, count)
    street = np.char.add("STREET ", ((lat * 900).astype(int) % 5000).astype(str))
    number = (np.abs(lon * 100000).astype(int) % 9000) + 1
    building = np.char.add(np.char.add(number.astype(str), " "), street)
    apartment = rng.random(count) < 0.12
    building = np.where(apartment, building, np.char.add(building, np.char.add("#", np.arange(count).astype(str))))
    return pd.DataFrame({"address_key": np.char.add(building, np.char.add("|", np.arange(count).astype(str))),
                         "building_key": building, "street": street, "house_number_int": number,
                         "unit": np.where(apartment, "Apt 1", ""), "lat": lat, "lon": lon, "zip5": "27601",
                         "precinct": np.char.add("P", (which % 40).astype(str))})


def bench_cut(count: int, target: int) -> dict:
    from sqlmodel import Session

    with tempfile.TemporaryDirectory() as folder:
        engine = db.make_engine(f"sqlite:///{folder}/turf.db")
        db.upgrade(engine)
        doors = synthetic_doors(count)
        with Session(engine) as session:
            campaign = campaigns.create_campaign(session, "Bench", "bench")
            session.flush()
            bulk.take_write_lock(session, Household.__table__)
            frame = doors.assign(id=bulk.reserve_ids(session, Household.__table__, count), campaign_id=campaign.id,
                                 address="", house_number="", city="", state="", zip4="")
            bulk.insert_frame(session, Household.__table__, frame)
            session.commit()
            started = time.perf_counter()
            ids = turfs.cut_turfs(session, campaign, Universe(), by="geo", target=target)
            session.commit()
            seconds = time.perf_counter() - started
            sizes = pd.Series(dict(session.execute(
                __import__("sqlalchemy").text("SELECT turf_id, count(*) FROM turf_door GROUP BY turf_id")).all()))
        engine.dispose()
    within = float(((sizes - target).abs() <= 0.2 * target).mean())
    return {"doors": count, "turfs": len(ids), "seconds": round(seconds, 2), "share_within_20pct": round(within, 4),
            "smallest": int(sizes.min()), "largest": int(sizes.max())}


def bench_routes(target: int) -> dict:
    raw = pd.read_csv(SANFORD, dtype=str)
    doors = pd.DataFrame({
        "id": np.arange(len(raw)), "street": raw["Street name"].str.upper(),
        "house_number_int": raw["House number"].str.extract(r"^(\d+)", expand=False).astype(float),
        "building_key": raw["House number"] + " " + raw["Street name"].str.upper(), "unit": "", "precinct": "",
        "zip5": raw["Postal code"].str[:5], "lat": raw["Latitude"].astype(float),
        "lon": raw["Longitude"].astype(float)})
    labels = cutting.cut(doors, "geo", target)
    ratios, times = [], []
    for label in sorted(labels.unique()):
        part = doors[labels == label]
        route_doors = [routing.Place(id=int(r.id), street=r.street, house_number=None if pd.isna(r.house_number_int)
                                    else int(r.house_number_int), building=r.building_key, lat=r.lat, lon=r.lon)
                       for r in part.itertuples()]
        started = time.perf_counter()
        route = routing.walking_route(route_doors)
        times.append((time.perf_counter() - started) * 1000)
        points = routing.project(part["lat"].to_numpy(), part["lon"].to_numpy())
        index = {d: i for i, d in enumerate(part["id"])}
        plain = routing.plain_street_order(route_doors)
        ratios.append(routing.path_length(points, [index[d] for d in route]) /
                      routing.path_length(points, [index[d] for d in plain]))
    return {"turfs": len(ratios), "median_ratio": round(statistics.median(ratios), 3),
            "worst_ratio": round(max(ratios), 3), "median_ms": round(statistics.median(times), 1),
            "max_ms": round(max(times), 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--doors", type=int, default=1_000_000)
    parser.add_argument("--target", type=int, default=60)
    args = parser.parse_args()
    results = {"routes": bench_routes(args.target)}
    print("routes", json.dumps(results["routes"]), flush=True)
    results["cut"] = bench_cut(args.doors, args.target)
    print("cut", json.dumps(results["cut"]), flush=True)
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    (out / "turf.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
