"""The SQL of a queryset built from a user, compiled once and kept for that user (``Prepared``).

Building a queryset and compiling it costs Django more than the database spends answering it: the
shell's count of what waits in each module (one query of several modules' querysets) cost ~15 % of
a page's CPU, almost all of it in the ORM. A ``Prepared`` keeps the SQL and parameters that
``build(user)`` compiles to, keyed by the database and by every field of the user, and gives them
back while they are younger than ``ttl`` seconds.

It keeps only what it could check depends on nothing else: ``build`` runs twice on a fresh copy
of the user (their fields only: no related object or remembered answer loaded with it), under a
guard that refuses any database query, and the two compilations must be equal. So a build that
reads the database (a related object, a list evaluated in Python), or the clock to the
microsecond (``timezone.now()``), is not kept: it is built and compiled at each call, as it would
be without this class. A user whose fields change (kind, activity…) is another key: SQL compiled
for what they are now. A build that depends on an object related to the user (their professional
profile) names it in ``reads``: its fields join the key, and the copies carry a copy of it.

What the checks cannot see — a build reading the date, the cache, a module's state — is at most
``ttl`` seconds late: a build must depend on the user's fields (and those of ``reads``), the
settings and the code only. At most ``size`` keys are kept per ``Prepared``, the least recently
used dropped first. The keys hold the users' fields in this process's memory, as the requests do.
"""

from __future__ import annotations

import operator
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from functools import cache
from typing import Any

from django.core.exceptions import EmptyResultSet, FieldDoesNotExist, ObjectDoesNotExist
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, QuerySet
from django.db.models.fields.mixins import FieldCacheMixin

from cordee.db.reads import converted

Compiled = tuple[str, tuple[Any, ...]]


class BuildQueried(Exception):
    """A build ran a database query (what the guard refuses)."""


class _Guard:
    """Refuses every query, and remembers it did (a build that swallows the exception is caught)."""

    def __init__(self) -> None:
        self.refused = False

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.refused = True
        raise BuildQueried(sql)


@cache
def _reader(model: type[Model]) -> Callable[[Model], tuple[Any, ...]]:
    """A function reading the fields of a ``model`` instance, in order, as one tuple."""
    read = operator.attrgetter(*(field.attname for field in model._meta.concrete_fields))
    return read if len(model._meta.concrete_fields) > 1 else lambda instance: (read(instance),)


def _fields(user: Model) -> tuple[Any, ...]:
    return _reader(user.__class__)(user)


def _hashable(value: Any) -> Any:
    """A field's value as part of a key (a JSON field's list or mapping as nested tuples)."""
    if isinstance(value, list | tuple):
        return tuple(_hashable(item) for item in value)
    if isinstance(value, dict):
        return tuple(sorted((key, _hashable(item)) for key, item in value.items()))
    return value


def _copy(user: Model) -> Model:
    """The user with their fields and nothing else (no related object, no remembered answer).
    ``__class__``, not ``type()``: a request's user is a lazy object that answers for the model."""
    return user.__class__.from_db(user._state.db, [f.attname for f in user._meta.concrete_fields], _fields(user))


def _related(user: Model, name: str) -> Model | None:
    try:
        return getattr(user, name)
    except ObjectDoesNotExist:  # a reverse one-to-one without its row (a patient's "professional")
        return None


def compile_queryset(rows: QuerySet[Any]) -> Compiled | None:
    """The SQL and parameters of ``rows`` (None for a queryset that can match nothing)."""
    try:
        sql, params = rows.query.get_compiler(using=rows.db).as_sql()
    except EmptyResultSet:
        return None
    return sql, tuple(params)


class _Layout:
    """Where a model's fields and the annotations lie in the rows of one SQL (what
    ``RawQuerySet`` resolves from the cursor's description), kept per model, database and SQL."""

    _kept: OrderedDict[tuple[Any, ...], _Layout] = OrderedDict()
    _lock = threading.Lock()
    SIZE = 512

    def __init__(self, model: type[Model], using: str, description: Any) -> None:
        identifier = connections[using].introspection.identifier_converter
        columns = [identifier(column[0]) for column in description]
        named = [(identifier(field.column or ""), field) for field in model._meta.fields]  # concrete: a column each
        by_column = dict(named)
        if identifier(model._meta.pk.column or "") not in columns:
            raise FieldDoesNotExist("Raw query must include the primary key")
        self.model, self.using = model, using
        fields = [(column, field) for column, field in named if column in columns]
        self.names = [field.attname for _, field in fields]
        self.positions = [columns.index(column) for column, _ in fields]
        self.annotations = [(column, place) for place, column in enumerate(columns) if column not in by_column]
        found = [by_column.get(column) for column in columns]
        self.expressions = [field.get_col(field.model._meta.db_table) if field else None for field in found]

    @classmethod
    def of(cls, model: type[Model], using: str, sql: str, description: Any) -> _Layout:
        key = (model, using, sql)
        with cls._lock:
            layout = cls._kept.get(key)
            if layout is not None:
                cls._kept.move_to_end(key)
                return layout
        layout = cls(model, using, description)
        with cls._lock:
            cls._kept[key] = layout
            while len(cls._kept) > cls.SIZE:
                cls._kept.popitem(last=False)
        return layout

    def instances(self, rows: list[tuple[Any, ...]]) -> list[Any]:
        rows = converted(self.model, self.using, self.expressions, rows)
        found = []
        for values in rows:
            instance = self.model.from_db(self.using, self.names, [values[place] for place in self.positions])
            for column, place in self.annotations:
                setattr(instance, column, values[place])
            found.append(instance)
        return found


class Prepared:
    def __init__(
        self,
        build: Callable[[Any], QuerySet[Any]],
        *,
        shape: Callable[[QuerySet[Any]], QuerySet[Any]] = lambda rows: rows,
        reads: tuple[str, ...] = (),
        ttl: float = 60.0,
        size: int = 2048,
    ) -> None:
        self.build, self.shape, self.reads, self.ttl, self.size = build, shape, reads, ttl, size
        self._kept: OrderedDict[tuple[Any, ...], tuple[float, Compiled | None]] = OrderedDict()
        self._lock = threading.Lock()
        self.unkept = 0  # builds found not to be keepable (counted, for tests and benches)

    def _compile(self, user: Model) -> Compiled | None:
        return compile_queryset(self.shape(self.build(user)))

    def _key(self, user: Model, using: str) -> tuple[Any, ...]:
        related = []
        for name in self.reads:
            found = _related(user, name)
            related.append(None if found is None else (found.__class__, *map(_hashable, _fields(found))))
        return (using, user.__class__, *map(_hashable, _fields(user)), *related)

    def _fresh(self, user: Model) -> Model:
        """A copy of ``user`` with its fields, and the related objects of ``reads`` copied likewise."""
        fresh = _copy(user)
        for name in self.reads:
            found = _related(user, name)
            relation = user._meta.get_field(name)
            if not isinstance(relation, FieldCacheMixin):  # a plain column is a field of the key already
                raise TypeError(f"Prepared reads {name!r}: not a relation of {user.__class__.__name__}")
            relation.set_cached_value(fresh, None if found is None else _copy(found))
        return fresh

    def sql(self, user: Model, *, using: str = DEFAULT_DB_ALIAS) -> Compiled | None:
        """``build(user)``'s SQL and parameters (None when it can match nothing)."""
        key = self._key(user, using)
        now = time.monotonic()
        with self._lock:
            found = self._kept.get(key)
            if found is not None and found[0] > now:
                self._kept.move_to_end(key)
                return found[1]
        kept = self._checked(user, using)
        if kept is None:  # not keepable: compiled for this call only, from the user as given
            self.unkept += 1
            return self._compile(user)
        with self._lock:
            self._kept[key] = (now + self.ttl, kept[0])
            self._kept.move_to_end(key)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return kept[0]

    def instances(self, user: Model, model: type[Model], *, using: str = DEFAULT_DB_ALIAS) -> list[Any]:
        """The ``model`` instances of ``build(user)``, fields converted, annotations as attributes,
        as ``Model.objects.raw`` of the kept SQL gives them (no ``select_related``: load relations
        after). Which column is which field is worked out once per SQL (``_Layout``): ``raw``
        did it again at every call, from the cursor's description."""
        compiled = self.sql(user, using=using)
        if compiled is None:
            return []
        with connections[using].cursor() as cursor:
            cursor.execute(*compiled)
            layout = _Layout.of(model, using, compiled[0], cursor.description)
            rows = cursor.fetchall()
        return layout.instances(rows)

    def rows(self, user: Model, *, using: str = DEFAULT_DB_ALIAS) -> list[tuple[Any, ...]]:
        """The rows of ``build(user)`` as the database gives them, no field's conversion applied:
        for ``values()``-like selects of ids, text and counts (``instances`` for models)."""
        compiled = self.sql(user, using=using)
        if compiled is None:
            return []
        with connections[using].cursor() as cursor:
            cursor.execute(*compiled)
            return list(cursor.fetchall())

    def exists(self, user: Model, *, using: str = DEFAULT_DB_ALIAS) -> bool:
        """Whether ``build(user)`` has a row (a ``SELECT EXISTS`` of the kept SQL)."""
        compiled = self.sql(user, using=using)
        if compiled is None:
            return False
        with connections[using].cursor() as cursor:
            cursor.execute(f"SELECT EXISTS ({compiled[0]})", compiled[1])  # noqa: S608 -- SQL compiled by the ORM
            return bool(cursor.fetchone()[0])

    def _checked(self, user: Model, using: str) -> tuple[Compiled | None] | None:
        """``(compiled,)`` if two builds from fresh copies of ``user`` agree without a query."""
        guard = _Guard()
        try:
            with connections[using].execute_wrapper(guard):
                first = self._compile(self._fresh(user))
                second = self._compile(self._fresh(user))
        except BuildQueried:
            return None
        return (first,) if first == second and not guard.refused else None

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()
