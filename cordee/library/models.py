"""The scientific library: articles imported from PubMed/MEDLINE, and each reader's own library.

- ``Article``: one PubMed record (public reference data, shared by every structure). Its title
  and abstract sections are *safe markup* (``pubmed.markup``); ``title``/``abstract_text`` are their
  plain text, which the full-text index reads (``search``). ``terms`` holds the words that the
  search also matches though they are not in the text: publication types, MeSH headings,
  substances, keywords and the year ("heart failure review 2020"). An article withdrawn by a
  ``DeleteCitation`` is kept (``deleted_at``) so that readers' collections do not lose it silently;
  it no longer appears in searches.
- ``ArticleTerm``: the publication types and MeSH headings of an article, one row each, for exact
  filters and related articles (indexed: cheap at a million articles).
- ``ImportRun``: an import, its progress and its report (per file: records read, stored, and
  where a damaged file stopped).
- ``Shelf``: a reader's library, the vault owner of their notes (one data key per reader).
  ``Collection`` / ``CollectionItem``: saved references. ``Note``: a reader's private note on an
  article, encrypted with their shelf's key.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cordee.vault.fields import EncryptedTextField
from cordee.vault.models import EncryptedModel, VaultOwner


class Article(models.Model):
    pmid = models.BigIntegerField(unique=True)
    version = models.PositiveIntegerField(default=1)
    revised = models.CharField(max_length=10, blank=True)  # DateRevised, YYYY-MM-DD
    fingerprint = models.CharField(max_length=32)  # of the record as parsed: re-import of the same is a no-op
    doi = models.CharField(max_length=200, blank=True)
    pmc = models.CharField(max_length=20, blank=True)
    title = models.TextField(blank=True)  # plain text
    title_markup = models.TextField(blank=True)
    abstract = models.JSONField(default=list, blank=True)  # [{"label", "category", "markup"}]
    abstract_text = models.TextField(blank=True)
    terms = models.TextField(blank=True)
    authors = models.JSONField(default=list, blank=True)  # [{"name", "last", "fore", "initials", …}]
    journal = models.CharField(max_length=300, blank=True)
    journal_abbrev = models.CharField(max_length=200, blank=True)
    volume = models.CharField(max_length=50, blank=True)
    issue = models.CharField(max_length=50, blank=True)
    pages = models.CharField(max_length=100, blank=True)
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    month = models.PositiveSmallIntegerField(null=True, blank=True)
    date_text = models.CharField(max_length=100, blank=True)
    publication_types = models.JSONField(default=list, blank=True)
    mesh = models.JSONField(default=list, blank=True)  # [{"descriptor", "major", "qualifiers", "ui"}]
    chemicals = models.JSONField(default=list, blank=True)
    keywords = models.JSONField(default=list, blank=True)
    language = models.CharField(max_length=8, blank=True)  # the first one, ISO 639-2 ("eng")
    languages = models.JSONField(default=list, blank=True)
    source_file = models.CharField(max_length=255, blank=True)
    imported_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("article")
        indexes = [
            models.Index(fields=["year", "pmid"], name="library_article_year_idx"),
            models.Index(fields=["journal_abbrev"], name="library_article_journal_idx"),
            models.Index(fields=["language"], name="library_article_lang_idx"),
        ]

    def __str__(self) -> str:
        return f"PMID {self.pmid}"

    @property
    def pubmed_url(self) -> str:
        return f"https://pubmed.ncbi.nlm.nih.gov/{self.pmid}/"

    @property
    def doi_url(self) -> str:
        return f"https://doi.org/{self.doi}" if self.doi else ""

    @property
    def pmc_url(self) -> str:
        return f"https://www.ncbi.nlm.nih.gov/pmc/articles/{self.pmc}/" if self.pmc else ""

    @property
    def major_topics(self) -> list[str]:
        return [m["descriptor"] for m in self.mesh if m.get("major")]


class ArticleTerm(models.Model):
    class Kind(models.TextChoices):
        TYPE = "type", _("publication type")
        MESH = "mesh", _("MeSH heading")
        MAJOR = "major", _("MeSH major topic")

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="term_rows")
    kind = models.CharField(max_length=5, choices=Kind.choices)
    value = models.CharField(max_length=200)  # folded (lower case) for the filters

    class Meta:
        indexes = [models.Index(fields=["kind", "value", "article"], name="library_term_idx")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class SearchRow(models.Model):
    """PostgreSQL's search index of a live article: its date, PMID and ``tsvector`` (words, then one
    lexeme per filter value), in a narrow table of its own under a GIN index (migration ``0003``,
    ``cordee.library.search``). Written by the store with SQL (``search.index``); a model so that
    deleting an article or flushing the database takes its row along. Empty on SQLite (FTS5)."""

    article = models.OneToOneField(Article, on_delete=models.CASCADE, primary_key=True, related_name="+")
    year = models.SmallIntegerField(null=True)  # year, month and PMID: the date order without
    month = models.SmallIntegerField(null=True)  # reading library_article
    pmid = models.BigIntegerField()
    search_vector = SearchVectorField()

    class Meta:
        db_table = "library_search"

    def __str__(self) -> str:
        return f"search row of article {self.pk}"


class ImportRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    class Source(models.TextChoices):
        COMMAND = "command", _("command line")
        PAGE = "page", _("import page")

    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.COMMAND)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    started_by_display = models.CharField(max_length=200, blank=True)
    paths = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    files_total = models.PositiveIntegerField(default=0)
    files_done = models.PositiveIntegerField(default=0)
    current_file = models.CharField(max_length=255, blank=True)
    records_read = models.PositiveIntegerField(default=0)
    # {"files": [{"name", "format", "records", "created", "updated", "unchanged", "older", "deleted",
    #   "skipped": [[n, reason]], "stopped": {"reason", "line", "column"} | None, "error"}], "counts": {…}}
    report = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("library import")

    def __str__(self) -> str:
        return f"library import #{self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(100 * self.files_done / self.files_total) if self.files_total else 0

    @property
    def incomplete_files(self) -> list[dict]:
        return [f for f in self.report.get("files", []) if f.get("stopped") or f.get("error")]


class Shelf(VaultOwner):
    """A reader's library: owns the data key of their notes."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="library_shelf")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("reader's library")

    def __str__(self) -> str:
        return f"shelf of user {self.user_id}"


class Collection(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="library_collections")
    name = models.CharField(_("name"), max_length=120)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("collection")
        ordering = ["name", "pk"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="library_collection_unique_name")]

    def __str__(self) -> str:
        return f"collection #{self.pk}"


class CollectionItem(models.Model):
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="items")
    article = models.ForeignKey(Article, on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-added_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["collection", "article"], name="library_item_unique_article")]

    def __str__(self) -> str:
        return f"item #{self.pk}"


class Note(EncryptedModel):
    """A reader's private note on an article: encrypted with their shelf's key, bound to ``uid``."""

    shelf = models.ForeignKey(Shelf, on_delete=models.CASCADE, related_name="notes")
    article = models.ForeignKey(Article, on_delete=models.PROTECT, related_name="+")
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    text = EncryptedTextField(owner="shelf", row_key="uid")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("note")
        constraints = [models.UniqueConstraint(fields=["shelf", "article"], name="library_note_unique")]

    def __str__(self) -> str:
        return f"note #{self.pk}"
