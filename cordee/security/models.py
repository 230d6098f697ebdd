"""Security alerts for the security officers of a structure.

Break-the-glass accesses raise one alert per structure of the professional; the intrusion
detection will raise its own kinds. An alert is reviewed once, by an officer of its structure,
who says whether it was justified and why. Who and whom are ids plus display copies.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Alert(models.Model):
    class Kind(models.TextChoices):
        BREAK_GLASS = "break_glass", _("Emergency access (break-the-glass)")

    class Verdict(models.TextChoices):
        JUSTIFIED = "justified", _("Justified")
        UNJUSTIFIED = "unjustified", _("Not justified")

    structure = models.ForeignKey(
        "accounts.Structure", on_delete=models.SET_NULL, null=True, related_name="security_alerts"
    )
    structure_name = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_display = models.JSONField(default=dict, blank=True)
    patient_id = models.BigIntegerField(null=True, blank=True)
    break_glass = models.ForeignKey(
        "care.BreakGlassGrant", on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by_id = models.BigIntegerField(null=True, blank=True)
    reviewed_by_display = models.JSONField(default=dict, blank=True)
    verdict = models.CharField(max_length=12, choices=Verdict.choices, blank=True)
    comment = models.TextField(blank=True)

    class Meta:
        verbose_name = _("security alert")
        indexes = [models.Index(fields=["structure", "reviewed_at"], name="security_alert_queue_idx")]

    def __str__(self) -> str:
        return f"alert #{self.pk} {self.kind}"

    @property
    def is_reviewed(self) -> bool:
        return self.reviewed_at is not None
