"""When each person registered, for turnout: read from the voter file's registration-date column, which the voter
import keeps among the person's other fields (``custom``), into ``person.registered_on``."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session, select

from canvass import bulk
from canvass.history.layouts import parse_date
from canvass.importing.fields import normalize_header
from canvass.models import Person

#: Registration-date headers of the published layouts (normalized): NC, FL, MN, VAN, OH/MI, WA, KS, L2.
REGISTRATION_HEADERS = ("registr dt", "registration date", "registrationdate", "date reg", "datereg",
                        "date of registration", "voters registration date", "vb vf registration date",
                        "original registration date")


def registration_keys(keys: set[str]) -> list[str]:
    """Which of a campaign's custom-field names hold a registration date."""
    return sorted(k for k in keys if normalize_header(k) in REGISTRATION_HEADERS)


def fill_registration_dates(session: Session, campaign_id: int) -> int:
    """Sets ``registered_on`` where it is unknown and the voter file gave a date. Returns how many were set."""
    keys = registration_keys(_custom_keys(session, campaign_id))
    if not keys:
        return 0
    given = sa.func.coalesce(*[Person.custom[k].as_string() for k in keys]) if len(keys) > 1 else \
        Person.custom[keys[0]].as_string()
    frame = bulk.read_frame(session, select(Person.id, given.label("text")).where(
        Person.campaign_id == campaign_id, Person.registered_on.is_(None), given.is_not(None), given != ""))
    if frame.empty:
        return 0
    uniques = {text: parse_date(str(text)) for text in frame["text"].unique()}
    frame["registered_on"] = frame["text"].map(uniques)
    frame = frame.loc[frame["registered_on"].notna(), ["id", "registered_on"]]
    frame["registered_on"] = pd.to_datetime(frame["registered_on"]).dt.strftime("%Y-%m-%d")
    return bulk.update_frame(session, Person.__table__, frame)


def _custom_keys(session: Session, campaign_id: int) -> set[str]:
    """The custom-field names of a sample of the campaign's people (one voter file gives them all the same)."""
    rows = session.execute(select(Person.custom).where(Person.campaign_id == campaign_id).limit(200)).scalars()
    return {key for custom in rows for key in (custom or {})}
