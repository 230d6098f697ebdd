"""Fixtures of the drug-database tests.

Importing costs time, so a module that only reads imports once: ``subset_db`` (a subset of the
real files, ≈170 specialities) or ``full_db`` (the whole real snapshot: only
``test_full_import.py`` uses it, so the suite imports the full files once per run). Both run the
import inside a transaction opened for the module and rolled back after it; each test's own
transaction nests inside (a savepoint), so tests still cannot see each other's changes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.db import transaction

from cordee.accounts.models import User
from cordee.drugs import services
from cordee.drugs.models import ImportRun
from tests.drugs.bdpm_helpers import BDPM, BDPM_HAS, THESAURUS, write_subset


def run_import(*directories: Path, kind: str = ImportRun.Kind.BDPM, allow_shrink: bool = False) -> ImportRun:
    run = services.create_command_run(kind, list(directories))
    return services.do_run_import(run.pk, allow_shrink=allow_shrink)


@pytest.fixture(scope="session")
def subset_dir(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("bdpm") / "subset"
    write_subset(target)
    return target


@pytest.fixture
def snapshot(subset_dir, tmp_path) -> Path:
    """A copy of the subset that a test may change."""
    target = tmp_path / "snapshot"
    shutil.copytree(subset_dir, target)
    return target


def _module_import(django_db_blocker, *directories: Path):
    with django_db_blocker.unblock(), transaction.atomic():
        bdpm = run_import(*directories)
        thesaurus = run_import(THESAURUS, kind=ImportRun.Kind.INTERACTIONS)
        yield bdpm, thesaurus
        transaction.set_rollback(True)


@pytest.fixture(scope="module")
def subset_db(django_db_setup, django_db_blocker, subset_dir):
    yield from _module_import(django_db_blocker, subset_dir)


@pytest.fixture(scope="module")
def full_db(django_db_setup, django_db_blocker):
    yield from _module_import(django_db_blocker, BDPM, BDPM_HAS)


@pytest.fixture
def operator(db):
    """The platform operator: an active superuser, who may import."""
    return User.objects.create_superuser("operator@cordee.test", "operator-password-1234", first_name="Olga")
