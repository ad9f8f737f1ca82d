"""A contact as it arrives from the door form, the JSON API, the CLI or a test, validated item by item."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import field_validator
from sqlmodel import Field, SQLModel

from canvass.models import Channel

MAX_NOTES = 2000

#: Ids are PostgreSQL integers: a larger number names nothing, and would fail the whole batch's query.
MAX_ID = 2**31 - 1
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
#: A survey answer: an option code, several (a multiple-choice question) or free text.
Answer = Annotated[str, Field(max_length=MAX_NOTES)] | Annotated[list[Annotated[str, Field(max_length=64)]],
                                                                  Field(max_length=50)]


class ContactIn(SQLModel):
    """A contact as the form, the JSON API, the CLI and the tests send it. Anything that could not be stored is
    refused here, item by item, so one bad item never fails a phone's whole batch."""

    client_uuid: uuid.UUID
    person_id: RowId | None = None
    household_id: RowId | None = None
    turf_id: RowId | None = None
    call_list_id: RowId | None = None
    phone_id: RowId | None = None
    relational_id: RowId | None = None  # someone on the volunteer's relational list (channel "relational")
    channel: Channel = Channel.door
    result_code: str = Field(min_length=1, max_length=16)
    answers: dict[Annotated[str, Field(max_length=64)], Answer | None] = Field(default_factory=dict, max_length=100)
    notes: str = Field(default="", max_length=MAX_NOTES)
    language_heard: str = Field(default="", max_length=8)
    followups: list[RowId] = Field(default_factory=list, max_length=50)  # tag ids
    contacted_at: datetime | None = None

    @field_validator("result_code")
    @classmethod
    def upper_code(cls, value: str) -> str:
        return value.strip().upper()

    @field_validator("result_code", "notes", "language_heard", "answers")
    @classmethod
    def no_nul(cls, value):
        """A NUL character is never typed; no database stores it in text (PostgreSQL refuses it)."""
        if _holds_nul(value):
            raise ValueError("must not contain a NUL character")
        return value


def _holds_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False
