"""New playgrounds as copies of the seed's cluster, booted once per process.

Booting the seed runs every loop until the cluster is up: a few hundred writes with their Events, a third of a
second of CPU per playground. The cluster they converge to is the same every time, so the process boots it once
— through `bootstrap.create_playground`, the real loops, in a transaction that is rolled back — keeps its rows
(every object, the change feed, container logs) as the template, and makes each new playground by writing those
rows again in a few multi-row INSERTs, with:

- a fresh uid for every object (owner references, Events' involved objects, feed rows and log lines follow it),
- a fresh random suffix for every pod a controller named (`coredns-…-xxxxx`, `kube-proxy-xxxxx`),
- every time moved by how long ago the template booted (columns and the RFC 3339 text inside the objects),
- revisions and resourceVersions moved past what the playground already has (`Reset` keeps its counter).

The copy is the cluster the loops made, not a fixture: the loops find nothing to do on it.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from dataclasses import dataclass

from django.apps import apps
from django.db import connection, models, transaction
from django.utils import timezone

from . import bootstrap, clock, names
from .models import Change, KubeObject, Playground, Pod, new_link, new_uid
from .writes import Encoded, _db_value, _insert_sql, encode_json

# RFC 3339 times as the objects carry them (whole seconds, or a fraction for micro-times).
_STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z")
_RESOURCE_VERSION = re.compile(r'("resourceVersion":\s*")(\d+)(")')


@dataclass
class Table:
    model: type[models.Model]
    fields: list[models.Field]
    rows: list[list]


@dataclass
class Template:
    booted_at: dt.datetime
    # The feed's commit times are the wall clock's (what latency is measured from), not the injected clock's.
    booted_wall: dt.datetime
    revision: int
    compacted_revision: int
    tables: list[Table]
    # What a copy replaces in the rows' texts (each text is kept as `Pieces` around them).
    uids: list[str]
    pod_names: dict[str, str]  # name -> its generateName
    stamps: dict[str, dt.datetime]
    links: dict[str, str]  # the template's own slug / token, where they appear -> the attribute to take


_template: Template | None = None
_lock = threading.Lock()


class _RolledBack(Exception):
    pass


def owned_models() -> list[type[models.Model]]:
    """Every table (no proxies) with rows belonging to a playground."""
    out = []
    for model in apps.get_app_config("cluster_core").get_models():
        if model is Playground or model._meta.proxy:
            continue
        if any(f.is_relation and f.related_model is Playground for f in model._meta.concrete_fields):
            out.append(model)
    return out


def template() -> Template:
    """The seed's converged cluster, booted once per process (the first caller pays for the boot)."""
    global _template
    with _lock:
        if _template is None:
            _template = _boot()
        return _template


def forget() -> None:
    """Boot the template again next time (after a change to what the seed or the loops make)."""
    global _template
    with _lock:
        _template = None


def _boot() -> Template:
    start = clock.now(), timezone.now()
    built: list[Template] = []
    try:
        with transaction.atomic():
            pg = bootstrap.create_playground(f"seed-{new_link()}", tempo="instant")
            built.append(_read(pg, start))
            raise _RolledBack
    except _RolledBack:
        pass
    return built[0]


def _read(pg: Playground, start: tuple[dt.datetime, dt.datetime]) -> Template:
    tables, uids, pod_names, texts = [], [], {}, []
    for model in owned_models():
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        raw = list(model._base_manager.filter(playground=pg).order_by("pk").values_list(*[f.attname for f in fields]))
        if not raw:
            continue
        rows = []
        for values in raw:
            row = []
            for f, v in zip(fields, values, strict=True):
                if isinstance(f, models.JSONField):
                    v = str(encode_json(v))
                if isinstance(v, str):
                    texts.append(v)
                row.append(v)
            rows.append(row)
            named = dict(zip([f.attname for f in fields], row, strict=True))
            if issubclass(model, KubeObject):
                uids.append(named["uid"])
            elif named.get("uid"):
                uids.append(named["uid"])  # a feed row of an object that did not last
            if model is Pod and named["generate_name"]:
                pod_names[named["name"]] = named["generate_name"]
        tables.append(Table(model, fields, rows))
    uids = list(dict.fromkeys(u for u in uids if u))
    stamps = {s: _parse(s) for text in texts for s in _STAMP.findall(text)}
    joined = "\n".join(texts)
    links = {value: attr for attr, value in (("slug", pg.slug), ("token", pg.token)) if value and value in joined}
    keys = sorted([*uids, *pod_names, *stamps, *links], key=len, reverse=True)
    if keys:
        # Each text is split once, here, around what a copy replaces: a copy joins the pieces with its own values.
        pattern = re.compile("(" + "|".join(re.escape(k) for k in keys) + ")")
        for table in tables:
            for row in table.rows:
                for i, v in enumerate(row):
                    if isinstance(v, str):
                        parts = pattern.split(v)
                        if len(parts) > 1:
                            row[i] = Pieces(parts)
    pg.refresh_from_db()
    return Template(*start, pg.revision, pg.compacted_revision, tables, uids, pod_names, stamps, links)


class Pieces(list):
    """A text split around what a copy replaces: the text's own pieces at even places, keys at odd ones."""


def _parse(stamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(stamp[:19] + "+00:00") + dt.timedelta(
        microseconds=int((stamp[20:-1] + "000000")[:6]) if len(stamp) > 20 else 0)


def _format(t: dt.datetime, like: str) -> str:
    text = t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    digits = len(like) - 21 if len(like) > 20 else 0
    return f"{text}.{t.microsecond:06d}"[: 20 + digits] + "Z" if digits else text + "Z"


def create(slug: str, tempo: str = "realtime", paused: bool = False) -> Playground:
    """A new playground holding a copy of the seed's converged cluster, at `tempo`."""
    tpl = template()
    with transaction.atomic():
        pg = Playground.objects.create(slug=slug, tempo=tempo, paused=paused)
        copy_into(pg, tpl)
    return pg


def copy_into(pg: Playground, tpl: Template | None = None) -> int:
    """Write the template's rows into `pg` (which holds no objects), after the revisions it already has; returns
    the playground's new revision. Call it inside a transaction."""
    tpl = tpl or template()
    offset = pg.revision
    now = clock.now()
    delta = now - tpl.booted_at
    wall = timezone.now() - tpl.booted_wall
    repl = {u: new_uid() for u in tpl.uids}
    repl.update({old: gen + names.random_suffix() for old, gen in tpl.pod_names.items()})
    repl.update({s: _format(t + delta, s) for s, t in tpl.stamps.items()})
    repl.update({value: getattr(pg, attr) for value, attr in tpl.links.items()})

    def text(v):
        if type(v) is not Pieces:
            return v
        out = v[:]
        out[1::2] = [repl[k] for k in v[1::2]]
        return "".join(out)

    def bump(m: re.Match) -> str:
        return f"{m.group(1)}{int(m.group(2)) + offset}{m.group(3)}"

    for table in tpl.tables:
        fields = table.fields
        plan = []
        for i, f in enumerate(fields):
            if f.attname == "playground_id":
                plan.append((i, lambda v: pg.pk))
            elif f.attname in ("resource_version", "revision"):
                plan.append((i, (lambda v: v + offset) if offset else None))
            elif isinstance(f, models.JSONField):
                if offset:
                    plan.append((i, lambda v: Encoded(_RESOURCE_VERSION.sub(bump, text(v)))))
                else:
                    plan.append((i, lambda v: Encoded(text(v))))
            elif isinstance(f, models.DateTimeField):
                convert, by = _db_value(f), wall if (table.model, f.name) == (Change, "committed_at") else delta
                plan.append((i, lambda v, convert=convert, by=by: None if v is None else convert(v + by)))
            elif isinstance(f, (models.CharField, models.TextField)):
                plan.append((i, text))
        plan = [(i, c) for i, c in plan if c is not None]
        rows = []
        for row in table.rows:
            row = list(row)
            for i, c in plan:
                row[i] = c(row[i])
            rows.append(row)
        head, one = _insert_sql(table.model, fields)
        with connection.cursor() as cur:
            cur.executemany(head + one, rows)
    top = offset + tpl.revision
    Playground.objects.filter(pk=pg.pk).update(revision=top,
                                               compacted_revision=max(pg.compacted_revision, tpl.compacted_revision))
    pg.revision = top
    return top
