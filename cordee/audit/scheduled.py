"""The audit trail's scheduled jobs, run by the worker (``manage.py worker``, ``cordee.worker.jobs``).

- ``audit.checkpoint``, in every worker every ``AUDIT_CHECKPOINT_SECONDS``: sign a checkpoint when
  entries wait unsealed, so that one exists at most that long after any new entry; when nothing is
  new, bring the second copy up to date instead (a write that failed is made up for). Not audited:
  an entry per checkpoint would itself wait for the next one, for ever.
- ``audit.purge``, once a day across all workers: the two retention periods (``retention.py``),
  which audits itself (``audit.purged``).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from cordee.audit import checkpoints, copies, retention
from cordee.worker.jobs import Job, daily, register


def seal() -> str:
    """Checkpoint the head if entries wait; what was done, for the worker's log ("" if nothing)."""
    made = checkpoints.make_checkpoint()
    if made is not None:
        return f"checkpoint #{made.seq} signed ({made.entry_count} new entries)"
    copied = copies.catch_up()
    return f"{copied} checkpoint(s) copied" if copied else ""


def purge() -> str:
    done = retention.purge()
    return f"{done.tombstoned} entries blanked, {done.deleted} deleted (up to #{done.up_to_seq})"


def checkpoint_period() -> dt.timedelta:
    return dt.timedelta(seconds=settings.AUDIT_CHECKPOINT_SECONDS)


def register_jobs() -> None:
    register(Job("audit.checkpoint", checkpoint_period, seal, shared=False))
    register(Job("audit.purge", daily, purge))
