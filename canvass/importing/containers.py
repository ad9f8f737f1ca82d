"""From a file as uploaded to plain UTF-8 text on disk, a block at a time: a zip is unpacked and a text in another
encoding converted into a working folder, so no file is ever held whole in memory.

Limits are counted on the bytes that actually come out, never on what a zip's header claims.
"""

from __future__ import annotations

import codecs
import io
import zipfile
import zlib
from pathlib import Path

from canvass.i18n import N_

MAX_UNCOMPRESSED = 4 * 1024**3  # a zip may unpack to at most 4 GB
MAX_RATIO = 250  # and at most 250 times its packed size (zip bombs go far beyond)
BLOCK = 8 * 1024 * 1024
DOC_SUFFIXES = (".pdf", ".doc", ".docx", ".rtf", ".md", ".html", ".htm", ".png", ".jpg")

DAMAGED_ZIP = N_("The zip file is damaged and cannot be opened. Download it again.")
TOO_BIG_UNZIPPED = N_("The file inside the zip unpacks to more than canvass accepts from a zip (at most 4 GB, and 250 "
                      "times the zip's size). Unzip it yourself and upload the file.")
CLAIMS_TOO_MUCH = N_("%(name)s would unpack to %(size)s bytes, more than canvass accepts from a zip. Unzip it yourself "
                     "and upload the file.")
SEVERAL_FILES = N_("The zip file holds %(count)s files (%(names)s); unzip it and upload one file at a time.")


class UnreadableFile(ValueError):
    """The file cannot be used at all; the message says why and what to do.

    ``text`` and ``figures``: the sentence's template and its figures, so it can be shown in the reader's
    language."""

    def __init__(self, text: str, **figures):
        super().__init__(text % figures if figures else text)
        self.text, self.figures = text, figures


def is_zip(head: bytes) -> bool:
    return head[:4] == b"PK\x03\x04"


def zip_names(path: Path) -> list[str]:
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return []


def is_office_zip(path: Path) -> bool:
    names = zip_names(path)
    return "[Content_Types].xml" in names or "mimetype" in names


def head_of(path: Path, size: int = 4096) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(size)


def unzip_single(path: Path, workdir: Path, depth: int = 0) -> tuple[str, Path]:
    """The one data file a zip holds, unpacked into ``workdir``: its name in the zip, and where it now is."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UnreadableFile(DAMAGED_ZIP) from exc
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir() and not m.filename.startswith("__MACOSX")
                   and not Path(m.filename).name.startswith(".") and not m.filename.lower().endswith(DOC_SUFFIXES)]
        if not members:
            raise UnreadableFile(N_("The zip file holds no data file. Upload the voter or contact file itself."))
        if len(members) > 1:
            raise UnreadableFile(SEVERAL_FILES, count=len(members), names=", ".join(m.filename for m in members[:5]))
        member = members[0]
        packed = path.stat().st_size
        if member.file_size > MAX_UNCOMPRESSED or member.file_size > MAX_RATIO * max(member.compress_size, 1):
            raise UnreadableFile(CLAIMS_TOO_MUCH, name=member.filename, size=f"{member.file_size:,}")
        target = workdir / f"unzipped-{depth}{Path(member.filename).suffix[:10]}"
        _unpack_within_limits(archive, member, target, limit=min(MAX_UNCOMPRESSED, MAX_RATIO * max(packed, 1)))
    if is_zip(head_of(target)) and not is_office_zip(target):
        if depth >= 1:
            raise UnreadableFile(N_("The zip file holds another zip inside a zip; unzip them and upload the data file."))
        return unzip_single(target, workdir, depth + 1)
    return member.filename, target


def _unpack_within_limits(archive: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path, *, limit: int) -> None:
    """Writes the member a block at a time and stops as soon as what came out passes ``limit``: a zip can state any
    size in its header (one that claimed a small size took 2.2 GB when it was unpacked in memory)."""
    total = 0
    try:
        with archive.open(member) as source, open(target, "wb") as out:
            while block := source.read(BLOCK):
                total += len(block)
                if total > limit:
                    raise UnreadableFile(TOO_BIG_UNZIPPED)
                out.write(block)
    except (zipfile.BadZipFile, EOFError, OSError, zlib.error) as exc:  # a damaged or truncated archive
        raise UnreadableFile(DAMAGED_ZIP) from exc


def utf8_text(path: Path, workdir: Path) -> tuple[Path, str]:
    """A UTF-8 file without NULs holding the text of ``path``, and the encoding the text was in: ``path`` itself when
    it already is (the usual case, after one pass that only looks), else a converted copy in ``workdir``.

    utf-8 is tried first, then Windows-1252, then latin-1 (which maps every byte, so never fails)."""
    head = head_of(path)
    if head[:3] == b"\xef\xbb\xbf":
        return _convert(path, workdir, "utf-8-sig"), "utf-8-sig"
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return _convert(path, workdir, "utf-16"), "utf-16"
    if len(head) > 16 and head[1::2].count(0) > len(head) * 0.4 and head[0::2].count(0) < len(head) * 0.05:
        return _convert(path, workdir, "utf-16-le"), "utf-16-le"
    valid, nul = _looks_at(path)
    if valid:
        return (_convert(path, workdir, "utf-8") if nul else path), "utf-8"
    try:
        return _convert(path, workdir, "cp1252", errors="strict"), "cp1252"
    except UnicodeDecodeError:
        return _convert(path, workdir, "latin-1"), "latin-1"


def _looks_at(path: Path) -> tuple[bool, bool]:
    """Whether the file is valid UTF-8, and whether it holds NUL bytes (read a block at a time)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    nul = False
    with open(path, "rb") as handle:
        try:
            while block := handle.read(BLOCK):
                nul = nul or b"\x00" in block
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False, nul
    return True, nul


def _convert(path: Path, workdir: Path, encoding: str, errors: str = "replace") -> Path:
    target = workdir / "text-utf8.txt"
    with open(path, "rb") as raw, io.TextIOWrapper(raw, encoding=encoding, errors=errors, newline="") as text, \
            open(target, "w", encoding="utf-8", newline="") as out:
        while block := text.read(BLOCK // 2):
            out.write(block.replace("\x00", ""))
    return target
