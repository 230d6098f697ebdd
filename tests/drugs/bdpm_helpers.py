"""The real BDPM files for tests, whole or as a subset that keeps their bytes and quirks.

The subset takes every line of every file that concerns a chosen set of specialities (found by
name in the real ``CIS_bdpm.txt``), byte for byte: encodings, CRLF/LF, HTML, decimal commas and
trailing tabs stay as ANSM wrote them. Blank lines are kept where they were, the last line of
``CIS_MITM.txt`` (without its newline) is kept last, and a few lines naming a CIS that
``CIS_bdpm`` does not list are kept as orphans.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

SHARED_DATA = Path(os.environ.get("CORDEE_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
BDPM = SHARED_DATA / "bdpm" / "2026-05-26"
BDPM_HAS = SHARED_DATA / "bdpm" / "2023-11-18_HAS_only"
THESAURUS = SHARED_DATA / "ansm_interactions"
if not (BDPM / "CIS_bdpm.txt").exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"the shared test data is not at {SHARED_DATA} (CI is set, so this is a failure)")
    pytest.skip(f"the shared test data is not at {SHARED_DATA} (set CORDEE_SHARED_DATA)", allow_module_level=True)

# Specialities of the subset, by the start of their name in CIS_bdpm.txt.
NAMES = re.compile(
    r"^(DOLIPRANE|EFFERALGAN|PARACETAMOL (ARROW|BIOGARAN|ACCORD)|AMOXICILLINE (ARROW|BIOGARAN)|CLAMOXYL|AUGMENTIN|"
    r"COUMADINE|KARDEGIC|TRAMADOL ARROW|IMUKIN|A 313|ANASTROZOLE ACCORD|CLARITHROMYCINE ARROW|TENORMINE|"
    r"LEVOTHYROX|IBUPROFENE BIOGARAN|ADVIL|ATORVASTATINE BIOGARAN|TAHOR|PERSANTINE|"
    r"ASPIRINE UPSA|ASPRO|ACIDE ACETYLSALICYLIQUE BIOGARAN|FUCIDINE|SIMVASTATINE ARROW|ZOCOR|PREVISCAN|ELIQUIS|"
    r"VENTOLINE|DOLICHOS|LAROXYL|PERMIXON)",
    re.IGNORECASE,
)
FILES = [
    "CIS_bdpm.txt", "CIS_CIP_bdpm.txt", "CIS_COMPO_bdpm.txt", "CIS_GENER_bdpm.txt", "CIS_CPD_bdpm.txt",
    "CIS_MITM.txt", "CIS_CIP_Dispo_Spec.txt",
]  # fmt: skip
HAS_FILES = ["CIS_HAS_SMR_bdpm.txt", "CIS_HAS_ASMR_bdpm.txt"]


def read_lines(path: Path) -> list[bytes]:
    """Physical lines ended by LF, with their end of line (the last may have none). Not
    ``splitlines``: ``CIS_CPD_bdpm.txt`` ends some lines with CR CR LF, which is one line end."""
    data = path.read_bytes()
    lines = [line + b"\n" for line in data.split(b"\n")]
    lines[-1] = lines[-1][:-1]
    return [line for line in lines if line]


def field(line: bytes, index: int) -> bytes:
    parts = line.rstrip(b"\r\n").split(b"\t")
    return parts[index] if index < len(parts) else b""


def decode(line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return line.decode("cp1252")


def data_lines(path: Path) -> list[bytes]:
    return [line for line in read_lines(path) if line.strip()]


def chosen_cis() -> set[bytes]:
    chosen = set()
    for line in data_lines(BDPM / "CIS_bdpm.txt"):
        if NAMES.match(decode(field(line, 1)).strip()):
            chosen.add(field(line, 0))
    chosen.add(field(read_lines(BDPM / "CIS_MITM.txt")[-1], 0))  # the line without newline
    return chosen


def write_subset(target: Path) -> dict[str, int]:
    """Write the subset in ``target`` (BDPM and HAS files in one directory); return line counts."""
    target.mkdir(parents=True, exist_ok=True)
    cis = chosen_cis()
    all_cis = {field(line, 0) for line in data_lines(BDPM / "CIS_bdpm.txt")}
    counts: dict[str, int] = {}
    dossiers: set[bytes] = set()
    for name in FILES + HAS_FILES:
        source = (BDPM_HAS if name in HAS_FILES else BDPM) / name
        lines = read_lines(source)
        column = 2 if name == "CIS_GENER_bdpm.txt" else 0
        kept = []
        orphans = 0
        for line in lines:
            code = field(line, column)
            if not line.strip():
                kept.append(line)  # the stray blank lines stay
            elif code in cis:
                kept.append(line)
            elif name == "CIS_GENER_bdpm.txt" and code not in all_cis and orphans < 3:
                kept.append(line)
                orphans += 1
        if name in HAS_FILES:
            dossiers |= {field(line, 1) for line in kept if line.strip()}
        if name == "CIS_MITM.txt":
            kept.append(kept.pop(kept.index(lines[-1])))  # keep the newline-less line last
        (target / name).write_bytes(b"".join(kept))
        counts[name] = sum(1 for line in kept if line.strip())
    links = [line for line in read_lines(BDPM / "HAS_LiensPageCT_bdpm.txt") if field(line, 0) in dossiers]
    (target / "HAS_LiensPageCT_bdpm.txt").write_bytes(b"".join(links))
    counts["HAS_LiensPageCT_bdpm.txt"] = len(links)
    return counts
