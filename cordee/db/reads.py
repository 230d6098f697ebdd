"""Reads by key with SQL compiled once per database and kept: the ORM built and compiled its query
at every call, about three times the cost of running it on the request path (bench/http, issue 21).

``KeyRead(model)`` reads an instance by its primary key (or another unique field), ``reverse_one``
follows a reverse one-to-one relation (``user.professional``) the same way, and ``converted`` turns
raw rows into Python values as the ORM's converters do (``cordee.lib.prepared`` uses it too).
"""

from __future__ import annotations

import threading
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model


def converted(model: type[Model], using: str, expressions: list[Any], rows: list[Any]) -> list[Any]:
    """``rows`` with each column converted as the ORM converts it on the current connection."""
    compiler = model._default_manager.none().query.get_compiler(using=using)
    converters = compiler.get_converters(expressions)
    return list(compiler.apply_converters(rows, converters)) if converters else rows


class KeyRead:
    """A ``model`` instance by its primary key — what ``model._default_manager.get(pk=…)`` answers —
    with the SQL compiled once per database and kept. ``get`` built and compiled its query at every
    call, about three times the cost of running it; the signed-in user is read so on every request
    (bench/http, issue 21). The values are converted by the current connection's converters, as the
    ORM does; the manager's own filters, if any, are part of the kept SQL. ``field``: another unique
    field (a one-to-one key such as ``user``) instead of the primary key."""

    _SENTINEL = -7_919_000_013  # a key no row has: its place among the compiled parameters is the key's

    def __init__(self, model: type[Model], field: str = "pk") -> None:
        self.model = model
        self.field = field
        self._key = model._meta.pk if field == "pk" else model._meta.get_field(field)
        self._kept: dict[str, tuple[str, tuple[Any, ...], int, list[Any], list[str]]] = {}
        self._lock = threading.Lock()

    def _compiled(self, using: str) -> tuple[str, tuple[Any, ...], int, list[Any], list[str]]:
        kept = self._kept.get(using)
        if kept is not None:
            return kept
        rows = self.model._default_manager.db_manager(using).filter(**{self.field: self._SENTINEL})
        compiler = rows.query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        places = [index for index, value in enumerate(params) if value == self._SENTINEL]
        if len(places) != 1:
            raise RuntimeError(f"KeyRead({self.model.__name__}): the key is not one parameter of {sql!r}")
        expressions = [selected[0] for selected in compiler.select[: compiler.col_count]]
        names = [expression.target.attname for expression in expressions]
        kept = (sql, tuple(params), places[0], expressions, names)
        with self._lock:
            self._kept[using] = kept
        return kept

    def get(self, pk: Any, *, using: str = DEFAULT_DB_ALIAS) -> Any | None:
        """The instance whose key (or ``field``) is ``pk``, or None."""
        sql, params, place, expressions, names = self._compiled(using)
        connection = connections[using]
        value = self._key.get_db_prep_value(pk, connection, prepared=False)  # type: ignore[union-attr]  # a concrete field
        with connection.cursor() as cursor:
            cursor.execute(sql, (*params[:place], value, *params[place + 1 :]))
            rows = cursor.fetchmany(2)
        if len(rows) != 1:
            return None
        return self.model.from_db(using, names, converted(self.model, using, expressions, rows)[0])

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()


_REVERSE_ONES: dict[tuple[type[Model], str], tuple[Any, KeyRead]] = {}


def reverse_one(instance: Model, name: str) -> Any | None:
    """``instance.<name>`` for a reverse one-to-one relation (``user.professional``), None where
    there is none, read by SQL kept per database (``KeyRead`` on the one-to-one field) and cached on
    both instances as the ORM's descriptor caches them. The descriptor built and compiled its query
    at every call on a fresh instance: each audited action of a professional reads their RPPS so,
    and an HTTP request's user is read afresh (bench/http's JSON POST: ~12 % of the request)."""
    model = instance.__class__  # the model's, also through a lazy object (Channels' scope user)
    kept = _REVERSE_ONES.get((model, name))
    if kept is None:
        related = getattr(model, name).related  # the relation behind the reverse descriptor
        kept = _REVERSE_ONES[(model, name)] = (related, KeyRead(related.related_model, related.field.name))
    related, read = kept
    if related.is_cached(instance):
        return related.get_cached_value(instance)
    found = read.get(
        getattr(instance, related.field.target_field.attname), using=instance._state.db or DEFAULT_DB_ALIAS
    )
    related.set_cached_value(instance, found)
    if found is not None:
        related.field.set_cached_value(found, instance)
    return found
