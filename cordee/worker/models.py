"""When each shared scheduled job may run next, and how its last run went (``jobs.py``).

One row per job, shared by every worker process: a worker runs a job only after moving its
``due_at`` forward with a conditional UPDATE (compare and set), so that a daily job runs once a
day however many workers there are, and not again at each restart.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class JobRun(models.Model):
    name = models.CharField(max_length=64, unique=True)
    due_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    succeeded = models.BooleanField(null=True)  # None while running (or never run)

    class Meta:
        ordering = ["name"]
        verbose_name = _("scheduled job run")
        verbose_name_plural = _("scheduled job runs")

    def __str__(self) -> str:
        return self.name
