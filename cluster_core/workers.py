"""The reconcile loops as Channels consumers, one per channel name (`runworker deployment-controller …`).

A message only says "look at key K of playground P again" (key "*" = every key: the periodic resync), or names
several keys at once (`keys`: the kubelets of every node that is due). The consumer skips a nudge that was sent
before its last look at that key began — that look already saw the write the nudge is about — so a burst of nudges
costs one reconcile, not a thousand. Several kubelets looked at together sync in one group commit.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from channels.consumer import AsyncConsumer
from channels.worker import Worker
from django.db import close_old_connections

from . import clock, nudge, runtime
from .models import Playground

log = logging.getLogger(__name__)


# What each loop's last whole look at a playground began from: (channel, playground) → (revision, monotonic time).
# A resync is there to repair a lost nudge; when no commit came since such a look began, that look saw every write
# there is and there is nothing to repair. Kept a short while only, so that what depends on the clock alone (a
# Deployment's progress deadline) is still looked at now and then.
_whole_looks: dict[tuple[str, int], tuple[int, float]] = {}
WHOLE_LOOK_KEPT = 60.0


def run_loop(channel: str, playground_id: int, key: str = "*", keys: list[str] | None = None,
             resync: bool = False) -> int:
    close_old_connections()
    pg = Playground.objects.filter(pk=playground_id).first()
    if pg is None or pg.paused:
        return 0
    if pg.tempo == "classroom" and pg.write_after and pg.write_after > clock.now():
        return 0  # the hop of the last write is still shown; the ticker nudges every loop when the gate opens
    whole = keys is None and key == "*"
    if whole and resync:
        began = _whole_looks.get((channel, pg.pk))
        if began and began[0] == pg.revision and time.monotonic() - began[1] < WHOLE_LOOK_KEPT:
            return 0
    if keys is None:
        keys = runtime.loop(channel).keys(pg) if key == "*" else [key]
    # The kubelets of several nodes sync together (one group commit); other loops take one key at a time.
    groups = [keys] if channel == nudge.KUBELET else [[k] for k in keys]
    writes = 0
    runtime.take_unfinished()  # a mark left by an earlier look in this thread is not this look's
    finished = True
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


# The lesson checker looks on a thread of its own: a learner's step is shown done as soon as the cluster gets there,
# not after the looks of every other loop queued on the shared threads. (One thread: the checker's consumer takes one
# message at a time anyway.)
OWN_THREAD = {nudge.LESSONS: ThreadPoolExecutor(max_workers=1, thread_name_prefix="lesson-checker")}


class LoopConsumer(AsyncConsumer):
    channel = ""

    async def reconcile(self, message: dict) -> None:
        looked = self.__dict__.setdefault("_looked", {})
        pid, sent = message.get("playground"), message.get("sent", 0.0)
        if looked.get((pid, "*"), 0.0) > sent:
            return
        if "keys" in message:
            keys = [k for k in message["keys"] if looked.get((pid, k), 0.0) <= sent]
            if not keys:
                return
            now = time.time()
            looked.update(((pid, k), now) for k in keys)
            await self._run(pid, keys=keys)
            return
        key = message.get("key", "*")
        if looked.get((pid, key), 0.0) > sent:
            return
        looked[(pid, key)] = time.time()
        await self._run(pid, key, resync=bool(message.get("resync")))

    async def _run(self, pid: int, key: str = "*", keys: list[str] | None = None, resync: bool = False) -> int:
        return await sync_to_async(run_loop, thread_sensitive=False, executor=OWN_THREAD.get(self.channel))(
            self.channel, pid, key, keys, resync)


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

