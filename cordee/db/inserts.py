"""INSERT statements built once per model and database vendor, for the hot write paths.

Django's ``bulk_create`` compiles its statement again at every call, and converts every value of
every row through the field's whole preparation chain: on the socket's send path that cost more
than the database spent storing the rows. ``Inserts(model)`` builds the column list and the
placeholders once; values that already are what the drivers take (``str``, ``int`` or ``bool``
values of text, integer and boolean fields and of integer foreign keys; ``None`` for any field)
go to the driver as they are, the others (dates, JSON, encrypted fields, addresses, a lazy
translation) through ``get_db_prep_save`` as Django would.

Only the model's own table and column names are interpolated, never a value. ``pre_save`` runs
for the fields that define one (dates with ``auto_now``, encrypted fields, which encrypt there);
no ``pre_save``/``post_save`` signal is sent: callers whose models have listeners must not use it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, models

# Exact field types (an encrypted field is a subclass of CharField/TextField: converted) and the
# one Python type each takes as it is.
_TEXT = (models.CharField, models.TextField)
_INTEGER = (
    models.IntegerField,
    models.BigIntegerField,
    models.SmallIntegerField,
    models.PositiveIntegerField,
    models.PositiveBigIntegerField,
    models.PositiveSmallIntegerField,
    models.AutoField,
    models.BigAutoField,
    models.SmallAutoField,
)


def _plain_type(field: models.Field) -> type | None:
    """The Python type the driver takes as it is for this field (None: always convert)."""
    if isinstance(field, models.ForeignKey):
        field = field.target_field
    kind = type(field)
    if kind in _TEXT:
        return str
    if kind in _INTEGER:
        return int
    if kind is models.BooleanField:
        return bool
    return None


def _own_pre_save(field: models.Field) -> bool:
    """Whether the field computes its value at save (``Field.pre_save`` only reads the attribute)."""
    return type(field).pre_save is not models.Field.pre_save


class Inserts:
    """The INSERT of ``model``'s rows, every local concrete field but the primary key."""

    def __init__(self, model: type[models.Model]) -> None:
        meta = model._meta
        quote = connection.ops.quote_name
        self.fields = [field for field in meta.local_concrete_fields if not field.primary_key]
        self._convert: list[Callable[..., Any]] = [field.get_db_prep_save for field in self.fields]
        self._plain = [_plain_type(field) for field in self.fields]
        self._pre_save = [_own_pre_save(field) for field in self.fields]
        self.table = quote(meta.db_table)
        self.columns = ", ".join(quote(str(field.column)) for field in self.fields)
        self.row = "(" + ", ".join(["%s"] * len(self.fields)) + ")"
        self.pk_column = quote(str(meta.pk.column))
        self.returning = connection.features.can_return_rows_from_bulk_insert
        self.one = f"INSERT INTO {self.table} ({self.columns}) VALUES {self.row}"  # noqa: S608  (names only)

    def params(self, values: Mapping[str, Any]) -> list[Any]:
        """The parameters of one row given as ``{field name: Python value}``."""
        conn = connections[DEFAULT_DB_ALIAS]  # the wrapper itself: each read through the proxy costs a lookup
        out = []
        for field, convert, plain in zip(self.fields, self._convert, self._plain, strict=True):
            value = values[field.name]
            out.append(value if value is None or type(value) is plain else convert(value, conn))
        return out

    def instance_params(self, obj: models.Model, conn: Any = None) -> list[Any]:
        """The parameters of one unsaved instance (``pre_save`` run where the field has one)."""
        conn = conn or connections[DEFAULT_DB_ALIAS]
        out = []
        for field, convert, plain, pre in zip(self.fields, self._convert, self._plain, self._pre_save, strict=True):
            value = field.pre_save(obj, True) if pre else getattr(obj, field.attname)
            out.append(value if value is None or type(value) is plain else convert(value, conn))
        return out

    def many(self, rows: Iterable[list[Any]], cursor: Any = None) -> None:
        """Insert rows of parameters with one ``executemany`` (no ids read back): SQLite steps one
        prepared statement per row; psycopg pipelines the rows, the statement prepared once per
        connection with server-side binding (measured against one multi-row INSERT on PostgreSQL:
        half the server's CPU per row, but more of the client's, for the same total)."""
        rows = list(rows)
        if not rows:
            return
        if cursor is None:
            with connection.cursor() as own:
                own.executemany(self.one, rows)
            return
        cursor.executemany(self.one, rows)

    def _chunks(self, rows: list[list[Any]]) -> Iterable[list[list[Any]]]:
        size = max(1, connection.ops.bulk_batch_size(self.fields, rows))
        for start in range(0, len(rows), size):
            yield rows[start : start + size]

    def create(self, objs: Sequence[models.Model]) -> None:
        """Insert unsaved instances in one statement per batch and give them their ids, as
        ``bulk_create`` does (``RETURNING`` of a multi-row INSERT where the database has it)."""
        if not objs:
            return
        conn = connections[DEFAULT_DB_ALIAS]
        rows = [self.instance_params(obj, conn) for obj in objs]
        with connection.cursor() as cursor:
            if self.returning:
                pending = iter(objs)
                for chunk in self._chunks(rows):
                    values = ", ".join([self.row] * len(chunk))
                    sql = f"INSERT INTO {self.table} ({self.columns}) VALUES {values} RETURNING {self.pk_column}"  # noqa: S608
                    cursor.execute(sql, [value for row in chunk for value in row])
                    for (pk,) in cursor.fetchall():
                        next(pending).pk = pk
            else:  # pragma: no cover - both supported databases return rows
                for obj, row in zip(objs, rows, strict=True):
                    cursor.execute(self.one, row)
                    obj.pk = cursor.lastrowid
        for obj in objs:
            obj._state.adding = False
            obj._state.db = connection.alias


_built: dict[tuple[type[models.Model], str], Inserts] = {}


def inserts(model: type[models.Model]) -> Inserts:
    """The model's statements for the current connection's vendor (built at first use)."""
    key = (model, connection.vendor)
    found = _built.get(key)
    if found is None:
        found = _built[key] = Inserts(model)
    return found
