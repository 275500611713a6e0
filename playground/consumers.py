"""The page's live feed: one WebSocket per viewer at /ws/p/<slug>/.

On connect a viewer gets the full current state, then every change after it, in revision order. The writes'
after-commit `feed.changed` notice (group `feed-<playground id>`) only says "new revisions exist"; listening for it
and reading the revisions is the job of one `Hub` per playground per process, so 200 viewers cost one group
message per commit and one database read per push, not 200 of each.
The hub pushes at most once per `PUSH_INTERVAL` and each push carries every change since the previous one, so a
burst (scale to 300) is coalesced instead of flooding the sockets.

A push is encoded once per language and sent as is to every viewer, so what it weighs is paid by the server once
and by each viewer in full. Every revision is in it, in order, but lean (`Push`):
- an entry leaves out `kind`, `ns`, `actor`, `at` (one commit's changes share it) and `path` when they are those
  of the entry before it, and `type` when it is MODIFIED;
- an object's row is sent whole the first time the hub sends it, then as `set`: only the fields that changed since
  the row the hub sent last (`null` for a field that became empty). A DELETED entry carries no row;
- in a burst, an object written several times in one push gets its row (or `set`) on its last entry only; the
  earlier ones keep their revision and their step;
- in a burst, only the newest `BURST_EVENTS` Event rows of a push are sent (`kubectl get events` shows that many);
  the others keep their revision;
- a step's text is capped at `STEP_TEXT` characters, `BURST_STEP_TEXT` in a burst (the "Why?" panel tells the
  whole decision).
A message over `MESSAGE_LIMIT` bytes (Daphne refuses to send more than 1 MiB in one WebSocket message) goes as
several `{"type": "part", "more": …, "data": …}` messages the page joins before reading: a snapshot or push of any
size the caps allow reaches every viewer. A viewer that cannot be sent a push is resynced with a fresh snapshot
(and closed, to reconnect, if even that fails): never left showing a wrong picture.
A viewer whose snapshot may be newer than its first pushes (`PlaygroundConsumer.ahead`) gets those pushes with
whole rows on every entry instead, which it applies where newer than what it holds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import translation

from cluster_core import feed, nudge, playgrounds
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

PUSH_INTERVAL = 0.05
READ_LIMIT = 5000
BURST = 25  # the page tells a push this long without tokens; it is also sent leaner
BURST_EVENTS = 12
STEP_TEXT = 240
BURST_STEP_TEXT = 120
RECENT_STEPS = 40
RECENT_EVENTS = 100
STATE_MODELS = (Node, Deployment, ReplicaSet, Pod, Service, Endpoints)
# How often a hub renews its feed subscription and looks at the feed without a notice.
RESUBSCRIBE = 5.0
# Daphne's WebSocket message limit is 1 MiB; parts stay below it with room to spare.
MESSAGE_LIMIT = 1000 * 1000
PART_CHARS = 128 * 1024


def parts(text: str, limit: int | None = None) -> list[str]:
    """The messages that carry `text`: itself when it fits, else `part` messages whose `data` joined is `text`."""
    limit = limit or MESSAGE_LIMIT
    if len(text) * 4 <= limit or len(text.encode()) <= limit:
        return [text]
    out, start, size = [], 0, PART_CHARS
    while start < len(text):
        chunk = text[start:start + size]
        more = start + len(chunk) < len(text)
        msg = json.dumps({"type": "part", "more": more, "data": chunk}, separators=(",", ":"), ensure_ascii=False)
        if len(msg.encode()) > limit and size > 1:
            size //= 2  # escapes made it larger than it looked
            continue
        out.append(msg)
        start += len(chunk)
    return out


# ---------------------------------------------------------------------------------------------------------------
# Database reads (synchronous; called through database_sync_to_async)


def _change_dict(c: Change) -> dict:
    return {"revision": c.revision, "uid": c.uid, "type": c.type, "kind": c.kind, "namespace": c.namespace, "name": c.name,
            "object": c.object, "actor": c.actor, "message": c.message, "detail": c.detail,
            "committed_at": c.committed_at.timestamp()}


def read_changes(playground_id: int, after: int) -> list[dict]:
    rows = Change.objects.filter(playground_id=playground_id, revision__gt=after).order_by("revision")[:READ_LIMIT]
    if connection.vendor == "sqlite":
        return _read_changes_as_one_row(rows)
    return [_change_dict(c) for c in rows]


_FIELDS = ("revision", "uid", "type", "kind", "namespace", "name", "object", "actor", "message", "detail",
           "committed_at")


def _read_changes_as_one_row(rows) -> list[dict]:
    """SQLite hands Python the rows one `sqlite3_step` at a time and lets go of the GIL for each: while a
    reconcile loop computes, every row then waits for it (400 rows took 400 ms instead of 8 behind one busy
    thread). Aggregated in SQLite, the read is one step and one `json.loads` whatever the number of rows."""
    inner, params = rows.values(*_FIELDS).query.sql_with_params()
    columns = ", ".join(f'json("{f}")' if f in ("object", "detail") else f'"{f}"' for f in _FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT json_group_array(json_array({columns})) FROM ({inner})", params)
        found = json.loads(cursor.fetchone()[0])
    out = []
    for values in found:
        c = dict(zip(_FIELDS, values, strict=True))
        committed = datetime.fromisoformat(c["committed_at"])
        c["committed_at"] = (committed if committed.tzinfo else committed.replace(tzinfo=UTC)).timestamp()
        out.append(c)
    return out


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
    # The tempo in force now, not as the viewer's playground row was read when it connected (a snapshot is shared
    # by the viewers asking at once, and a resync's viewer may have connected long ago).
    tempo, paused = Playground.objects.filter(pk=pg.pk).values_list("tempo", "paused").first() or (pg.tempo,
                                                                                                  pg.paused)
    return {"revision": revision, "objects": objects, "changes": changes, "tempo": tempo, "paused": paused}


# ---------------------------------------------------------------------------------------------------------------
# What goes on the wire


def wire_row(c: dict) -> dict:
    """The object's compact row without what the change already names and without empty fields."""
    return {k: v for k, v in story.row(c["kind"], c["object"]).items()
            if k not in _NAMED and v not in ("", None, [], {}, False)}


def wire_change(c: dict) -> dict:
    """A change as the page applies it; `at` (the commit time, seconds) lets a viewer measure delivery latency.
    The page derives the etcd key from kind, namespace and name."""
    item = {"rev": c["revision"], "type": c["type"], "kind": c["kind"], "ns": c["namespace"], "name": c["name"],
            "actor": c["actor"], "at": round(c["committed_at"], 3)}
    if c["type"] != "DELETED":
        item["row"] = wire_row(c)
    return item


_NAMED = {"kind", "ns", "name", "rv"}


def _key(c: dict) -> tuple[str, str, str]:
    return c["kind"], c["namespace"], c["name"]


def row_delta(old: dict, new: dict) -> dict:
    """The fields of `new` that differ from `old`; None for a field `new` no longer has."""
    delta = {k: v for k, v in new.items() if old.get(k) != v}
    delta.update({k: None for k in old if k not in new})
    return delta


def with_steps(items: list[dict], changes: list[dict], lang: str, cap: int = STEP_TEXT) -> list[dict]:
    """Each item with its step (text and path) in `lang`; rows the story leaves out have none."""
    with translation.override(lang):
        out = []
        for item, c in zip(items, changes, strict=True):
            step = story.step(c)
            if step:
                text = step["text"]
                if len(text) > cap:
                    text = text[:cap - 1].rstrip() + "…"
                item = {**item, "step": text, "path": step["path"]}
            out.append(item)
        return out


class Push:
    """One push's changes, encoded lazily once per language and form (lean, or whole rows for new viewers).

    `base` is the hub's memory of the last row it sent of each object: lean rows are deltas against it, and it is
    moved forward here, so pushes must be built in revision order (the hub builds them one at a time)."""

    def __init__(self, changes: list[dict], base: dict):
        self.changes = changes
        self.first, self.last = changes[0]["revision"], changes[-1]["revision"]
        self.full_items = [wire_change(c) for c in changes]
        self.burst = burst = len(changes) > BURST
        last_of = {_key(c): i for i, c in enumerate(changes)}
        events = [i for i, c in enumerate(changes) if c["kind"] == "Event" and c["type"] != "DELETED"]
        quiet_events = set(events[:-BURST_EVENTS]) if burst else set()
        self.lean_items = []
        for i, (c, item) in enumerate(zip(changes, self.full_items, strict=True)):
            key = _key(c)
            lean = {k: v for k, v in item.items() if k != "row"}
            if c["type"] == "DELETED":
                base.pop(key, None)
            elif (burst and last_of[key] != i) or i in quiet_events:
                pass  # the revision and its step go; the row comes with the object's last entry (or not at all)
            else:
                row = item["row"]
                old = base.get(key)
                if old is None or c["type"] == "ADDED":
                    lean["row"] = row
                else:
                    lean["set"] = row_delta(old, row)
                base[key] = row
            self.lean_items.append(lean)
        self.texts: dict[tuple[str, bool], str] = {}

    def text(self, lang: str, whole: bool = False) -> str:
        if (lang, whole) not in self.texts:
            items = with_steps(self.full_items if whole else self.lean_items, self.changes, lang,
                               BURST_STEP_TEXT if self.burst else STEP_TEXT)
            msg = {"type": "changes", "sent": time.time(), "changes": story.carry(items)}
            # ASCII (non-ASCII letters as \u escapes): the server turns the text into UTF-8 once per viewer, and
            # for an ASCII string that is a copy, not a transcoding of every character.
            self.texts[lang, whole] = json.dumps(msg, separators=(",", ":"))
        return self.texts[lang, whole]


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
        self.rows: dict[tuple[str, str, str], dict] = {}  # the last row sent of each object (see Push)
        # Snapshots (see `snapshot`): the read running, and the one the viewers who came since wait for.
        self.reading: asyncio.Future | None = None
        self.next_read: asyncio.Future | None = None

    async def join(self, viewer: PlaygroundConsumer) -> None:
        self.viewers.add(viewer)
        if self.revision is None:
            # Before the viewer's snapshot: the hub never starts after a revision a viewer has not seen.
            self.revision = await database_sync_to_async(latest_revision)(self.playground_id)
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(self.run())
            self.listener = asyncio.ensure_future(self.listen())

    async def snapshot(self, pg: Playground) -> dict:
        """The state for a viewer that has joined, shared with the viewers that ask at the same moment: a room
        of sixty following the instructor opens sixty sockets on one playground at once, and sixty reads of the
        same state queued for longer than Daphne waits for a socket to be accepted. A read is shared only by the
        viewers that joined before it began (its revision is then past every push they did not get); who comes
        while one runs waits for the next, which begins when it ends. The result is shared: not to be changed."""
        if self.next_read is None:
            self.next_read = asyncio.ensure_future(self._read_after(self.reading, pg))
        return await asyncio.shield(self.next_read)

    async def _read_after(self, previous: asyncio.Future | None, pg: Playground) -> dict:
        if previous is not None:
            await asyncio.wait([previous])
        self.reading, self.next_read = self.next_read, None
        return await database_sync_to_async(snapshot)(pg)

    def leave(self, viewer: PlaygroundConsumer) -> None:
        self.viewers.discard(viewer)
        if not self.viewers:
            self.wake.set()

    async def listen(self) -> None:
        """One subscription to the feed group per process and playground: each commit is one message here, not
        one per viewer. Message type `feed.changed` dispatches to `feed_changed`, as in a consumer.
        The subscription outlives the channel layer's failures: after an error (Redis restarted, its groups gone)
        it subscribes again and looks at the feed, and every `RESUBSCRIBE` seconds it renews its membership and
        looks anyway, so a lost notice or a lost group costs a moment, never a stale page."""
        layer = get_channel_layer()
        group = nudge.feed_group(self.playground_id)
        channel = None
        try:
            while self.viewers:
                try:
                    if channel is None:
                        channel = await layer.new_channel()
                        await layer.group_add(group, channel)
                        self.poke()
                    try:
                        async with asyncio.timeout(RESUBSCRIBE):
                            message = await layer.receive(channel)
                    except TimeoutError:
                        await layer.group_add(group, channel)
                        self.poke()
                        continue
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning("live feed subscription of playground %s failed (%s); subscribing again",
                                self.playground_id, exc)
                    channel = None
                    await asyncio.sleep(1.0)
                    continue
                if message.get("type") == "feed.changed":
                    self.feed_changed(message)
                elif message.get("type") == "lessons.changed":
                    await self.lessons_changed(message)
                elif message.get("type") == "playground.tempo":
                    await self.playground_tempo(message)
        finally:
            if channel is not None:
                try:
                    await layer.group_discard(group, channel)
                except Exception:
                    log.warning("live feed unsubscribe of playground %s failed", self.playground_id)

    def feed_changed(self, message: dict) -> None:
        self.poke()

    async def playground_tempo(self, message: dict) -> None:
        """The tempo (or the pause) changed: every viewer's header shows the one in force now."""
        text = json.dumps({"type": "tempo", "tempo": message["tempo"], "paused": message["paused"]})
        for viewer in list(self.viewers):
            try:
                await viewer.send(text_data=text)
            except Exception:
                log.exception("tempo notice to a viewer of playground %s", self.playground_id)

    def poke(self) -> None:
        self.wake.set()

    async def lessons_changed(self, message: dict) -> None:
        """A lesson's progress moved: every viewer fetches its lesson panel again."""
        for viewer in list(self.viewers):
            if viewer.revision is not None:
                await viewer.send(text_data='{"type":"lessons"}')

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
        changes = await sync_to_async(read_pushed, thread_sensitive=False, executor=READER)(self.playground_id,
                                                                                          self.revision or 0)
        if not changes:
            return
        if len(changes) == READ_LIMIT:
            self.wake.set()  # more waiting: read on at the next push
        self.revision = changes[-1]["revision"]
        push = Push(changes, self.rows)
        # One after the other in this task: a send only hands the frame to the server's socket buffer, and 200
        # tasks a push would cost more than the sends.
        for viewer in list(self.viewers):
            try:
                await viewer.deliver(push)
            except Exception:
                log.exception("live feed push to a viewer of playground %s; resyncing it", self.playground_id)
                await viewer.resync()


HUBS: dict[tuple[int, int], Hub] = {}
# The pushes' reads have a thread of their own: not the one the viewers' snapshots share (a push would wait behind
# 200 of them connecting), nor the loop's default pool, where a burst of reconciles would queue ahead of them.
READER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="live-feed-read")


def read_pushed(playground_id: int, after: int) -> list[dict]:
    """`read_changes` on the reader thread, which keeps its connection: opening one (and its PRAGMAs) took longer
    than the read while the loops were busy. A failed read drops it; the next push opens a new one."""
    try:
        return read_changes(playground_id, after)
    except DatabaseError:
        connection.close()
        raise


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
    # The newest object revision in that snapshot: it can be past `revision` (objects are read after it), and
    # until the pushes are past it too, they come with whole rows (a `set` assumes the row the hub sent last).
    ahead: int = 0

    async def connect(self) -> None:
        # The playground's link or its read-only link: the feed only ever goes to the viewer, either may watch.
        access = await database_sync_to_async(playgrounds.find)(self.scope["url_route"]["kwargs"]["slug"])
        self.playground = access.playground if access else None
        if self.playground is None:
            await self.close(code=4404)
            return
        self.lang = language(self.scope)
        self.pending: list[Push] = []
        await self.accept()
        self.hub = hub_for(self.playground.pk)
        await self.hub.join(self)
        await self.send_state()

    async def send_state(self) -> None:
        """The full current state; pushes that arrive meanwhile wait in `pending`, then follow it."""
        self.revision = None
        state = dict(await self.hub.snapshot(self.playground))
        recent = state.pop("changes")
        state["changes"] = with_steps([wire_change(c) for c in recent], recent, self.lang)
        await self.send_text(json.dumps({"type": "state", **state}, separators=(",", ":"), ensure_ascii=False))
        self.ahead = max([state["revision"], *(o["rv"] for o in state["objects"])])
        self.revision = state["revision"]
        for push in self.pending:
            await self.deliver(push)
        self.pending = []
        self.hub.poke()

    async def send_text(self, text: str) -> None:
        for message in parts(text):
            await self.send(text_data=message)

    async def resync(self) -> None:
        """After a push that could not be sent: a fresh snapshot, or, failing that, a close the page reconnects
        from. Never a viewer left with a wrong picture."""
        self.pending = []
        try:
            await self.send_state()
        except Exception:
            log.exception("live feed resync of a viewer of playground %s", self.playground.pk)
            self.pending = []
            await self.close(code=1011)

    async def disconnect(self, code) -> None:
        if self.hub is not None:
            self.hub.leave(self)

    async def deliver(self, push: Push) -> None:
        """Send one push; drop what the snapshot already had (only the first pushes after connect can overlap)."""
        if self.revision is None:
            self.pending.append(push)
            return
        if push.last <= self.revision:
            return
        if push.first <= self.ahead:
            text = push.text(self.lang, whole=True)
            if push.first <= self.revision:
                msg = json.loads(text)
                msg["changes"] = story.carry([c for c in story.uncarry(msg["changes"]) if c["rev"] > self.revision])
                text = json.dumps(msg, separators=(",", ":"), ensure_ascii=False)
        else:
            text = push.text(self.lang)
        self.revision = push.last
        await self.send_text(text)
