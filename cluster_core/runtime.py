"""Running the loops: by channel name for the Channels workers, or all together until converged.

Each loop module exposes `keys(playground) -> list[str]` (every unit it converges, for a resync) and
`reconcile(playground, key) -> int` (the number of writes it made; 0 means it found the unit converged).
`settle()` is what tests, benchmarks and a single step on the page use: run every loop until none writes,
advancing an injected `FakeClock` to the next stored due-time when asked to.
"""

from __future__ import annotations

import importlib
import logging

from . import clock, nudge
from .errors import Conflict
from .models import Playground, Pod

log = logging.getLogger(__name__)

MODULES = {
    nudge.NAMESPACE: "cluster_core.controllers.namespace",
    nudge.DEPLOYMENT: "cluster_core.controllers.deployment",
    nudge.REPLICASET: "cluster_core.controllers.replicaset",
    nudge.SCHEDULER: "cluster_core.controllers.scheduler",
    nudge.KUBELET: "cluster_core.controllers.kubelet",
    nudge.ENDPOINTS: "cluster_core.controllers.endpoints",
    nudge.GARBAGE_COLLECTOR: "cluster_core.controllers.garbage_collector",
}
ORDER = list(MODULES)


def loop(channel: str):
    return importlib.import_module(MODULES[channel])


def reconcile(channel: str, pg: Playground, key: str, retries: int = 3) -> int:
    """One reconcile, retried at once on a write conflict (another writer got there first: read again)."""
    mod = loop(channel)
    for attempt in range(retries):
        try:
            return mod.reconcile(pg, key)
        except Conflict:
            if attempt == retries - 1:
                log.info("%s %s: conflict, leaving it to the next resync", channel, key)
    return 0


def run_once(pg: Playground, channels=None) -> int:
    """Every loop looks once at every unit; returns how many writes were made."""
    writes = 0
    for channel in channels or ORDER:
        for key in loop(channel).keys(pg):
            writes += reconcile(channel, pg, key)
    return writes


def next_due(pg: Playground):
    return (
        Pod.objects.filter(playground=pg, requeue_at__isnull=False)
        .order_by("requeue_at")
        .values_list("requeue_at", flat=True)
        .first()
    )


def settle(pg: Playground, max_rounds: int = 500, advance_clock: bool = True, horizon: float = 600) -> int:
    """Run the loops until the cluster is converged. With a FakeClock, time jumps to each stored due-time.

    Time jumps at most `horizon` seconds past the start: a pod in ImagePullBackOff has a due-time forever.
    """
    rounds = 0
    fake = isinstance(clock.current(), clock.FakeClock)
    start = clock.now()
    while rounds < max_rounds:
        pg.refresh_from_db()
        rounds += 1
        if run_once(pg):
            continue
        due = next_due(pg)
        if due is None:
            break
        if due <= clock.now():
            continue
        if fake and advance_clock and (due - start).total_seconds() <= horizon:
            clock.current().set(due)
            continue
        break
    return rounds
