"""Pages of a list made of several disjoint querysets of one model (``MergedRows``).

A list such as "the referrals I received" is rows named to me *or* rows open to my service. One
query with that ``OR`` cannot walk the index that orders the list: the database reads every
matching row and sorts them, and the last pages of 10,000 rows cost tens of milliseconds. Here
each part stays a plain queryset that its own index answers in order, and a page is two queries:

1. the page's keys: ``SELECT pk, <order fields> … UNION ALL SELECT …`` ordered and sliced, which
   SQLite answers with a merge of the parts' ordered index scans, and PostgreSQL (15) by sorting
   the keys it read — from the indexes alone when they cover the parts' filters;
2. the page's rows by primary key (with ``related`` selected), put back in the keys' order.

The count is one query counting each part (``count_each``); a page then leaves out the parts
found empty, so that the usual list (nothing open to the service) is one ordered index scan, with
no union. The parts must be disjoint (a row in two parts would be listed twice), and ``order``
must end with a unique field so that pages do not overlap.
``Paginator`` takes a ``MergedRows`` as it takes a queryset.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, overload

from django.db import connections
from django.db.models import QuerySet

from cordee.lib.prepared import Compiled, compile_queryset


def countable(rows: QuerySet[Any]) -> QuerySet[Any]:
    """``rows`` as the cheapest ``SELECT`` to count: no order, only the key (plain querysets;
    ``values().distinct()`` and ``UNION ALL`` ones as they are)."""
    if rows.query.combinator:
        return rows
    rows = rows.order_by()
    return rows if rows.query.values_select else rows.values("pk")


def count_each(querysets: Sequence[QuerySet[Any]]) -> list[int]:
    """The number of rows of each queryset, in one query: a scalar ``COUNT(*)`` subquery of one
    ``SELECT`` per queryset, rather than a round trip each. All on the first queryset's database."""
    if not querysets:
        return []
    return count_compiled([compile_queryset(countable(rows)) for rows in querysets], using=querysets[0].db)


def count_compiled(selects: Sequence[Compiled | None], *, using: str) -> list[int]:
    """``count_each`` of compiled ``SELECT``s (``countable``'s, from the ORM: ``prepared.Prepared``
    keeps them); a None is a queryset that can match nothing, counted 0 without asking."""
    counts = [0] * len(selects)
    columns: list[tuple[int, str]] = []
    params: list[Any] = []
    for n, compiled in enumerate(selects):
        if compiled is None:
            continue
        sql, row_params = compiled
        columns.append((n, f"(SELECT COUNT(*) FROM ({sql}) AS counted_{n})"))  # noqa: S608 -- SQL compiled by the ORM
        params.extend(row_params)
    if columns:
        with connections[using].cursor() as cursor:
            # Only SQL compiled by the ORM from the querysets, their values as parameters.
            select = "SELECT " + ", ".join(column for _n, column in columns)  # noqa: S608 -- as said above
            cursor.execute(select, params)
            values = cursor.fetchone()
        for (n, _column), value in zip(columns, values, strict=True):
            counts[n] = int(value)
    return counts


def _union(parts: Sequence[QuerySet[Any]], fields: Sequence[str]) -> QuerySet[Any]:
    first, *rest = (part.values_list(*fields) for part in parts)
    return first.union(*rest, all=True) if rest else first


class MergedRows:
    ordered = True  # what Paginator checks before warning about unordered pages

    def __init__(
        self, *parts: QuerySet[Any], order: Sequence[str] = ("-updated_at", "-pk"), related: Sequence[str] = ()
    ) -> None:
        if not parts:
            raise ValueError("MergedRows needs at least one queryset")
        self.model = parts[0].model
        self.parts = tuple(part.order_by() for part in parts)
        self.order = tuple(order)
        self.related = tuple(related)
        self._counts: list[int] | None = None

    def map(self, change: Callable[[QuerySet[Any]], QuerySet[Any]]) -> MergedRows:
        """The same list with ``change`` applied to every part (a filter, say)."""
        return MergedRows(*(change(part) for part in self.parts), order=self.order, related=self.related)

    def keys(self, *fields: str) -> QuerySet[Any]:
        """The parts' ``fields`` (the primary key by default) as one ``UNION ALL`` queryset."""
        return _union(self.parts, fields or ("pk",))

    def count(self) -> int:
        if self._counts is None:
            self._counts = count_each(self.parts)
        return sum(self._counts)

    def __len__(self) -> int:
        return self.count()

    @overload
    def __getitem__(self, index: int) -> Any: ...

    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, int):
            found = self[index : index + 1] if index >= 0 else []
            if not found:
                raise IndexError("MergedRows index out of range")
            return found[0]
        fields = ["pk", *(name.lstrip("-") for name in self.order if name.lstrip("-") != "pk")]
        parts = self.parts
        if self._counts is not None and any(self._counts):
            # Parts known to be empty (counted first by the paginator) are left out: the usual list,
            # with nothing open to the user's service, is then one ordered index scan, no union.
            parts = tuple(part for part, n in zip(self.parts, self._counts, strict=True) if n)
        keys = [key[0] for key in _union(parts, fields).order_by(*self.order)[index]]
        if not keys:
            return []
        found = self.model._default_manager.filter(pk__in=keys)
        if self.related:
            found = found.select_related(*self.related)
        by_pk = {row.pk: row for row in found}
        return [by_pk[key] for key in keys if key in by_pk]  # a row deleted in between is left out

    def __iter__(self) -> Iterator[Any]:
        return iter(self[:])
