"""Benchmark of the scientific library: import speed against parsing alone, and search latency.

    python bench/library/run.py [--articles 100000] [--postgres URL] [--out bench/library]

1. **Import vs parse-only**: a PubMed XML file made by rewriting the shared records (new PMIDs,
   ``--import-records`` of them) is parsed without storing (``read_xml`` only), then imported
   into an empty library (parse + store, FTS index included). Records/s of each and their ratio
   (aim: import ≥ 50 % of parse-only), ``--import-rounds`` times alternating: the medians, each
   round, and the CPU per record of the importer and of its reader process.
2. **Search over the shared articles** (the ~790 real records): p50/p99 of a fixed set of
   queries (words, phrases, prefixes, filters, date sort, French words).
3. **Search over a synthetic corpus** of ``--articles`` records, built by rewriting the real
   ones (new PMIDs, titles and abstracts of words drawn from the real vocabulary, real MeSH,
   types and years) and stored through the importer's own ``store_batch``. Same queries.

Each measure runs on SQLite (a file database in a temporary directory, WAL as in production)
and, with ``--postgres postgres://…/postgres``, on PostgreSQL in a database of its own created
and dropped by the run. Results: ``report.json`` and ``report.md`` next to this file.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data" / "pubmed"
if not SHARED.is_dir():
    SHARED = Path("/work/shared/data/pubmed")
QUERIES = [
    ("heart failure", {}), ('"heart failure"', {}), ("cancer", {}), ("patients", {}), ("diab*", {}),
    ("cell*", {}), ("protein binding", {}), ("metformine", {}), ("insuffisance cardiaque", {}),
    ("review 2019", {}), ("children", {"type": "Review"}), ("patients", {"sort": "date"}),
    ("cancer -mice", {}), ("humans", {"from": 2015, "to": 2016}), ("tumor growth", {"lang": "eng"}),
    ("receptor", {"mesh": "Humans"}), ("treatment outcome", {}), ("risk factors", {"sort": "date"}),
]  # fmt: skip


def child(args: argparse.Namespace) -> None:
    """One database: set Django up on it, measure, print the JSON result."""
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    # Measured as production runs: DEBUG (set for the child's settings to load without secrets)
    # makes Django's debug cursor quote every parameter of every executemany to log the query,
    # a fifth of the import's time in a profile of 5,000 records.
    settings.DEBUG = False

    call_command("migrate", verbosity=0)
    from cordee.lib.asgi import settle_startup_objects

    settle_startup_objects()  # as the worker that runs imports (and the web process) do at start
    from cordee.library import search as library_search
    from cordee.library.importer import Import
    from cordee.library.models import Article, ArticleTerm, ImportRun
    from cordee.library.pubmed.records import Record
    from cordee.library.pubmed.xml import open_source, read_xml

    result: dict = {"database": connection.vendor}
    real = _real_records(read_xml, open_source)
    result["real_records"] = len(real)
    phases = set(args.phases.split(","))

    if "import" in phases:  # 1. import vs parse-only, on an XML file of rewritten real records
        big = Path(args.tmp) / "rewritten.xml"
        _write_xml(big, real, args.import_records)
        # Parse-only then import, alternating, --import-rounds times: on this shared machine the
        # speed of the same parse moved by 75 % between runs minutes apart (bench/library/README.md,
        # 2026-12-07), so one pair of measures says little; the median of the rounds' ratios is kept.
        rounds = []
        for _ in range(args.import_rounds):
            started = time.perf_counter()
            with open_source(big) as handle:
                parsed = sum(1 for item in read_xml(handle) if isinstance(item, Record))
            parse_seconds = time.perf_counter() - started
            run = ImportRun.objects.create(paths=[str(big)])
            started, cpu, reader_cpu = time.perf_counter(), time.process_time(), _children_cpu()
            Import(run).execute()
            import_seconds = time.perf_counter() - started
            rounds.append({
                "parse_only_per_s": round(parsed / parse_seconds),
                "import_per_s": round(parsed / import_seconds),
                "ratio": round(parse_seconds / import_seconds, 3),
                "importer_cpu_us": round((time.process_time() - cpu) / parsed * 1e6),  # its threads
                "reader_cpu_us": round((_children_cpu() - reader_cpu) / parsed * 1e6),  # its process
            })  # fmt: skip
            Article.objects.all().delete()
        result["import"] = {
            "records": parsed,
            **{key: round(statistics.median(r[key] for r in rounds), 3) for key in rounds[0]},
            "rounds": rounds,
        }

    if "shared" in phases:  # 2. search over the shared articles
        for path in sorted(p for p in SHARED.rglob("*") if p.is_file()):
            run = ImportRun.objects.create(paths=[str(path)])
            Import(run).execute()
        result["shared"] = {"articles": Article.objects.count(), **_latencies(library_search, args.repeat)}

    if "synthetic" in phases:  # 3. the synthetic corpus (kept and reused with --reuse)
        build = None
        if Article.objects.filter(source_file="synthetic").count() != args.articles:
            Article.objects.all().delete()
            ArticleTerm.objects.all().delete()
            started = time.perf_counter()
            _synthetic(real, args.articles)
            build = time.perf_counter() - started
            with connection.cursor() as cursor:
                if connection.vendor == "postgresql":
                    cursor.execute("VACUUM ANALYZE library_article")
                    cursor.execute("VACUUM ANALYZE library_search")
                    cursor.execute("ANALYZE library_articleterm")
                else:
                    cursor.execute("INSERT INTO library_article_fts(library_article_fts) VALUES ('optimize')")
                    cursor.execute("ANALYZE")
        result["synthetic"] = {
            "articles": Article.objects.count(),
            "build_seconds": round(build, 1) if build else None,
            "build_per_s": round(args.articles / build) if build else None,
            **_latencies(library_search, args.repeat),
        }
    print("RESULT " + json.dumps(result))


def _children_cpu() -> float:
    """CPU seconds of this process's finished children (the importer's reader process)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _real_records(read_xml, open_source) -> list:
    from cordee.library.pubmed.records import Record

    records = []
    for path in sorted(SHARED.rglob("*.xml*")):
        try:
            with open_source(path) as handle:
                records += [r for r in read_xml(handle) if isinstance(r, Record)]
        except Exception:  # noqa: S112  # the negative example (HTML) is not XML: skipped here
            continue
    return records


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _write_xml(path: Path, real: list, count: int) -> None:
    from cordee.library.pubmed.markup import to_text

    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="utf-8"?>\n<PubmedArticleSet>\n')
        for index in range(count):
            r = real[index % len(real)]
            authors = "".join(
                f"<Author><LastName>{_escape(a.last or a.name)}</LastName><ForeName>{_escape(a.fore)}</ForeName>"
                f"<Initials>{_escape(a.initials)}</Initials>"
                + "".join(
                    f"<AffiliationInfo><Affiliation>{_escape(x)}</Affiliation></AffiliationInfo>"
                    for x in a.affiliations
                )
                + "</Author>"
                for a in r.authors
            )
            abstract = "".join(
                f'<AbstractText Label="{_escape(s.label)}">{_escape(to_text(s.markup))}</AbstractText>'
                for s in r.abstract
            )
            mesh = "".join(
                f'<MeshHeading><DescriptorName MajorTopicYN="{"Y" if m.major else "N"}">'
                f"{_escape(m.descriptor)}</DescriptorName></MeshHeading>"
                for m in r.mesh
            )
            types = "".join(f"<PublicationType>{_escape(t)}</PublicationType>" for t in r.publication_types)
            out.write(
                f'<PubmedArticle><MedlineCitation><PMID Version="1">{800_000_000 + index}</PMID>'
                f"<Article><Journal><JournalIssue><Volume>{_escape(r.volume)}</Volume>"
                f"<PubDate><Year>{r.year or 2000}</Year>"
                f"</PubDate></JournalIssue><Title>{_escape(r.journal)}</Title><ISOAbbreviation>{_escape(r.journal_abbrev)}"
                f"</ISOAbbreviation></Journal><ArticleTitle>{_escape(to_text(r.title_markup))}</ArticleTitle>"
                f"<Abstract>{abstract}</Abstract><AuthorList>{authors}</AuthorList>"
                f"<Language>{_escape(r.languages[0] if r.languages else 'eng')}</Language>"
                f"<PublicationTypeList>{types}</PublicationTypeList></Article>"
                f"<MeshHeadingList>{mesh}</MeshHeadingList></MedlineCitation></PubmedArticle>\n"
            )
        out.write("</PubmedArticleSet>\n")


def _synthetic(real: list, count: int) -> None:
    """Rewritten real records: new PMIDs, shuffled words of the real vocabulary, real metadata.

    Written by direct batched SQL (``executemany`` on SQLite, ``COPY`` on PostgreSQL), not through
    the importer: ids are given, the metadata of each real record is encoded once. The full-text
    index follows as in production (FTS5 triggers; on PostgreSQL the store's search rows, written
    for every article at once by ``search.index_all`` at the end, their GIN index after them, as
    a bulk load would)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from cordee.library import search as library_search
    from cordee.library.models import ArticleTerm
    from cordee.library.pubmed.markup import escape, to_text
    from cordee.library.pubmed.rows import prepare
    from cordee.library.store import UPDATED_FIELDS

    rng = random.Random(20)
    vocabulary = [
        w
        for r in real
        for w in (to_text(r.title_markup) + " " + " ".join(to_text(s.markup) for s in r.abstract)).split()
    ]
    names = ("id", "pmid", *UPDATED_FIELDS)
    models = []
    imported_at = connection.ops.adapt_datetimefield_value(timezone.now())
    for record in real:  # the store's own preparation: columns, JSON encoded, term rows
        prepared = prepare(record, "synthetic")
        models.append((dict(prepared.values, imported_at=imported_at, deleted_at=None), prepared.terms))
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if postgres:  # the search rows are written once at the end, their GIN index after them
            cursor.execute("DROP INDEX IF EXISTS library_search_idx")
            cursor.execute("SET synchronous_commit = off")
        else:
            cursor.execute("PRAGMA synchronous = OFF")
    placeholders = ", ".join(["%s"] * len(names))
    article_sql = f"INSERT INTO library_article ({', '.join(names)}) VALUES ({placeholders})"  # noqa: S608
    term_sql = "INSERT INTO library_articleterm (article_id, kind, value) VALUES (%s, %s, %s)"
    batch_size = 5000
    for start in range(0, count, batch_size):
        articles, terms = [], []
        for index in range(start, min(count, start + batch_size)):
            values, term_rows = models[index % len(models)]
            title = " ".join(rng.choices(vocabulary, k=rng.randint(8, 18)))
            abstract = " ".join(rng.choices(vocabulary, k=rng.randint(120, 250)))
            year = rng.randint(1975, 2024)
            row = dict(values, title=title, title_markup=escape(title), abstract_text=abstract, year=year)
            row["abstract"] = json.dumps([{"label": "", "category": "", "markup": escape(abstract)}])
            row["terms"] = values["terms"] + f" ; {year}"
            row.update(id=index + 1, pmid=100_000_000 + index)
            articles.append([row[n] for n in names])
            terms += [(index + 1, kind, value) for kind, value in term_rows]
        with transaction.atomic(), connection.cursor() as cursor:
            if postgres:
                with cursor.cursor.copy(f"COPY library_article ({', '.join(names)}) FROM STDIN") as copy:
                    for article in articles:
                        copy.write_row(article)
                with cursor.cursor.copy("COPY library_articleterm (article_id, kind, value) FROM STDIN") as copy:
                    for term in terms:
                        copy.write_row(term)
            else:
                cursor.executemany(article_sql, articles)
                cursor.executemany(term_sql, terms)
        if start % 50_000 == 0:
            print(f"  synthetic: {start + len(articles)} articles", file=sys.stderr, flush=True)
    with connection.cursor() as cursor:
        if postgres:
            cursor.execute("SET maintenance_work_mem = '512MB'")
            library_search.index_all()  # what the store writes per batch, for every article at once
            cursor.execute("CREATE INDEX library_search_idx ON library_search USING gin (search_vector)")
            cursor.execute("SELECT setval(pg_get_serial_sequence('library_article', 'id'), %s)", [count])
    assert ArticleTerm.objects.exists()


def _latencies(library_search, repeat: int) -> dict:
    from cordee.library.search import Filters

    timings: list[float] = []
    per_query: dict[str, float] = {}
    for text, options in QUERIES:
        filters = Filters(
            year_from=options.get("from"), year_to=options.get("to"), publication_type=options.get("type", ""),
            language=options.get("lang", ""), mesh=options.get("mesh", ""),
        )  # fmt: skip
        library_search.search(text, filters, sort=options.get("sort", "relevance"))  # warm
        mine = []
        for _ in range(repeat):
            started = time.perf_counter()
            library_search.search(text, filters, sort=options.get("sort", "relevance"))
            mine.append((time.perf_counter() - started) * 1000)
        timings += mine
        per_query[f"{text} {json.dumps(options)}" if options else text] = round(statistics.median(mine), 2)
    timings.sort()
    return {
        "searches": len(timings),
        "p50_ms": round(timings[len(timings) // 2], 2),
        "p99_ms": round(timings[min(len(timings) - 1, int(len(timings) * 0.99))], 2),
        "max_ms": round(timings[-1], 2),
        "median_by_query_ms": per_query,
    }


def _run_child(database_url: str | None, args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        tmp = scratch
        if args.reuse and not database_url:  # the SQLite file (and keys) kept for the next run
            tmp = os.path.join(tempfile.gettempdir(), f"cordee-bench-library-{args.articles}")
            os.makedirs(tmp, exist_ok=True)
        env = dict(os.environ, DEBUG="1", CORDEE_DATA_DIR=tmp, PYTHONPATH=str(ROOT))
        env.pop("DATABASE_URL", None)
        if database_url:
            env["DATABASE_URL"] = database_url
        env["DJANGO_SETTINGS_MODULE"] = "cordee.settings"
        command = [sys.executable, __file__, "--child", "--tmp", tmp, "--articles", str(args.articles)]
        command += ["--import-records", str(args.import_records), "--repeat", str(args.repeat)]
        command += ["--import-rounds", str(args.import_rounds)]
        command += ["--phases", args.phases]
        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=False)  # noqa: S603
        sys.stderr.write(done.stderr[-3000:])
        line = next((ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")), None)
        if line is None:
            raise SystemExit(f"benchmark child failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return json.loads(line[7:])


def _postgres_database(url: str, *, create: bool, name: str = "cordee_bench_library") -> str:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not (create and exists and name != "cordee_bench_library"):  # a --reuse database is kept
            conn.execute(f"DROP DATABASE IF EXISTS {name}")
            if create:
                conn.execute(f"CREATE DATABASE {name}")
    return url.rsplit("/", 1)[0] + "/" + name


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--import-records", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--import-rounds", type=int, default=3, help="parse-only then import, alternating")
    parser.add_argument("--postgres", default="")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    parser.add_argument("--skip-sqlite", action="store_true", help="PostgreSQL only (run SQLite in another process)")
    parser.add_argument("--phases", default="import,shared,synthetic", help="which measures, comma-separated")
    parser.add_argument("--reuse", action="store_true", help="keep the synthetic corpus's database for the next run")
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--tmp", default="")
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    report: dict = {"articles": args.articles, "runs": [] if args.skip_sqlite else [_run_child(None, args)]}
    if args.postgres:
        name = f"cordee_bench_library_{args.articles}" if args.reuse else "cordee_bench_library"
        try:
            report["runs"].append(_run_child(_postgres_database(args.postgres, create=True, name=name), args))
        finally:
            if not args.reuse:
                _postgres_database(args.postgres, create=False, name=name)
    if args.phases != "import,shared,synthetic":
        print(json.dumps(report, indent=1))
        return
    (args.out / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    lines = [f"# Library benchmark ({args.articles} synthetic articles)", ""]
    lines += [
        "| database | import rec/s | parse-only rec/s | ratio | shared p50/p99 ms | synthetic p50/p99 ms "
        "| build rec/s |"
    ]
    lines += ["|---|---|---|---|---|---|---|"]
    for run in report["runs"]:
        imp, shared, synth = run["import"], run["shared"], run["synthetic"]
        lines.append(
            f"| {run['database']} | {imp['import_per_s']} | {imp['parse_only_per_s']} | {imp['ratio']} | "
            f"{shared['p50_ms']} / {shared['p99_ms']} | {synth['p50_ms']} / {synth['p99_ms']} "
            f"| {synth['build_per_s']} |"
        )
    (args.out / "report.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
