"""The reader process of a large file (``pubmed.reader``) and the rows it prepares (``pubmed.rows``)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db.models import JSONField

from cordee.library import importer
from cordee.library.models import Article, ArticleTerm
from cordee.library.pubmed import reader, rows
from cordee.library.pubmed.records import Author, Record
from tests.library.conftest import import_files
from tests.library.test_import import HEAD, article_xml


def _big_file(write) -> Path:
    """620 records (frames of 100, a batch of 500 and the rest), one without PMID, a deletion, a
    newer version of an earlier record, then damage."""
    parts = [HEAD]
    for pmid in range(1, 621):
        parts.append(article_xml(pmid, title=f"Title <i>{pmid}</i> \u00e9t\u00e9."))
        if pmid == 300:
            parts.append("<PubmedArticle><MedlineCitation><PMID></PMID></MedlineCitation></PubmedArticle>\n")
            parts.append('<DeleteCitation><PMID Version="1">7</PMID></DeleteCitation>\n')
            parts.append(article_xml(5, title="Five, revised.", revised="2021-02-02"))
    parts.append(article_xml(621)[:80])
    return write("big.xml", "".join(parts))


def _stored() -> tuple[list, list]:
    articles = list(
        Article.objects.order_by("pmid").values_list(
            "pmid", "title", "title_markup", "fingerprint", "authors", "abstract", "year", "deleted_at", "source_file"
        )
    )
    articles = [(*a[:7], a[7] is None, a[8]) for a in articles]
    terms = sorted(ArticleTerm.objects.values_list("article__pmid", "kind", "value"))
    return articles, terms


def _report(run) -> list[dict]:
    return [{k: v for k, v in f.items() if k != "seconds"} for f in run.report["files"]]


def test_a_process_reads_a_large_file_and_stores_what_a_thread_stores(write, db, monkeypatch):
    path = _big_file(write)
    monkeypatch.setattr(importer, "PROCESS_FROM_BYTES", 1 << 40)
    by_thread = import_files(path)
    stored = _stored()
    Article.objects.all().delete()

    prepared_here: list[int] = []
    prepare = importer.prepare
    monkeypatch.setattr(importer, "prepare", lambda r, s: prepared_here.append(r.pmid) or prepare(r, s))
    monkeypatch.setattr(importer, "PROCESS_FROM_BYTES", path.stat().st_size)  # this file and larger
    by_process = import_files(path)
    assert prepared_here == []  # parsed and prepared by the child
    assert _stored() == stored and _report(by_process) == _report(by_thread)
    entry = _report(by_process)[0]
    assert entry["records"] == 621 and entry["created"] == 620 and entry["deleted"] == 1
    assert entry["skipped"] == [[301, "invalid PMID ''"]] and entry["stopped"]["line"] > 600
    assert Article.objects.get(pmid=5).title == "Five, revised."
    # and once more: every record unchanged, nothing written
    again = import_files(path)
    assert again.report["files"][0]["unchanged"] == 619 and _stored() == stored


def test_a_reader_process_that_dies_is_a_read_error_of_its_file(write, db, monkeypatch, tmp_path):
    dying = tmp_path / "python"
    dying.write_text("#!/bin/sh\nexit 3\n")
    dying.chmod(0o700)
    monkeypatch.setattr(importer, "PROCESS_FROM_BYTES", 0)
    monkeypatch.setattr(sys, "executable", str(dying))
    run = import_files(write("a.xml", HEAD + article_xml(1) + "</PubmedArticleSet>"))
    entry = run.report["files"][0]
    assert "the reader process stopped (exit code 3)" in entry["error"]
    assert run.status == "done" and not Article.objects.exists()


def _children() -> set[int]:
    found = set()
    for pid in os.listdir("/proc"):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        if pid.isdigit() and int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid() and b"pubmed.reader" in cmdline:
            found.add(int(pid))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the children from /proc (Linux)")
def test_closing_the_reading_early_stops_the_child(write):
    path = write("many.xml", HEAD + "".join(article_xml(p) for p in range(1, 2000)) + "</PubmedArticleSet>")
    items = reader.read_prepared(path, "xml", "many.xml")
    first = next(items)
    assert isinstance(first, rows.Prepared) and first.pmid == 1 and _children()
    items.close()
    deadline = time.monotonic() + 5
    while _children() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _children()


def test_the_reader_process_loads_no_django():
    """The child parses and prepares only: it cannot reach the database or the settings."""
    code = "import sys, cordee.library.pubmed.reader; print(sorted(m for m in sys.modules if m.startswith('django')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)  # noqa: S603
    assert done.stdout.strip() == "[]"


def test_the_prepared_columns_match_the_models():
    assert set(rows.JSON_FIELDS) == {f.name for f in Article._meta.concrete_fields if isinstance(f, JSONField)}
    assert {rows.TYPE, rows.MESH, rows.MAJOR} == set(ArticleTerm.Kind.values)
    values = rows.prepare(Record(pmid=1, title_markup="T"), "a.xml").values
    from cordee.library.store import UPDATED_FIELDS

    assert set(values) | {"imported_at", "deleted_at"} == set(UPDATED_FIELDS)


def test_the_fingerprint_follows_every_stored_column_but_the_source_file():
    base = Record(pmid=1, title_markup="T", year=2020, authors=[Author(name="A", last="A")])
    fingerprint = rows.prepare(base, "a.xml").values["fingerprint"]
    assert rows.prepare(base, "other-file.xml").values["fingerprint"] == fingerprint
    changed = [
        Record(pmid=1, title_markup="T.", year=2020, authors=[Author(name="A", last="A")]),
        Record(pmid=1, title_markup="T", year=2021, authors=[Author(name="A", last="A")]),
        Record(pmid=1, title_markup="T", year=2020, authors=[Author(name="A", last="A", orcid="0000")]),
        Record(pmid=1, title_markup="T", year=2020, authors=[Author(name="A", last="A")], revised="2020-01-02"),
    ]
    assert len({rows.prepare(r, "a.xml").values["fingerprint"] for r in changed} | {fingerprint}) == 5


def test_the_shared_files_read_by_a_process_store_what_a_thread_stores(db, monkeypatch):
    """Every shared PubMed file (XML, gzip, MEDLINE text, the HTML one refused) through the child."""
    from tests.library.conftest import shared_files

    paths = shared_files()
    monkeypatch.setattr(importer, "PROCESS_FROM_BYTES", 1 << 40)
    by_thread = import_files(*paths)
    stored = _stored()
    Article.objects.all().delete()
    monkeypatch.setattr(importer, "PROCESS_FROM_BYTES", 0)
    by_process = import_files(*paths)
    assert len(stored[0]) > 700 and _stored() == stored
    assert _report(by_process) == _report(by_thread)
    assert any("error" in f for f in _report(by_process))  # the HTML file, refused by the child too


def test_without_an_interpreter_to_start_a_large_file_is_read_by_a_thread(write, db, monkeypatch):
    """An embedded Python may have no ``sys.executable``: the import still runs, in a thread."""
    monkeypatch.setattr(importer, "PROCESS_FROM_BYTES", 0)
    monkeypatch.setattr(sys, "executable", "")
    run = import_files(write("a.xml", HEAD + article_xml(1) + article_xml(2) + "</PubmedArticleSet>"))
    assert run.report["files"][0]["created"] == 2 and "error" not in run.report["files"][0]
