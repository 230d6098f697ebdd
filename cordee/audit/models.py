"""The audit trail: one append-only, hash-chained table.

Rows outlive what they describe: actor, target and patient are ids plus display copies, never
cascading foreign keys. ``seq`` is the position in the chain and ``entry_hash`` the SHA-256 of
the row's canonical encoding together with the previous row's hash (see ``chain.py``).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    class Category(models.TextChoices):
        SECURITY = "security", _("Security event")
        ACCESS = "access", _("Access to patient data")

    class Outcome(models.TextChoices):
        SUCCESS = "success", _("success")
        FAILURE = "failure", _("failure")
        DENIED = "denied", _("denied")

    seq = models.BigIntegerField(unique=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    category = models.CharField(max_length=10, choices=Category.choices, default=Category.SECURITY)
    action = models.CharField(max_length=64, db_index=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.SUCCESS)
    actor_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_display = models.JSONField(default=dict, blank=True)  # {"name", "rpps", "role"}
    target_type = models.CharField(max_length=40, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_display = models.CharField(max_length=200, blank=True)
    patient_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    purpose = models.CharField(max_length=200, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]
        indexes = [models.Index(fields=["target_type", "target_id"], name="audit_target_idx")]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.outcome}"
