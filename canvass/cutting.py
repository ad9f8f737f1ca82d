"""Cutting doors into balanced turfs, and naming and ordering them (pure: a frame of doors in, a turf label per door
out; no database). An apartment building is never split between turfs."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from canvass import routing

METHODS = ("geo", "precinct", "zip", "street")


def cut(doors: pd.DataFrame, by: str, target: int) -> pd.Series:
    """A turf number for every door. Buildings stay whole; doors without coordinates go by street."""
    if by not in METHODS or target < 1:
        raise ValueError(f"cut by {by!r} into turfs of {target} doors")  # checked by the caller (turfs.cut_turfs)
    labels = pd.Series(-1, index=doors.index, dtype="int64")
    if doors.empty:
        return labels
    doors = doors.assign(building=doors["building_key"].where(doors["building_key"] != "", "door:" +
                                                                   doors["id"].astype(str)))
    groups = {"geo": None, "street": None, "precinct": "precinct", "zip": "zip5"}[by]
    next_label = 0
    parts = [doors] if groups is None else [part for _, part in doors.groupby(groups, sort=True)]
    for part in parts:
        located = part["lat"].notna() & part["lon"].notna()
        if by == "street":
            located = pd.Series(False, index=part.index)
        for chunk in (_geo(part[located], target), _by_street(part[~located], target)):
            if len(chunk):
                labels.loc[chunk.index] = chunk + next_label
                next_label = int(labels.max()) + 1
    return labels


def _buildings(doors: pd.DataFrame) -> pd.DataFrame:
    """One row per building (or house) with its weight in doors."""
    return doors.groupby("building", sort=False).agg(
        weight=("id", "size"), lat=("lat", "mean"), lon=("lon", "mean"), street=("street", "first"),
        number=("house_number_int", "first"), place=("zip5", "first"))


def _spread(doors: pd.DataFrame, building_labels: pd.Series) -> pd.Series:
    return doors["building"].map(building_labels).astype("int64")


def _geo(doors: pd.DataFrame, target: int) -> pd.Series:
    """Recursive bisection on the longer side at the weighted median: compact turfs of near-equal size."""
    if doors.empty:
        return pd.Series(dtype="int64")
    buildings = _buildings(doors)
    points = routing.project(buildings["lat"].to_numpy(), buildings["lon"].to_numpy())
    weights = buildings["weight"].to_numpy()
    labels = np.empty(len(buildings), dtype=np.int64)
    total = int(weights.sum())
    stack = [(np.arange(len(buildings)), max(1, round(total / target)))]
    next_label = 0
    while stack:
        members, parts = stack.pop()
        if parts <= 1 or len(members) <= 1:
            labels[members] = next_label
            next_label += 1
            continue
        coords = points[members]
        spans = coords.max(axis=0) - coords.min(axis=0)
        order = members[np.argsort(coords[:, int(spans[1] > spans[0])], kind="stable")]
        cumulative = np.cumsum(weights[order])
        left_parts = parts // 2
        share = cumulative[-1] * left_parts / parts
        cut_at = int(np.searchsorted(cumulative, share))  # first index reaching the share
        if cut_at > 0 and abs(cumulative[cut_at - 1] - share) <= abs(cumulative[cut_at] - share):
            cut_at -= 1
        cut_at = min(max(cut_at, 0), len(order) - 2)
        stack.append((order[cut_at + 1:], parts - left_parts))
        stack.append((order[: cut_at + 1], left_parts))
    return _spread(doors, pd.Series(labels, index=buildings.index))


def _by_street(doors: pd.DataFrame, target: int) -> pd.Series:
    """Streets in order; long streets split into equal runs, short neighbouring streets combined."""
    if doors.empty:
        return pd.Series(dtype="int64")
    buildings = _buildings(doors).reset_index()
    buildings["place"] = buildings["place"].fillna("")
    buildings = buildings.sort_values(["place", "street", "number"], na_position="last", kind="stable")
    labels, label, bucket = {}, 0, 0
    for _, street in buildings.groupby(["place", "street"], sort=False):
        weight = int(street["weight"].sum())
        if weight >= 0.8 * target:
            if bucket:
                label, bucket = label + 1, 0
            runs = max(1, round(weight / target))
            bounds = np.cumsum(street["weight"].to_numpy()) * runs / weight
            for building, run in zip(street["building"], np.minimum(np.ceil(bounds - 1e-9) - 1, runs - 1), strict=True):
                labels[building] = label + int(max(run, 0))
            label += runs
        else:
            if bucket and bucket + weight > 1.2 * target:
                label, bucket = label + 1, 0
            for building in street["building"]:
                labels[building] = label
            bucket += weight
    return _spread(doors, pd.Series(labels))


def turf_names(doors: pd.DataFrame, labels: pd.Series, by: str, taken: set[str] = frozenset()) -> dict[int, str]:
    """Readable names from the main streets (and the precinct or ZIP when cut by it), unique in the campaign."""
    names, used = {}, set(taken)
    frame = doors.assign(label=labels)
    for label, part in frame.groupby("label", sort=True):
        streets = [display_street(s) for s, _ in Counter(part["street"].fillna("")).most_common(2) if s]
        name = " & ".join(streets) or "Doors"
        if by == "precinct" and part["precinct"].iloc[0]:
            name = f"{part['precinct'].iloc[0]} · {name}"
        elif by == "zip" and part["zip5"].iloc[0]:
            name = f"{part['zip5'].iloc[0]} · {name}"
        unique, n = name, 2
        while unique in used:
            unique, n = f"{name} ({n})", n + 1
        used.add(unique)
        names[int(label)] = unique[:120]
    return names


def display_street(key: str) -> str:
    """``N MAIN ST`` -> ``N Main St``; ``1ST AVE`` -> ``1st Ave``."""
    return " ".join(word if len(word) <= 2 and word.isalpha() and word in {"N", "S", "E", "W", "NE", "NW", "SE", "SW"}
                    else word.capitalize() for word in key.split())


def street_positions(doors: pd.DataFrame, labels: pd.Series) -> pd.Series:
    """Each door's place in its turf in street order (odd side up, even side back, units by floor)."""
    frame = doors.assign(label=labels, number=doors["house_number_int"].fillna(0).astype("int64"))
    frame["side"] = 1 - frame["number"] % 2  # odd side (0) first, up; even side (1) after, back down
    frame["signed"] = np.where(frame["side"] == 0, frame["number"], -frame["number"])
    frame["unit_key"] = frame["unit"].fillna("").map(lambda u: routing.unit_sort_key(u) if u else (0, 0, ""))
    frame = frame.sort_values(["label", "street", "side", "signed", "building_key", "unit_key"], kind="stable")
    return frame.groupby("label").cumcount().reindex(doors.index)
