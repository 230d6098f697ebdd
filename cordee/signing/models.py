"""The professionals' signing certificates issued by the deployment CA (``pki.py``).

Each row owns its own vault data key (``VaultOwner``): the private key is stored only encrypted,
and ``vault.services.do_shred`` on a row destroys it for good. One *current* certificate per
professional (a partial unique constraint); older ones stay, not current, so that the audit trail
and the signed PDFs can still name them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from cordee.vault.fields import EncryptedTextField
from cordee.vault.models import VaultOwner


class SigningCertificate(VaultOwner):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="signing_certificates")
    serial = models.CharField(max_length=40)  # hex; unique per CA
    subject = models.CharField(max_length=400)  # RFC 4514 string of the subject (public: RPPS directory data)
    certificate_pem = models.TextField()
    private_key_pem = EncryptedTextField()  # PKCS#8 PEM, sealed with this row's own data key
    ca_fingerprint = models.CharField(max_length=64)  # SHA-256 of the issuing CA certificate
    not_before = models.DateTimeField()
    not_after = models.DateTimeField()
    current = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user"], condition=Q(current=True), name="signing_one_current_per_user"),
            models.UniqueConstraint(fields=["ca_fingerprint", "serial"], name="signing_serial_unique_per_ca"),
        ]

    def __str__(self) -> str:
        return f"certificate {self.serial[:12]}… of user {self.user_id}"
