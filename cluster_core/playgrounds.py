"""Playgrounds for everyone: start one behind an unguessable link, find it by its link, reset it, remove idle ones.

A playground has two capability links: its slug (`/p/<slug>/`: use it — actions, tempo, kubeconfig, API token)
and its read-only link (`/p/<read_token>/`: watch it, change nothing). Both are 120 random bits; nobody can guess
one, and whoever holds one has what it grants. The `default` playground (what `make run` opens) is kept forever.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.db import transaction

from . import nudge, seedcopy
from .idle import DEFAULT, idle_limit, remove_idle
from .models import Change, KubeObject, Playground, new_link
from .writes import Batch

ACTOR = "kubeplay"


class Full(Exception):
    """The server already holds as many playgrounds as it is allowed to."""

    def __init__(self, cap: int):
        self.cap = cap
        super().__init__(f"this server already runs its maximum of {cap} playgrounds")


@dataclass(frozen=True)
class Access:
    playground: Playground
    read_only: bool

    @property
    def link(self) -> str:
        pg = self.playground
        return pg.read_token if self.read_only else pg.slug


def cap() -> int:
    return int(getattr(settings, "KUBEPLAY_MAX_PLAYGROUNDS", 500))


def start(tempo: str = "realtime") -> Playground:
    """A new playground with the seed's cluster up (every system pod Running), behind a new link."""
    if Playground.objects.count() >= cap():
        raise Full(cap())
    return seedcopy.create(new_link(), tempo=tempo)


def find(link: str) -> Access | None:
    """The playground a link opens, and whether the link is the read-only one."""
    if not link:
        return None
    pg = Playground.objects.filter(slug=link).first()
    if pg is not None:
        return Access(pg, read_only=False)
    pg = Playground.objects.filter(read_token=link).first()
    return Access(pg, read_only=True) if pg is not None else None


def touch(pg: Playground, now: dt.datetime | None = None) -> None:
    pg.touch(now)


def object_models() -> list[type[KubeObject]]:
    """Every kind's model (the kinds kept in the shared table each through their own proxy)."""
    return [m for m in apps.get_app_config("cluster_core").get_models() if issubclass(m, KubeObject) and m.KIND]


def owned_rows() -> list[tuple[type, str]]:
    """The other models a playground owns rows of (not its objects, not its feed), with the field naming it."""
    out = []
    for model in apps.get_app_config("cluster_core").get_models():
        if model is Change or issubclass(model, KubeObject):
            continue
        out += [(model, f.name) for f in model._meta.fields if f.is_relation and f.related_model is Playground]
    return out


def reset(pg: Playground) -> Playground:
    """Back to the seed's fresh cluster, behind the same links. Every object is deleted through the write path
    (watches and pages see each DELETED), then the seed's converged cluster is copied in after them (`seedcopy`,
    as a new playground gets it); the playground keeps its tempo, its pause and its revision counter (revisions
    only ever grow)."""
    tpl = seedcopy.template()
    with transaction.atomic():
        b = Batch(pg, ACTOR)
        for model in object_models():
            for obj in model.objects.filter(playground=pg):
                b.delete(obj, "the playground was reset")
        b.commit()
        # What the playground holds beside its objects (container logs, lesson progress) starts over too; the
        # feed stays: revisions only grow, and watches see the deletions above.
        for model, field in owned_rows():
            model.objects.filter(**{field: pg}).delete()
        top = seedcopy.copy_into(pg, tpl)
    # The pages and watches read the copied start-up from the feed.
    transaction.on_commit(lambda: nudge.send_targets(pg.pk, set(), top))
    pg.refresh_from_db()
    touch(pg)
    return pg


__all__ = ["DEFAULT", "Access", "Full", "cap", "find", "idle_limit", "remove_idle", "reset", "start", "touch"]
