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
from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connections
from django.db.models import DateTimeField
from django.db.models.base import ModelState
from django.db.models.query import FlatValuesListIterable, ModelIterable, ValuesIterable, ValuesListIterable

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


def _converters(compiler, connection) -> list:
    """One converter (or None) per selected column of a set-up compiler."""
    select = [s[0] for s in compiler.select]
    django = compiler.get_converters(select)
    return [_converter(e.target, e, _chain(*django[i], connection) if i in django else None, connection)
            for i, e in enumerate(select)]


def _as_one_row(sql: str, names: list[str], connection) -> str:
    """The query's rows aggregated into one (SQLite: see the module's docstring), its columns named `names`."""
    listed = ", ".join(connection.ops.quote_name(name) for name in names)
    return f"SELECT json_group_array(json_array({listed})) FROM ({sql})"


def _fetch(connection, sql: str, params, one_row: bool, converters: list) -> list:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = jsontext.decode(cursor.fetchone()[0]) if one_row else cursor.fetchall()
    if not any(converters):
        return rows
    return [[v if c is None or v is None else c(v) for c, v in zip(converters, row, strict=True)] for row in rows]


def _instances(model, db: str, names: list[str], rows: list):
    for row in rows:
        obj = model.__new__(model)
        state = obj._state = ModelState()
        state.adding, state.db = False, db
        obj.__dict__.update(zip(names, row, strict=True))
        yield obj


class ObjectIterable(ModelIterable):
    def __iter__(self):
        qs = self.queryset
        if (self.chunked_fetch or qs._known_related_objects or qs.query.select_related or qs.query.annotation_select
                or qs.query.extra_select or qs.query.deferred_loading != (frozenset(), True)):
            yield from super().__iter__()
            return
        db = qs.db
        connection = connections[db]
        compiled = _compiled(qs.query, db, connection, whole=True)
        if compiled is None:
            yield from super().__iter__()  # not every column of one model after all: Django's way
            return
        if compiled is _NOTHING:
            return
        (sql, one_row, model, names, converters), params = compiled
        yield from _instances(model, db, names, _fetch(connection, sql, params, one_row, converters))


# A query that can only match no row (`pk__in=[]`).
_NOTHING = object()
# What a whole-object query compiled to, by everything its SQL depends on — its WHERE clause as SQL among them,
# so that two queries alike but for their values share it: (model, database, WHERE SQL, ordering, slice,
# distinct) → (SQL, read as one row, model, each column's attribute name, each column's converter).
_SHAPES: dict[tuple, tuple] = {}
SHAPES_KEPT = 2000


def values(qs) -> list[dict]:
    """`qs.values(...)`'s rows (no annotations, no expressions), through a shape compiled once like whole
    objects'."""
    db = qs.db
    connection = connections[db]
    query = qs.query
    compiled = None
    if not (query.annotation_select or query.extra_select or qs._fields is None):
        compiled = _compiled(query, db, connection, whole=False)
    if compiled is None:
        return list(qs)
    if compiled is _NOTHING:
        return []
    (sql, one_row, _model, names, converters), params = compiled
    return [dict(zip(names, row, strict=True)) for row in _fetch(connection, sql, params, one_row, converters)]


def _compiled(query, db: str, connection, whole: bool):
    """(what the query compiled to, its parameters), `_NOTHING`, or None for a query this does not read.

    Only the WHERE clause is compiled for every query (it carries the values); the rest — the select list, the
    table, the ordering, the converters — is the same for every query of that shape, and compiled once. Only one
    table's queries with plain orderings take this path; anything else is compiled whole, every time."""
    key = None
    tables = sum(1 for alias in query.alias_map if query.alias_refcount.get(alias))
    if (tables <= 1 and not query.extra and not query.extra_tables and not query.combinator and not query.group_by and not query.distinct_fields and not query.select_for_update
            and not query.select and all(isinstance(o, str) for o in query.order_by)
            and all(isinstance(o, str) for o in query.extra_order_by)):
        compiler = query.get_compiler(using=db)
        try:
            where, params = compiler.compile(query.where)
        except EmptyResultSet:
            return _NOTHING
        except FullResultSet:
            where, params = "", []
        key = (query.model, db, where, tuple(query.order_by), tuple(query.extra_order_by), query.default_ordering,
               query.standard_ordering, query.low_mark, query.high_mark, query.distinct, whole,
               tuple(query.values_select))
        shape = _SHAPES.get(key)
        if shape is not None:
            return shape, list(params)
    compiler = query.get_compiler(using=db)
    compiler.setup_query()
    select, klass_info = compiler.select, compiler.klass_info
    if whole:
        model = klass_info["model"]
        if not (len(select) == len(klass_info["select_fields"]) == len(model._meta.concrete_fields)):
            return None
    else:
        model = None
        if len(select) != len(query.values_select) or any(not hasattr(e, "target") for e, _s, _a in select):
            return None
    try:
        sql, all_params = compiler.as_sql()
    except EmptyResultSet:
        return _NOTHING
    one_row = connection.vendor == "sqlite"
    if one_row:
        columns = [alias or expression.target.column for expression, _sql, alias in select]
        if len(set(columns)) != len(columns):
            return None
        sql = _as_one_row(sql, columns, connection)
    names = [e.target.attname for e, _s, _a in select] if whole else list(query.values_select)
    shape = (sql, one_row, model, names, _converters(compiler, connection))
    if key is not None and list(all_params) == list(params):  # nothing but the WHERE clause carries values
        if len(_SHAPES) >= SHAPES_KEPT:
            _SHAPES.clear()
        _SHAPES[key] = shape
    return shape, list(all_params)


# ---------------------------------------------------------------------------------------------------------------
# Queries compiled once


class Prepared:
    """A query the ORM builds and compiles once, and the database runs again with each call's values.

    `build(*values)` returns a QuerySet in which every value that varies from call to call is one of `values`,
    used as it is: compared exactly, or (a tuple) the members of an `__in`. It is built once per database with
    distinctive placeholders in their place; the compiled SQL's parameters that are those placeholders are swapped
    for each call's values, the others are constants. A call answers what the queryset would: a list of model
    instances, of values_list rows (values, when flat) or of values() dicts, through the ORM's converters. A shape
    this does not know (related rows, annotations, a value the SQL carries in another form, like a LIKE pattern)
    is run through the ORM at every call.

    The loops, the checker and the console run the same few queries thousands of times a minute; building each
    one through the ORM cost ten times what running it does."""

    def __init__(self, build):
        self.build = build
        self._plans: dict[tuple, object] = {}

    def __call__(self, *values, using: str = "default") -> list:
        connection = connections[using]
        shape = (using, connection.vendor, *(_shape(v) for v in values))
        plan = self._plans.get(shape)
        if plan is None:
            plan = self._plans[shape] = _Plan.of(self.build, values, using, connection)
        if plan is _ORM:
            return list(self.build(*values).using(using))
        return plan.run(values, connection)

    def first(self, *values, using: str = "default"):
        rows = self(*values, using=using)
        return rows[0] if rows else None


_ORM = object()  # a plan that is "let the ORM do it"


def _shape(value) -> tuple:
    if isinstance(value, tuple):
        return ("tuple", len(value), *(type(v) for v in value))
    return (type(value),)


def _placeholder(value, i: int, j: int = 0):
    if isinstance(value, tuple):
        return tuple(_placeholder(v, i, k) for k, v in enumerate(value))
    if isinstance(value, bool):
        raise TypeError("booleans cannot be told apart from constants")
    if isinstance(value, int):
        return -7_340_111_000 - 1000 * i - j
    if isinstance(value, str):
        return f"\x1fprepared {i}.{j}\x1f"
    if isinstance(value, dt.datetime):
        return dt.datetime(1901, 1, 1, 0, i % 60, j % 60, 7_340 + i, tzinfo=dt.UTC)
    raise TypeError(f"no placeholder for a {type(value).__name__}")


class _Plan:
    def __init__(self, sql, slots, constants, kind, model, names, converters, one_row):
        self.sql, self.slots, self.constants, self.kind = sql, slots, constants, kind
        self.model, self.names, self.converters, self.one_row = model, names, converters, one_row

    @classmethod
    def of(cls, build, values, using, connection):
        try:
            placeholders = [_placeholder(v, i) for i, v in enumerate(values)]
        except TypeError:
            return _ORM
        qs = build(*placeholders).using(using)
        query = qs.query
        if (query.select_related or query.annotation_select or query.extra_select or query.combinator
                or qs._prefetch_related_lookups or qs._known_related_objects
                or query.deferred_loading != (frozenset(), True)):
            return _ORM
        iterable = qs._iterable_class
        if iterable in (ModelIterable, ObjectIterable):
            kind = "objects"
        elif iterable is ValuesListIterable:
            kind = "rows"
        elif iterable is FlatValuesListIterable:
            kind = "flat"
        elif iterable is ValuesIterable:
            kind = "dicts"
        else:
            return _ORM
        compiler = query.get_compiler(using=using)
        try:
            sql, params = compiler.as_sql()
        except EmptyResultSet:
            return _ORM
        where = {}
        for i, p in enumerate(placeholders):
            for j, q in enumerate(p if isinstance(p, tuple) else (p,)):
                where[(type(q), _adapted(q, connection))] = (i, j if isinstance(p, tuple) else None, type(q))
        slots, constants, covered = [], list(params), set()
        for n, param in enumerate(params):
            if isinstance(param, (list, tuple)):
                # A whole tuple as one array parameter (PostgreSQL's `= ANY(%s)` for `__in`).
                for i, p in enumerate(placeholders):
                    if isinstance(p, tuple) and list(param) == list(p):
                        slots.append((n, i, "all", list))
                        covered.update((i, j) for j in range(len(p)))
                continue
            # (PostgreSQL's backend hands a big integer over wrapped, an int subclass: matched as an int, and each
            # call's value wrapped the same way.)
            as_type = int if isinstance(param, int) and not isinstance(param, bool) else type(param)
            found = where.get((as_type, param)) or where.get((dt.datetime, param))
            if found is not None:
                i, j, typ = found
                slots.append((n, i, j, type(param) if typ is int else typ))
                covered.add((i, j))
        if len(covered) != len(where):
            return _ORM  # a placeholder the SQL carries changed (a pattern): not swappable
        select = [s[0] for s in compiler.select]
        model = compiler.klass_info["model"] if kind == "objects" else None
        if kind == "objects" and not (len(select) == len(compiler.klass_info["select_fields"])
                                      == len(model._meta.concrete_fields)):
            return _ORM
        if any(not hasattr(e, "target") for e in select):
            return _ORM
        names = list(query.values_select) if kind == "dicts" else [e.target.attname for e in select]
        # The subquery's columns by the names it gives them (values_list() aliases each column by its field name).
        columns = [alias or e.target.column for e, _sql, alias in compiler.select]
        one_row = (connection.vendor == "sqlite" and query.high_mark != 1 and len(set(columns)) == len(columns)
                   and not any(e.target.get_internal_type() == "BinaryField" for e in select))
        if one_row:
            sql = _as_one_row(sql, columns, connection)
        return cls(sql, slots, constants, kind, model, names, _converters(compiler, connection), one_row)

    def run(self, values, connection) -> list:
        params = list(self.constants)
        for n, i, j, typ in self.slots:
            if j == "all":
                params[n] = list(values[i])
                continue
            v = values[i] if j is None else values[i][j]
            if typ is dt.datetime:
                v = _adapted(v, connection)
            elif typ is not int and issubclass(typ, int):
                v = typ(v)
            params[n] = v
        rows = _fetch(connection, self.sql, params, self.one_row, self.converters)
        if self.kind == "flat":
            return [row[0] for row in rows]
        if self.kind == "rows":
            return [tuple(row) for row in rows]
        if self.kind == "dicts":
            return [dict(zip(self.names, row, strict=True)) for row in rows]
        return list(_instances(self.model, connection.alias, self.names, rows))


def _adapted(value, connection):
    return connection.ops.adapt_datetimefield_value(value) if isinstance(value, dt.datetime) else value


_BY_PK: dict[type, Prepared] = {}


def by_pk(model, pk, using: str = "default"):
    """The instance with this primary key, or None, through SQL compiled once per model (every look of every loop
    reads its playground's row)."""
    prepared = _BY_PK.get(model)
    if prepared is None:
        prepared = _BY_PK[model] = Prepared(lambda key: model._base_manager.filter(pk=key))
    return prepared.first(pk, using=using)
