"""Reading whole cluster objects with fewer layers per value than the ORM's model iterable.

The loops read objects by the thousand (the scheduler's pending pods, a kubelet's due pods); Django builds each
one through `Model.from_db` and passes every value through a generic converter chain. For a plain query (every
column of one model, nothing related, no annotations) `ObjectIterable` runs the same SQL through the same
compiler and fills each instance's columns directly, with one converter per column that needs one: the JSON
columns through `jsontext`, SQLite's datetime text through a parser that remembers the stamps a burst repeats,
and anything else through Django's own converters. Any other query takes Django's path unchanged.

On SQLite the rows come back as one row: SQLite hands Python the rows one `sqlite3_step` at a time and lets go of
the interpreter lock for each, so while other threads compute every row waits its turn for the lock again (a
kubelet's twelve pods cost twelve waits behind a busy loop). Aggregated in SQLite (`json_group_array`), a read is
one step and one decode whatever the number of rows; each value arrives as the driver would have handed it (JSON
columns as their text), so the converters are the same.
"""

from __future__ import annotations

import datetime as dt
import functools

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import DateTimeField
from django.db.models.base import ModelState
from django.db.models.query import ModelIterable
from django.db.models.sql.constants import MULTI

from . import jsontext
from .jsoncolumn import JSONColumn


@functools.lru_cache(maxsize=4096)
def _sqlite_datetime(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def _converter(field, expression, django_converters, connection):
    if isinstance(field, JSONColumn):
        return lambda v: field.from_db_value(v, expression, connection)
    if (isinstance(field, DateTimeField) and connection.vendor == "sqlite" and settings.USE_TZ
            and str(connection.timezone) == "UTC"):
        return lambda v: _sqlite_datetime(v) if type(v) is str else (
            v if isinstance(v, dt.datetime) and v.tzinfo else django_converters(v))
    return django_converters


def _chain(converters, expression, connection):
    def convert(value):
        for c in converters:
            value = c(value, expression, connection)
        return value

    return convert


class ObjectIterable(ModelIterable):
    def __iter__(self):
        qs = self.queryset
        if (self.chunked_fetch or qs._known_related_objects or qs.query.select_related or qs.query.annotation_select
                or qs.query.extra_select or qs.query.deferred_loading != (frozenset(), True)):
            yield from super().__iter__()
            return
        db = qs.db
        connection = connections[db]
        compiler = qs.query.get_compiler(using=db)
        compiler.setup_query()
        select, klass_info = compiler.select, compiler.klass_info
        model = klass_info["model"]
        if not (len(select) == len(klass_info["select_fields"]) == len(model._meta.concrete_fields)):
            yield from super().__iter__()  # not every column of one model after all: Django's way
            return
        if connection.vendor == "sqlite":
            results = [_as_one_row(compiler, [expression.target.column for expression, _sql, _alias in select],
                                   connection)]
        else:
            results = compiler.execute_sql(MULTI, chunked_fetch=False, chunk_size=self.chunk_size)
        django = compiler.get_converters([s[0] for s in select])
        columns = []
        for i, (expression, _sql, _alias) in enumerate(select):
            field = expression.target
            chain = _chain(*django[i], connection) if i in django else None
            columns.append((field.attname, _converter(field, expression, chain, connection)))
        for chunk in results:
            for row in chunk:
                obj = model.__new__(model)
                state = obj._state = ModelState()
                state.adding, state.db = False, db
                values = obj.__dict__
                for (name, convert), value in zip(columns, row, strict=True):
                    values[name] = value if convert is None or value is None else convert(value)
                yield obj


def _as_one_row(compiler, columns: list[str], connection) -> list[list]:
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:
        return []
    values = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT json_group_array(json_array({values})) FROM ({sql})", params)
        return jsontext.decode(cursor.fetchone()[0])


# ---------------------------------------------------------------------------------------------------------------
# One row by primary key, through SQL compiled once

_SENTINEL = -7_340_111  # no row has it: the placeholder's value while the query is compiled
_BY_PK: dict[tuple, tuple[str, list[str], list]] = {}


def by_pk(model, pk, using: str = "default"):
    """The instance with this primary key, or None: the ORM's own SQL for `model.objects.filter(pk=…)`, compiled
    once per model and database and run again with each key, its values through the ORM's converters. Every look of
    every loop reads its playground's row; building that query through the ORM cost ten times what running it does."""
    connection = connections[using]
    key = (model, using, connection.vendor)
    plan = _BY_PK.get(key)
    if plan is None:
        compiler = model._base_manager.using(using).filter(pk=_SENTINEL).query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        if list(params) != [_SENTINEL]:
            return model._base_manager.using(using).filter(pk=pk).first()
        select = [s[0] for s in compiler.select]
        django = compiler.get_converters(select)
        names = [expression.target.attname for expression in select]
        converters = [_chain(*django[i], connection) if i in django else None for i in range(len(select))]
        plan = _BY_PK[key] = (sql, names, converters)
    sql, names, converters = plan
    with connection.cursor() as cursor:
        cursor.execute(sql, [pk])
        row = cursor.fetchone()
    if row is None:
        return None
    values = [v if convert is None or v is None else convert(v) for convert, v in zip(converters, row, strict=True)]
    return model.from_db(using, names, values)
