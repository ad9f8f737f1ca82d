"""Small charts drawn on the server as SVG: no chart library in the browser, readable without JavaScript."""

from __future__ import annotations

from xml.sax.saxutils import escape

PALETTE = ["#0b5394", "#15803d", "#b45309", "#7c3aed", "#be123c", "#0e7490", "#4d7c0f", "#6b7280"]


def bar_chart(items: list[tuple[str, float]], *, title: str, percent: bool = False, width: int = 560) -> str:
    """Horizontal bars, labelled with their values (text, not colour alone, carries the figures)."""
    if not items:
        return ""
    row, left = 30, 190
    height = row * len(items) + 10
    top = max(value for _, value in items) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" class="chart" role="img" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for index, (label, value) in enumerate(items):
        y = 5 + index * row
        length = (width - left - 70) * value / top
        shown = f"{value:.0%}" if percent else f"{value:,.0f}"
        parts.append(f'<text x="{left - 8}" y="{y + 18}" text-anchor="end" font-size="14" fill="#1a1a1a">'
                     f'{escape(str(label)[:28])}</text>'
                     f'<rect x="{left}" y="{y + 4}" width="{max(length, 1):.1f}" height="20" rx="3" '
                     f'fill="{PALETTE[index % len(PALETTE)]}"/>'
                     f'<text x="{left + length + 6:.1f}" y="{y + 19}" font-size="14" fill="#1a1a1a">{shown}</text>')
    parts.append("</svg>")
    return "".join(parts)
