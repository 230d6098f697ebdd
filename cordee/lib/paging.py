"""Pages of a list made of several disjoint querysets of one model (``MergedRows``).

A list such as "the referrals I received" is rows named to me *or* rows open to my service. One
query with that ``OR`` cannot walk the index that orders the list: the database reads every
matching row and sorts them, and the last pages of 10,000 rows cost tens of milliseconds. Here
each part stays a plain queryset that its own index answers in order, and a page is two queries:

1. the page's keys: ``SELECT pk, <order fields> … UNION ALL SELECT …`` ordered and sliced, which
   SQLite answers with a merge of the parts' ordered index scans and PostgreSQL with a Merge
   Append — from the indexes alone when they cover the parts' filters;
2. the page's rows by primary key (with ``related`` selected), put back in the keys' order.

The count is one ``UNION ALL`` count of the keys. The parts must be disjoint (a row in two parts
would be listed twice), and ``order`` must end with a unique field so that pages do not overlap.
``Paginator`` takes a ``MergedRows`` as it takes a queryset.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, overload

from django.db.models import QuerySet


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
        self._count: int | None = None

    def map(self, change: Callable[[QuerySet[Any]], QuerySet[Any]]) -> MergedRows:
        """The same list with ``change`` applied to every part (a filter, say)."""
        return MergedRows(*(change(part) for part in self.parts), order=self.order, related=self.related)

    def keys(self, *fields: str) -> QuerySet[Any]:
        """The parts' ``fields`` (the primary key by default) as one ``UNION ALL`` queryset."""
        first, *rest = (part.values_list(*(fields or ("pk",))) for part in self.parts)
        return first.union(*rest, all=True) if rest else first

    def count(self) -> int:
        if self._count is None:
            self._count = self.keys().count()
        return self._count

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
        keys = [key[0] for key in self.keys(*fields).order_by(*self.order)[index]]
        if not keys:
            return []
        found = self.model._default_manager.filter(pk__in=keys)
        if self.related:
            found = found.select_related(*self.related)
        by_pk = {row.pk: row for row in found}
        return [by_pk[key] for key in keys if key in by_pk]  # a row deleted in between is left out

    def __iter__(self) -> Iterator[Any]:
        return iter(self[:])
