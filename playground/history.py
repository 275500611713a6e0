"""Time travel on the page: the playground as it was at an earlier revision, and every change since, read from the
change feed (the cluster itself is not rewound). The page draws the old state, then replays the changes forward
at whatever tempo the viewer picks.

An object the feed shows changed after revision R is as its last change at or before R said (absent if it did not
exist yet, or had been deleted); every other object is as it is now.
"""

from __future__ import annotations

from cluster_core import feed
from cluster_core.models import Change, Event, Playground

from . import consumers, story

# The furthest back a replay goes: it replays every change since, so the page gets at most this many.
REPLAY_LIMIT = 3000
RECENT_EVENTS = 100


def window(pg: Playground) -> tuple[int, int]:
    """The earliest revision one can go back to and the latest."""
    latest = feed.latest_revision(pg)
    return max(pg.compacted_revision, latest - REPLAY_LIMIT, 0), latest


def state_at(pg: Playground, revision: int, lang: str) -> dict:
    first, latest = window(pg)
    revision = min(max(revision, first), latest)
    later = [consumers._change_dict(c) for c in
             Change.objects.filter(playground=pg, revision__gt=revision, revision__lte=latest).order_by("revision")]
    touched = {(c["kind"], c["namespace"], c["name"]) for c in later}
    objects = []
    for model in consumers.STATE_MODELS:
        for obj in model.objects.filter(playground=pg):
            if (model.KIND, obj.namespace, obj.name) not in touched:
                objects.append(story.row(model.KIND, obj.to_k8s()))
    for ev in Event.objects.filter(playground=pg).order_by("-id")[:RECENT_EVENTS]:
        if ("Event", ev.namespace, ev.name) not in touched:
            objects.append(story.row("Event", ev.to_k8s()))
    # The objects changed since: as their last change at or before the revision left them.
    before: dict[tuple[str, str, str], Change] = {}
    names = {name for _, _, name in touched}
    kinds = {kind for kind, _, _ in touched}
    if touched:
        for c in Change.objects.filter(playground=pg, revision__lte=revision, kind__in=kinds,
                                       name__in=names).order_by("revision"):
            key = (c.kind, c.namespace, c.name)
            if key in touched:
                before[key] = c
    for c in before.values():
        if c.type != "DELETED" and c.object:
            objects.append(story.row(c.kind, c.object))
    items = consumers.with_steps([consumers.wire_change(c) for c in later], later, lang)
    return {"type": "history", "revision": revision, "first": first, "latest": latest, "objects": objects,
            "changes": items}
