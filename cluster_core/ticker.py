"""The clock's heartbeat: wakes the kubelets when stored due-times arrive, and resyncs every loop now and then.

Messages on the channel layer can be lost; the resync makes that harmless. Several tickers (one per web process in
the scale-out mode) only mean more nudges, and every loop is idempotent.
"""

from __future__ import annotations

import asyncio
import logging
import time

from asgiref.sync import sync_to_async
from django.db import close_old_connections, connection
from django.db.models import F

from . import checkpoint, clock, feed, idle, nudge, runtime
from .models import Node, Playground, Pod, StoredObject
from .rowreader import Prepared

log = logging.getLogger(__name__)

RESYNC_SECONDS = idle.RESYNC_SECONDS
DUE_POLL_SECONDS = 0.1
COMPACT_SECONDS = 60.0
CHECKPOINT_SECONDS = 2.0
SWEEP_SECONDS = 600.0


def _anything_due(now) -> bool:
    """One statement over the due-time indexes (pods, nodes, stored objects): polled ten times a second, and on
    an idle server the answer is no — the whole of what an idle server's ticker costs."""
    sql = " UNION ALL ".join(
        f'SELECT 1 FROM (SELECT 1 FROM "{m._meta.db_table}" WHERE "{column}" <= %s LIMIT 1) AS due{i}'
        for i, (m, column) in enumerate(((Pod, "requeue_at"), (Node, "lifecycle_due"),
                                         (StoredObject, "requeue_at"), (Playground, "write_after"))))
    value = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(sql + " LIMIT 1", [value, value, value, value])
        return cursor.fetchone() is not None


# The due-time reads, compiled once: under a class's load something is due at nearly every tick.
_DUE_PODS = Prepared(lambda now: Pod.objects.filter(requeue_at__lte=now, playground__paused=False)
                     .values_list("playground_id", "node_name").distinct())
_DUE_NODES = Prepared(lambda now: Node.objects.filter(lifecycle_due__lte=now, playground__paused=False)
                      .values_list("playground_id", "name"))


def due_targets() -> dict[int, set[tuple[str, str]]]:
    close_old_connections()
    out: dict[int, set[tuple[str, str]]] = {}
    if not _anything_due(clock.now()):
        return out
    rows = _DUE_PODS(clock.now())
    off = set(Node.objects.filter(powered_off=True, playground_id__in={pid for pid, _ in rows}).values_list(
        "playground_id", "name")) if rows else set()
    for pid, node in rows:
        if (pid, node) in off:
            continue  # its machine is off: nobody is there to act on the due-time
        if node:
            out.setdefault(pid, set()).add((nudge.KUBELET, node))
        else:
            out.setdefault(pid, set()).add((nudge.SCHEDULER, ""))
    # The node lifecycle controller's stored due-times (a node's grace period over, a pod's toleration ended).
    for pid, node in _DUE_NODES(clock.now()):
        out.setdefault(pid, set()).add((nudge.NODE_LIFECYCLE, node))
    for pid, targets in runtime.stored_due_targets().items():
        out.setdefault(pid, set()).update(targets)
    for pid in opened_gates():
        out.setdefault(pid, set()).update((ch, "*") for ch in nudge.LOOP_CHANNELS)
    return out


def opened_gates() -> list[int]:
    """Classroom playgrounds whose pacing gate (cluster_core/pacing.py) has opened: every loop looks again — one
    was held back, or finds its next step. The gate is cleared as it is taken (only if no write moved it on
    meanwhile), so a playground with nothing left to do is nudged once, and an idle one costs nothing here."""
    out = []
    for pid, tempo, paused, due in Playground.objects.filter(write_after__lte=clock.now()).values_list(
            "id", "tempo", "paused", "write_after"):
        cleared = Playground.objects.filter(pk=pid, write_after=due).update(write_after=None)
        if cleared and tempo == "classroom" and not paused:
            out.append(pid)
    return out


def resync_targets(seen: dict | None = None, now: float | None = None,
                   since=None) -> dict[int, set[tuple[str, str]]]:
    """Every loop of the playgrounds due a resync: the active ones every tick, the idle ones rarely (`idle`).
    Without `seen` (the ticker's memory of revisions), every unpaused playground. Playgrounds created after `since`
    (when the ticker began) were converged as they started: no first look for them."""
    close_old_connections()
    rows = list(Playground.objects.filter(paused=False).values_list("id", "revision", "created_at"))
    if seen is None:
        ids = [pid for pid, _, _ in rows]
    else:
        fresh = frozenset(pid for pid, _, created in rows if since is not None and created > since)
        ids = idle.plan_resync([(pid, rev) for pid, rev, _ in rows], seen,
                               time.monotonic() if now is None else now, fresh)
    return {pid: {(ch, "*") for ch in nudge.LOOP_CHANNELS} for pid in ids}


def checkpoint_wal() -> None:
    close_old_connections()
    checkpoint.checkpoint()


def compact_all() -> None:
    """Compact the feeds that have grown past what is kept (one query finds them; an idle feed is not read)."""
    close_old_connections()
    for pg in Playground.objects.filter(revision__gt=F("compacted_revision") + feed.KEEP_REVISIONS):
        feed.compact(pg)


def sweep_idle() -> None:
    close_old_connections()
    removed = idle.remove_idle()
    if removed:
        log.info("removed %s idle playgrounds", removed)


async def run(stop: asyncio.Event | None = None) -> None:
    last_resync = 0.0
    last_compact = last_checkpoint = last_sweep = time.monotonic()
    seen: dict = {}
    since = clock.now()
    while not (stop and stop.is_set()):
        try:
            targets = await sync_to_async(due_targets, thread_sensitive=False)()
            now = time.monotonic()
            for pid, t in targets.items():
                await nudge._send_all(pid, t, 0)
            if now - last_resync >= RESYNC_SECONDS:
                for pid, t in (await sync_to_async(resync_targets, thread_sensitive=False)(seen, None, since)).items():
                    await nudge._send_all(pid, t, 0, resync=True)
                last_resync = now
            if now - last_compact >= COMPACT_SECONDS:
                await sync_to_async(compact_all, thread_sensitive=False)()
                last_compact = now
            if now - last_sweep >= SWEEP_SECONDS:
                await sync_to_async(sweep_idle, thread_sensitive=False)()
                last_sweep = now
            if now - last_checkpoint >= CHECKPOINT_SECONDS:
                await sync_to_async(checkpoint_wal, thread_sensitive=False)()
                last_checkpoint = now
        except Exception:
            log.exception("ticker")
        await asyncio.sleep(DUE_POLL_SECONDS)
