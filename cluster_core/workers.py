"""The reconcile loops as Channels consumers, one per channel name (`runworker deployment-controller …`).

A message only says "look at key K of playground P again" (key "*" = every key: the periodic resync), or names
several keys at once (`keys`: the kubelets of every node that is due). The consumer skips a nudge that was sent
before its last look at that key began — that look already saw the write the nudge is about — so a burst of nudges
costs one reconcile, not a thousand. Several kubelets looked at together sync in one group commit.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from channels.consumer import AsyncConsumer, get_handler_name
from channels.worker import Worker
from django.db import close_old_connections, connection

from . import clock, nudge, rowreader, runtime, urgency
from .models import Change, Playground

log = logging.getLogger(__name__)


# What each loop's last whole look at a playground began from: (channel, playground) → (revision, monotonic time).
# A resync is there to repair a lost nudge; when no commit (of what the loop watches) came since such a look began,
# that look saw every write there is and there is nothing to repair. Kept a short while only, so that what depends
# on the clock alone (a Deployment's progress deadline) is still looked at now and then.
_whole_looks: dict[tuple[str, int], tuple[int, float]] = {}
WHOLE_LOOK_KEPT = 60.0


def _commits_since(channel: str, pg: Playground, revision: int) -> bool:
    """Whether a commit that could give this loop work came after `revision`: any commit, or for a loop that names
    what it `WATCHES`, one of those kinds (a class's playgrounds are written to all the time, mostly pods; the
    ServiceAccount controller has nothing to repair after a pod's status changed)."""
    if pg.revision == revision:
        return False
    kinds = getattr(runtime.loop(channel), "WATCHES", None)
    if kinds is None:
        return True
    # As `Change.objects.filter(playground=pg, revision__gt=revision, kind__in=kinds).exists()`, without building
    # the query anew at every resync of every loop.
    q = connection.ops.quote_name
    sql = (f"SELECT 1 FROM {q(Change._meta.db_table)} WHERE {q('playground_id')} = %s AND {q('revision')} > %s "
           f"AND {q('kind')} IN ({', '.join(['%s'] * len(kinds))}) LIMIT 1")
    with connection.cursor() as cursor:
        cursor.execute(sql, [pg.pk, revision, *sorted(kinds)])
        return cursor.fetchone() is not None


def run_loop(channel: str, playground_id: int, key: str = "*", keys: list[str] | None = None,
             resync: bool = False) -> int:
    close_old_connections()
    pg = rowreader.by_pk(Playground, playground_id)
    if pg is None or pg.paused:
        return 0
    if pg.tempo == "classroom" and pg.write_after and pg.write_after > clock.now():
        return 0  # the hop of the last write is still shown; the ticker nudges every loop when the gate opens
    whole = keys is None and key == "*"
    if whole and resync:
        began = _whole_looks.get((channel, pg.pk))
        if began and time.monotonic() - began[1] < WHOLE_LOOK_KEPT and not _commits_since(channel, pg, began[0]):
            return 0
    if keys is None:
        keys = runtime.loop(channel).keys(pg) if key == "*" else [key]
    # The kubelets of several nodes sync together (one group commit); other loops take one key at a time.
    groups = [keys] if channel == nudge.KUBELET else [[k] for k in keys]
    writes = 0
    runtime.take_unfinished()  # a mark left by an earlier look in this thread is not this look's
    finished = True
    with urgency.urgent() if channel == nudge.LESSONS else urgency.giving_way():
        for group in groups:
            try:
                writes += runtime.reconcile_keys(channel, pg, group)
            except Exception:
                # An error means "try again later": the next resync or nudge brings these keys back.
                finished = False
                log.exception("%s failed on %s/%s", channel, pg.slug, ",".join(group))
    if runtime.take_unfinished():
        finished = False
    if whole:
        if finished and pg.tempo != "classroom":
            if len(_whole_looks) > 10000:
                _whole_looks.clear()
            _whole_looks[(channel, pg.pk)] = (pg.revision, time.monotonic())
        else:
            _whole_looks.pop((channel, pg.pk), None)
    return writes


# The lesson checker looks on threads of its own: a learner's step is shown done as soon as the cluster gets there,
# not after the looks of every other loop queued on the shared threads. A checker's look mostly waits (on the
# database, and for the interpreter lock between its few queries), so when a class's clusters all move at once
# several looks run side by side rather than sixty queue behind two.
CHECKER_THREADS = 6
OWN_THREAD = {nudge.LESSONS: ThreadPoolExecutor(max_workers=CHECKER_THREADS, thread_name_prefix="lesson-checker")}
# The other loops share a few threads of their own. In one process the loops take turns on one interpreter lock
# anyway: more threads would not look faster, only leave less of it to the API's requests, the pages' feeds, the
# console's tiles and the lesson checker.
LOOP_THREAD_COUNT = 3
LOOP_THREADS = ThreadPoolExecutor(max_workers=LOOP_THREAD_COUNT, thread_name_prefix="loops")
# The periodic resyncs repair a lost nudge; a class's sixty playgrounds come due for one together, and their looks,
# queued on the loops' threads, held every nudged look (the next hop of a learner's rollout) seconds behind them.
# So a resync waits while every loop thread is busy, `RESYNC_DEFER` seconds at most, and those that waited that long
# go one per `RESYNC_SPACING` seconds per loop. While a class keeps every thread busy, its playgrounds' resyncs
# (sixty playgrounds × thirteen loops every 30 s: a third of all the looks) so come every two minutes or so, and
# the threads go to the looks a learner waits for; a lost nudge, rare in one process, is repaired that much later.
RESYNC_DEFER = 120.0
RESYNC_SPACING = 1.0
_looks_running = 0  # looks on LOOP_THREADS asked and not finished (read and written on the event loop only)
# How many playgrounds one loop looks at at once (one look per playground at a time, as a work queue never hands one
# key to two workers): a class's sixty kubelets are not served one playground after the other.
CONCURRENT_PLAYGROUNDS = 4
CONCURRENT = {nudge.LESSONS: CHECKER_THREADS}


class LoopConsumer(AsyncConsumer):
    """One loop's messages. Each names a playground; the looks at different playgrounds run side by side (at most
    `CONCURRENT_PLAYGROUNDS`), those at one playground one after the other: what is asked while a look at it runs
    waits, merged, for the next look."""

    channel = ""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._slots = asyncio.Semaphore(CONCURRENT.get(self.channel, CONCURRENT_PLAYGROUNDS))
        self._resyncs: dict[int, float] = {}  # playground → when its resync was asked (waiting for a free thread)
        self._resync_wake = asyncio.Event()
        self._resync_task: asyncio.Task | None = None
        self._busy: set[int] = set()  # playgrounds with a look running or about to
        self._waiting: dict[int, list[tuple[str | None, list[str] | None, bool]]] = {}
        self._tasks: set[asyncio.Task] = set()
        self._looked: dict[tuple[int, str], float] = {}  # (playground, key) → when a look at it was last asked

    async def __call__(self, scope, receive, send) -> None:
        """Each message as it comes, without a task per message: what queued for this loop meanwhile is taken in one
        go. (Channels' consumer loop wakes the event loop twice per message; under a class's load each wake-up
        waited its turn, and a loop's nudges queued for seconds.)"""
        self.scope = scope
        while True:
            await self.dispatch(await receive())

    async def dispatch(self, message: dict) -> None:
        """A message straight to its handler. Channels' own dispatch first closes stale database connections through
        `sync_to_async` on the process's one shared sync thread: a class's thousands of nudges then queued there
        behind every consumer's `database_sync_to_async` call (seconds, under load), and the loops heard of each
        commit that late. A look takes care of its own connection on its own thread (`run_loop`)."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message.get('type')}")
        await handler(message)

    async def reconcile(self, message: dict) -> None:
        looked = self._looked
        pid, sent = message.get("playground"), message.get("sent", 0.0)
        if looked.get((pid, "*"), 0.0) > sent:
            return
        if "keys" in message:
            keys = [k for k in message["keys"] if looked.get((pid, k), 0.0) <= sent]
            if not keys:
                return
            now = time.time()
            looked.update(((pid, k), now) for k in keys)
            self._ask(pid, (None, keys, False))
            return
        key = message.get("key", "*")
        if looked.get((pid, key), 0.0) > sent:
            return
        looked[(pid, key)] = time.time()
        if message.get("resync") and key == "*" and self.channel not in OWN_THREAD:
            self._resyncs.setdefault(pid, time.monotonic())
            self._resync_wake.set()
            if self._resync_task is None:
                self._resync_task = asyncio.ensure_future(self._run_resyncs())
            return
        self._ask(pid, (key, None, bool(message.get("resync"))))

    async def _run_resyncs(self) -> None:
        """The resyncs asked, each when a loop thread is free (or once it has waited `RESYNC_DEFER`)."""
        while True:
            if not self._resyncs:
                self._resync_wake.clear()
                await self._resync_wake.wait()
                continue
            pid, asked = next(iter(self._resyncs.items()))
            if _looks_running >= LOOP_THREAD_COUNT:
                if time.monotonic() - asked < RESYNC_DEFER:
                    await asyncio.sleep(0.05)
                    continue
                await asyncio.sleep(RESYNC_SPACING)
            del self._resyncs[pid]
            self._ask(pid, ("*", None, True))

    def _ask(self, pid: int, request: tuple[str | None, list[str] | None, bool]) -> None:
        if pid in self._busy:
            self._waiting.setdefault(pid, []).append(request)
            return
        self._busy.add(pid)
        task = asyncio.ensure_future(self._serve(pid, request))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, pid: int, request: tuple[str | None, list[str] | None, bool]) -> None:
        try:
            while request is not None:
                key, keys, resync = request
                async with self._slots:
                    try:
                        await self._run(pid, "*" if key is None else key, keys, resync)
                    except Exception:
                        log.exception("%s failed on playground %s", self.channel, pid)
                asked = self._waiting.pop(pid, None)
                request = merged(asked) if asked else None
        finally:
            self._busy.discard(pid)

    async def settled(self) -> None:
        """Until every look asked for so far has run (what waited for a playground included)."""
        while self._tasks or self._resyncs:
            if self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)
            else:
                await asyncio.sleep(0.01)  # a resync waiting for a free thread

    async def _run(self, pid: int, key: str = "*", keys: list[str] | None = None, resync: bool = False) -> int:
        global _looks_running
        executor = OWN_THREAD.get(self.channel, LOOP_THREADS)
        shared = executor is LOOP_THREADS
        _looks_running += shared
        try:
            return await sync_to_async(run_loop, thread_sensitive=False, executor=executor)(
                self.channel, pid, key, keys, resync)
        finally:
            _looks_running -= shared


def merged(requests: list[tuple[str | None, list[str] | None, bool]]) -> tuple[str | None, list[str] | None, bool]:
    """Requests (key, keys, resync) that waited for one playground, as one look: every key when any asked for every
    key (a resync only when all of them were resyncs), else the keys asked for."""
    whole = [r for r in requests if r[0] == "*"]
    if whole:
        return "*", None, len(whole) == len(requests) and all(r[2] for r in whole)
    keys: list[str] = []
    for key, many, _ in requests:
        for k in (many if key is None else [key]):
            if k not in keys:
                keys.append(k)
    if len(keys) == 1:
        return keys[0], None, False
    return None, keys, False


def loop_consumers() -> dict:
    out = {}
    for channel in nudge.LOOP_CHANNELS:
        cls = type(f"{channel.title().replace('-', '')}Consumer", (LoopConsumer,), {"channel": channel})
        out[channel] = cls.as_asgi()
    return out


class SteadyWorker(Worker):
    """`runworker`'s server, kept listening through a channel layer that goes away: Channels' own listener dies
    with the first error from Redis (a restart), leaving a live process that hears nothing. This one waits a
    moment and listens again; nudges lost meanwhile are covered by the periodic resync."""

    retry_after = 1.0

    async def listener(self, channel):
        import asyncio

        while True:
            try:
                message = await self.channel_layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("channel layer receive on %s failed (%s); listening again", channel, exc)
                await asyncio.sleep(self.retry_after)
                continue
            if not message.get("type"):
                log.warning("a message without a type on %s, dropped", channel)
                continue
            queue = self.get_or_create_application_instance(channel, {"type": "channel", "channel": channel})
            await queue.put(message)

