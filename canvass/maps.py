"""Drawings made on the server: a turf map in SVG from door coordinates (no tile server), and QR codes."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

import numpy as np
import qrcode
import qrcode.image.svg

from canvass.routing import project

if TYPE_CHECKING:
    from canvass.walk_lists import Door

STATUS_COLOURS = {"todo": "#5f6b7a", "attempted": "#b45309", "contacted": "#15803d"}
STATUS_SHAPES = {"todo": "circle", "attempted": "square", "contacted": "diamond"}  # not by colour alone


def turf_svg(doors: list[Door], *, width: int = 640, height: int = 480, title: str = "Turf map",
             status_words: dict[str, str] | None = None) -> str:
    """The turf drawn to scale from its own doors, with no tile server: each street as a line through its doors in
    house-number order, with its name; the walking route; the doors. Doors without coordinates are left out (the page
    lists them). The SVG carries how it maps degrees to its points (``data-*``), so the page can put the volunteer's
    own position on it. ``status_words`` names each door's status for screen readers, in the reader's language."""
    located = [d for d in doors if d.lat is not None and d.lon is not None]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" class="turf-map" role="img" '
             f'aria-labelledby="map-title"{{frame}}><title id="map-title">{escape(title)}</title>',
             f'<rect width="{width}" height="{height}" fill="#f4f1ea"/>']
    frame = ""
    if located:
        lat, lon = np.array([d.lat for d in located]), np.array([d.lon for d in located])
        xy, fit = _fit(project(lat, lon), width, height)
        frame = (f' data-lat0="{float(np.nanmean(lat)):.7f}" data-low-x="{fit[0]:.3f}" data-low-y="{fit[1]:.3f}" '
                 f'data-scale="{fit[2]:.6f}" data-off-x="{fit[3]:.3f}" data-off-y="{fit[4]:.3f}"')
        parts.extend(_streets(located, xy))
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#1d4ed8" stroke-width="2.5" '
                     f'stroke-linejoin="round" stroke-opacity="0.75"/>')
        for (x, y), door in zip(xy, located, strict=True):
            parts.append(_marker(x, y, door, (status_words or {}).get(door.status, door.status)))
        start = xy[0]
        parts.append(f'<text x="{start[0] + 9:.1f}" y="{start[1] - 9:.1f}" class="map-start" font-size="22" '
                     f'font-weight="700" fill="#111">▶ 1</text>')
    parts.append('<circle class="me" r="8" cx="-20" cy="-20" fill="#c026d3" stroke="#fff" stroke-width="3" '
                 'visibility="hidden"/>')
    parts.append("</svg>")
    return "".join(parts).replace("{frame}", frame, 1)


def _streets(doors: list[Door], xy: np.ndarray) -> list[str]:
    """Each street with two doors or more: a grey road through its doors in house-number order, and its name set
    along the road's middle stretch (turned so that it never reads upside down)."""
    by_street: dict[str, list[tuple[int, np.ndarray]]] = {}
    for door, point in zip(doors, xy, strict=True):
        if door.street_name:
            by_street.setdefault(door.street_name, []).append((door.household.house_number_int or 0, point))
    roads, names = [], []
    for street, stops in sorted(by_street.items()):
        if len(stops) < 2:
            continue
        points = [point for _number, point in sorted(stops, key=lambda stop: stop[0])]
        roads.append('<polyline points="' + " ".join(f"{x:.1f},{y:.1f}" for x, y in points) +
                     '" fill="none" stroke="#cfc8b8" stroke-width="14" stroke-linecap="round" '
                     'stroke-linejoin="round"/>')
        a, b = points[len(points) // 2 - 1], points[len(points) // 2]
        angle = float(np.degrees(np.arctan2(b[1] - a[1], b[0] - a[0])))
        angle = angle - 180 if angle > 90 else angle + 180 if angle < -90 else angle
        mid = (a + b) / 2
        names.append(f'<text x="{mid[0]:.1f}" y="{mid[1]:.1f}" transform="rotate({angle:.0f} {mid[0]:.1f} '
                     f'{mid[1]:.1f})" font-size="22" fill="#4a4438" text-anchor="middle" dy="-10" '
                     f'class="street-name">{escape(street)}</text>')
    return roads + names


def _fit(points: np.ndarray, width: int, height: int, margin: int = 24
         ) -> tuple[np.ndarray, tuple[float, float, float, float, float]]:
    """The points scaled into the drawing, north up; and (low x, low y, scale, offset x, offset y) for the page."""
    low, high = points.min(axis=0), points.max(axis=0)
    span = np.maximum(high - low, 1.0)
    scale = min((width - 2 * margin) / span[0], (height - 2 * margin) / span[1])
    scaled = (points - low) * scale
    offset = (np.array([width, height]) - span * scale) / 2
    xy = scaled + offset
    xy[:, 1] = height - xy[:, 1]  # north up
    return xy, (float(low[0]), float(low[1]), float(scale), float(offset[0]), float(offset[1]))


def _marker(x: float, y: float, door: Door, status: str) -> str:
    colour, shape, r = STATUS_COLOURS.get(door.status, "#5f6b7a"), STATUS_SHAPES.get(door.status, "circle"), 7
    label = f"<title>{door.position + 1}. {escape(door.label)} ({escape(status)})</title>"
    if shape == "square":
        body = f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{2 * r}" height="{2 * r}"'
    elif shape == "diamond":
        body = f'<polygon points="{x:.1f},{y - r - 1:.1f} {x + r + 1:.1f},{y:.1f} {x:.1f},{y + r + 1:.1f} {x - r - 1:.1f},{y:.1f}"'
    else:
        body = f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}"'
    return f'<g>{label}{body} fill="{colour}" stroke="#fff" stroke-width="1.5"/></g>'


def qr_svg(data: str, *, box_size: int = 2) -> str:
    """An inline SVG QR code (no image files, works offline and in print)."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=box_size, border=1)
    buffer = io.BytesIO()
    image.save(buffer)
    svg = buffer.getvalue().decode()
    return svg[svg.index("<svg"):]
