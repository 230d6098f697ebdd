"""Encrypted model fields and blind-index fields.

An encrypted field stores a Tink AEAD ciphertext (AES256-GCM) made with the data key of the
row's *owner*: the row itself (``owner=None``, a patient) or the object named by ``owner``
(``owner="conversation"`` for a message). The associated data binds each ciphertext to its table,
column and owner (and to a per-row UUID with ``row_key="…"``): a ciphertext copied to another
column, row of another owner, or owner fails to decrypt (``DecryptionError``), never garbage.

- Writing happens in ``save()`` (``pre_save``): the attribute keeps the clear value. Values are
  padded to 16 bytes before encryption so the ciphertext length does not give a name's length.
- Reading is lazy: the database value arrives as ``Sealed`` and is decrypted on first access to
  the attribute, then kept on the instance. ``values()``/``values_list()`` give ``Sealed``.
- Look-ups on an encrypted column are refused (``FieldError``) except ``isnull``: a silent
  ``filter(name="X")`` on ciphertext would never match. Exact look-ups go through a
  ``BlindIndexField``; ``QuerySet.update()`` with a clear value is refused (``TypeError``).
- Renaming an encrypted column or table needs a migration that re-encrypts (the associated data
  names them).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

import tink
from django.db import models
from django.db.models.query_utils import DeferredAttribute

from cordee.vault.errors import DecryptionError

_BLOCK = 16
_SEALED_CACHE = "_vault_sealed"  # instance.__dict__ key: {attname: (Sealed, clear value)}


class Sealed:
    """A ciphertext as read from the database, not yet decrypted."""

    __slots__ = ("ciphertext",)

    def __init__(self, ciphertext: bytes) -> None:
        self.ciphertext = ciphertext

    def __repr__(self) -> str:
        return f"<Sealed {len(self.ciphertext)} bytes>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sealed) and other.ciphertext == self.ciphertext

    def __hash__(self) -> int:
        return hash(self.ciphertext)


def pad(data: bytes) -> bytes:
    """ISO/IEC 7816-4 padding to a multiple of 16 bytes."""
    data += b"\x80"
    return data + b"\x00" * (-len(data) % _BLOCK)


def unpad(data: bytes) -> bytes:
    stripped = data.rstrip(b"\x00")
    if not stripped.endswith(b"\x80"):
        raise DecryptionError("a decrypted value has no valid padding")
    return stripped[:-1]


class EncryptedAttribute(DeferredAttribute):
    """Decrypts on first read; a data descriptor, so every read goes through it."""

    def __get__(self, instance, cls=None):  # type: ignore[no-untyped-def]  # descriptor protocol
        if instance is None:
            return self
        value = super().__get__(instance, cls)
        if isinstance(value, Sealed):
            clear = cast(EncryptedFieldMixin, self.field).open(instance, value)
            instance.__dict__[self.field.attname] = clear
            instance.__dict__.setdefault(_SEALED_CACHE, {})[self.field.attname] = (value, clear)
            return clear
        return value

    def __set__(self, instance: Any, value: Any) -> None:
        instance.__dict__[self.field.attname] = value


def _unchanged(instance: models.Model, attname: str) -> Sealed | None:
    """The stored ciphertext if the attribute was not changed since it was read, else None."""
    raw = instance.__dict__.get(attname)
    if isinstance(raw, Sealed):
        return raw
    cached = instance.__dict__.get(_SEALED_CACHE, {}).get(attname)
    if cached is not None and cached[1] == raw:
        return cached[0]
    return None


class EncryptedFieldMixin(models.Field):
    """The encryption part shared by the encrypted field types (put first in the bases)."""

    descriptor_class = EncryptedAttribute

    def __init__(self, *args: Any, owner: str | None = None, row_key: str | None = None, **kwargs: Any) -> None:
        self.vault_owner = owner
        self.vault_row_key = row_key
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()  # type: ignore[misc]  # the stubs know Field's only
        if self.vault_owner is not None:
            kwargs["owner"] = self.vault_owner
        if self.vault_row_key is not None:
            kwargs["row_key"] = self.vault_row_key
        return name, path, args, kwargs

    def get_internal_type(self) -> str:
        return "BinaryField"

    def get_lookup(self, lookup_name: str) -> Any:
        return super().get_lookup(lookup_name) if lookup_name == "isnull" else None  # type: ignore[misc]  # idem

    def get_transform(self, lookup_name: str) -> Any:
        return None

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Sealed | None:
        return None if value is None else Sealed(bytes(value))

    def get_prep_value(self, value: Any) -> bytes | None:
        if value is None:
            return None
        if isinstance(value, Sealed):
            return value.ciphertext
        if isinstance(value, bytes | memoryview):  # ciphertext as stored (schema defaults, copies)
            return bytes(value)
        raise TypeError(
            f"{self.name} is encrypted: set it on a model instance and save(); "
            "it cannot be written by QuerySet.update() or compared in a query"
        )

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if not prepared:
            value = self.get_prep_value(value)
        return None if value is None else connection.Database.Binary(value)

    def pre_save(self, model_instance: models.Model, add: bool) -> Sealed | None:
        if self.attname not in model_instance.__dict__:  # deferred: load it first
            getattr(model_instance, self.attname)
        value = model_instance.__dict__.get(self.attname)
        if value is None:  # NULL (refused by the database if the column is NOT NULL)
            return None
        unchanged = _unchanged(model_instance, self.attname)
        return unchanged if unchanged is not None else self.seal(model_instance, value)

    # --- the cryptography ----------------------------------------------------------------
    def encode(self, value: Any) -> bytes:
        return str(value).encode("utf-8")

    def decode(self, data: bytes) -> Any:
        return data.decode("utf-8")

    def owner_of(self, instance: models.Model) -> Any:
        return instance if self.vault_owner is None else getattr(instance, self.vault_owner)

    def associated_data(self, instance: models.Model, owner_type: str, owner_id: str) -> bytes:
        parts = ["cordee.vault.field.v1", instance._meta.db_table, str(self.column), owner_type, owner_id]
        if self.vault_row_key is not None:
            parts.append(str(getattr(instance, self.vault_row_key)))
        return "\x00".join(parts).encode("utf-8")

    def seal(self, instance: models.Model, value: Any) -> Sealed:
        from cordee.vault import services  # here: services → models → these fields (a cycle at import)

        owner = self.owner_of(instance)
        ref = services.ref(owner)
        aad = self.associated_data(instance, ref.owner_type, ref.owner_id)
        clear = self.encode(self.to_python(value))
        return Sealed(services.aead_for(owner).encrypt(pad(clear), aad))

    def open(self, instance: models.Model, sealed: Sealed) -> Any:
        from cordee.vault import services  # here: services → models → these fields (a cycle at import)

        owner = self.owner_of(instance)
        ref = services.ref(owner)
        aad = self.associated_data(instance, ref.owner_type, ref.owner_id)
        try:
            clear = services.aead_for(owner, create=False).decrypt(sealed.ciphertext, aad)
        except tink.TinkError:
            raise DecryptionError(
                f"{instance._meta.label}.{self.name}: the ciphertext does not authenticate "
                "(wrong key, altered bytes, or copied from another row)"
            ) from None
        return self.decode(unpad(clear))


class EncryptedCharField(EncryptedFieldMixin, models.CharField):
    """Short text (names, identifiers); ``max_length`` limits the clear value."""


class EncryptedTextField(EncryptedFieldMixin, models.TextField):
    """Free text (addresses, notes, message bodies)."""


class EncryptedDateField(EncryptedFieldMixin, models.DateField):
    """A date (birth date), stored as its encrypted ISO form."""

    def encode(self, value: Any) -> bytes:
        return value.isoformat().encode("ascii")

    def decode(self, data: bytes) -> Any:
        return self.to_python(data.decode("ascii"))


class BlindIndexField(models.CharField):
    """The keyed hash (``blind.blind_index``) of ``sources``, recomputed on save; for exact look-ups."""

    def __init__(self, *args: Any, purpose: str, sources: Iterable[str], **kwargs: Any) -> None:
        self.purpose = purpose
        self.sources = tuple(sources)
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        kwargs.setdefault("db_index", True)
        kwargs["editable"] = False
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs.update(purpose=self.purpose, sources=self.sources)
        kwargs.pop("editable", None)
        return name, path, args, kwargs

    def pre_save(self, model_instance: models.Model, add: bool) -> str:
        opts = model_instance._meta
        attnames = [cast(models.Field, opts.get_field(source)).attname for source in self.sources]
        if not add and all(_unchanged(model_instance, attname) is not None for attname in attnames):
            return getattr(model_instance, self.attname)
        from cordee.vault.blind import blind_index  # here: blind → keyset → services → models → fields

        value = blind_index(self.purpose, *(getattr(model_instance, attname) for attname in attnames))
        setattr(model_instance, self.attname, value)
        return value


def with_blind_indexes(opts: Any, update_fields: Iterable[str]) -> list[str]:
    """``update_fields`` plus the blind indexes computed from any of them."""
    names = list(update_fields)
    for field in opts.concrete_fields:
        if isinstance(field, BlindIndexField) and field.name not in names and set(field.sources) & set(names):
            names.append(field.name)
    return names
