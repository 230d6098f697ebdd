"""Import runs and the lines they rejected or kept as orphans.

A run is created ``queued`` (by the admin page, in the transaction that audits the request, or
by the command), then ``running`` with its progress (current file, files done, lines read)
saved between the transactions that store the data, so the page polling it sees it move.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ImportRun(models.Model):
    class Kind(models.TextChoices):
        BDPM = "bdpm", _("BDPM files")
        INTERACTIONS = "interactions", _("Interaction thesaurus")

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    class Source(models.TextChoices):
        COMMAND = "command", _("command line")
        PAGE = "page", _("import page")

    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.BDPM)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.COMMAND)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    started_by_display = models.CharField(max_length=200, blank=True)  # outlives the account
    directories = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    files_total = models.PositiveSmallIntegerField(default=0)
    files_done = models.PositiveSmallIntegerField(default=0)
    current_file = models.CharField(max_length=255, blank=True)
    lines_read = models.PositiveIntegerField(default=0)
    # {"files": [{"key", "name", "encoding", "eol", "lines", "stored", "rejected", "orphans",
    #   "seconds", "notes", "error"}], "missing": [keys], "counts": {...}}
    report = models.JSONField(default=dict, blank=True)
    rejected_count = models.PositiveIntegerField(default=0)
    orphan_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["kind", "status", "-finished_at"], name="drugs_run_kind_status_idx")]
        verbose_name = _("drug database import")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.get_status_display()})"

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return round((self.finished_at - self.started_at).total_seconds(), 1)
        return None

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(100 * self.files_done / self.files_total) if self.files_total else 0


class ImportIssue(models.Model):
    """A line of an imported file that was rejected, or kept but names an unknown code."""

    class Kind(models.TextChoices):
        REJECTED = "rejected", _("rejected")
        ORPHAN = "orphan", _("kept, unknown code")
        FILE = "file", _("file refused")

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="issues")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    file = models.CharField(max_length=255)
    line = models.PositiveIntegerField(default=0)  # 0: the whole file
    reason = models.TextField()
    excerpt = models.CharField(max_length=200, blank=True)  # the start of the line, public data

    class Meta:
        ordering = ["run", "kind", "file", "line"]
        indexes = [models.Index(fields=["run", "kind", "file", "line"], name="drugs_issue_run_idx")]

    def __str__(self) -> str:
        return f"{self.file}:{self.line} {self.kind}"
