"""Builds a demo, serves it, and saves screenshots of pages as users see them (phone and desktop).

Usage: python scripts/screenshots.py OUT_DIR [PAGE ...]   (pages as role:path:name:width, e.g. volunteer:/my:home:360)
"""

import sys
import tempfile
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from canvass.app import create_app
from canvass.demo import DEMO_PASSWORD, build_demo

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]
EMAILS = {"admin": "admin@example.org", "lead": "lead@example.org", "data": "data@example.org",
          "volunteer": "volunteer@example.org", "maria": "maria@example.org", "minh": "minh@example.org"}


def main(out: Path, pages: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/demo.db"
        build_demo(url, people=3000)
        app = create_app({"MODE": "development", "DATABASE_URL": url, "INSTANCE_PATH": folder})
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            for spec in pages:
                who, path, name, width = spec.split(":")
                context = browser.new_context(viewport={"width": int(width), "height": 800}, device_scale_factor=2)
                page = context.new_page()
                page.goto(f"{base}/login")
                page.get_by_label("Email").fill(EMAILS[who])
                page.get_by_label("Password").fill(DEMO_PASSWORD)
                page.get_by_role("button", name="Log in").click()
                page.goto(base + path)
                page.screenshot(path=str(out / f"{name}.png"), full_page=True)
                print(out / f"{name}.png")
                context.close()
            browser.close()
        server.shutdown()


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:] or ["volunteer:/my:volunteer-home:360", "lead:/lead:lead-home:1100"])
