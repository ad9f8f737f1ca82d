"""The universe filters a lead sets on the turf board and the call-list page (one form, read from a GET's query or
a POST's fields)."""

from __future__ import annotations

from canvass.universe import Universe


def universe_from(form) -> Universe:
    """The universe the fields describe; ``UniverseError`` says which value is wrong."""
    custom = {}
    if form.get("custom_key", "").strip():
        custom[form["custom_key"].strip()] = form.get("custom_value", "").strip()
    return Universe.from_dict({
        "precincts": form.get("precincts", ""), "zips": form.get("zips", ""), "parties": form.get("parties", ""),
        "languages": form.getlist("languages") or form.get("language_list", ""), "min_age": form.get("min_age"),
        "max_age": form.get("max_age"), "tag_ids": form.getlist("tag_ids"), "custom": custom,
        "not_reached": form.get("not_reached") == "1"})
