"""What an idle playground costs, and when it goes.

A playground nobody writes to is converged: its loops have nothing to do until a write or a stored due-time
arrives, and both already wake them (the write's nudges, the ticker's due-time poll). So the periodic resync —
there to repair a lost nudge — looks at a playground every `ACTIVE_RESYNC_SECONDS` only while it is active (written to
in the last `ACTIVE_SECONDS`); an idle one gets a resync every `IDLE_RESYNC_SECONDS` (an hour), the idle ones spread over
the ticks so they never come all at once. The ticker asks every `RESYNC_SECONDS`; a class of sixty playgrounds all
written to at once costs the resync 60 × 14 looks per `ACTIVE_RESYNC_SECONDS`, not per tick (a loop also skips a
resync when no commit came since its last whole look: `cluster_core.workers`). A playground nobody used for `KUBEPLAY_IDLE_SECONDS` is removed with
everything it owns (the `default` one stays).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from . import clock
from .models import Playground

RESYNC_SECONDS = 5.0
ACTIVE_RESYNC_SECONDS = 30.0
ACTIVE_SECONDS = 60.0
IDLE_RESYNC_SECONDS = 3600.0
DEFAULT = "default"


@dataclass
class Seen:
    revision: int
    changed_at: float  # when its revision last moved (monotonic seconds); -inf: not since we started looking
    resynced_at: float


def plan_resync(rows: list[tuple[int, int]], seen: dict[int, Seen], now: float,
                fresh: frozenset[int] = frozenset()) -> list[int]:
    """The playgrounds (of `rows`: id, revision) to resync on this tick; `seen` is updated in place.

    Every playground is resynced the first time it is seen (a restart may have lost nudges), except those started
    since the ticker began (`fresh`: each was converged as it started); after that, while its revision moves and
    for `ACTIVE_SECONDS` after, once per `ACTIVE_RESYNC_SECONDS`; idle, once per `IDLE_RESYNC_SECONDS`, at most a
    tick's share of them per tick, the longest waiting first."""
    chosen, idle = [], []
    present = set()
    for pid, revision in rows:
        present.add(pid)
        s = seen.get(pid)
        if s is None:
            seen[pid] = Seen(revision, -math.inf, now)
            if pid not in fresh:
                chosen.append(pid)
            continue
        if s.revision != revision:
            s.revision, s.changed_at = revision, now
        if now - s.changed_at < ACTIVE_SECONDS:
            if now - s.resynced_at >= ACTIVE_RESYNC_SECONDS:
                s.resynced_at = now
                chosen.append(pid)
        elif now - s.resynced_at >= IDLE_RESYNC_SECONDS:
            idle.append((s.resynced_at, pid))
    for pid in set(seen) - present:
        del seen[pid]  # removed, or paused: looked at afresh when it comes back
    share = max(1, math.ceil(len(rows) * RESYNC_SECONDS / IDLE_RESYNC_SECONDS))
    for _at, pid in sorted(idle)[:share]:
        seen[pid].resynced_at = now
        chosen.append(pid)
    return chosen


def idle_limit() -> dt.timedelta:
    return dt.timedelta(seconds=float(getattr(settings, "KUBEPLAY_IDLE_SECONDS", 24 * 3600)))


def remove_idle(now: dt.datetime | None = None) -> int:
    """Remove the playgrounds nobody used for `idle_limit()`, with everything they own (the default one stays)."""
    cutoff = (now or clock.now()) - idle_limit()
    removed = 0
    for pk in Playground.objects.filter(last_active_at__lt=cutoff).exclude(slug=DEFAULT).values_list("pk", flat=True):
        with transaction.atomic():
            # Someone may have used it since the list was read: the condition is checked again in the DELETE.
            removed += bool(Playground.objects.filter(pk=pk, last_active_at__lt=cutoff).delete()[0])
    return removed
