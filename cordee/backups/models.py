"""The record of each backup run: what the worker's watch reads to alert on a failed or missing one."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class BackupRun(models.Model):
    class Kind(models.TextChoices):
        BACKUP = "backup", _("Backup")
        DRILL = "drill", _("Restore drill")

    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.BACKUP)
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    succeeded = models.BooleanField(null=True)
    snapshot_id = models.CharField(max_length=64, blank=True)
    # The run's figures (bytes, files, counts) or its error message (restic's, explained): no personal data.
    summary = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("backup run")

    def __str__(self) -> str:
        return (
            f"{self.kind} #{self.pk} ({'ok' if self.succeeded else 'failed' if self.succeeded is False else 'running'})"
        )
