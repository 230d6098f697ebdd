"""The importer: every field of the issue, damaged and dangerous files, versions, idempotence."""

from __future__ import annotations

import gzip

import pytest

from cordee.audit.models import AuditEntry
from cordee.library.models import Article, ArticleTerm, ImportRun
from cordee.library.pubmed.markup import render
from tests.library.conftest import ARTICLES, DATA, import_files, recorded_sql

HEAD = '<?xml version="1.0"?>\n<PubmedArticleSet>\n'


def article_xml(
    pmid: int, title: str = "A title.", revised: str = "2020-01-01", version: int = 1, extra: str = ""
) -> str:
    y, m, d = revised.split("-")
    return (
        f'<PubmedArticle><MedlineCitation><PMID Version="{version}">{pmid}</PMID>'
        f"<DateRevised><Year>{y}</Year><Month>{m}</Month><Day>{d}</Day></DateRevised>"
        f"<Article><Journal><JournalIssue><PubDate><Year>2020</Year></PubDate></JournalIssue><Title>J</Title></Journal>"
        f"<ArticleTitle>{title}</ArticleTitle>{extra}</Article></MedlineCitation></PubmedArticle>\n"
    )


def test_every_field_of_a_pubmed_record(demo_articles):
    article = Article.objects.get(pmid=990000001)
    assert article.title.startswith("Sodium-glucose cotransporter 2 inhibitors in chronic heart failure")
    assert [s["label"] for s in article.abstract] == ["BACKGROUND", "METHODS", "CONCLUSIONS"]
    assert "HbA<sub>1c</sub>" in article.abstract[1]["markup"]
    assert article.doi == "10.9999/cordee.demo.1" and article.pmc == "PMC9900001"
    first = article.authors[0]
    assert first["name"] == "Martin C" and first["orcid"] == "0000-0002-1825-0097"
    assert first["affiliations"] == ["Service de cardiologie, CHU de Lyon, France."]
    assert article.journal == "European journal of heart failure" and article.journal_abbrev == "Eur J Heart Fail"
    assert (article.year, article.month, article.volume, article.issue, article.pages) == (2020, 6, "12", "4", "455-67")
    assert article.publication_types == ["Journal Article", "Review"]
    assert article.major_topics == ["Heart Failure"]
    assert article.chemicals == ["Sodium-Glucose Transporter 2 Inhibitors"]
    assert article.language == "eng"
    assert set(ArticleTerm.objects.filter(article=article).values_list("kind", "value")) >= {
        ("type", "review"),
        ("major", "heart failure"),
        ("mesh", "humans"),
    }


def test_medline_date_collective_author_and_major_qualifier(demo_articles):
    article = Article.objects.get(pmid=990000002)
    assert (article.date_text, article.year, article.month) == ("2019 Nov-Dec", 2019, 11)
    assert (
        article.title_markup
        == "Metformin and lactic acidosis in <i>chronic kidney disease</i>: a randomized controlled trial."
    )
    assert "Diabetes Mellitus, Type 2" in article.major_topics  # major by its qualifier
    group = Article.objects.get(pmid=990000003).authors[0]
    assert group["collective"] and group["name"] == "Heart Failure Guideline Group"


def test_medline_text_with_crlf(demo_articles):
    article = Article.objects.get(pmid=990000010)
    assert article.title == "Metformin use and heart failure outcomes in older adults: a cohort study."
    assert [s["label"] for s in article.abstract] == ["BACKGROUND", "METHODS", "CONCLUSIONS"]
    assert article.authors[0]["name"] == "Durand JP" and article.authors[0]["orcid"] == "0000-0001-5109-3700"
    assert article.authors[0]["affiliations"][0].startswith("Departement de medecine generale")
    assert (article.year, article.month, article.doi, article.pmc) == (2021, 3, "10.9999/cordee.nbib.1", "PMC9900010")
    assert article.major_topics == ["Heart Failure", "Metformin"]
    assert article.chemicals == ["Metformin"] and article.journal_abbrev == "BMJ Open"


def test_medline_text_with_lf_reads_the_same(write, db, reader):
    lf = (DATA / "sample.nbib").read_bytes().replace(b"\r\n", b"\n")
    run = import_files(write("lf.txt", lf))
    assert run.report["files"][0]["created"] == 2
    assert Article.objects.get(pmid=990000010).title.endswith("a cohort study.")


def test_an_article_without_abstract_or_title_is_kept(write, db):
    import_files(write("bare.xml", HEAD + article_xml(5, title="") + "</PubmedArticleSet>"))
    article = Article.objects.get(pmid=5)
    assert article.title == "" and article.abstract == [] and article.abstract_text == ""
    assert Article.objects.get(pmid=5).year == 2020


def test_inline_markup_is_rendered_safely():
    assert render("a <i>b</i> &lt;script&gt;") == "a <i>b</i> &lt;script&gt;"
    assert render('<script>alert(1)</script><i onclick="x">t</i>') == (
        "&lt;script&gt;alert(1)&lt;/script&gt;&lt;i onclick=&quot;x&quot;&gt;t"  # an unmatched closing tag is dropped
    )
    assert render("<sup>2") == "<sup>2</sup>"  # closed


def test_markup_from_the_file_cannot_inject_html(write, db):
    title = "Beta &lt;script&gt;alert(1)&lt;/script&gt; <i>in vivo</i> <mml:math xmlns:mml='http://www.w3.org/1998/Math/MathML'><mml:mi>x</mml:mi></mml:math>"
    import_files(write("x.xml", HEAD + article_xml(6, title=title) + "</PubmedArticleSet>"))
    stored = Article.objects.get(pmid=6).title_markup
    assert "<script" not in stored and "&lt;script&gt;" in stored and "<i>in vivo</i>" in stored and "x" in stored


def test_a_truncated_file_keeps_every_complete_record_and_says_where_it_stopped(write, db, reader):
    content = HEAD + article_xml(1) + article_xml(2) + article_xml(3)[:90]
    run = import_files(write("cut.xml.gz", gzip.compress(content.encode())))
    entry = run.report["files"][0]
    assert sorted(Article.objects.values_list("pmid", flat=True)) == [1, 2]
    assert entry["stopped"]["line"] == 5 and entry["stopped"]["column"] > 0 and run.status == "done"
    assert AuditEntry.objects.filter(action="library.import.finished").exists()


def test_a_truncated_gzip_stream(write, db, reader):
    packed = gzip.compress((HEAD + article_xml(1) + article_xml(2) * 1 + "</PubmedArticleSet>").encode())
    run = import_files(write("cut.gz", packed[: len(packed) - 30]))
    entry = run.report["files"][0]
    assert entry.get("stopped") or entry.get("error")


def test_a_malformed_file(write, db, reader):
    run = import_files(
        write("bad.xml", HEAD + article_xml(1) + "<PubmedArticle><oops></PubmedArticle>" + article_xml(2))
    )
    assert list(Article.objects.values_list("pmid", flat=True)) == [1]
    assert "mismatched tag" in run.report["files"][0]["stopped"]["reason"]


def test_external_entities_are_refused_never_fetched(write, db, reader):
    xxe = (
        '<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
        "<PubmedArticleSet>" + article_xml(1, title="&xxe;") + "</PubmedArticleSet>"
    )
    run = import_files(write("xxe.xml", xxe))
    assert "entities" in run.report["files"][0]["error"] and not Article.objects.exists()


def test_billion_laughs_is_refused(write, db, reader):
    lol = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol%s;" % ("" if i == 1 else i - 1)) * 10}">' for i in range(1, 10)
    )
    body = article_xml(1, title="&lol9;")
    bomb = f'<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet [{lol}]>\n<PubmedArticleSet>{body}</PubmedArticleSet>'
    run = import_files(write("lol.xml", bomb))
    assert "entities" in run.report["files"][0]["error"] and not Article.objects.exists()


def test_a_doctype_naming_the_nlm_dtd_is_read_without_fetching_it(demo_articles):
    assert demo_articles.report["files"][0]["created"] == 5  # the demo file has the usual DOCTYPE SYSTEM


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        ("page.xml", "<html><body>ASN.1 here</body></html>", "not a PubMed XML file"),
        ("notes.xml", "this is not XML at all", "not an XML file"),
        ("list.txt", "just some\ntext\n", "not a MEDLINE file"),
        ("empty.xml", "", "not an XML file"),
    ],
)
def test_files_that_are_not_pubmed_are_refused_and_the_next_is_read(write, db, name, content, error, reader):
    run = import_files(write(name, content), ARTICLES)
    assert error in run.report["files"][0]["error"]
    assert run.report["files"][1]["created"] == 5 and run.status == "done"


def test_records_without_a_pmid_are_listed(write, db, reader):
    content = HEAD + article_xml(1) + "<PubmedArticle><MedlineCitation><PMID></PMID></MedlineCitation></PubmedArticle>"
    run = import_files(write("nopmid.xml", content + "</PubmedArticleSet>"))
    assert run.report["files"][0]["skipped"] == [[2, "invalid PMID ''"]]


def test_delete_citation_withdraws_and_a_newer_version_replaces(write, db, reader):
    first = write("base.xml", HEAD + article_xml(1, "Old title.") + article_xml(2) + "</PubmedArticleSet>")
    update = write(
        "update.xml",
        HEAD
        + article_xml(1, "New title.", revised="2021-05-05")
        + '<DeleteCitation><PMID Version="1">2</PMID><PMID Version="1">999</PMID></DeleteCitation></PubmedArticleSet>',
    )
    run = import_files(first, update)
    assert Article.objects.get(pmid=1).title == "New title."
    assert Article.objects.get(pmid=2).deleted_at is not None
    assert run.report["files"][1]["updated"] == 1 and run.report["files"][1]["deleted"] == 1
    # the older file again: it does not bring the old title back
    again = import_files(first)
    assert Article.objects.get(pmid=1).title == "New title." and again.report["files"][0]["older"] == 1


def test_duplicate_pmids_across_files_keep_the_newest(write, db):
    a = write("a.xml", HEAD + article_xml(7, "Newest.", revised="2022-01-01") + "</PubmedArticleSet>")
    b = write("b.xml", HEAD + article_xml(7, "Oldest.", revised="2019-01-01") + "</PubmedArticleSet>")
    import_files(a, b)
    assert Article.objects.get(pmid=7).title == "Newest." and Article.objects.count() == 1


def test_reimport_is_idempotent(demo_articles, db):
    before = list(Article.objects.order_by("pmid").values_list("pmid", "fingerprint", "imported_at"))
    terms = ArticleTerm.objects.count()
    again = import_files(ARTICLES, DATA / "sample.nbib")
    assert all(f["unchanged"] == f["records"] for f in again.report["files"])
    assert list(Article.objects.order_by("pmid").values_list("pmid", "fingerprint", "imported_at")) == before
    assert ArticleTerm.objects.count() == terms


def test_the_shared_pubmed_files(shared_articles):
    files = {f["name"]: f for f in shared_articles.report["files"]}
    assert files["medline16n0902.xml.gz"]["created"] == 604
    assert "not a PubMed XML file" in files["biopython_pubmed3_asn1_in_html_NOT_XML.html"]["error"]
    assert files["scicopia_pubmed.xml"]["duplicate"] == 12 and len(files["scicopia_pubmed.xml"]["skipped"]) == 2
    assert files["ncbiutils_pubmed22n1313.xml"]["created"] == 4
    assert Article.objects.filter(deleted_at__isnull=True).count() > 780


def test_the_command_prints_the_report(write, capsys, db):
    from django.core.management import call_command

    call_command("import_pubmed", str(write("cut.xml", HEAD + article_xml(1) + "<PubmedArt")))
    out = capsys.readouterr().out
    assert "1 created" in out and "stopped at line" in out
    requested = AuditEntry.objects.get(action="library.import.requested")
    assert requested.details["via"] == "command"


def test_records_are_prepared_in_the_reader_thread(write, db, monkeypatch):
    """A small file: the Python half of storing (columns, JSON, fingerprint: ``rows.prepare``)
    runs in the reader thread, beside the parsing, while the caller writes the batch before; the
    rows are the same as storing a record at once."""
    import threading

    from cordee.library import importer

    threads: set[str] = set()
    prepare = importer.prepare

    def spy(record, source):
        threads.add(threading.current_thread().name)
        return prepare(record, source)

    monkeypatch.setattr(importer, "prepare", spy)
    run = import_files(ARTICLES)
    assert threads == {"library-import-reader"}
    assert run.status == ImportRun.Status.DONE and Article.objects.exists()
    article = Article.objects.order_by("pmid").first()
    assert isinstance(article.authors, list) and isinstance(article.abstract, list)  # JSON decoded back


def test_sqlite_writes_a_batch_in_one_statement_and_every_value_comes_back(db):
    """SQLite: a batch's articles (and their terms) are one INSERT reading a JSON array, run by
    SQLite without the GIL; texts with quotes and accents, integers and NULLs come back as they were."""
    from django.db import connection

    from cordee.library import store
    from cordee.library.pubmed.records import Author, Record

    if connection.vendor != "sqlite":
        pytest.skip("SQLite's path (PostgreSQL writes by COPY)")
    records = [
        Record(pmid=990_000 + i, title_markup=f'L\u2019\u00e9tude "n\u00b0{i}" \\ <i>x</i>',
               year=None if i % 2 else 2020, publication_types=["Review"], languages=["fre"],
               authors=[Author(name="", last="M\u00fcller", fore="J\u00fcrgen", initials="J")])
        for i in range(3)
    ]  # fmt: skip
    with recorded_sql() as statements:
        counts = store.store_batch(records, "t.xml")
    assert counts["created"] == 3
    inserts = [s for s in statements if s.startswith("INSERT INTO library_article ")]
    assert len(inserts) == 1 and "json_each" in inserts[0]
    assert any(s.startswith("INSERT INTO library_articleterm") and "json_each" in s for s in statements)
    for i, article in enumerate(Article.objects.filter(pmid__gte=990_000).order_by("pmid")):
        assert article.title == f'L\u2019\u00e9tude "n\u00b0{i}" \\ x'
        assert article.year == (None if i % 2 else 2020)
        assert article.authors[0]["last"] == "M\u00fcller" and article.language == "fre"
        assert ArticleTerm.objects.filter(article=article, kind="type", value="review").exists()


def test_postgresql_compresses_the_long_columns_with_lz4(db):
    """Migration 0005: LZ4 (cheaper for the server at import than pglz) where the server has it."""
    from django.db import connection, transaction

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's TOAST compression")
    with connection.cursor() as cursor:
        try:
            with transaction.atomic():
                cursor.execute("SET LOCAL default_toast_compression = 'lz4'")
        except Exception:  # noqa: BLE001  # a server built without LZ4 keeps pglz: nothing to check
            pytest.skip("this PostgreSQL has no LZ4")
        columns = ("abstract", "abstract_text", "authors", "mesh", "title_markup", "terms")
        cursor.execute(
            "SELECT attname, attcompression FROM pg_attribute "
            "WHERE attrelid = 'library_article'::regclass AND attname = ANY(%s)",
            [list(columns)],
        )
        assert dict(cursor.fetchall()) == dict.fromkeys(columns, "l")
