"""Rotating the audit signing key (``manage.py audit rotate-signing-key``; issue 17's containment).

Under the checkpoint and purge locks, so that no process signs with a key on its way out:

1. the chain's head is sealed one last time with the old key (skipped, and said, if the chain no
   longer verifies: a rotation is a breach measure and must not wait for a clean trail);
2. a new Ed25519 key is made; the old key signs its handover (``keyring.py``) and its public key
   joins the ring, retired now;
3. the rotation is written to the trail (``audit.signing_key_rotated``: both key ids, the time);
4. the files change: the new private key is written beside the old one (``<key>.new``), the ring
   replaced atomically, then ``<key>.new`` moved over the key (atomic too). Every process notices
   the new file at its next signature (``signing.private_key`` watches its modification time);
5. after the commit, a checkpoint signed by the new key seals the rotation's entry.

The old private key is gone from the server afterwards; earlier escrow files still hold it (make a
new escrow: ``manage.py escrow_keys export``). A crash between the steps of 4 leaves either a stray
``<key>.new`` (the next rotation refuses to start and says so) or a ring naming the current key as
retired (``audit verify`` says so, with the file holding its successor).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db import transaction
from django.utils import timezone

from cordee.audit import checkpoints, keyfiles, keyring, locks, signing
from cordee.audit.chain import iso_utc
from cordee.audit.services import record

ROTATED = "audit.signing_key_rotated"


class RotationRefused(Exception):
    """The rotation did not start: nothing was changed."""


@dataclasses.dataclass(frozen=True)
class Rotation:
    old_key_id: str
    new_key_id: str
    retired_at: dt.datetime
    retired_keys: int  # in the ring, after this rotation
    sealed_before: int | None  # the last entry sealed by the old key (None: none, or the chain is broken)
    sealed_after: int | None  # the entry sealed by the new key's first checkpoint
    chain_problem: str  # why no checkpoint was made ("" when the chain verified)
    public_key_pem: str  # the new public key, for the third party that keeps the checkpoints


def _pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _load_ring() -> keyring.KeyRing:
    try:
        return keyring.load()
    except keyring.RingError as exc:
        raise RotationRefused(f"the key ring is not sound, nothing was rotated: {exc}") from None


def _seal() -> tuple[int | None, str]:
    try:
        made = checkpoints.make_checkpoint()
    except checkpoints.ChainBroken as exc:
        return None, str(exc)
    return (made.seq if made else None), ""


def _switch(new: Ed25519PrivateKey, retired: list[keyring.RingKey]) -> None:
    """Step 4: the new key beside the old, the ring, then the new key over the old (module doc)."""
    path = signing.key_path()
    pending = path.with_name(path.name + ".new")
    if not keyfiles.write_new(pending, _pem(new)):
        raise RotationRefused(
            f"{pending} exists: an earlier rotation was interrupted. Check which key the ring hands over to "
            f"(manage.py audit public-key), then move or remove that file."
        )
    try:
        keyfiles.replace(keyring.ring_path(), keyring.document(retired))
    except BaseException:
        pending.unlink(missing_ok=True)
        raise
    os.replace(pending, path)


def rotate(*, actor: Any = None, request: Any = None) -> Rotation:
    """Retire the current signing key for a new one; see the module doc. Raises ``RotationRefused``."""
    _load_ring()  # refuse early, before taking any lock
    new = Ed25519PrivateKey.generate()
    new_key_id = signing.key_id(new.public_key())
    with transaction.atomic():
        locks.hold(locks.CHECKPOINTS)
        locks.hold(locks.PURGE)
        ring = _load_ring()  # again, under the locks: another rotation may have run meanwhile
        old = signing.private_key()
        _, problem = _seal()
        now = timezone.now()
        last = checkpoints.AuditCheckpoint.objects.order_by("-seq").values_list("seq", "created_at").first()
        sealed_before = last[0] if last and not problem else None
        if last is not None and now <= last[1]:  # (a coarse clock) the old key's last checkpoint stays in its service
            now = last[1] + dt.timedelta(microseconds=1)
        try:
            retired = keyring.retire(ring, old, new.public_key(), now)
        except keyring.RingError as exc:
            raise RotationRefused(str(exc)) from None
        record(
            ROTATED,
            actor=actor,
            request=request,
            target_type="audit_signing_key",
            target_id=new_key_id[:16],
            details={
                "old_key_id": ring.current.key_id,
                "new_key_id": new_key_id,
                "retired_at": iso_utc(now),
                "retired_keys": len(retired),
                "sealed_before": sealed_before,
                "chain_problem": problem[:300],
            },
        )
        _switch(new, retired)
    sealed_after = None
    if not problem:
        sealed_after, problem = _seal()
    return Rotation(
        old_key_id=ring.current.key_id,
        new_key_id=new_key_id,
        retired_at=now,
        retired_keys=len(retired),
        sealed_before=sealed_before,
        sealed_after=sealed_after,
        chain_problem=problem,
        public_key_pem=keyring.public_key_pem(new.public_key()),
    )
