"""Set-based writes for the BDPM import: one statement per batch, whatever the number of rows.

Django's ``bulk_update`` writes a ``CASE WHEN pk = … THEN …`` per field and per row, which
made an update from an older snapshot (tens of thousands of changed prices) take about a
minute on two cores. Here the changed rows go into a temporary table with ``executemany``,
and one ``UPDATE … FROM`` (PostgreSQL, and SQLite since 3.33) writes them all. Values are
validated by the parsers; each field still converts its value for the database as Django
would (dates, decimals).
"""

from __future__ import annotations

from typing import Any

from django.db import connection, models

BATCH = 2000
IN_BATCH = 500  # values in one ``IN (…)``


def _converters(fields: list[models.Field]) -> list[tuple[str, Any]]:
    return [
        (f.attname, (lambda v, f=f: f.get_db_prep_save(v, connection)) if _needs_conversion(f) else None)
        for f in fields
    ]


def _needs_conversion(field: models.Field) -> bool:
    return isinstance(field, models.DateField | models.DecimalField | models.ForeignKey)


def _params(fields: list[models.Field], rows: list[dict[str, Any]]) -> list[list[Any]]:
    defaults = {f.attname: f.get_default() for f in fields if f.has_default()}
    converters = _converters(fields)
    params = []
    for row in rows:
        values = []
        for name, convert in converters:
            value = row[name] if name in row else defaults.get(name)
            values.append(convert(value) if convert is not None and value is not None else value)
        params.append(values)
    return params


def _insert(table: str, fields: list[models.Field], rows: list[dict[str, Any]]) -> None:
    qn = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 - names from the model, values as parameters
        qn(table), ", ".join(qn(str(f.column)) for f in fields), ", ".join(["%s"] * len(fields))
    )
    params = _params(fields, rows)
    with connection.cursor() as cursor:
        for start in range(0, len(params), BATCH):
            cursor.executemany(sql, params[start : start + BATCH])


def bulk_insert(model: type[models.Model], rows: list[dict[str, Any]]) -> None:
    """Insert plain rows with one ``executemany`` per batch (no model instance per row)."""
    if rows:
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        _insert(str(model._meta.db_table), fields, rows)


def update_from(model: type[models.Model], rows: list[dict[str, Any]], names: list[str]) -> None:
    """Write ``names`` of the rows (each with its ``pk``) in one ``UPDATE … FROM`` statement.
    Call it inside a transaction."""
    if not rows:
        return
    qn = connection.ops.quote_name
    table = str(model._meta.db_table)
    temporary = qn(f"{table}_changes")
    pk = model._meta.pk
    assert pk is not None  # noqa: S101 - every model has one
    by_name = {f.name: f for f in model._meta.concrete_fields}
    fields = [pk, *(by_name[name] for name in names)]
    columns = ", ".join(qn(str(f.column)) for f in fields)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {temporary}")
        cursor.execute(f"CREATE TEMPORARY TABLE {temporary} AS SELECT {columns} FROM {qn(table)} WHERE 1 = 0")  # noqa: S608
    _insert(f"{table}_changes", fields, [{**row, pk.attname: row["pk"]} for row in rows])
    assignments = ", ".join(f"{qn(str(f.column))} = s.{qn(str(f.column))}" for f in fields[1:])
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {qn(table)} AS t SET {assignments} FROM {temporary} AS s "  # noqa: S608 - names from the model
            f"WHERE t.{qn(str(pk.column))} = s.{qn(str(pk.column))}"
        )
        cursor.execute(f"DROP TABLE {temporary}")


def delete_in(model: type[models.Model], column: str, values: list[Any], **scope: Any) -> None:
    """Delete the rows whose ``column`` is one of ``values``, ``IN_BATCH`` values a statement."""
    manager = model._default_manager  # type: ignore[attr-defined]  # concrete models have one; type[Model] lacks it
    for start in range(0, len(values), IN_BATCH):
        manager.filter(**scope, **{f"{column}__in": values[start : start + IN_BATCH]}).delete()


def update_in(model: type[models.Model], column: str, values: list[Any], **changes: Any) -> None:
    """Set ``changes`` on the rows whose ``column`` is one of ``values``."""
    manager = model._default_manager  # type: ignore[attr-defined]  # concrete models have one; type[Model] lacks it
    for start in range(0, len(values), IN_BATCH):
        manager.filter(**{f"{column}__in": values[start : start + IN_BATCH]}).update(**changes)
