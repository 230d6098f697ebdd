"""An older BDPM snapshot made from the real one, to measure and test an update between snapshots.

Only one real snapshot is in the shared data (2026-05-26). ``write_older(source, target)`` writes
a plausible earlier state of it, deterministically (fixed seed), with the real bytes and
encodings of every line it keeps: some specialities and boxes do not exist yet (the newer
snapshot creates them), some existed then and are gone since (it marks them removed), many
prices, statuses and holders were different (it updates them), and a share of the rows of the
other files differ (compositions, conditions, generic groups, opinions, shortages). Updating
from this older state to the real one is what an operator's monthly import does.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

SEED = 20231118
SHARES = {
    "new_products": 0.04,  # not yet in the older snapshot
    "gone_products": 0.02,  # in the older snapshot only (copies under unused CIS codes)
    "changed_products": 0.15,
    "changed_prices": 0.6,  # prices move every year
    "changed_boxes": 0.08,
    "changed_rows": 0.03,  # of the rows of the replaced files
}
# The column changed in a share of the rows of each replaced file (None: only rows of new or gone products).
CHANGED_COLUMNS = {
    "CIS_COMPO_bdpm.txt": 4, "CIS_CPD_bdpm.txt": 1, "CIS_GENER_bdpm.txt": 1, "CIS_CIP_Dispo_Spec.txt": 3,
    "CIS_MITM.txt": 2, "HAS_LiensPageCT_bdpm.txt": None,
}  # fmt: skip
_PRICE = re.compile(rb"^\d+(,\d+)*$")


def _lines(path: Path) -> list[bytes]:
    data = path.read_bytes()
    lines = [line + b"\n" for line in data.split(b"\n")]
    lines[-1] = lines[-1][:-1]
    return [line for line in lines if line]


def _fields(line: bytes) -> tuple[list[bytes], bytes]:
    end = b"\r\n" if line.endswith(b"\r\n") else b"\n" if line.endswith(b"\n") else b""
    return line[: len(line) - len(end)].split(b"\t"), end


def _join(fields: list[bytes], end: bytes) -> bytes:
    return b"\t".join(fields) + end


def _older_price(value: bytes, rng: random.Random) -> bytes:
    """A price a little different, written as the BDPM writes them ("24,34")."""
    if not _PRICE.match(value):
        return value
    cents = int(value.replace(b",", b""))
    older = max(1, int(cents * rng.uniform(0.85, 1.1)))
    return f"{older // 100},{older % 100:02d}".encode()


def write_older(source: Path, target: Path, *, seed: int = SEED) -> dict[str, int]:
    """Write the older snapshot of ``source`` into ``target``; return what differs, by kind."""
    rng = random.Random(seed)
    target.mkdir(parents=True, exist_ok=True)
    products = _lines(source / "CIS_bdpm.txt")
    all_cis = [_fields(line)[0][0] for line in products]
    new = set(rng.sample(all_cis, int(SHARES["new_products"] * len(all_cis))))
    gone = {
        cis: b"9" + cis[1:]
        for cis in rng.sample([c for c in all_cis if c not in new], int(SHARES["gone_products"] * len(all_cis)))
    }
    counts = {"new_products": len(new), "gone_products": len(gone), "changed_products": 0, "changed_boxes": 0}
    out = []
    for line in products:
        fields, end = _fields(line)
        if fields[0] in new:
            continue
        if rng.random() < SHARES["changed_products"]:
            fields[10] = fields[10] + b" (ANCIEN TITULAIRE)"  # holder
            counts["changed_products"] += 1
        out.append(_join(fields, end))
        if fields[0] in gone:
            out.append(_join([gone[fields[0]], *fields[1:]], end))
    (target / "CIS_bdpm.txt").write_bytes(b"".join(out))
    counts["changed_boxes"] = _write_boxes(source, target, new, gone, rng)
    for name, column in CHANGED_COLUMNS.items():
        counts[name] = _write_rows(
            source / name, target / name, 2 if name == "CIS_GENER_bdpm.txt" else 0, column, new, gone, rng
        )
    return counts


def _write_boxes(source: Path, target: Path, new: set[bytes], gone: dict[bytes, bytes], rng: random.Random) -> int:
    out, changed = [], 0
    for line in _lines(source / "CIS_CIP_bdpm.txt"):
        fields, end = _fields(line)
        if fields[0] in new:
            continue
        if rng.random() < SHARES["changed_prices"] and len(fields) > 10:
            fields[9] = _older_price(fields[9], rng)
            changed += 1
        elif rng.random() < SHARES["changed_boxes"]:
            fields[4] = b"Arr\xc3\xaat de commercialisation (le m\xc3\xa9dicament n'a plus d'autorisation)"
            changed += 1
        out.append(_join(fields, end))
        if fields[0] in gone:
            copy = [gone[fields[0]], b"9" + fields[1][1:], *fields[2:6], b"9" + fields[6][1:], *fields[7:]]
            out.append(_join(copy, end))
    (target / "CIS_CIP_bdpm.txt").write_bytes(b"".join(out))
    return changed


def _write_rows(source: Path, target: Path, cis_column: int, changed_column: int | None, new: set[bytes],
                gone: dict[bytes, bytes], rng: random.Random) -> int:  # fmt: skip
    out, changed = [], 0
    for line in _lines(source):
        fields, end = _fields(line)
        cis = fields[cis_column] if len(fields) > cis_column else b""
        if cis in new:
            continue
        if changed_column is not None and len(fields) > changed_column and rng.random() < SHARES["changed_rows"]:
            fields[changed_column] = fields[changed_column] + b" (ancien)"
            changed += 1
        out.append(_join(fields, end))
        if cis in gone:
            copy = list(fields)
            copy[cis_column] = gone[cis]
            out.append(_join(copy, end))
    target.write_bytes(b"".join(out))
    return changed
