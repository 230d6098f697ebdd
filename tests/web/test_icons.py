"""Every module entry names an icon that exists, and no two icon files draw the same picture."""

from __future__ import annotations

from pathlib import Path

from cordee.lib import modules

ICONS = Path(__file__).resolve().parents[2] / "cordee" / "web" / "templates" / "web" / "icons"


def test_every_entry_names_an_existing_icon(db):
    missing = {entry.key: entry.icon for entry in modules.entries() if not (ICONS / f"{entry.icon}.svg").is_file()}
    assert not missing


def test_no_icon_is_a_copy_of_another():
    drawings: dict[str, str] = {}
    for path in sorted(ICONS.glob("*.svg")):
        drawing = path.read_text().strip()
        assert drawing not in drawings, f"{path.name} draws what {drawings.get(drawing)} draws"
        drawings[drawing] = path.name
