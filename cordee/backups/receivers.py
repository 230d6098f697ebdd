"""Each crypto-shredding also goes to the shred list (outside the backups), once it has committed."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from cordee.backups import shredlist
from cordee.vault.models import DataKey

logger = logging.getLogger("cordee.backups")


def _record(row: DataKey) -> None:
    try:
        shredlist.record(row)
    except OSError as exc:  # the erasure has committed: never fail it; the next backup adds the line
        logger.error("shred list: could not append an erasure: %s", exc.strerror or exc)


@receiver(post_save, sender=DataKey, dispatch_uid="backups.shred_list")
def _data_key_saved(sender: Any, instance: DataKey, **kwargs: Any) -> None:
    if instance.destroyed_at is not None and not instance.wrapped_aead:
        transaction.on_commit(lambda: _record(instance))
