"""Reading the change feed: the one stream behind watches, the loops' nudges and the animated page."""

from __future__ import annotations

from django.db.models import Max

from .errors import Gone
from .models import Change, Playground
from .rowreader import Prepared

KEEP_REVISIONS = 200_000


def changes_since(pg: Playground, revision: int, kinds: list[str] | None = None, limit: int = 5000):
    """Changes after `revision`, oldest first. A revision older than the compacted one is 410 Gone."""
    if revision and revision < pg.compacted_revision:
        raise Gone(f"too old resource version: {revision} ({pg.compacted_revision})")
    if kinds:
        return _changes(limit, True)(pg.pk, revision, tuple(kinds))
    return _changes(limit, False)(pg.pk, revision)


_CHANGES: dict[tuple[int, bool], Prepared] = {}


def _changes(limit: int, of_kinds: bool) -> Prepared:
    prepared = _CHANGES.get((limit, of_kinds))
    if prepared is None:
        def build(pg_id, revision, kinds=()):
            qs = Change.objects.filter(playground_id=pg_id, revision__gt=revision)
            return (qs.filter(kind__in=kinds) if of_kinds else qs).order_by("revision")[:limit]

        prepared = _CHANGES[(limit, of_kinds)] = Prepared(build)
    return prepared


_COMMITTED_AT = Prepared(lambda pg_id, revision: Change.objects.filter(playground_id=pg_id, revision=revision)
                         .values_list("committed_at", flat=True)[:1])


def committed_at(playground_id: int, revision: int):
    """When `revision` was committed (a datetime), or None when the feed no longer (or never) held it."""
    return _COMMITTED_AT.first(playground_id, revision)


def latest_revision(pg: Playground) -> int:
    return Playground.objects.values_list("revision", flat=True).get(pk=pg.pk)


def compact(pg: Playground, keep: int = KEEP_REVISIONS) -> int:
    """Drop feed entries older than the last `keep` revisions, as etcd compaction does."""
    top = Change.objects.filter(playground=pg).aggregate(m=Max("revision"))["m"] or 0
    floor = top - keep
    if floor <= pg.compacted_revision:
        return 0
    deleted, _ = Change.objects.filter(playground=pg, revision__lte=floor).delete()
    Playground.objects.filter(pk=pg.pk).update(compacted_revision=floor)
    pg.compacted_revision = floor
    return deleted
