"""The class's live sockets.

- `ConsoleConsumer` (/ws/class/console/<instructor link>/): the instructor's console. It joins the class's console
  group (joins, raised hands, the class's state) and the lessons group of every student's playground. A move of a
  lesson (`lessons.changed`) carries the progress the lesson checker saved: the student's tile is sent again at
  once with it, from the tile last read, without reading anything. A join, a raised hand (or a move that carries
  no progress, or of a tile not read yet) makes that student's tile *urgent*: it is read again and sent at once
  (at most every `TILE_INTERVAL`), on a reader of its own. Everything else a tile shows (the miniature
  cluster, the last activity) follows the playground's revision: every `STALE_TILE_INTERVAL` one query reads the
  revisions of every student's playground, and the tiles whose playground moved since they were sent are read
  again, a few at a time (`STALE_CHUNK`) on another reader — so sixty students' rollouts never queue in front of
  the tile of the one who just finished a step, neither as messages nor as reads. On connect it sends every tile
  (the state), then changes.
- `StudentConsumer` (/ws/class/student/<student key>/): a student's page. On connect and on every `class.state` it
  sends the class's state as the student should see it (where to be, blank, the pushed step, ended); the page's
  script goes there. The state is read from the database each time: a lost message costs nothing but a delay
  until the next one, and a reconnect always lands where the room is.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.db import DatabaseError, connection
from django.urls import reverse
from django.utils import translation

from cluster_core import nudge
from cluster_core.models import Playground

from ..consumers import language
from . import classes, tiles
from .models import Classroom, Student

log = logging.getLogger(__name__)

TILE_INTERVAL = 0.1
STALE_TILE_INTERVAL = 2.0
STALE_CHUNK = 8
# Tiles are read on threads of their own: not behind the requests and snapshots that share the default sync
# thread (under a class's load, a tile waited seconds there), nor on the live feed's reader; and a tile whose
# lesson moved is not read behind a round of tiles whose cluster only changed.
TILE_READER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="console-tiles")
STALE_TILE_READER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="console-miniatures")


def read_tiles(classroom_id: int, student_ids: list[int] | None, lang: str,
               shown: dict[int, dict] | None = None) -> tuple[Classroom, list[tuple]]:
    """The class and each student's tile: (the message, the tile it shows). A tile that shows what `shown` (the
    tiles last sent, by student) does is not rendered again: its message is None."""
    try:
        return _tiles(classroom_id, student_ids, lang, shown or {})
    except DatabaseError:
        connection.close()  # a failed read drops its connection; the next one opens a new one
        raise


def _tiles(classroom_id: int, student_ids: list[int] | None, lang: str,
           shown: dict[int, dict]) -> tuple[Classroom, list[tuple]]:
    room = Classroom.objects.get(pk=classroom_id)
    qs = Student.objects.filter(classroom=room).select_related("playground")
    if student_ids is not None:
        qs = qs.filter(pk__in=student_ids)
    out, shown_of_room = [], room_shown(room)
    for student in qs:
        with translation.override(lang):
            t = {**tiles.tile(student, room, lang), "room": shown_of_room}
        same = tiles.shows_the_same(shown.get(student.pk), t)
        out.append((None if same else tile_message(t, tiles.render(t, room, lang)), t))
    return room, out


def room_shown(room: Classroom) -> tuple:
    """What of the class a tile shows (whose cluster everyone sees)."""
    return (room.following, room.spotlight_id, room.lesson, room.stuck_minutes)


def tile_message(t: dict, html: str) -> dict:
    return {"type": "tile", "id": t["id"], "html": html, "done": t["done"], "hand": t["hand"], "rev": t["revision"],
            "at": round(t["at"], 3), "progress_at": round(t["progress_at"].timestamp(), 3)}


def revisions(playground_ids: list[int]) -> dict[int, int]:
    try:
        return dict(Playground.objects.filter(pk__in=playground_ids).values_list("pk", "revision"))
    except DatabaseError:
        connection.close()
        raise


def _console_start(token: str) -> tuple[int, dict[int, int]] | None:
    found = classes.find(token)
    if found is None or found.role != "instructor":
        return None
    room = found.classroom
    return room.pk, dict(room.students.values_list("playground_id", "pk"))


def student_state(student_id: int) -> dict | None:
    student = Student.objects.select_related("classroom", "playground").filter(pk=student_id).first()
    if student is None:
        return None
    room = student.classroom
    own = student.playground
    followed = room.followed_playground()
    if room.ended:
        where = reverse("page", args=[own.read_token])
    elif followed is not None and followed.pk != own.pk:
        where = reverse("page", args=[followed.read_token])
    else:
        where = reverse("page", args=[own.slug])
    return {"type": "state", "where": where, "own": reverse("page", args=[own.slug]),
            "following": followed is not None and followed.pk != own.pk,
            "spotlight": bool(room.spotlight_id), "blank": room.blank, "step": room.pushed_step,
            "ended": room.ended, "hand": student.hand_raised_at is not None}


class ConsoleConsumer(AsyncWebsocketConsumer):
    classroom_id: int | None = None

    async def connect(self) -> None:
        started = await database_sync_to_async(_console_start)(self.scope["url_route"]["kwargs"]["token"])
        if started is None:
            await self.close(code=4403)
            return
        self.classroom_id, self.playgrounds = started
        # Presenter mode only needs to hear that the class changed, not every tile.
        presenter = b"presenter" in self.scope.get("query_string", b"")
        if presenter:
            self.playgrounds = {}
        self.lang = language(self.scope)
        self.urgent: set[int] = set()
        self.stale: set[int] = set()
        self.shown: dict[int, int] = {}  # student → the revision of their playground their last tile showed
        self.reads = 0  # tile reads begun; a tile read earlier than one already sent is not sent
        self.sent_read: dict[int, int] = {}
        self.held: dict[int, tuple[dict, Classroom]] = {}  # student → the tile last sent, and its class as read then
        self.wake = asyncio.Event()
        await self.accept()
        await self.channel_layer.group_add(classes.console_group(self.classroom_id), self.channel_name)
        for pg_id in self.playgrounds:
            await self.channel_layer.group_add(nudge.lessons_group(pg_id), self.channel_name)
        self.tasks = []
        if not presenter:
            await self._send_tiles(None, TILE_READER)
            self.tasks = [asyncio.ensure_future(self.run_urgent()), asyncio.ensure_future(self.run_stale())]

    async def disconnect(self, code) -> None:
        if self.classroom_id is None:
            return
        for task in getattr(self, "tasks", ()):
            task.cancel()
        await self.channel_layer.group_discard(classes.console_group(self.classroom_id), self.channel_name)
        for pg_id in self.playgrounds:
            await self.channel_layer.group_discard(nudge.lessons_group(pg_id), self.channel_name)

    async def send_tile(self, msg: dict) -> None:
        await self.send(text_data=json.dumps({**msg, "sent": time.time()}, separators=(",", ":")))

    def mark(self, student_id: int | None) -> None:
        if student_id is not None:
            self.urgent.add(student_id)
            self.wake.set()

    async def _send_tiles(self, student_ids: list[int] | None, reader: ThreadPoolExecutor,
                          unless_same: bool = False) -> None:
        """Read these students' tiles (every one's: None) and send them; `unless_same`: not those that show the
        card sent last."""
        self.reads += 1
        read = self.reads
        try:
            shown = {s: self.held[s][0] for s in student_ids or () if s in self.held} if unless_same else None
            room, tiles_now = await sync_to_async(read_tiles, thread_sensitive=False, executor=reader)(
                self.classroom_id, student_ids, self.lang, shown)
        except Exception:
            log.exception("console tiles of class %s", self.classroom_id)
            return
        for msg, t in tiles_now:
            if self.sent_read.get(t["id"], 0) > read:
                continue  # a read begun later (or a lesson move heard since) has sent this tile: this one may be older
            self.sent_read[t["id"]] = read
            self.shown[t["id"]] = t["revision"]
            self.held[t["id"]] = (t, room)
            if msg is not None:  # else the card it shows is the one sent last
                await self.send_tile(msg)

    async def lesson_moved(self, student_id: int, message: dict) -> bool:
        """A lesson move of a student whose tile is held, carrying the progress as the checker saved it: the tile
        is sent again at once with that progress (the rest as last read; the cluster's own changes follow with
        the next round of stale tiles). False when it cannot be shown so (another lesson, no tile held yet)."""
        held = self.held.get(student_id)
        if held is None or message.get("lesson") != held[1].lesson or not isinstance(message.get("done"), dict):
            return False
        t, room = held
        t = tiles.moved(t, room, self.lang, message["done"], float(message.get("at") or 0.0))
        if t["done"] < held[0]["done"]:
            return True  # older than what the tile shows (progress is never taken back)
        self.reads += 1
        self.sent_read[student_id] = self.reads
        self.held[student_id] = (t, room)
        await self.send_tile(tile_message(t, tiles.render(t, room, self.lang)))
        return True

    async def run_urgent(self) -> None:
        """The tiles whose lesson moved (or whose student joined or raised a hand), as soon as they are asked."""
        loop = asyncio.get_running_loop()
        last = 0.0
        while True:
            if not self.urgent:
                self.wake.clear()
                await self.wake.wait()
                continue
            wait = last + TILE_INTERVAL - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            last = loop.time()
            urgent, self.urgent = self.urgent, set()
            await self._send_tiles(sorted(urgent), TILE_READER)

    async def run_stale(self) -> None:
        """Every `STALE_TILE_INTERVAL`: the tiles whose playground moved since they were sent (level-triggered: a
        lost message cannot leave a tile behind its cluster)."""
        while True:
            await asyncio.sleep(STALE_TILE_INTERVAL)
            try:
                now = await sync_to_async(revisions, thread_sensitive=False, executor=STALE_TILE_READER)(
                    list(self.playgrounds))
            except Exception:
                log.exception("console revisions of class %s", self.classroom_id)
                continue
            for pg_id, revision in now.items():
                student_id = self.playgrounds.get(pg_id)
                if student_id is not None and self.shown.get(student_id) != revision:
                    self.stale.add(student_id)
            stale, self.stale = sorted(self.stale), set()
            for i in range(0, len(stale), STALE_CHUNK):
                await self._send_tiles(stale[i:i + STALE_CHUNK], STALE_TILE_READER, unless_same=True)

    async def dispatch(self, message: dict) -> None:
        # The lessons groups' messages name their playground: each makes that student's tile urgent.
        typ = message.get("type", "")
        if typ == "lessons.changed":
            student_id = self.playgrounds.get(message.get("playground"))
            if student_id is not None and not await self.lesson_moved(student_id, message):
                self.mark(student_id)
            return
        await super().dispatch(message)

    async def class_joined(self, message: dict) -> None:
        if b"presenter" in self.scope.get("query_string", b""):
            return
        pg_id, student_id = message["playground"], message["student"]
        self.playgrounds[pg_id] = student_id
        await self.channel_layer.group_add(nudge.lessons_group(pg_id), self.channel_name)
        self.mark(student_id)

    async def class_student(self, message: dict) -> None:
        self.mark(message["student"])

    async def class_state(self, message: dict) -> None:
        await self.send(text_data=json.dumps({"type": "class"}))
        # A tile shows whose cluster is shown to everyone: every tile is read again with the next round.
        self.stale.update(self.playgrounds.values())


class StudentConsumer(AsyncWebsocketConsumer):
    student_id: int | None = None

    async def connect(self) -> None:
        found = await database_sync_to_async(classes.find)(self.scope["url_route"]["kwargs"]["key"])
        if found is None or found.role != "student":
            await self.close(code=4403)
            return
        self.student_id, self.classroom_id = found.student.pk, found.classroom.pk
        self.lang = language(self.scope)
        await self.accept()
        await self.channel_layer.group_add(classes.class_group(self.classroom_id), self.channel_name)
        await self.class_state({})

    async def disconnect(self, code) -> None:
        if self.student_id is not None:
            await self.channel_layer.group_discard(classes.class_group(self.classroom_id), self.channel_name)

    async def class_state(self, message: dict) -> None:
        with translation.override(self.lang):
            state = await database_sync_to_async(student_state)(self.student_id)
        if state is None:
            await self.close(code=4404)
            return
        await self.send(text_data=json.dumps(state, separators=(",", ":")))
