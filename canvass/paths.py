"""Where the package's own files are, installed or in a checkout."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).parent


def resource_dir(name: str) -> Path:
    """``templates`` ships inside the package in a wheel but sits at the top of a checkout (editable install)."""
    packaged = PACKAGE_DIR / name
    return packaged if packaged.is_dir() else PACKAGE_DIR.parent / name
