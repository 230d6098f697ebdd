"""The conversations' field keys kept for a short while in each process, for the send path.

Encrypting a message needs the conversation's AEAD primitive: ``vault.services.aead_for`` reads
the wrapped data key from the database and unwraps it, then keeps the primitive on the owner
*instance*. Each send loads a new ``Conversation`` instance, so without help every send would pay
one more query and an unwrap. Here each process keeps, per conversation, one bare owner instance
(id and vault id only) for ``KEY_TTL_SECONDS`` after it was made; messages are encrypted with it,
and the vault's own per-instance cache does the rest. Only the vault's public API is used.

The bound matters for crypto-shredding: a process may go on encrypting new messages of a
conversation for up to ``KEY_TTL_SECONDS`` after its key was destroyed elsewhere. Such messages
are written with the destroyed key, so they are as unreadable as the rest: nothing leaks.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from cordee.messaging.models import Conversation

KEY_TTL_SECONDS = 60.0
MAX_KEPT = 4096

_kept: OrderedDict[int, tuple[float, Conversation]] = OrderedDict()
_lock = threading.Lock()


def key_owner(conversation: Conversation) -> Conversation:
    """The instance to encrypt ``conversation``'s messages with (same id and vault id)."""
    now = time.monotonic()
    with _lock:
        kept = _kept.get(conversation.pk)
        if kept is not None and kept[0] > now and kept[1].vault_id == conversation.vault_id:
            _kept.move_to_end(conversation.pk)
            return kept[1]
        owner = Conversation(pk=conversation.pk, vault_id=conversation.vault_id)
        _kept[conversation.pk] = (now + KEY_TTL_SECONDS, owner)
        while len(_kept) > MAX_KEPT:
            _kept.popitem(last=False)
    return owner


def forget(conversation_id: int | None = None) -> None:
    """Drop the kept owner of one conversation (or all): after a shred in this process, in tests."""
    with _lock:
        if conversation_id is None:
            _kept.clear()
        else:
            _kept.pop(conversation_id, None)
