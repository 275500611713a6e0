"""The page's live feed: one WebSocket per viewer at /ws/p/<slug>/.

On connect a viewer gets the full current state, then every change after it, in revision order. The writes'
after-commit `feed.changed` notice (group `feed-<playground id>`) only says "new revisions exist"; listening for it
and reading the revisions is the job of one `Hub` per playground per process, so 200 viewers cost one group
message per commit and one database read per push, not 200 of each.
The hub pushes at most once per `PUSH_INTERVAL` and each push carries every change since the previous one, so a
burst (scale to 300) is coalesced instead of flooding the sockets.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import translation

from cluster_core import feed, nudge
from cluster_core.models import (
    Change,
    Deployment,
    Endpoints,
    Event,
    Node,
    Playground,
    Pod,
    ReplicaSet,
    Service,
)

from . import story

log = logging.getLogger(__name__)

PUSH_INTERVAL = 0.1
READ_LIMIT = 5000
RECENT_STEPS = 40
RECENT_EVENTS = 100
STATE_MODELS = (Node, Deployment, ReplicaSet, Pod, Service, Endpoints)


# ---------------------------------------------------------------------------------------------------------------
# Database reads (synchronous; called through database_sync_to_async)


def _change_dict(c: Change) -> dict:
    return {"revision": c.revision, "uid": c.uid, "type": c.type, "kind": c.kind, "namespace": c.namespace, "name": c.name,
            "object": c.object, "actor": c.actor, "message": c.message, "detail": c.detail,
            "committed_at": c.committed_at.timestamp()}


def read_changes(playground_id: int, after: int) -> list[dict]:
    rows = Change.objects.filter(playground_id=playground_id, revision__gt=after).order_by("revision")
    return [_change_dict(c) for c in rows[:READ_LIMIT]]


def latest_revision(playground_id: int) -> int:
    return Playground.objects.values_list("revision", flat=True).get(pk=playground_id)


def snapshot(pg: Playground) -> dict:
    """Every object the page draws, and the recent story. Read the revision first: an object written after it
    shows up again in the following changes, which the page applies only when newer than what it holds."""
    revision = feed.latest_revision(pg)
    objects = []
    for model in STATE_MODELS:
        for obj in model.objects.filter(playground=pg):
            objects.append(story.row(model.KIND, obj.to_k8s()))
    for ev in Event.objects.filter(playground=pg).order_by("-id")[:RECENT_EVENTS]:
        objects.append(story.row("Event", ev.to_k8s()))
    recent = Change.objects.filter(playground=pg, revision__lte=revision).exclude(kind="Event").order_by("-revision")
    changes = [_change_dict(c) for c in reversed(recent[:RECENT_STEPS * 2])]
    return {"revision": revision, "objects": objects, "changes": changes, "tempo": pg.tempo, "paused": pg.paused}


# ---------------------------------------------------------------------------------------------------------------
# What goes on the wire


def wire_change(c: dict) -> dict:
    """A change as the page applies it; `at` (the commit time, seconds) lets a viewer measure delivery latency.

    Kept small — a burst sends every change to every viewer: the row leaves out what the change already names
    and empty fields, and the page derives the etcd key from kind, namespace and name."""
    row = {k: v for k, v in story.row(c["kind"], c["object"]).items()
           if k not in _NAMED and v not in ("", None, [], {}, False)}
    return {"rev": c["revision"], "type": c["type"], "kind": c["kind"], "ns": c["namespace"], "name": c["name"],
            "actor": c["actor"], "at": round(c["committed_at"], 4), "row": row}


_NAMED = {"kind", "ns", "name", "rv"}


def with_steps(items: list[dict], changes: list[dict], lang: str) -> list[dict]:
    with translation.override(lang):
        out = []
        for item, c in zip(items, changes, strict=True):
            step = story.step(c)
            out.append({**item, "step": {"text": step["text"], "path": step["path"]}} if step else item)
        return out


def language(scope: dict) -> str:
    """The page says which language it is in (?lang=); the cookie set_language wrote is the fallback."""
    wanted = parse_qs(scope.get("query_string", b"").decode()).get("lang", [""])[0]
    if not wanted:
        for name, value in scope.get("headers", []):
            if name == b"cookie":
                for part in value.decode().split(";"):
                    k, _, v = part.strip().partition("=")
                    if k == settings.LANGUAGE_COOKIE_NAME:
                        wanted = v
    codes = {code for code, _ in settings.LANGUAGES}
    return wanted if wanted in codes else settings.LANGUAGE_CODE


# ---------------------------------------------------------------------------------------------------------------
# One hub per playground per process


class Hub:
    def __init__(self, playground_id: int):
        self.playground_id = playground_id
        self.viewers: set[PlaygroundConsumer] = set()
        self.revision: int | None = None
        self.wake = asyncio.Event()
        self.task: asyncio.Task | None = None
        self.listener: asyncio.Task | None = None
        self.last_push = 0.0

    async def join(self, viewer: PlaygroundConsumer) -> None:
        self.viewers.add(viewer)
        if self.revision is None:
            # Before the viewer's snapshot: the hub never starts after a revision a viewer has not seen.
            self.revision = await database_sync_to_async(latest_revision)(self.playground_id)
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(self.run())
            self.listener = asyncio.ensure_future(self.listen())

    def leave(self, viewer: PlaygroundConsumer) -> None:
        self.viewers.discard(viewer)
        if not self.viewers:
            self.wake.set()

    async def listen(self) -> None:
        """One subscription to the feed group per process and playground: each commit is one message here, not
        one per viewer. Message type `feed.changed` dispatches to `feed_changed`, as in a consumer."""
        layer = get_channel_layer()
        channel = await layer.new_channel()
        group = nudge.feed_group(self.playground_id)
        await layer.group_add(group, channel)
        try:
            while self.viewers:
                message = await layer.receive(channel)
                if message.get("type") == "feed.changed":
                    self.feed_changed(message)
        finally:
            await layer.group_discard(group, channel)

    def feed_changed(self, message: dict) -> None:
        self.poke()

    def poke(self) -> None:
        self.wake.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while self.viewers:
            await self.wake.wait()
            self.wake.clear()
            wait = self.last_push + PUSH_INTERVAL - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not self.viewers:
                break
            # The interval counts from the start of a push: a slow push does not stretch the next wait.
            self.last_push = loop.time()
            try:
                await self.push()
            except Exception:
                log.exception("live feed push for playground %s", self.playground_id)
        HUBS.pop((id(loop), self.playground_id), None)
        if self.listener is not None:
            self.listener.cancel()

    async def push(self) -> None:
        changes = await database_sync_to_async(read_changes)(self.playground_id, self.revision or 0)
        if not changes:
            return
        if len(changes) == READ_LIMIT:
            self.wake.set()  # more waiting: read on at the next push
        self.revision = changes[-1]["revision"]
        items = [wire_change(c) for c in changes]
        texts: dict[str, str] = {}
        sends = []
        for viewer in list(self.viewers):
            if viewer.lang not in texts:
                texts[viewer.lang] = json.dumps({"type": "changes", "sent": time.time(),
                                                 "changes": with_steps(items, changes, viewer.lang)})
            sends.append(viewer.deliver(texts[viewer.lang], changes[0]["revision"], self.revision))
        await asyncio.gather(*sends, return_exceptions=True)


HUBS: dict[tuple[int, int], Hub] = {}


def hub_for(playground_id: int) -> Hub:
    key = (id(asyncio.get_running_loop()), playground_id)
    if key not in HUBS:
        HUBS[key] = Hub(playground_id)
    return HUBS[key]


# ---------------------------------------------------------------------------------------------------------------
# The consumer


class PlaygroundConsumer(AsyncWebsocketConsumer):
    playground: Playground | None = None
    hub: Hub | None = None
    # Revision of the snapshot this viewer got; None until it is sent (pushes wait in `pending` meanwhile).
    revision: int | None = None

    async def connect(self) -> None:
        slug = self.scope["url_route"]["kwargs"]["slug"]
        self.playground = await database_sync_to_async(Playground.objects.filter(slug=slug).first)()
        if self.playground is None:
            await self.close(code=4404)
            return
        self.lang = language(self.scope)
        self.pending: list[tuple[str, int, int]] = []
        await self.accept()
        self.hub = hub_for(self.playground.pk)
        await self.hub.join(self)
        state = await database_sync_to_async(snapshot)(self.playground)
        recent = state.pop("changes")
        state["changes"] = with_steps([wire_change(c) for c in recent], recent, self.lang)
        await self.send(text_data=json.dumps({"type": "state", **state}))
        self.revision = state["revision"]
        for text, first, last in self.pending:
            await self.deliver(text, first, last)
        self.pending = []
        self.hub.poke()

    async def disconnect(self, code) -> None:
        if self.hub is not None:
            self.hub.leave(self)

    async def deliver(self, text: str, first: int, last: int) -> None:
        """Send one push; drop what the snapshot already had (only the first push after connect can overlap)."""
        if self.revision is None:
            self.pending.append((text, first, last))
            return
        if last <= self.revision:
            return
        if first <= self.revision:
            msg = json.loads(text)
            msg["changes"] = [c for c in msg["changes"] if c["rev"] > self.revision]
            text = json.dumps(msg)
        self.revision = last
        await self.send(text_data=text)
