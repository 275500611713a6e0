"""Running the loops: by channel name for the Channels workers, or all together until converged.

Each loop module exposes `keys(playground) -> list[str]` (every unit it converges, for a resync) and
`reconcile(playground, key) -> int` (the number of writes it made; 0 means it found the unit converged).
`settle()` is what tests, benchmarks and a single step on the page use: run every loop until none writes,
advancing an injected `FakeClock` to the next stored due-time when asked to.
"""

from __future__ import annotations

import importlib
import logging
import threading

from django.db.models import Q

from . import clock, gcpause, nudge
from .errors import AlreadyExists, Conflict, Paced
from .models import Node, Playground, Pod, StoredObject
from .rowreader import Prepared

log = logging.getLogger(__name__)

MODULES = {
    nudge.NAMESPACE: "cluster_core.controllers.namespace",
    nudge.DEPLOYMENT: "cluster_core.controllers.deployment",
    nudge.REPLICASET: "cluster_core.controllers.replicaset",
    nudge.DAEMONSET: "cluster_core.controllers.daemonset",
    nudge.SCHEDULER: "cluster_core.controllers.scheduler",
    nudge.KUBELET: "cluster_core.controllers.kubelet",
    nudge.ENDPOINTS: "cluster_core.controllers.endpoints",
    nudge.GARBAGE_COLLECTOR: "cluster_core.controllers.garbage_collector",
    nudge.SERVICEACCOUNT: "cluster_core.controllers.serviceaccount",
    nudge.CRONJOB: "cluster_core.controllers.cronjob",
    nudge.JOB: "cluster_core.controllers.job",
    nudge.STATEFULSET: "cluster_core.controllers.statefulset",
    nudge.NODE_LIFECYCLE: "cluster_core.controllers.node_lifecycle",
    # Last: it looks at what the loops before it made of the round.
    nudge.LESSONS: "cluster_core.lessons.checker",
}
ORDER = list(MODULES)

# The control-plane component each loop runs in. A component whose static pod is gone from its node (its
# manifest moved out of /etc/kubernetes/manifests) runs no loop at all until the pod is back.
COMPONENT_OF = {
    nudge.SCHEDULER: "kube-scheduler",
    **{ch: "kube-controller-manager" for ch in (nudge.DEPLOYMENT, nudge.REPLICASET, nudge.DAEMONSET,
                                                  nudge.ENDPOINTS, nudge.GARBAGE_COLLECTOR, nudge.NAMESPACE,
                                                  nudge.NODE_LIFECYCLE, nudge.SERVICEACCOUNT, nudge.JOB,
                                                  nudge.CRONJOB, nudge.STATEFULSET)},
}


_CONTROL_PLANE_PODS = Prepared(lambda pg_id: Pod.objects.filter(
    Q(name__startswith="kube-scheduler-") | Q(name__startswith="kube-controller-manager-")
    | Q(name__startswith="kube-apiserver-"), playground_id=pg_id, namespace="kube-system",
    deletion_timestamp__isnull=True).values_list("name", flat=True))


def component_running(pg: Playground, component: str) -> bool:
    """Whether the component runs: its static pod (`kube-scheduler-k8s-master` in kube-system) is there, or the
    cluster has no static control-plane pods at all (no kube-apiserver pod: a bare test cluster). Read once per
    revision of the playground: only a write can stop or start a component."""
    key = (pg.pk, pg.token, pg.revision)
    found = _RUNNING.get(key)
    if found is None:
        if len(_RUNNING) > 1000:
            _RUNNING.clear()
        names = _CONTROL_PLANE_PODS(pg.pk)
        found = _RUNNING[key] = {c for c in ("kube-scheduler", "kube-controller-manager", "kube-apiserver")
                                 if any(n.startswith(f"{c}-") for n in names)}
    return component in found or "kube-apiserver" not in found


_RUNNING: dict[tuple[int, str, int], set[str]] = {}


_unfinished = threading.local()


def take_unfinished() -> bool:
    """Whether a look in this thread, since the last call, left something undone on purpose (held back by the
    pacing gate, or a write conflict left to the next look); clears the mark."""
    was = getattr(_unfinished, "set", False)
    _unfinished.set = False
    return was


def _left_undone() -> None:
    _unfinished.set = True


def loop(channel: str):
    return importlib.import_module(MODULES[channel])


def reconcile(channel: str, pg: Playground, key: str, retries: int = 3) -> int:
    """One reconcile, retried at once on a write conflict (another writer got there first: read again). Creating
    what another worker has just created (AlreadyExists, the other 409) is the same race."""
    mod = loop(channel)
    for attempt in range(retries):
        try:
            return mod.reconcile(pg, key)
        except Paced as held:
            # Held back by the classroom tempo or the pause: the loop looks again when the gate opens.
            _left_undone()
            return held.writes
        except (Conflict, AlreadyExists):
            if attempt == retries - 1:
                _left_undone()
                log.info("%s %s: conflict, leaving it to the next resync", channel, key)
    return 0


def reconcile_keys(channel: str, pg: Playground, keys: list[str]) -> int:
    """Several units of one loop. The kubelets of several nodes sync together and group-commit
    (`kubelet.reconcile_nodes`); every other loop looks at one key after the other."""
    component = COMPONENT_OF.get(channel)
    if component and keys and not component_running(pg, component):
        return 0
    with gcpause.paused():
        if channel == nudge.KUBELET and len(keys) > 1:
            try:
                return loop(channel).reconcile_nodes(pg, keys)
            except Paced as held:
                _left_undone()
                return held.writes
        return sum(reconcile(channel, pg, key) for key in keys)


def run_once(pg: Playground, channels=None) -> int:
    """Every loop looks once at every unit; returns how many writes were made."""
    writes = 0
    for channel in channels or ORDER:
        writes += reconcile_keys(channel, pg, loop(channel).keys(pg))
    return writes


def run_round(pg: Playground, targets: set[tuple[str, str]] | None, nudged: set[tuple[str, str]]) -> int:
    """One round of `settle`: loop by loop in the usual order, the units in `targets` (every unit when None) and
    those nudged earlier in this same round. A nudge that arrives before a loop's turn is served by that turn, as
    a worker finds it queued with the others; what is nudged after a loop's turn (by a later loop, or by its own
    writes) stays in `nudged` for the next round."""
    writes = 0
    for channel in ORDER:
        early = {k for ch, k in nudged if ch == channel}
        nudged.difference_update((channel, k) for k in early)
        wanted = {k for ch, k in targets if ch == channel} if targets is not None else {"*"}
        if "*" in wanted or "*" in early:
            every = loop(channel).keys(pg)
            keys = every + sorted((wanted | early) - set(every) - {"*"})
        else:
            keys = sorted(wanted | early)
        writes += reconcile_keys(channel, pg, keys)
    return writes


def due_targets(pg: Playground) -> set[tuple[str, str]]:
    """Kubelets whose pods have a stored due-time that has arrived (what the ticker wakes)."""
    # Pods on a machine that is off wait for it: nobody is there to act on their due-times.
    off = set(Node.objects.filter(playground=pg, powered_off=True).values_list("name", flat=True))
    nodes = set(
        Pod.objects.filter(playground=pg, requeue_at__lte=clock.now())
        .values_list("node_name", flat=True)
        .distinct()
    ) - off
    out = {(nudge.KUBELET, n) if n else (nudge.SCHEDULER, "") for n in nodes}
    out.update((nudge.NODE_LIFECYCLE, n) for n in Node.objects.filter(playground=pg, lifecycle_due__lte=clock.now())
               .values_list("name", flat=True))
    return out | stored_due_targets(pg.pk)


def stored_due_targets(playground_id: int | None = None) -> set[tuple[str, str]] | dict[int, set]:
    """The controllers whose stored objects (a CronJob's next schedule, a Job's back-off) are due: for one
    playground, or by playground (those not paused) when none is given."""
    qs = StoredObject.objects.filter(requeue_at__lte=clock.now(), kind__in=list(nudge.DUE_CHANNELS))
    if playground_id is not None:
        qs = qs.filter(playground_id=playground_id)
    else:
        qs = qs.filter(playground__paused=False)
    by_pg: dict[int, set] = {}
    for pid, kind, ns, name in qs.values_list("playground_id", "kind", "namespace", "name"):
        by_pg.setdefault(pid, set()).add((nudge.DUE_CHANNELS[kind], f"{ns}/{name}"))
    return by_pg.get(playground_id, set()) if playground_id is not None else by_pg


def next_due(pg: Playground):
    off = list(Node.objects.filter(playground=pg, powered_off=True).values_list("name", flat=True))
    pods = (
        Pod.objects.filter(playground=pg, requeue_at__isnull=False)
        .exclude(node_name__in=off)
        .order_by("requeue_at")
        .values_list("requeue_at", flat=True)
        .first()
    )
    nodes = (
        Node.objects.filter(playground=pg, lifecycle_due__isnull=False)
        .order_by("lifecycle_due")
        .values_list("lifecycle_due", flat=True)
        .first()
    )
    stored = (
        StoredObject.objects.filter(playground=pg, requeue_at__isnull=False)
        .order_by("requeue_at")
        .values_list("requeue_at", flat=True)
        .first()
    )
    due = min((d for d in (pods, nodes, stored) if d is not None), default=None)
    # At the classroom tempo no loop writes before the gate opens, whatever is due before.
    gate = pg.write_after if pg.tempo == "classroom" and not pg.paused and pg.write_after else None
    if gate is not None and gate > clock.now():
        return gate
    return due


def single_step(pg: Playground) -> int:
    """One single step while paused: exactly one loop makes exactly one write, the loops asked in the order the
    control plane reacts (controllers, then the scheduler, then the kubelets …). When none wants to write yet
    because what comes next waits for a stored due-time (an image pull), that time is brought forward: a step is
    the next thing that happens. Returns the number of writes (1, or 0 when the cluster is converged)."""
    Playground.objects.filter(pk=pg.pk).update(paused=True, steps=1)
    try:
        for _ in range(2):
            pg.refresh_from_db()
            for channel in ORDER:
                for key in loop(channel).keys(pg):
                    wrote = reconcile_keys(channel, pg, [key])
                    if wrote:
                        return wrote
            due = Pod.objects.filter(playground=pg, requeue_at__gt=clock.now()).order_by("requeue_at").first()
            if due is None:
                return 0
            Pod.objects.filter(pk=due.pk).update(requeue_at=clock.now())
        return 0
    finally:
        Playground.objects.filter(pk=pg.pk).update(steps=0)


def settle(pg: Playground, max_rounds: int = 500, advance_clock: bool = True, horizon: float = 600,
           after_round=None, targets: set[tuple[str, str]] | None = None, confirm: bool = True) -> int:
    """Run the loops until the cluster is converged. With a FakeClock, time jumps to each stored due-time.

    Time jumps at most `horizon` seconds past the start: a pod in ImagePullBackOff has a due-time forever.
    `after_round(pg)`, if given, is called after every round (an observer: it must not write). `targets`, if
    given, are the (loop, key) nudges to start from — what a write nudged, as the workers receive it — instead
    of a first full look. `confirm=False` leaves out the final full look (a caller that knows every write's
    nudges were followed: the resync does that look later).
    """
    rounds = 0
    fake = isinstance(clock.current(), clock.FakeClock)
    start = clock.now()
    # Like the workers: after a first full look (or the nudges given), only the units that commits nudged (and
    # kubelets whose due-times arrived); when nothing is left, one full look (the resync) confirms the cluster
    # is converged.
    with nudge.capture() as nudged:
        while rounds < max_rounds:
            pg.refresh_from_db()
            rounds += 1
            nudged.clear()
            wrote = run_round(pg, targets, nudged)
            if after_round is not None:
                after_round(pg)
            if wrote:
                targets = set(nudged) | due_targets(pg)
                continue
            if targets is not None and confirm:
                targets = None
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
