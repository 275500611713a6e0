"""The class's live sockets.

- `ConsoleConsumer` (/ws/class/console/<instructor link>/): the instructor's console. It joins the class's console
  group (joins, raised hands, the class's state) and the feed group of every student's playground. A move of a
  lesson (`lessons.changed`), a join or a raised hand makes that student's tile *urgent*: it is read again and sent
  at once (at most every `TILE_INTERVAL`). A commit (`feed.changed`) only changes the tile's miniature cluster and
  last activity: it marks the tile stale, and stale tiles are read at most every `STALE_TILE_INTERVAL`, a few at a
  time (`STALE_CHUNK`) with urgent ones served between, so sixty students' rollouts never hold back the tile of the
  one who just finished a step. On connect it sends every tile (the state), then changes.
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

from ..consumers import language
from . import classes, tiles
from .models import Classroom, Student

log = logging.getLogger(__name__)

TILE_INTERVAL = 0.1
STALE_TILE_INTERVAL = 1.0
STALE_CHUNK = 8
# Tiles are read on a thread of their own: not behind the requests and snapshots that share the default sync
# thread (under a class's load, a tile waited seconds there), nor on the live feed's reader.
TILE_READER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="console-tiles")


def read_tiles(classroom_id: int, student_ids: list[int] | None, lang: str) -> list[dict]:
    try:
        return _tiles(classroom_id, student_ids, lang)
    except DatabaseError:
        connection.close()  # a failed read drops its connection; the next one opens a new one
        raise


def _tiles(classroom_id: int, student_ids: list[int] | None, lang: str) -> list[dict]:
    room = Classroom.objects.get(pk=classroom_id)
    qs = Student.objects.filter(classroom=room).select_related("playground")
    if student_ids is not None:
        qs = qs.filter(pk__in=student_ids)
    out = []
    for student in qs:
        t, html = tiles.render_tile(student, room, lang)
        out.append({"type": "tile", "id": student.pk, "html": html, "done": t["done"], "hand": t["hand"],
                    "rev": t["revision"], "at": round(t["at"], 3),
                    "progress_at": round(t["progress_at"].timestamp(), 3)})
    return out


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
        if b"presenter" in self.scope.get("query_string", b""):
            self.playgrounds = {}
        self.lang = language(self.scope)
        self.stale: set[int] = set()
        self.urgent: set[int] = set()
        self.wake = asyncio.Event()
        await self.accept()
        await self.channel_layer.group_add(classes.console_group(self.classroom_id), self.channel_name)
        for pg_id in self.playgrounds:
            await self.channel_layer.group_add(nudge.feed_group(pg_id), self.channel_name)
        if self.playgrounds or b"presenter" not in self.scope.get("query_string", b""):
            for msg in await database_sync_to_async(_tiles)(self.classroom_id, None, self.lang):
                await self.send_tile(msg)
        self.task = asyncio.ensure_future(self.run())

    async def disconnect(self, code) -> None:
        if self.classroom_id is None:
            return
        if getattr(self, "task", None) is not None:
            self.task.cancel()
        await self.channel_layer.group_discard(classes.console_group(self.classroom_id), self.channel_name)
        for pg_id in self.playgrounds:
            await self.channel_layer.group_discard(nudge.feed_group(pg_id), self.channel_name)

    async def send_tile(self, msg: dict) -> None:
        await self.send(text_data=json.dumps({**msg, "sent": time.time()}, separators=(",", ":")))

    def mark(self, student_id: int | None, urgent: bool = False) -> None:
        if student_id is not None:
            (self.urgent if urgent else self.stale).add(student_id)
            self.wake.set()

    async def _send_tiles(self, student_ids: list[int]) -> None:
        try:
            tiles_now = await sync_to_async(read_tiles, thread_sensitive=False, executor=TILE_READER)(
                self.classroom_id, student_ids, self.lang)
            for msg in tiles_now:
                await self.send_tile(msg)
        except Exception:
            log.exception("console tiles of class %s", self.classroom_id)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        last = last_stale = 0.0
        while True:
            if not self.urgent and not self.stale:
                await self.wake.wait()
            self.wake.clear()
            if self.urgent:
                wait = last + TILE_INTERVAL - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                last = loop.time()
                urgent, self.urgent = self.urgent, set()
                self.stale -= urgent
                await self._send_tiles(sorted(urgent))
                continue
            wait = last_stale + STALE_TILE_INTERVAL - loop.time()
            if wait > 0:
                # Sleep until the stale tiles are due, or until an urgent one comes.
                try:
                    await asyncio.wait_for(self._urgent_comes(), timeout=wait)
                except TimeoutError:
                    pass
                if self.urgent:
                    continue
            last_stale = loop.time()
            stale, self.stale = sorted(self.stale), set()
            for i in range(0, len(stale), STALE_CHUNK):
                if self.urgent:  # served first; what is left of this round waits for the next
                    self.stale.update(stale[i:])
                    break
                await self._send_tiles(stale[i:i + STALE_CHUNK])

    async def _urgent_comes(self) -> None:
        while not self.urgent:
            self.wake.clear()
            await self.wake.wait()

    async def dispatch(self, message: dict) -> None:
        # The feed groups' messages name their playground: each marks that student's tile stale.
        typ = message.get("type", "")
        if typ in ("feed.changed", "lessons.changed"):
            student_id = self.playgrounds.get(message.get("playground"))
            if student_id is not None:
                self.mark(student_id, urgent=typ == "lessons.changed")
            return
        if typ == "playground.tempo":
            return
        await super().dispatch(message)

    async def class_joined(self, message: dict) -> None:
        if b"presenter" in self.scope.get("query_string", b""):
            return
        pg_id, student_id = message["playground"], message["student"]
        self.playgrounds[pg_id] = student_id
        await self.channel_layer.group_add(nudge.feed_group(pg_id), self.channel_name)
        self.mark(student_id, urgent=True)

    async def class_student(self, message: dict) -> None:
        self.mark(message["student"], urgent=True)

    async def class_state(self, message: dict) -> None:
        await self.send(text_data=json.dumps({"type": "class"}))
        for student_id in self.playgrounds.values():  # a tile shows whose cluster is shown to everyone
            self.mark(student_id)


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
