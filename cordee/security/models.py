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
        # Raised by the detection rules over the audit trail (security/detection.py).
        FAILED_LOGINS_ACCOUNT = "failed_logins_account", _("Failed sign-ins on one account")
        FAILED_LOGINS_ADDRESS = "failed_logins_address", _("Failed sign-ins from one address")
        PASSWORD_SPRAYING = "password_spraying", _("Password spraying (one address, many accounts)")
        NEW_ADDRESS = "new_address", _("Account used from a new address or browser")
        MASS_CONSULTATION = "mass_consultation", _("Many patients opened in a short time")
        BULK_DOWNLOAD = "bulk_download", _("Bulk downloads")
        BREAK_GLASS_REPEATED = "break_glass_repeated", _("Repeated emergency accesses")
        PRIVILEGE_CHANGE = "privilege_change", _("Privilege change")
        MFA_REMOVED = "mfa_removed", _("Second factor removed")
        # Raised by the backups app (backups/services.py): a backup failed, or none succeeded lately.
        BACKUP_FAILED = "backup_failed", _("Backup failed")
        BACKUP_MISSING = "backup_missing", _("No recent backup")
        UNUSUAL_HOURS = "unusual_hours", _("Sign-in at an unusual hour for the account")
        TWO_PLACES = "two_places", _("Account used from two distant networks at once")
        NEW_COUNTRY = "new_country", _("Sign-in from a new country")
        AUDIT_VERIFICATION = "audit_verification", _("The audit trail does not verify")
        IMPORT_SIZE = "import_size", _("Import of unusual size")

    class Verdict(models.TextChoices):
        JUSTIFIED = "justified", _("Justified")
        UNJUSTIFIED = "unjustified", _("Not justified")
        CONFIRMED = "confirmed", _("Confirmed threat")
        FALSE_POSITIVE = "false_positive", _("False positive")

    class Severity(models.IntegerChoices):
        LOW = 1, _("low")
        MEDIUM = 2, _("medium")
        HIGH = 3, _("high")

    structure = models.ForeignKey(
        "accounts.Structure", on_delete=models.SET_NULL, null=True, related_name="security_alerts"
    )
    structure_name = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices, default=Severity.MEDIUM)
    # A detection's burst: the rule and subject (an account number, an e-mail or an address), the
    # key that merges the findings of one burst into one alert, its time span, its figures
    # (count, threshold, window) and the seqs of the audit entries that are its evidence.
    subject = models.CharField(max_length=200, blank=True)
    dedup_key = models.CharField(max_length=260, blank=True, db_index=True)
    first_seen = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)
    figures = models.JSONField(default=dict, blank=True)
    evidence = models.JSONField(default=list, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by_display = models.JSONField(default=dict, blank=True)
    incident = models.ForeignKey("Incident", on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts")
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
    verdict = models.CharField(max_length=16, choices=Verdict.choices, blank=True)
    comment = models.TextField(blank=True)
    # What was done about it, automatically or by an officer: [{"action", "at", "by", "sessions", …}].
    responses = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = _("security alert")
        indexes = [models.Index(fields=["structure", "reviewed_at"], name="security_alert_queue_idx")]

    def __str__(self) -> str:
        return f"alert #{self.pk} {self.kind}"

    @property
    def is_reviewed(self) -> bool:
        return self.reviewed_at is not None

    @property
    def is_detection(self) -> bool:
        return self.kind != self.Kind.BREAK_GLASS

    def verdicts(self) -> list[tuple[str, str]]:
        """The verdicts an officer chooses from: an emergency access is (not) justified; a
        detection is a confirmed threat or a false positive."""
        chosen = ("confirmed", "false_positive") if self.is_detection else ("justified", "unjustified")
        return [(value, str(label)) for value, label in self.Verdict.choices if value in chosen]


class DetectionCursor(models.Model):
    """How far the periodic detection has read the audit trail (the last ``seq`` scanned)."""

    name = models.CharField(max_length=40, unique=True)
    seq = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.name} at #{self.seq}"


class Incident(models.Model):
    """One entry of a structure's breach register (RGPD art. 33(5)).

    Facts, timeline and decisions are the officer's words: no health data may be written in them
    (the help under each field says so), so they are stored in clear. The scoping (``scope``) holds
    ids and counts only; the patients concerned are named in ``BreachNotice`` rows.
    """

    class Decision(models.TextChoices):
        PENDING = "pending", _("Not decided yet")
        NOTIFY = "notify", _("Notify")
        NO_NOTIFICATION = "none", _("No notification")

    structure = models.ForeignKey(
        "accounts.Structure", on_delete=models.SET_NULL, null=True, related_name="security_incidents"
    )
    structure_name = models.CharField(max_length=200, blank=True)
    title = models.CharField(max_length=200)
    nature = models.TextField(blank=True)  # what happened: confidentiality, integrity, availability
    data_categories = models.TextField(blank=True)  # in words; the scoping adds its own by category
    people_count = models.PositiveIntegerField(null=True, blank=True)  # approximate, before scoping
    records_count = models.PositiveIntegerField(null=True, blank=True)
    consequences = models.TextField(blank=True)
    measures_taken = models.TextField(blank=True)
    measures_proposed = models.TextField(blank=True)
    contact = models.TextField(blank=True)  # the DPO or contact point (art. 33(3)(b))
    aware_at = models.DateTimeField()  # the 72 hours run from here (art. 33(1))
    occurred_at = models.DateTimeField(null=True, blank=True)
    contained_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)  # to the CNIL
    cnil_decision = models.CharField(max_length=8, choices=Decision.choices, default=Decision.PENDING)
    cnil_reasoning = models.TextField(blank=True)
    patients_decision = models.CharField(max_length=8, choices=Decision.choices, default=Decision.PENDING)
    patients_reasoning = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by_id = models.BigIntegerField(null=True, blank=True)
    created_by_display = models.JSONField(default=dict, blank=True)
    reminded_24h_at = models.DateTimeField(null=True, blank=True)
    reminded_48h_at = models.DateTimeField(null=True, blank=True)
    scope = models.JSONField(default=dict, blank=True)  # ids, window, counts (services/scoping.py)
    scoped_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)  # the drafts, approved by an officer
    approved_by_display = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("breach incident")
        indexes = [models.Index(fields=["structure", "aware_at"], name="security_incident_reg_idx")]

    def __str__(self) -> str:
        return f"incident #{self.pk}"


class BreachNotice(models.Model):
    """The art. 34 notice to one patient concerned by an incident: a draft until approved."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="notices")
    patient = models.ForeignKey("accounts.Patient", on_delete=models.CASCADE, related_name="breach_notices")
    categories = models.JSONField(default=dict, blank=True)  # {category: {"entries": n, "records": n}}
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("breach notice")
        constraints = [models.UniqueConstraint(fields=["incident", "patient"], name="security_notice_once")]

    def __str__(self) -> str:
        return f"notice #{self.pk}"
