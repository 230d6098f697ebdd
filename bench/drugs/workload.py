"""The 500 fixed search queries of the drug benchmark, generated from the real files with a fixed
seed: 150 prefixes as typed, 100 typos, 100 substances, 100 full codes (CIS, CIP7, CIP13) and 50
code prefixes. The same 500 for a given snapshot, whatever the machine or database."""

from __future__ import annotations

import random
from pathlib import Path

SEED = 20260526


def _lines(path: Path) -> list[list[str]]:
    rows = []
    for raw in path.read_bytes().split(b"\n"):
        if raw.strip():
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("cp1252")
            rows.append(text.rstrip("\r").split("\t"))
    return rows


def _typo(word: str, rng: random.Random) -> str:
    position = rng.randrange(1, len(word) - 1)
    kind = rng.choice(("substitute", "delete", "insert", "transpose"))
    letter = rng.choice("abcdefghijklmnopqrstuvwxyz")
    if kind == "substitute":
        return word[:position] + letter + word[position + 1 :]
    if kind == "delete":
        return word[:position] + word[position + 1 :]
    if kind == "insert":
        return word[:position] + letter + word[position:]
    return word[: position - 1] + word[position] + word[position - 1] + word[position + 1 :]


def queries(snapshot: Path) -> list[tuple[str, str]]:
    """(kind, query): the same 500 for a given snapshot, whatever the machine or database."""
    rng = random.Random(SEED)
    names = sorted({row[1] for row in _lines(snapshot / "CIS_bdpm.txt")})
    substances = sorted({row[3] for row in _lines(snapshot / "CIS_COMPO_bdpm.txt") if row[6] == "SA"})
    boxes = sorted((row[0], row[1], row[6]) for row in _lines(snapshot / "CIS_CIP_bdpm.txt"))
    brands = sorted({n.split()[0].strip(",").lower() for n in names if len(n.split()[0]) >= 4})
    out: list[tuple[str, str]] = []
    for _ in range(150):  # prefixes as typed, sometimes into the second word
        name = rng.choice(names).lower()
        out.append(("prefix", name[: rng.randint(3, min(len(name), 14))].strip()))
    for _ in range(100):
        word = rng.choice(brands + [s.split()[0].lower() for s in substances if len(s.split()[0]) >= 5])
        out.append(("typo", _typo(word, rng) if len(word) >= 5 else word))
    for _ in range(100):
        out.append(("substance", rng.choice(substances).lower()))
    for _ in range(100):
        cis, cip7, cip13 = rng.choice(boxes)
        out.append(("code", rng.choice((cis, cip7, cip13))))
    for _ in range(50):
        code = rng.choice(boxes)[rng.choice((0, 2))]
        out.append(("code prefix", code[: rng.randint(5, len(code) - 1)]))
    return out
