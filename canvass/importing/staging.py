"""A check's cleaned rows, kept beside the upload (Parquet, one set of files a chunk) for the import to load, so
confirming does not read and clean the file again.

The folder holds ``chunk-NNNNN-{people,phones,emails}.parquet``, ``unchanged.npy`` (the fingerprints of the rows left
out as unchanged, checked again at import: the campaign may have changed since) and ``staged.json``, written last,
which says the staging is complete and what it was made with.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from canvass.importing.normalize import Normalized

PARTS = ("people", "phones", "emails")


def staging_folder(upload: str | Path) -> Path:
    upload = Path(upload)
    return upload.parent / f"{upload.name}.staged"


@dataclass
class Staged:
    """A complete staging: its folder, and what ``staged.json`` says."""

    folder: Path
    facts: dict[str, Any]

    @property
    def chunks(self) -> int:
        return self.facts["chunks"]

    def parts(self) -> Iterator[Normalized]:
        for index in range(self.chunks):
            frames = {part: pq.read_table(self.folder / f"chunk-{index:05d}-{part}.parquet").to_pandas()
                      for part in PARTS}
            yield Normalized(frames["people"], frames["phones"], frames["emails"])

    def unchanged(self) -> np.ndarray:
        return np.load(self.folder / "unchanged.npy")


class StagingWriter:
    """Writes a check's cleaned chunks; ``finish`` makes the staging complete."""

    def __init__(self, folder: Path):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        self.folder, self.count, self.unchanged = folder, 0, []

    def add(self, part: Normalized | None, unchanged: np.ndarray) -> None:
        """A chunk's cleaned rows (None when all were left out or held for a later part) and its unchanged rows."""
        self.unchanged.append(unchanged)
        if part is None:
            return
        for name, frame in zip(PARTS, (part.people, part.phones, part.emails), strict=True):
            pq.write_table(pa.Table.from_pandas(frame, preserve_index=name == "people"),
                           self.folder / f"chunk-{self.count:05d}-{name}.parquet", compression="lz4")
        self.count += 1

    def finish(self, **facts: Any) -> Staged:
        unchanged = np.concatenate(self.unchanged) if self.unchanged else np.empty(0, dtype=np.uint64)
        np.save(self.folder / "unchanged.npy", unchanged)
        facts = {**facts, "chunks": self.count}
        (self.folder / "staged.json").write_text(json.dumps(facts))
        return Staged(self.folder, facts)


def read_staging(folder: Path) -> Staged | None:
    """The staging in ``folder`` when it is complete, else None."""
    try:
        return Staged(folder, json.loads((folder / "staged.json").read_text()))
    except (OSError, ValueError):
        return None


def discard_staging(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
