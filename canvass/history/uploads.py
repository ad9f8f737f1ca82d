"""A history file between upload and import: kept in a folder of its own with what its check found, until it is
imported or discarded (then deleted: it holds personal data)."""

from __future__ import annotations

import json
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_TOKEN = re.compile(r"[0-9a-f]{32}")


@dataclass
class Upload:
    token: str
    folder: Path
    campaign_id: int
    filename: str
    user_id: int | None
    check: dict[str, Any]

    @property
    def path(self) -> Path:
        return self.folder / "file"


def new_upload(root: Path, campaign_id: int, filename: str, user_id: int | None, kind: str = "history") -> Upload:
    """A new upload's folder (``kind``: which import it waits for); the caller writes the file at ``upload.path``,
    then ``save``s the check."""
    token = secrets.token_hex(16)
    folder = root / kind / token
    folder.mkdir(parents=True)
    return Upload(token, folder, campaign_id, filename[:255], user_id, {})


def save(upload: Upload) -> None:
    (upload.folder / "upload.json").write_text(json.dumps({
        "campaign_id": upload.campaign_id, "filename": upload.filename, "user_id": upload.user_id,
        "check": upload.check}, default=str), encoding="utf-8")


def find_upload(root: Path, token: str, kind: str = "history") -> Upload | None:
    """The upload named ``token``, or None (never uploaded, imported or discarded)."""
    if not _TOKEN.fullmatch(token):
        return None
    folder = root / kind / token
    try:
        data = json.loads((folder / "upload.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return Upload(token, folder, data["campaign_id"], data["filename"], data["user_id"], data["check"])


def discard(upload: Upload) -> None:
    shutil.rmtree(upload.folder, ignore_errors=True)
