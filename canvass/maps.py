"""Drawings made on the server: a turf map in SVG from door coordinates (no tile server), and QR codes."""

from __future__ import annotations

import io
from dataclasses import dataclass
from xml.sax.saxutils import escape

import numpy as np
import qrcode
import qrcode.image.svg

from canvass.routing import project

STATUS_COLOURS = {"todo": "#5f6b7a", "attempted": "#b45309", "contacted": "#15803d"}
STATUS_SHAPES = {"todo": "circle", "attempted": "square", "contacted": "diamond"}  # not by colour alone


@dataclass
class MapDoor:
    lat: float | None
    lon: float | None
    label: str  # shown on hover and to screen readers: "12 Main St"
    status: str  # todo | attempted | contacted
    number: int  # place in the walk order, from 1


def turf_svg(doors: list[MapDoor], *, width: int = 640, height: int = 480, title: str = "Turf map") -> str:
    """The doors and the walking route drawn to scale; doors without coordinates are left out (and counted)."""
    located = [d for d in doors if d.lat is not None and d.lon is not None]
    missing = len(doors) - len(located)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" class="turf-map" role="img" '
             f'aria-labelledby="map-title"><title id="map-title">{escape(title)}</title>',
             f'<rect width="{width}" height="{height}" fill="#f4f1ea"/>']
    if located:
        xy = _fit(project(np.array([d.lat for d in located]), np.array([d.lon for d in located])), width, height)
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#1d4ed8" stroke-width="2.5" '
                     f'stroke-linejoin="round" stroke-opacity="0.75"/>')
        for (x, y), door in zip(xy, located, strict=True):
            parts.append(_marker(x, y, door))
        start = xy[0]
        parts.append(f'<text x="{start[0] + 9:.1f}" y="{start[1] - 9:.1f}" class="map-start" font-size="14" '
                     f'font-weight="700" fill="#111">▶ 1</text>')
    if missing:
        parts.append(f'<text x="10" y="{height - 10}" font-size="13" fill="#333">{missing} door(s) without map '
                     f'position: see the list</text>')
    parts.append("</svg>")
    return "".join(parts)


def _fit(points: np.ndarray, width: int, height: int, margin: int = 24) -> np.ndarray:
    low, high = points.min(axis=0), points.max(axis=0)
    span = np.maximum(high - low, 1.0)
    scale = min((width - 2 * margin) / span[0], (height - 2 * margin) / span[1])
    scaled = (points - low) * scale
    offset = (np.array([width, height]) - span * scale) / 2
    xy = scaled + offset
    xy[:, 1] = height - xy[:, 1]  # north up
    return xy


def _marker(x: float, y: float, door: MapDoor) -> str:
    colour, shape, r = STATUS_COLOURS.get(door.status, "#5f6b7a"), STATUS_SHAPES.get(door.status, "circle"), 7
    label = f"<title>{door.number}. {escape(door.label)} ({door.status})</title>"
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
