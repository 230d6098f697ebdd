"""The audit trail: one append-only, hash-chained table, its signed checkpoints and purges.

Rows outlive what they describe: actor, target and patient are ids plus display copies, never
cascading foreign keys. ``seq`` is the position in the chain (1, 2, 3… with no gap) and
``entry_hash`` the SHA-256 of the previous row's hash, the row's header and ``content_hash``
(see ``chain.py``); ``mac`` authenticates ``seq`` and ``entry_hash`` with a key held outside the
database (``mac.py``). A purged row (``purged_at`` set) is a tombstone: header and hashes kept,
content blanked (see ``retention.py``).
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
    content_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, unique=True)
    mac = models.CharField(max_length=64)  # HMAC of (seq, entry_hash) with the key outside the database (mac.py)
    purged_at = models.DateTimeField(null=True, blank=True)  # set on tombstones by the retention purge

    class Meta:
        ordering = ["seq"]
        indexes = [models.Index(fields=["target_type", "target_id"], name="audit_target_idx")]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.outcome}"


class AuditCheckpoint(models.Model):
    """A signed statement that the chain's entry ``seq`` had the hash ``entry_hash``.

    ``entry_count`` is the number of entries this checkpoint seals since the previous one, i.e.
    it covers ``(seq - entry_count, seq]``: consecutive checkpoints join up, so a checkpoint
    removed from the table (or from a third party's copy) shows as a hole.
    """

    seq = models.BigIntegerField(unique=True)
    entry_hash = models.CharField(max_length=64)
    entry_count = models.BigIntegerField()
    created_at = models.DateTimeField()
    key_id = models.CharField(max_length=64)  # SHA-256 of the raw Ed25519 public key
    signature = models.CharField(max_length=128)  # base64 of the Ed25519 signature of the statement

    class Meta:
        ordering = ["seq"]
        verbose_name = _("audit checkpoint")
        verbose_name_plural = _("audit checkpoints")

    def __str__(self) -> str:
        return f"checkpoint #{self.seq}"


class AuditPurge(models.Model):
    """A signed record of one retention purge: what it could tombstone and where the chain restarts.

    Entries up to ``up_to_seq`` created before the cutoff of their category became tombstones.
    The leading tombstones were then deleted: verification restarts after ``anchor_seq``, whose
    hash was ``anchor_hash`` (null when nothing was deleted by this purge).
    """

    purged_at = models.DateTimeField()
    up_to_seq = models.BigIntegerField()
    security_cutoff = models.DateTimeField()
    access_cutoff = models.DateTimeField()
    tombstoned = models.BigIntegerField()
    deleted = models.BigIntegerField()
    anchor_seq = models.BigIntegerField(null=True, blank=True)
    anchor_hash = models.CharField(max_length=64, blank=True)
    key_id = models.CharField(max_length=64)
    signature = models.CharField(max_length=128)

    class Meta:
        ordering = ["up_to_seq", "pk"]
        verbose_name = _("audit purge")
        verbose_name_plural = _("audit purges")

    def __str__(self) -> str:
        return f"purge up to #{self.up_to_seq}"
