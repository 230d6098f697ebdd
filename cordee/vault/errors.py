"""What can go wrong in the vault. Every failure is an exception: the vault never returns garbage."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured


class VaultError(Exception):
    """Base class of the vault's errors."""


class KeysetError(ImproperlyConfigured):
    """The vault keyset file is missing or unreadable: Cordée does not start."""


class DecryptionError(VaultError):
    """A ciphertext did not authenticate: wrong key, altered bytes, or moved to another row/owner."""


class Erased(VaultError):
    """The owner's data keys were destroyed (crypto-shredding): their data can no longer be read."""


class BlobTooLarge(VaultError):
    """A file went past the size limit while it was streamed in; nothing was stored."""


class BlobIncomplete(VaultError):
    """A file upload stopped before its end (cut off or shorter than announced); nothing was stored."""
