"""Fixtures of the library's tests: the synthetic demo articles, the shared PubMed files."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection

from cordee.library import services
from cordee.library.demo import ARTICLES
from cordee.library.models import ImportRun

DATA = Path(__file__).parent / "data"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "pubmed"
if not SHARED.is_dir():  # a worktree sits one level deeper than the main checkout
    SHARED = Path("/work/shared/data/pubmed")


def import_files(*paths: Path) -> ImportRun:
    run = services.create_command_run(list(paths))
    return services.do_run_import(run.pk)


@contextmanager
def recorded_sql() -> Iterator[list[str]]:
    """The text of every statement run on the connection inside the block, as written (with its
    placeholders: Django's ``CaptureQueriesContext`` keeps the query as the driver sent it, values
    in or ``$n`` with server-side binding)."""
    statements: list[str] = []

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield statements


def shared_files() -> list[Path]:
    if not SHARED.is_dir():
        pytest.skip("the shared PubMed files (../shared/data/pubmed) are not on this machine")
    return sorted(p for p in SHARED.rglob("*") if p.is_file())


@pytest.fixture
def demo_articles(db) -> ImportRun:
    return import_files(ARTICLES, DATA / "sample.nbib")


@pytest.fixture
def shared_articles(db) -> ImportRun:
    return import_files(*shared_files())


@pytest.fixture(params=["thread", "process"])
def reader(request, monkeypatch) -> str:
    """The test runs twice: files read by a thread of the importer, then by a process of their own
    (``pubmed.reader``, which the importer uses from ``PROCESS_FROM_BYTES``)."""
    from cordee.library import importer

    monkeypatch.setattr(importer, "PROCESS_FROM_BYTES", 1 << 40 if request.param == "thread" else 0)
    return request.param


@pytest.fixture
def write(tmp_path):
    def make(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path

    return make


@pytest.fixture
def operator(db):
    from cordee.accounts.models import User

    return User.objects.create_superuser("operator@cordee.test", "operator-password-1234", first_name="Olga")
