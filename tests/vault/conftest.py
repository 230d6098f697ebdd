"""Vault fixtures: a fresh keyset file and blob directory per test (the suite's default keyset is
``.data/keys/vault-kek.json``, created on the first DEBUG start-up)."""

from __future__ import annotations

import datetime as dt

import pytest

from cordee.vault import keyset


@pytest.fixture
def vault_keyset(settings, tmp_path):
    """A keyset of this test only; tests that rotate or swap keys use it before writing any data."""
    path = tmp_path / "keys" / "vault-kek.json"
    keyset.create(path)
    settings.VAULT_KEYSET_PATH = path
    return path


@pytest.fixture
def blob_dir(settings, tmp_path):
    settings.BLOB_BACKEND = "local"
    settings.BLOB_DIR = tmp_path / "blobs"
    return settings.BLOB_DIR


@pytest.fixture
def registrar(db):
    """A professional who registers patients (no personas: their patient uses the default keyset)."""
    from cordee.accounts.models import User

    return User.objects.create_user("registrar@cordee.test", "x", kind="professional")


TRAITS = {
    "birth_name": "Lefèvre-d'Arc",
    "birth_given_names": "Zoé Anne",
    "birth_date": dt.date(1931, 7, 29),
    "sex": "F",
    "birth_place_code": "75112",
    "ins": "285076911234576",
    "address": "3 impasse des Glycines\n13001 Marseille",
}


@pytest.fixture
def patient(registrar):
    from cordee.accounts import services

    return services.do_register_patient(by=registrar, **TRAITS)
