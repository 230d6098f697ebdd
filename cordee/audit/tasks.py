"""Background tasks of the audit trail (django-tasks; ``manage.py worker`` runs them).

The periodic jobs (a checkpoint every ``AUDIT_CHECKPOINT_SECONDS``, the daily purge) are not tasks:
the worker's scheduler runs them (``scheduled.py``).
"""

from __future__ import annotations

from django_tasks import task

from cordee.audit import checkpoints, retention


@task()
def create_checkpoint(if_due: bool = False) -> int | None:
    """Seal the chain's head with a signed checkpoint; the seq sealed, or None if nothing to seal."""
    checkpoint = checkpoints.make_checkpoint(if_due=if_due)
    return checkpoint.seq if checkpoint else None


@task()
def purge_expired_entries() -> dict[str, int]:
    """Apply the two retention periods (AUDIT_SECURITY_RETENTION_DAYS, AUDIT_ACCESS_RETENTION_DAYS)."""
    purge = retention.purge()
    return {"tombstoned": purge.tombstoned, "deleted": purge.deleted, "up_to_seq": purge.up_to_seq}
