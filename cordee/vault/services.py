"""The vault's service API: data keys per owner, crypto-shredding, re-wrapping.

Other apps call ``aead_for(owner)`` / ``streaming_aead_for(owner)`` (or, simpler, use the fields of
``fields.py`` and the blob store of ``blobs.py``), and ``do_shred(owner, …)`` to erase an owner.
An *owner* is a ``VaultOwner`` row (it has a ``vault_id``) or an ``OwnerRef``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import tink
from django.apps import apps as global_apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from tink import aead, streaming_aead

from cordee.audit import services as audit
from cordee.audit.models import AuditEntry
from cordee.vault import keyset as vault_keyset
from cordee.vault import signals, streaming
from cordee.vault.errors import DecryptionError, Erased

logger = logging.getLogger(__name__)

AEAD, STREAMING = "aead", "streaming"
_TEMPLATES = {
    AEAD: aead.aead_key_templates.AES256_GCM,
    STREAMING: streaming_aead.streaming_aead_key_templates.AES256_GCM_HKDF_1MB,
}
_COLUMNS = {AEAD: "wrapped_aead", STREAMING: "wrapped_streaming"}
_PRIMITIVES: dict[str, Any] = {AEAD: aead.Aead, STREAMING: streaming_aead.StreamingAead}
CACHE_KEYS = ("_vault_aead", "_vault_streaming", "_vault_streaming_keys")  # on an owner instance: unwrapped keys


@dataclass(frozen=True)
class OwnerRef:
    owner_type: str  # model label, e.g. "accounts.patient"
    owner_id: str  # the owner's vault_id
    apps: Any = global_apps  # the registry holding DataKey (historical models in a migration)


def ref(owner: Any) -> OwnerRef:
    if isinstance(owner, OwnerRef):
        return owner
    vault_id = getattr(owner, "vault_id", None)
    if not vault_id:
        raise TypeError(f"{type(owner).__name__} is not a vault owner (it has no vault_id)")
    return OwnerRef(owner._meta.label_lower, str(vault_id), owner._meta.apps)


def _datakeys(owner_ref: OwnerRef) -> Any:
    return owner_ref.apps.get_model("vault", "DataKey").objects


def _wrapping_aad(kind: str, owner_ref: OwnerRef) -> bytes:
    return f"cordee.vault.datakey.v1\x00{kind}\x00{owner_ref.owner_type}\x00{owner_ref.owner_id}".encode()


def _wrap(handle: tink.KeysetHandle, kind: str, owner_ref: OwnerRef, keyset: vault_keyset.VaultKeyset) -> bytes:
    return tink.proto_keyset_format.serialize_encrypted(handle, keyset.kek_aead, _wrapping_aad(kind, owner_ref))


def _unwrap(row: Any, kind: str, owner_ref: OwnerRef, keyset: vault_keyset.VaultKeyset) -> tink.KeysetHandle:
    if row.destroyed_at is not None:
        raise Erased(
            f"The data of this {owner_ref.owner_type} was erased on {row.destroyed_at:%Y-%m-%d} "
            "(its keys were destroyed): it can no longer be read."
        )
    try:
        return tink.proto_keyset_format.parse_encrypted(
            bytes(getattr(row, _COLUMNS[kind])), keyset.kek_aead, _wrapping_aad(kind, owner_ref)
        )
    except tink.TinkError:
        raise DecryptionError(
            f"The {kind} data key #{row.pk} of this {owner_ref.owner_type} cannot be unwrapped with the vault "
            "keyset: wrong keyset file, a retired key-encryption key, or an altered data key row"
        ) from None


def _new_row_values(owner_ref: OwnerRef, keyset: vault_keyset.VaultKeyset) -> dict[str, Any]:
    vault_keyset.register_tink()
    values: dict[str, Any] = {
        _COLUMNS[kind]: _wrap(tink.new_keyset_handle(template), kind, owner_ref, keyset)
        for kind, template in _TEMPLATES.items()
    }
    values["kek_key_id"] = keyset.primary_kek_id
    return values


def _key_row(owner_ref: OwnerRef, *, create: bool) -> Any:
    datakeys = _datakeys(owner_ref)
    lookup = {"owner_type": owner_ref.owner_type, "owner_id": owner_ref.owner_id}
    row = datakeys.filter(**lookup).first()
    if row is None and create:
        try:
            with transaction.atomic():
                row = datakeys.create(**lookup, **_new_row_values(owner_ref, vault_keyset.current()))
        except IntegrityError:  # created at the same moment by another process
            row = datakeys.get(**lookup)
    return row


def _cached(owner: Any, kind: str, cache_key: str, make: Any, *, create: bool) -> Any:
    """The owner's data key of ``kind`` as ``make(handle)`` gives it, kept on the owner instance."""
    cache = owner.__dict__ if not isinstance(owner, OwnerRef) else {}
    if cache_key in cache:
        return cache[cache_key]
    owner_ref = ref(owner)
    row = _key_row(owner_ref, create=create)
    if row is None:
        raise DecryptionError(f"This {owner_ref.owner_type} has no data key: its ciphertexts cannot be decrypted")
    value = make(_unwrap(row, kind, owner_ref, vault_keyset.current()))
    cache[cache_key] = value
    return value


def _primitive(owner: Any, kind: str, *, create: bool) -> Any:
    return _cached(owner, kind, f"_vault_{kind}", lambda handle: handle.primitive(_PRIMITIVES[kind]), create=create)


def preload_keys(owners: Iterable[Any], kind: str = AEAD) -> None:
    """Read the data keys of many owners in one query per owner type, so that a list decrypting
    one field per row (names, titles) does not read a key row per row. Owners whose key is
    missing or erased are left alone: reading their fields raises as it would have."""
    pending: dict[OwnerRef, list[Any]] = {}
    for owner in owners:
        if owner is None or isinstance(owner, OwnerRef) or f"_vault_{kind}" in owner.__dict__:
            continue
        pending.setdefault(ref(owner), []).append(owner)
    by_type: dict[tuple[str, Any], list[str]] = {}
    for owner_ref in pending:
        by_type.setdefault((owner_ref.owner_type, owner_ref.apps), []).append(owner_ref.owner_id)
    if not by_type:
        return
    keyset = vault_keyset.current()
    for (owner_type, registry), owner_ids in by_type.items():
        rows = _datakeys(OwnerRef(owner_type, "", registry)).filter(
            owner_type=owner_type, owner_id__in=owner_ids, destroyed_at__isnull=True
        )
        for row in rows:
            owner_ref = OwnerRef(owner_type, row.owner_id, registry)
            primitive = _unwrap(row, kind, owner_ref, keyset).primitive(_PRIMITIVES[kind])
            for owner in pending[owner_ref]:
                owner.__dict__[f"_vault_{kind}"] = primitive


def aead_for(owner: Any, *, create: bool = True) -> aead.Aead:
    """The owner's AEAD (fields). Created on first use unless ``create=False``; ``Erased`` once shredded."""
    return _primitive(owner, AEAD, create=create)


def streaming_aead_for(owner: Any, *, create: bool = True) -> streaming_aead.StreamingAead:
    """The owner's streaming AEAD (files, 1 MiB segments)."""
    return _primitive(owner, STREAMING, create=create)


def streaming_keys_for(owner: Any, *, create: bool = True) -> tuple[streaming.SegmentKey, ...]:
    """The owner's streaming keys, primary first, for ``vault.streaming`` (the blob store's own reader and
    writer of Tink's format); same creation and ``Erased`` rules as ``streaming_aead_for``."""
    return _cached(owner, STREAMING, "_vault_streaming_keys", streaming.keys_from_handle, create=create)


def is_shredded(owner: Any) -> bool:
    owner_ref = ref(owner)
    return (
        _datakeys(owner_ref)
        .filter(owner_type=owner_ref.owner_type, owner_id=owner_ref.owner_id, destroyed_at__isnull=False)
        .exists()
    )


def do_shred(owner: Any, *, by: Any, reason: str, request: Any = None) -> Any:
    """Crypto-shredding: destroy the owner's wrapped data keys; every ciphertext of theirs is lost.

    The row stays as a tombstone (``destroyed_at``) so that nothing new is ever encrypted for the
    owner. Audited as ``vault.shredded`` in the same transaction, in which ``signals.shredding`` is
    sent too: apps holding the owner's data under keys of their own destroy them there.
    """
    if not reason.strip():
        raise ValidationError(_("Say why this data is erased."))
    owner_ref = ref(owner)
    datakeys = _datakeys(owner_ref)
    patient_id = getattr(owner, "vault_patient_id", None)
    with transaction.atomic():
        _secure_delete_on()
        row = datakeys.select_for_update().filter(owner_type=owner_ref.owner_type, owner_id=owner_ref.owner_id).first()
        if row is None:
            row = datakeys.model(owner_type=owner_ref.owner_type, owner_id=owner_ref.owner_id)
        elif row.destroyed_at is not None:
            raise Erased(f"The data of this {owner_ref.owner_type} was already erased.")
        row.wrapped_aead = row.wrapped_streaming = b""
        row.kek_key_id = None
        row.destroyed_at = timezone.now()
        row.save()
        audit.record(
            "vault.shredded",
            actor=by,
            request=request,
            target=owner if not isinstance(owner, OwnerRef) else None,
            target_type=owner_ref.owner_type,
            patient_id=patient_id,
            purpose=reason.strip()[:200],
            category=AuditEntry.Category.ACCESS if patient_id else AuditEntry.Category.SECURITY,
            details={"owner_type": owner_ref.owner_type, "data_key": row.pk},
        )
        signals.shredding.send(
            sender=OwnerRef, owner=owner, owner_ref=owner_ref, by=by, reason=reason.strip(), request=request
        )
        transaction.on_commit(scrub_database)
    if not isinstance(owner, OwnerRef):
        for cache_key in CACHE_KEYS:
            owner.__dict__.pop(cache_key, None)
    return row


def _secure_delete_on() -> None:
    """SQLite: zero the bytes that the erased keys leave behind in the file."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA secure_delete = ON")


def scrub_database() -> None:
    """After a shred: push the old key bytes out of the SQLite WAL, or let PostgreSQL vacuum them.

    Best effort (see docs/security.md: PostgreSQL's WAL archives and free space are not zeroed).
    """
    if connection.in_atomic_block:
        return
    statement = {"sqlite": "PRAGMA wal_checkpoint(TRUNCATE)", "postgresql": "VACUUM vault_datakey"}.get(
        connection.vendor
    )
    if statement is None:
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute(statement)
    except Exception:  # a busy checkpoint is retried by the next one; never fail the erasure
        logger.warning("vault: scrubbing after a shred did not complete", exc_info=True)


def rewrap_all(keyset: vault_keyset.VaultKeyset, *, batch: int = 200) -> int:
    """Re-wrap every live data key with the keyset's primary KEK key. Returns how many."""
    from cordee.vault.models import DataKey  # here: models → fields → this module (a cycle at import)

    done, last_pk = 0, 0
    while True:
        with transaction.atomic():
            rows = list(
                DataKey.objects.select_for_update()
                .filter(pk__gt=last_pk, destroyed_at__isnull=True)
                .order_by("pk")[:batch]
            )
            if not rows:
                return done
            now = timezone.now()
            for row in rows:
                owner_ref = OwnerRef(row.owner_type, row.owner_id)
                for kind, column in _COLUMNS.items():
                    setattr(row, column, _wrap(_unwrap(row, kind, owner_ref, keyset), kind, owner_ref, keyset))
                row.kek_key_id, row.rotated_at = keyset.primary_kek_id, now
            DataKey.objects.bulk_update(rows, [*_COLUMNS.values(), "kek_key_id", "rotated_at"])
        done += len(rows)
        last_pk = rows[-1].pk


def unreadable_with(keyset: vault_keyset.VaultKeyset) -> list[int]:
    """Ids of live data keys that ``keyset`` cannot unwrap (checked before retiring KEK keys)."""
    from cordee.vault.models import DataKey  # here: models → fields → this module (a cycle at import)

    failing = []
    for row in DataKey.objects.filter(destroyed_at__isnull=True).order_by("pk").iterator():
        owner_ref = OwnerRef(row.owner_type, row.owner_id)
        try:
            for kind in _COLUMNS:
                _unwrap(row, kind, owner_ref, keyset)
        except DecryptionError:
            failing.append(row.pk)
    return failing
