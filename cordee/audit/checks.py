"""System checks of the audit trail (``manage.py check --deploy``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

from cordee.audit import keyring


@checks.register(checks.Tags.security, deploy=True)
def checkpoint_copy(app_configs: Any = None, **_: Any) -> list[checks.CheckMessage]:
    if settings.AUDIT_CHECKPOINT_COPY:
        return []
    return [
        checks.Warning(
            "AUDIT_CHECKPOINT_COPY is not set: the signed checkpoints have no second, append-only copy, so "
            "whoever holds the database can delete checkpoints with the entries they seal, unseen.",
            hint="Set it to a file on an append-only (chattr +a) mount, or to s3://bucket/prefix with Object "
            "Lock (docs/security.md).",
            id="audit.W001",
        )
    ]


@checks.register(checks.Tags.security, deploy=True)
def signing_key_ring(app_configs: Any = None, **_: Any) -> list[checks.CheckMessage]:
    """The ring of retired signing keys (``keyring.py``) is sound: else ``audit verify`` fails."""
    try:
        keyring.load()
    except keyring.RingError as exc:
        return [
            checks.Error(
                f"The audit key ring is not sound: {exc}",
                hint="Restore it from the key escrow (docs/backups.md); until then the checkpoints signed by "
                "retired keys do not verify (docs/security.md, rotating the signing key).",
                id="audit.E001",
            )
        ]
    return []
