"""Reading whole cluster objects with fewer layers per value than the ORM's model iterable.

The loops read objects by the thousand (the scheduler's pending pods, a kubelet's due pods); Django builds each
one through `Model.from_db` and passes every value through a generic converter chain. For a plain query (every
column of one model, nothing related, no annotations) `ObjectIterable` runs the same SQL through the same
compiler and fills each instance's columns directly, with one converter per column that needs one: the JSON
columns through `jsontext`, SQLite's datetime text through a parser that remembers the stamps a burst repeats,
and anything else through Django's own converters. Any other query takes Django's path unchanged.
"""

from __future__ import annotations

import datetime as dt
import functools

from django.conf import settings
from django.db import connections
from django.db.models import DateTimeField
from django.db.models.base import ModelState
from django.db.models.query import ModelIterable
from django.db.models.sql.constants import MULTI

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
