"""Walk order for a turf (pure: lists and numpy, no database).

Two orders: by street (odd side up, even side back, by house number), and a walking route over the door coordinates
(nearest neighbour, improved by 2-opt and or-opt). Apartment units at one address are a single stop, listed by
floor and unit. Crossing the street between two doors costs extra, so a route walks one side and comes back on the
other unless zigzagging is really shorter.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

EARTH_M_PER_DEG_LAT = 110_540.0
EARTH_M_PER_DEG_LON = 111_320.0
CROSSING_PENALTY_M = 25.0  # what crossing a street costs on foot (traffic, waiting), beyond the distance itself


@dataclass(frozen=True)
class Place:
    id: int
    street: str = ""
    house_number: int | None = None
    building: str = ""  # doors with the same building key are units of one address
    unit: str = ""
    lat: float | None = None
    lon: float | None = None


def unit_sort_key(unit: str) -> tuple[int, int, str]:
    """(floor, number, text): ``Apt 3B`` -> floor 3; ``304`` -> floor 3; ``12`` -> floor 0 (no floor in it)."""
    text = re.sub(r"^(apt|unit|ste|suite|#|rm|room|lot|spc|fl|bldg)\.?\s*", "", unit.strip(), flags=re.IGNORECASE)
    match = re.match(r"^(\d+)\s*([A-Za-z]*)", text)
    if not match:
        return (0, 0, text.upper())
    number, letters = int(match.group(1)), match.group(2)
    if letters and number < 100:
        return (number, 0, letters.upper())  # 3B: floor 3, door B
    floor = number // 100 if number >= 100 else 0
    return (floor, number, letters.upper())


def unit_floor(unit: str) -> int:
    return unit_sort_key(unit)[0]


def _stops(doors: list[Place]) -> list[list[Place]]:
    """Doors grouped into stops: a building's units together (by floor and unit), a house alone."""
    groups: dict[str, list[Place]] = {}
    for door in doors:
        groups.setdefault(door.building or f"door:{door.id}", []).append(door)
    return [sorted(units, key=lambda d: unit_sort_key(d.unit)) for units in groups.values()]


def street_order(doors: list[Place]) -> list[int]:
    """Street by street; on each, the odd side up and the even side back down; units by floor."""
    def key(stop: list[Place]):
        first = stop[0]
        number = first.house_number if first.house_number is not None else 0
        odd = number % 2 == 1
        return (first.street, 0 if odd else 1, number if odd else -number)

    return [door.id for stop in sorted(_stops(doors), key=key) for door in stop]


def plain_street_order(doors: list[Place]) -> list[int]:
    """The naive order (street, then house number, sides interleaved): the baseline a route must beat."""
    return [d.id for d in sorted(doors, key=lambda d: (d.street, d.house_number or 0, unit_sort_key(d.unit)))]


def project(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Degrees to metres on a local flat plane (good to a fraction of a percent across a turf)."""
    lat0 = float(np.nanmean(lat)) if len(lat) else 0.0
    return np.column_stack((lon * EARTH_M_PER_DEG_LON * math.cos(math.radians(lat0)), lat * EARTH_M_PER_DEG_LAT))


def path_length(points: np.ndarray, order: list[int] | np.ndarray) -> float:
    if len(order) < 2:
        return 0.0
    path = points[np.asarray(order)]
    return float(np.sqrt(((path[1:] - path[:-1]) ** 2).sum(axis=1)).sum())


def walking_route(doors: list[Place]) -> list[int]:
    """The doors in a short walking order. Doors without coordinates follow, in street order."""
    located = [d for d in doors if d.lat is not None and d.lon is not None]
    unlocated = [d for d in doors if d.lat is None or d.lon is None]
    stops = _stops(located)
    if len(stops) <= 2:
        order = list(range(len(stops)))
    else:
        points = project(np.array([s[0].lat for s in stops]), np.array([s[0].lon for s in stops]))
        cost = _cost_matrix(points, stops)
        order = _improve(cost, _nearest_neighbour(cost, _start(points)))
    return [door.id for index in order for door in stops[index]] + street_order(unlocated)


def _cost_matrix(points: np.ndarray, stops: list[list[Place]]) -> np.ndarray:
    distance = np.sqrt(((points[:, None, :] - points[None, :, :]) ** 2).sum(axis=2))
    streets = np.array([s[0].street for s in stops])
    sides = np.array([(s[0].house_number or 0) % 2 for s in stops])
    numbered = np.array([s[0].house_number is not None for s in stops])
    crossing = (streets[:, None] == streets[None, :]) & (sides[:, None] != sides[None, :]) & \
        numbered[:, None] & numbered[None, :]
    return distance + crossing * CROSSING_PENALTY_M


def _start(points: np.ndarray) -> int:
    """Begin at an end of the turf (the stop farthest from its centre), not in its middle."""
    centre = points.mean(axis=0)
    return int(np.argmax(((points - centre) ** 2).sum(axis=1)))


def _nearest_neighbour(cost: np.ndarray, start: int) -> list[int]:
    n = len(cost)
    visited = np.zeros(n, dtype=bool)
    order = [start]
    visited[start] = True
    for _ in range(n - 1):
        row = np.where(visited, np.inf, cost[order[-1]])
        nxt = int(np.argmin(row))
        order.append(nxt)
        visited[nxt] = True
    return order


def _improve(cost: np.ndarray, order: list[int], polish_sweeps: int = 2) -> list[int]:
    """2-opt (reverse a stretch) until it finds nothing, then or-opt sweeps (move a stretch of 1-3 stops) as polish."""
    route = np.array(order)
    for _ in range(polish_sweeps + 1):
        for _ in range(100):
            if not _two_opt(cost, route):
                break
        if not _or_opt(cost, route):
            break
    return route.tolist()


def _two_opt(cost: np.ndarray, route: np.ndarray) -> bool:
    n, changed = len(route), False
    for i in range(0, n - 1):
        a, b = route[i], route[i + 1]
        c, d = route[i + 2:], np.append(route[i + 3:], -1)
        # Gain of reversing route[i+1 .. j] for every j at once; j = n-1 reverses the tail (open path).
        before = cost[a, b] + np.where(d >= 0, cost[c, np.maximum(d, 0)], 0.0)
        after = cost[a, c] + np.where(d >= 0, cost[b, np.maximum(d, 0)], 0.0)
        gains = before - after
        if len(gains) and gains.max() > 1e-9:
            j = i + 2 + int(np.argmax(gains))
            route[i + 1:j + 1] = route[i + 1:j + 1][::-1].copy()
            changed = True
    # The head: reversing route[0 .. j] (a new start) can also shorten an open path.
    head_gain = cost[route[:-1], route[1:]] - cost[route[0], route[1:]]
    j = int(np.argmax(head_gain))
    if head_gain[j] > 1e-9 and j > 0:
        route[: j + 1] = route[: j + 1][::-1].copy()
        changed = True
    return changed


def _or_opt(cost: np.ndarray, route: np.ndarray) -> bool:
    """One sweep moving stretches of 1-3 stops to wherever they fit best (reversed or not); True if anything moved."""
    n, changed = len(route), False
    for size in (1, 2, 3):
        i = 0
        while i <= n - size:
            move = _best_move(cost, route, i, size)
            if move is None:
                i += 1
                continue
            at, flipped = move
            segment = route[i:i + size].copy()
            rest = np.concatenate((route[:i], route[i + size:]))
            route[:] = np.concatenate((rest[:at], segment[::-1] if flipped else segment, rest[at:]))
            changed = True
            i += 1
    return changed


def _best_move(cost: np.ndarray, route: np.ndarray, i: int, size: int) -> tuple[int, bool] | None:
    """Where moving route[i:i+size] shortens the path most, as (insertion index in the rest, reversed), or None."""
    n = len(route)
    segment = route[i:i + size]
    rest = np.concatenate((route[:i], route[i + size:]))
    before = cost[route[i - 1], segment[0]] if i > 0 else 0.0
    after = cost[segment[-1], route[i + size]] if i + size < n else 0.0
    bridge = cost[route[i - 1], route[i + size]] if i > 0 and i + size < n else 0.0
    removed = before + after - bridge
    left, right = np.concatenate(([-1], rest)), np.concatenate((rest, [-1]))
    has_left, has_right = left >= 0, right >= 0
    left_ok, right_ok = np.maximum(left, 0), np.maximum(right, 0)
    joined = np.where(has_left & has_right, cost[left_ok, right_ok], 0.0)
    best, best_gain = None, 1e-9
    for flipped in (False, True):
        head, tail = (segment[-1], segment[0]) if flipped else (segment[0], segment[-1])
        added = np.where(has_left, cost[left_ok, head], 0.0) + np.where(has_right, cost[tail, right_ok], 0.0) - joined
        gains = removed - added
        gains[i] = -np.inf  # putting it back where it was
        k = int(np.argmax(gains))
        if gains[k] > best_gain:
            best, best_gain = (k, flipped), gains[k]
    return best
