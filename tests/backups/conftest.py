"""Backups fixtures: a restic repository, blob directory and shred list of the test, and the demo
data (with documents, so that blobs exist) committed, since pg_dump reads from another connection."""

from __future__ import annotations

import shutil

import pytest

from cordee import demo as cordee_demo
from cordee.audit import services as audit
from cordee.backups import restic

PASSWORD = "a-long-test-repository-password"


def require_restic() -> None:
    from tests.conftest import require

    require("restic", shutil.which("restic") is not None, "apt-get install restic (make backup-tools)")


@pytest.fixture
def backup_settings(settings, tmp_path):
    require_restic()
    settings.BLOB_BACKEND = "local"
    settings.BLOB_DIR = tmp_path / "data" / "blobs"
    settings.BACKUP_REPOSITORY = str(tmp_path / "repo")
    settings.BACKUP_PASSWORD = PASSWORD
    settings.BACKUP_SHRED_LIST_PATH = tmp_path / "keys" / "shredded.jsonl"
    settings.BACKUP_CACHE_DIR = tmp_path / "restic-cache"
    return settings


@pytest.fixture
def repository(backup_settings):
    return restic.Repository.configured()


@pytest.fixture
def demo_data(transactional_db, backup_settings):
    users = cordee_demo.seed(with_mfa=False, with_documents=True)
    audit.record("login.success", actor=users["alice"])  # the trail has entries to verify
    return users
