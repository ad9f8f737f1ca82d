"""A plain `pip install .` must carry everything the app needs at run time."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_contains_templates_static_files_and_migrations(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True)
    wheel = next(tmp_path.glob("canvass-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    templates = {p.relative_to(ROOT).as_posix() for p in (ROOT / "templates").rglob("*.html")}
    assert {f"canvass/{t}" for t in templates} <= names
    assert "canvass/static/app.css" in names
    assert "canvass/migrations/env.py" in names and "canvass/migrations/script.py.mako" in names
    assert any(n.startswith("canvass/migrations/versions/0001") for n in names)
