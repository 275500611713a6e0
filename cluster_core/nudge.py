"""After-commit nudges: channel messages that only say "look at key K again".

They are at-most-once: a lost nudge is repaired by the periodic resync, so a full channel or a missing layer
is not an error. The feed group message tells watches and pages that new revisions exist.
"""

from __future__ import annotations

import logging
import threading
import time

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

log = logging.getLogger(__name__)

DEPLOYMENT = "deployment-controller"
REPLICASET = "replicaset-controller"
DAEMONSET = "daemonset-controller"
SCHEDULER = "kube-scheduler"
KUBELET = "kubelet"
ENDPOINTS = "endpoints-controller"
GARBAGE_COLLECTOR = "garbage-collector"
NAMESPACE = "namespace-controller"
NODE_LIFECYCLE = "node-lifecycle-controller"
SERVICEACCOUNT = "serviceaccount-controller"
JOB = "job-controller"
CRONJOB = "cronjob-controller"
STATEFULSET = "statefulset-controller"
# Not a Kubernetes component: the lessons' checks, evaluated after every commit of a playground with a lesson open.
LESSONS = "lesson-checker"

# What a lesson's checks can see (`cluster_core.lessons.checks`): Deployments, Services, Pods (the control plane's
# static pods too) and Nodes, and the facts the checker takes from the feed and from kube-proxy's access log — a
# request kube-proxy forwarded is committed as an Event. A commit of nothing else (a ReplicaSet's status, Endpoints,
# a Lease) cannot move a lesson.
LESSON_KINDS = frozenset({"Deployment", "Service", "Pod", "Node", "Event"})

LOOP_CHANNELS = [DEPLOYMENT, REPLICASET, DAEMONSET, SCHEDULER, KUBELET, ENDPOINTS, GARBAGE_COLLECTOR, NAMESPACE,
                 SERVICEACCOUNT, JOB, CRONJOB, STATEFULSET, NODE_LIFECYCLE, LESSONS]

# The loop that owns the stored due-times (`requeue_at`) of each kind kept in the shared table, keyed namespace/name.
DUE_CHANNELS = {"Job": JOB, "CronJob": CRONJOB}
# The loop that converges pods owned by each kind of controller, keyed namespace/owner (a ReplicationController is
# run by the ReplicaSet controller, as upstream does it).
OWNER_CHANNELS = {"ReplicaSet": REPLICASET, "DaemonSet": DAEMONSET, "Job": JOB, "StatefulSet": STATEFULSET,
                  "ReplicationController": REPLICASET}


def owner_key(kind: str, namespace: str, name: str) -> str:
    """The key of a controller's unit: `ns/name`; the ReplicaSet loop keys ReplicationControllers apart."""
    return f"ReplicationController:{namespace}/{name}" if kind == "ReplicationController" else f"{namespace}/{name}"

ENABLED = True

# While `settle()` drives the loops itself it listens here instead of on the channel layer.
_captured: list[set] = []


class capture:
    """Collect the nudges commits would send, as (channel, key) pairs, for an in-process driver."""

    def __enter__(self) -> set:
        _captured.append(set())
        return _captured[-1]

    def __exit__(self, *exc) -> None:
        _captured.pop()


_local = threading.local()


class quiet_loops:
    """Commits made in this thread inside the block send no loop nudges (the feed notice still goes out): the
    caller runs the loops itself (a new playground boots through `runtime.settle`), and the workers would only
    repeat that work."""

    def __enter__(self) -> None:
        _local.quiet = getattr(_local, "quiet", 0) + 1

    def __exit__(self, *exc) -> None:
        _local.quiet -= 1


def _loud() -> bool:
    return not getattr(_local, "quiet", 0)


def note(touched: list[dict]) -> None:
    if _captured:
        _captured[-1].update(targets_for(touched))


def feed_group(playground_id: int) -> str:
    return f"feed-{playground_id}"


def lessons_group(playground_id: int) -> str:
    """Who hears only that a playground's lesson progress moved (an instructor's console), not every commit."""
    return f"lessons-{playground_id}"


def targets_for(touched: list[dict]) -> set[tuple[str, str]]:
    """Which loops must look again, and at which key, after these changes."""
    out: set[tuple[str, str]] = set()
    if any(t["kind"] in LESSON_KINDS and not t.get("heartbeat") for t in touched):
        # A commit of what the lessons' checks look at may be the moment a step is reached.
        out.add((LESSONS, "*"))
    for t in touched:
        kind, ns, name, typ = t["kind"], t["namespace"], t["name"], t["type"]
        if typ == "DELETED":
            out.add((GARBAGE_COLLECTOR, ""))
        if kind == "Deployment":
            out.add((DEPLOYMENT, f"{ns}/{name}"))
        elif kind == "ReplicaSet":
            out.add((REPLICASET, f"{ns}/{name}"))
            if t.get("owner"):
                out.add((DEPLOYMENT, f"{ns}/{t['owner']}"))
        elif kind == "DaemonSet":
            out.add((DAEMONSET, f"{ns}/{name}"))
        elif kind in ("Job", "StatefulSet", "ReplicationController"):
            out.add((OWNER_CHANNELS[kind], owner_key(kind, ns, name)))
            if kind == "Job" and t.get("owner_kind") == "CronJob":
                out.add((CRONJOB, f"{ns}/{t['owner']}"))
        elif kind == "CronJob":
            out.add((CRONJOB, f"{ns}/{name}"))
        elif kind == "ServiceAccount":
            out.add((SERVICEACCOUNT, ns))
        elif kind == "Pod":
            channel = OWNER_CHANNELS.get(t.get("owner_kind") or "")
            if t.get("owner") and channel:
                out.add((channel, owner_key(t["owner_kind"], ns, t["owner"])))
            if not t.get("node") or typ == "DELETED":
                out.add((SCHEDULER, ""))
            if t.get("node"):
                out.add((KUBELET, t["node"]))
                if t.get("owner_kind") == "Node" and typ in ("ADDED", "DELETED"):
                    # A static control-plane pod came or went: the loops of that component stop or start.
                    out.update((ch, "*") for ch in LOOP_CHANNELS)
            out.add((ENDPOINTS, ""))
        elif kind == "Node" and t.get("heartbeat"):
            # Only the conditions' heartbeat times moved (the kubelet's periodic status post): as upstream's
            # DaemonSet controller and scheduler ignore such an update, only the node lifecycle controller, which
            # watches heartbeats, looks again.
            out.add((NODE_LIFECYCLE, name))
        elif kind == "Node":
            # Which nodes a DaemonSet belongs on depends on every node's labels, taints and existence.
            out.add((DAEMONSET, "*"))
            out.add((SCHEDULER, ""))
            out.add((KUBELET, name))
            out.add((NODE_LIFECYCLE, name))
        elif kind == "Service":
            out.add((ENDPOINTS, ""))
        elif kind == "Namespace":
            out.add((NAMESPACE, name))
            out.add((SERVICEACCOUNT, name))
        if t.get("deleting"):
            out.add((GARBAGE_COLLECTOR, ""))
    return out


def message(playground_id: int, key: str = "*", keys: list[str] | None = None, resync: bool = False) -> dict:
    """One nudge: look at `key` again, or at every key in `keys`. A `resync` one (the ticker's periodic look at
    every key) is there to repair a lost nudge, so a loop may skip it when no commit came since its last whole
    look."""
    if keys is not None:
        return {"type": "reconcile", "playground": playground_id, "keys": keys, "sent": time.time()}
    out = {"type": "reconcile", "playground": playground_id, "key": key, "sent": time.time()}
    if resync:
        out["resync"] = True
    return out


def messages(playground_id: int, targets, resync: bool = False) -> list[tuple[str, dict]]:
    """The messages for these targets: one per key, except that several nodes' kubelets get one message naming
    them all (the worker syncs them together and commits them in one transaction)."""
    nodes = sorted(k for ch, k in targets if ch == KUBELET and k != "*")
    if len(nodes) < 2:
        return [(ch, message(playground_id, k, resync=resync)) for ch, k in sorted(targets)]
    out = [(ch, message(playground_id, k, resync=resync)) for ch, k in sorted(targets) if ch != KUBELET or k == "*"]
    out.append((KUBELET, message(playground_id, keys=nodes)))
    return out


async def _send_all(playground_id: int, targets, revision: int, resync: bool = False,
                    kinds: list[str] | None = None) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    for channel, msg in messages(playground_id, targets, resync):
        try:
            await layer.send(channel, msg)
        except Exception as exc:  # a full or unreachable channel: the resync repairs it
            log.debug("nudge to %s dropped: %s", channel, exc)
    if not revision:
        return
    try:
        notice = {"type": "feed.changed", "revision": revision, "playground": playground_id}
        if kinds is not None:
            notice["kinds"] = kinds  # what the commit wrote: a watch of another kind need not read the feed
        await layer.group_send(feed_group(playground_id), notice)
    except Exception as exc:
        log.debug("feed notice dropped: %s", exc)


def send(playground_id: int, touched: list[dict], revision: int) -> None:
    if not ENABLED:
        return
    async_to_sync(_send_all)(playground_id, targets_for(touched) if _loud() else set(), revision,
                             kinds=sorted({t["kind"] for t in touched}))


def send_targets(playground_id: int, targets, revision: int = 0) -> None:
    if not ENABLED:
        return
    async_to_sync(_send_all)(playground_id, targets, revision)


def send_lessons_changed(playground_id: int, progress: dict | None = None, console: bool = True,
                         pages: bool = True) -> None:
    """Tell the pages of a playground that its lesson progress moved (they fetch their lesson panel again), and
    whoever listens for lesson moves only. `progress` is what moved, as saved: the lesson (`lesson`), its done
    steps (`done`: step → revision) and when the newest of them was committed (`at`, seconds since the epoch), so
    that a listener can show it without reading it back. `console`, `pages`: whom to tell (the lessons group, the
    feed group)."""
    if not ENABLED:
        return
    msg = {"type": "lessons.changed", "playground": playground_id, **(progress or {})}

    async def _send():
        layer = get_channel_layer()
        if layer is None:
            return
        for group in [lessons_group(playground_id)] * console + [feed_group(playground_id)] * pages:
            try:
                await layer.group_send(group, msg)
            except Exception as exc:
                log.debug("lessons notice dropped: %s", exc)

    async_to_sync(_send)()


def tempo_changed(playground_id: int, tempo: str, paused: bool) -> None:
    """Tell every open page of the playground the tempo now in force (the feed group carries it)."""
    if not ENABLED:
        return
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(feed_group(playground_id),
                                        {"type": "playground.tempo", "tempo": tempo, "paused": paused})
    except Exception as exc:
        log.debug("tempo notice dropped: %s", exc)
