"""Render the PWA's PNG icons from cordee.svg with Debian's Chromium (run after changing the SVG).

.venv/bin/python scripts/render_icons.py
"""

from __future__ import annotations

import base64
import shutil
from pathlib import Path

from playwright.sync_api import sync_playwright

ICONS = Path(__file__).resolve().parent.parent / "cordee" / "web" / "static" / "web" / "icons"
SIZES = (192, 512)


def main() -> None:
    svg = base64.b64encode((ICONS / "cordee.svg").read_bytes()).decode()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium"),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        for size in SIZES:
            page = browser.new_page(viewport={"width": size, "height": size})
            page.set_content(
                f'<body style="margin:0"><img src="data:image/svg+xml;base64,{svg}" width="{size}" height="{size}">'
            )
            page.locator("img").screenshot(path=str(ICONS / f"cordee-{size}.png"), omit_background=True)
            page.close()
        browser.close()


if __name__ == "__main__":
    main()
