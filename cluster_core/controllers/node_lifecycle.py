"""Node lifecycle controller (inside kube-controller-manager), with its taint-based eviction.

Key: a node's name. A node whose machine is off (`Node.powered_off`, set by the page's failure buttons) posts no
status any more: once `node-monitor-grace-period` (50 s, scaled by the playground's tempo) has passed since the
controller noticed, its conditions become Unknown ("Kubelet stopped posting node status."), it gets the
`node.kubernetes.io/unreachable` taints (NoSchedule, and NoExecute with `timeAdded`) and its pods are marked not
Ready. Each pod on it that does not tolerate the NoExecute taint for ever is evicted when its toleration runs out:
`tolerationSeconds` of its matching toleration, or the 300 s the DefaultTolerationSeconds admission gives every
pod, scaled by tempo and counted from `timeAdded`. An evicted pod is deleted gracefully; with its kubelet gone it
stays Terminating until the node is back, while its ReplicaSet has already made a replacement elsewhere. When the
kubelet posts Ready again the taints come off.

Every wait is a stored due-time (`Node.lifecycle_due`, written by its own conditional UPDATE) that the ticker
wakes; nothing sleeps. Running `reconcile` twice changes nothing.
"""

from __future__ import annotations

import datetime as dt

from .. import clock, events, placement
from ..models import Node, Playground, Pod
from ..writes import Batch, stage_delete

ACTOR = "node-lifecycle-controller"
GRACE_SECONDS = 50  # --node-monitor-grace-period
DEFAULT_TOLERATION_SECONDS = 300  # --default-unreachable-toleration-seconds
UNREACHABLE = "node.kubernetes.io/unreachable"


def keys(pg: Playground) -> list[str]:
    """The nodes with something to look after: a machine that is off, a due-time, an unreachable taint left. A
    resync of a healthy cluster costs this one query; a change to any node nudges that node's key anyway."""
    out = []
    for name, spec, off, due in Node.objects.filter(playground=pg).order_by("name").values_list(
            "name", "spec", "powered_off", "lifecycle_due"):
        if off or due is not None or any(t.get("key") == UNREACHABLE for t in (spec or {}).get("taints") or []):
            out.append(name)
    return out


# ---------------------------------------------------------------------------------------------------------------
# Pure helpers


def ready_status(node: Node) -> str:
    for c in (node.status or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c.get("status", "Unknown")
    return "Unknown"


def unreachable_taints(node: Node) -> list[dict]:
    return [t for t in (node.spec or {}).get("taints") or [] if t.get("key") == UNREACHABLE]


def unknown_conditions(conditions: list[dict], now: str) -> list[dict]:
    """What the controller writes when the kubelet stopped posting (nodelifecycle's tryUpdateNodeHealth)."""
    out = []
    for c in conditions:
        out.append({**c, "status": "Unknown", "reason": "NodeStatusUnknown",
                    "message": "Kubelet stopped posting node status.", "lastTransitionTime": now})
    return out


def eviction_seconds(pod: Pod) -> float | None:
    """How long the pod may stay on an unreachable node; None: it tolerates the taint for ever."""
    taint = {"key": UNREACHABLE, "effect": "NoExecute"}
    matching = [t for t in (pod.spec or {}).get("tolerations") or []
                if isinstance(t, dict) and placement.tolerates(t, taint)]
    if not matching:
        return float(DEFAULT_TOLERATION_SECONDS)
    limits = [t.get("tolerationSeconds") for t in matching]
    if any(s is None for s in limits):
        return None
    return float(max(0, min(int(s) for s in limits)))


def evict_at(pg: Playground, pod: Pod, tainted_at: dt.datetime) -> dt.datetime | None:
    seconds = eviction_seconds(pod)
    return None if seconds is None else clock.due(pg.tempo, seconds, start=tainted_at)


# ---------------------------------------------------------------------------------------------------------------
# The loop


def _set_due(node: Node, due: dt.datetime | None) -> None:
    if node.lifecycle_due != due:
        Node.objects.filter(pk=node.pk).update(lifecycle_due=due)
        node.lifecycle_due = due


def reconcile(pg: Playground, key: str) -> int:
    node = Node.objects.filter(playground=pg, name=key).first()
    if node is None:
        return 0
    now = clock.now()
    b = Batch(pg, ACTOR)
    if not node.powered_off:
        _set_due(node, None)
        taints = unreachable_taints(node)
        if taints and ready_status(node) == "True":
            node.spec = {**node.spec, "taints": [t for t in node.spec.get("taints") or [] if t not in taints]}
            b.update(node, f"node lifecycle controller removed the {UNREACHABLE} taints from node {node.name}: "
                           "its kubelet posts Ready again")
        return b.commit()
    marking = False
    if ready_status(node) == "True":
        if node.lifecycle_due is None:
            _set_due(node, clock.due(pg.tempo, GRACE_SECONDS, start=now))
            return 0
        if node.lifecycle_due > now:
            return 0
        mark_unreachable(b, node, now)
        marking = True
    tainted_at = next((clock.parse_rfc3339(t.get("timeAdded")) for t in unreachable_taints(node)
                       if t.get("effect") == "NoExecute"), None) or now
    pending = []
    for pod in Pod.objects.filter(playground=pg, node_name=node.name, deletion_timestamp__isnull=True):
        at = evict_at(pg, pod, tainted_at)
        if at is None or at > now:
            if at is not None:
                pending.append(at)
            if marking:
                mark_not_ready(b, pod, node, now)
            continue
        stage_delete(b, pod, f"node lifecycle controller evicted pod {pod.key} from unreachable node {node.name} "
                             "(its toleration of the unreachable taint ran out)")
        b.create(events.new(pod, "TaintManagerEviction", f"Marking for deletion Pod {pod.key}", ACTOR),
                 f"node lifecycle controller recorded TaintManagerEviction on pod {pod.name}")
    _set_due(node, min(pending, default=None))
    return b.commit()


def mark_unreachable(b: Batch, node: Node, now: dt.datetime) -> None:
    stamp = clock.rfc3339(now)
    conditions = unknown_conditions((node.status or {}).get("conditions") or [], stamp)
    node.status = {**node.status, "conditions": conditions}
    kept = [t for t in (node.spec or {}).get("taints") or [] if t.get("key") != UNREACHABLE]
    node.spec = {**node.spec, "taints": [*kept, {"key": UNREACHABLE, "effect": "NoSchedule", "timeAdded": stamp},
                                         {"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": stamp}]}
    b.update(node, f"node lifecycle controller marked node {node.name} NotReady (Kubelet stopped posting node "
                   f"status) and tainted it {UNREACHABLE}")
    b.create(events.new(node, "NodeNotReady", f"Node {node.name} status is now: NodeNotReady", ACTOR),
             f"node lifecycle controller recorded NodeNotReady on node {node.name}")


def mark_not_ready(b: Batch, pod: Pod, node: Node, now: dt.datetime) -> None:
    stamp = clock.rfc3339(now)
    conds = [{**c, "status": "False", "lastTransitionTime": stamp} if c.get("type") == "Ready" else c
             for c in (pod.status or {}).get("conditions") or []]
    pod.status = {**pod.status, "conditions": conds}
    b.update(pod, f"node lifecycle controller marked pod {pod.name} not Ready: node {node.name} is unreachable")
