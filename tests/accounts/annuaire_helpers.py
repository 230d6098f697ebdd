"""Building Annuaire Santé extraction files for tests, from the real sample's header and rows."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest
from allauth.account.internal.flows.login import (
    _AUTHENTICATION_METHODS_USER_SESSION_KEY,
    AUTHENTICATION_METHODS_SESSION_KEY,
)
from django.conf import settings

from cordee.accounts.identifiers import luhn_valid

SHARED_DATA = Path(os.environ.get("CORDEE_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
SAMPLE = SHARED_DATA / "rpps_annuaire_sante" / "PS_LibreAcces_Personne_activite_small.txt"
if not SAMPLE.exists() and not os.environ.get("CI"):
    pytest.skip(f"the shared test data is not at {SHARED_DATA} (set CORDEE_SHARED_DATA)", allow_module_level=True)
SAMPLE_BYTES = SAMPLE.read_bytes()
SAMPLE_LINES = SAMPLE_BYTES.decode("utf-8").split("\n")[:-1]  # LF-terminated, last one too
HEADER = SAMPLE_LINES[0]
COLUMN_NAMES = HEADER.removesuffix("|").split("|")
RPPS_LINE = next(line for line in SAMPLE_LINES[1:] if line.startswith("8|"))


def with_key(first_ten: str) -> str:
    """An RPPS number: ``first_ten`` digits and the Luhn key that makes it valid."""
    return next(first_ten + d for d in "0123456789" if luhn_valid(first_ten + d))


def line(base: str = RPPS_LINE, **columns: str) -> str:
    """A data line like ``base`` with some columns replaced; columns are named as in the header,
    so pass them as ``**{"Nom d'exercice": "X"}``."""
    fields = base.removesuffix("|").split("|")
    for name, value in columns.items():
        fields[COLUMN_NAMES.index(name)] = value
    return "|".join(fields) + "|"


def rpps_line(rpps: str, last_name: str, first_name: str = "Émile", profession: str = "10", label: str = "Médecin"):
    return line(**{
        "Identifiant PP": rpps, "Identification nationale PP": "8" + rpps, "Nom d'exercice": last_name,
        "Prénom d'exercice": first_name, "Code profession": profession, "Libellé profession": label,
    })  # fmt: skip


def extraction(*lines: str, header: str = HEADER, eol: str = "\n", encoding: str = "utf-8") -> bytes:
    return (eol.join([header, *lines]) + eol).encode(encoding)


def stream(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)


def sudo(client, user, *, age: float = 0) -> None:
    """Make the client's last authentication ``age`` seconds old (0: just re-authenticated).

    A sign-in within ``ACCOUNT_REAUTHENTICATION_TIMEOUT`` counts as recent (sudo mode), so an
    ``age`` beyond it makes dangerous actions ask for re-authentication.
    """
    session = client.session
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "password", "at": time.time() - age, "reauthenticated": True}
    ]
    session[_AUTHENTICATION_METHODS_USER_SESSION_KEY] = str(user.pk)
    session.save()


def sudo_expired(client, user) -> None:
    sudo(client, user, age=settings.ACCOUNT_REAUTHENTICATION_TIMEOUT + 1)
