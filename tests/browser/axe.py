"""axe-core in the browser tests: read from node_modules by the test, never served by Cordée.

``violations(page)`` runs axe on the page as it is, with the WCAG 2.0/2.1 A and AA rules, and
returns what it found (rule id, impact, the first nodes' selectors), an empty list when none.
The script is evaluated through the DevTools protocol, which the page's CSP does not govern.
"""

from __future__ import annotations

import functools
from pathlib import Path

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@functools.cache
def _source() -> str:
    return AXE.read_text(encoding="utf-8")


def violations(page) -> list[dict]:
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(_source() + "\n;undefined")
    found = page.evaluate(
        """async (tags) => {
          const options = { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] };
          const result = await axe.run(document, options);
          return result.violations.map((v) => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
          }));
        }""",
        TAGS,
    )
    return found
