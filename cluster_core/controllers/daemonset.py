"""The DaemonSet controller.

Key: "namespace/name" of a DaemonSet ("*" — every DaemonSet of the playground — is what a Node change nudges).
Contract: every eligible node runs exactly one pod of the DaemonSet. A node is eligible when the pod, with the
tolerations the controller adds to every daemon pod, tolerates the node's NoSchedule and NoExecute taints and
matches its nodeSelector and required node affinity; a cordoned node is eligible (daemon pods tolerate
`node.kubernetes.io/unschedulable`). A missing pod is created already aimed at its node — a required node
affinity `matchFields metadata.name In [node]`, then the scheduler binds it — named `<ds>-<5 random chars>`,
labelled `controller-revision-hash` (a stable hash of the template) and `pod-template-generation`. Pods on nodes
that no longer fit (or no longer exist), failed pods and duplicates are deleted. With the RollingUpdate strategy
(maxUnavailable, no surge) a changed template replaces old pods node by node: an old pod is deleted while fewer
than maxUnavailable nodes lack an available pod, and its node gets the new pod once the old one is gone. Status
(desired/current/ready/available/updated/misscheduled counts, observedGeneration) is recomputed from the pods and
written only when it changed. `plan` and `compute_status` are pure; everything for one DaemonSet commits in one
batch.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from .. import clock, defaults, events, jsontext, names, placement
from ..models import DaemonSet, Node, Playground, Pod
from ..writes import Batch, stage_delete

# What can give this loop work: a resync skips it while no commit of these came (`workers.run_loop`).
WATCHES = frozenset({"DaemonSet", "Node", "Pod"})

ACTOR = "daemonset-controller"
HASH_LABEL = "controller-revision-hash"
GENERATION_LABEL = "pod-template-generation"

# What the controller adds to every daemon pod (AddOrUpdateDaemonPodTolerations): a daemon keeps running through
# node trouble and on a cordoned node.
DAEMON_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
]
HOST_NETWORK_TOLERATION = {"key": "node.kubernetes.io/network-unavailable", "operator": "Exists",
                           "effect": "NoSchedule"}


def keys(pg: Playground) -> list[str]:
    return [f"{ns}/{name}" for ns, name in DaemonSet.objects.filter(playground=pg).values_list("namespace", "name")]


# ---------------------------------------------------------------------------------------------------------------
# Pure helpers


def template(ds: DaemonSet) -> dict:
    return (ds.spec or {}).get("template") or {}


def template_hash(ds: DaemonSet) -> str:
    return names.pod_template_hash(template(ds))


def daemon_pod_spec(template_spec: dict, node_name: str) -> dict:
    """The template's pod spec as the controller creates it for one node: the daemon tolerations added and the
    required node affinity replaced by the node's name."""
    spec = jsontext.copy(template_spec or {})
    tolerations = [t for t in spec.get("tolerations") or [] if isinstance(t, dict)]
    extra = DAEMON_TOLERATIONS + ([HOST_NETWORK_TOLERATION] if spec.get("hostNetwork") else [])
    for t in extra:
        if not any(o.get("key") == t["key"] and o.get("effect") == t["effect"] for o in tolerations):
            tolerations.append(dict(t))
    spec["tolerations"] = tolerations
    spec["affinity"] = placement.pin_to_node(spec.get("affinity"), node_name)
    return spec


def node_taints(node: Node) -> list[dict]:
    """The node's taints, with the ones the node controllers would add for a cordoned or not-Ready node (the
    scheduler judges those conditions with the same keys)."""
    spec = node.spec or {}
    taints = [t for t in spec.get("taints") or [] if isinstance(t, dict)]
    if spec.get("unschedulable"):
        taints.append({"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"})
    ready = next((c.get("status") for c in (node.status or {}).get("conditions") or [] if c.get("type") == "Ready"),
                 "Unknown")
    if ready != "True":
        key = "node.kubernetes.io/not-ready" if ready == "False" else "node.kubernetes.io/unreachable"
        taints += [{"key": key, "effect": "NoSchedule"}, {"key": key, "effect": "NoExecute"}]
    return taints


def should_run(ds: DaemonSet, node: Node) -> tuple[bool, bool]:
    """(should run, should continue running) for the DaemonSet's pod on this node (NodeShouldRunDaemonPod): a
    new pod needs every NoSchedule and NoExecute taint tolerated; a running one is only evicted by a NoExecute
    taint. A node being deleted gets no new pod."""
    template_spec = template(ds).get("spec") or {}
    if not placement.matches_node_selector(template_spec, node.name, node.labels or {}):
        return False, False
    spec = daemon_pod_spec(template_spec, node.name)
    untolerated = [t for t in node_taints(node) if not placement.tolerated(spec, t)]
    if any(t.get("effect") == "NoExecute" for t in untolerated):
        return False, False
    fits = not any(t.get("effect") == "NoSchedule" for t in untolerated)
    return fits and node.deletion_timestamp is None, True


def target_node(pod: Pod) -> str:
    """The node a daemon pod belongs to: where it is bound, or where its affinity aims it."""
    return pod.node_name or placement.pinned_node(pod.spec or {})


def is_ready(pod: Pod) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.status or {}).get("conditions") or [])


def is_available(pod: Pod, min_ready_seconds: int, now: dt.datetime) -> bool:
    if not is_ready(pod):
        return False
    if min_ready_seconds <= 0:
        return True
    ready = next(c for c in (pod.status or {}).get("conditions") or [] if c.get("type") == "Ready")
    since = clock.parse_rfc3339(ready.get("lastTransitionTime"))
    return since is not None and since + dt.timedelta(seconds=min_ready_seconds) <= now


def oldest_first(pods: list[Pod]) -> list[Pod]:
    """Bound pods first, then by creation time and name (podByCreationTimestampAndPhase)."""
    return sorted(pods, key=lambda p: (not p.node_name, p.creation_timestamp, p.name))


def by_node(pods: list[Pod]) -> dict[str, list[Pod]]:
    out: dict[str, list[Pod]] = defaultdict(list)
    for pod in pods:
        out[target_node(pod)].append(pod)
    return out


def max_unavailable(ds: DaemonSet, desired: int) -> int:
    """`updateStrategy.rollingUpdate.maxUnavailable`: a number, or a percentage of the desired nodes rounded up;
    at least 1, since there is no surge."""
    value = (((ds.spec or {}).get("updateStrategy") or {}).get("rollingUpdate") or {}).get("maxUnavailable", 1)
    if isinstance(value, str) and value.endswith("%"):
        try:
            percent = int(value[:-1])
        except ValueError:
            return 1
        return max(1, -(-desired * percent // 100))
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return 1


@dataclass
class Plan:
    create: list[str] = field(default_factory=list)  # node names that get a new pod
    delete: list[tuple[Pod, str]] = field(default_factory=list)  # (pod, why)

    def __bool__(self) -> bool:
        return bool(self.create or self.delete)


def plan(ds: DaemonSet, nodes: list[Node], pods: list[Pod], now: dt.datetime) -> Plan:
    """What to create and delete, given every node and the DaemonSet's pods (`manage`, then, when that has nothing
    to do, one step of the rolling update)."""
    out = Plan()
    placed = by_node(pods)
    known = {n.name for n in nodes}
    for node in nodes:
        run, keep = should_run(ds, node)
        here = placed.get(node.name, [])
        live = [p for p in here if p.deletion_timestamp is None]
        if not keep:
            out.delete += [(p, f"node {node.name} no longer fits DaemonSet {ds.name}") for p in live]
        elif run and not here:
            # A terminating pod still counts as there: the new one comes when it is gone.
            out.create.append(node.name)
        else:
            running = []
            for p in live:
                if p.phase == "Failed":
                    out.delete.append((p, "it failed"))
                else:
                    running.append(p)
            for p in oldest_first(running)[1:]:
                out.delete.append((p, f"node {node.name} already runs an older pod of DaemonSet {ds.name}"))
    for node_name, here in sorted(placed.items()):
        if node_name not in known:
            out.delete += [(p, f"its node {node_name or '(none)'} does not exist")
                           for p in here if p.deletion_timestamp is None]
    if out or (((ds.spec or {}).get("updateStrategy") or {}).get("type", "RollingUpdate")) != "RollingUpdate":
        return out
    return rolling_update(ds, nodes, placed, now)


def rolling_update(ds: DaemonSet, nodes: list[Node], placed: dict[str, list[Pod]], now: dt.datetime) -> Plan:
    """Delete old pods while at most maxUnavailable nodes are without an available pod; an old pod that is not
    available is replaced at once, it cannot make things worse."""
    current = template_hash(ds)
    min_ready = int((ds.spec or {}).get("minReadySeconds") or 0)
    eligible = [n for n in nodes if should_run(ds, n)[0]]
    budget = max_unavailable(ds, len(eligible))
    unavailable = 0
    replace, candidates = [], []
    for node in eligible:
        live = [p for p in placed.get(node.name, []) if p.deletion_timestamp is None]
        if len(live) != 1:
            unavailable += 1  # no pod (or a duplicate being cleaned up): this node is down already
            continue
        pod = live[0]
        if (pod.labels or {}).get(HASH_LABEL) == current:
            if not is_available(pod, min_ready, now):
                unavailable += 1
        elif not is_available(pod, min_ready, now):
            replace.append(pod)
        elif unavailable < budget:
            candidates.append(pod)
    room = max(0, budget - unavailable)
    why = f"DaemonSet {ds.name} is rolling out a new template ({current})"
    return Plan(delete=[(p, why) for p in replace + candidates[:room]])


def pod_for_node(ds: DaemonSet, node_name: str, name: str, hash_: str) -> Pod:
    tmpl = template(ds)
    meta = tmpl.get("metadata") or {}
    pod = Pod(
        namespace=ds.namespace,
        name=name,
        generate_name=f"{ds.name}-",
        labels={**(meta.get("labels") or {}), HASH_LABEL: hash_, GENERATION_LABEL: str(ds.generation)},
        annotations=dict(meta.get("annotations") or {}),
        owner_references=[ds.controller_ref()],
        spec=daemon_pod_spec(tmpl.get("spec") or {}, node_name),
        creation_timestamp=clock.now(),
    )
    defaults.apply(pod)
    return pod


def compute_status(ds: DaemonSet, nodes: list[Node], pods: list[Pod], now: dt.datetime) -> dict:
    """The DaemonSet's status from the nodes and its pods (updateDaemonSetStatus; never incremented)."""
    current = template_hash(ds)
    min_ready = int((ds.spec or {}).get("minReadySeconds") or 0)
    placed = by_node([p for p in pods if not (p.deletion_timestamp and p.phase in ("Succeeded", "Failed"))])
    desired = scheduled = ready = available = updated = misscheduled = 0
    for node in nodes:
        run, _ = should_run(ds, node)
        here = placed.get(node.name)
        if not run:
            misscheduled += bool(here)
            continue
        desired += 1
        if not here:
            continue
        scheduled += 1
        pod = oldest_first(here)[0]
        if is_ready(pod):
            ready += 1
            available += is_available(pod, min_ready, now)
        updated += (pod.labels or {}).get(HASH_LABEL) == current
    status = {
        "currentNumberScheduled": scheduled,
        "numberMisscheduled": misscheduled,
        "desiredNumberScheduled": desired,
        "numberReady": ready,
        "observedGeneration": ds.generation,
        "updatedNumberScheduled": updated,
        "numberAvailable": available,
    }
    if desired - available:
        status["numberUnavailable"] = desired - available
    return status


# ---------------------------------------------------------------------------------------------------------------
# Reconcile


def reconcile(pg: Playground, key: str) -> int:
    namespace, name = key.split("/", 1)
    ds = DaemonSet.objects.filter(playground=pg, namespace=namespace, name=name).first()
    if ds is None:
        return 0
    now = clock.now()
    nodes = list(Node.objects.filter(playground=pg).order_by("name"))
    pods = list(Pod.objects.filter(playground=pg, namespace=namespace, controller_uid=ds.uid)
                .order_by("creation_timestamp", "name"))
    b = Batch(pg, ACTOR)
    created = 0
    # A DaemonSet being deleted only reports status; its pods are the garbage collector's business now.
    if ds.deletion_timestamp is None:
        todo = plan(ds, nodes, pods, now)
        known = {n.name for n in nodes}
        for pod, why in todo.delete:
            gone = stage_delete(b, pod, f"{ACTOR} deleted pod {pod.name} of DaemonSet {ds.name}: {why}",
                                node_gone=target_node(pod) not in known)
            _event(b, ds, "SuccessfulDelete", f"Deleted pod: {pod.name}")
            if gone:
                pods = [p for p in pods if p.pk != pod.pk]
        created = _create_pods(pg, b, ds, todo.create, pods)
    status = compute_status(ds, nodes, pods, now)
    # When pods are created the DaemonSet is written too: its resourceVersion check makes a concurrent reconcile
    # of the same DaemonSet conflict and retry instead of creating a second pod for the same node.
    if status != (ds.status or {}) or created:
        ds.status = status
        b.update(ds, f"{ACTOR} updated the status of DaemonSet {ds.name}: {status['desiredNumberScheduled']} "
                     f"desired, {status['currentNumberScheduled']} scheduled, {status['numberReady']} ready, "
                     f"{status['updatedNumberScheduled']} up to date",
                 {"desiredNumberScheduled": status["desiredNumberScheduled"],
                  "numberReady": status["numberReady"], "updatedNumberScheduled": status["updatedNumberScheduled"]})
    b.commit()
    return len(b)


def _create_pods(pg: Playground, b: Batch, ds: DaemonSet, node_names: list[str], pods: list[Pod]) -> int:
    """One pod per node named, within the playground's pod cap; the new pods join `pods`."""
    if not node_names:
        return 0
    room = max(0, pg.max_pods - Pod.objects.filter(playground=pg).count())
    prefix = f"{ds.name}-"
    taken = set(Pod.objects.filter(playground=pg, namespace=ds.namespace, name__startswith=prefix)
                .values_list("name", flat=True))
    hash_ = template_hash(ds)
    made = 0
    for node_name in node_names[:room]:
        name = prefix + names.random_suffix()
        while name in taken:
            name = prefix + names.random_suffix()
        taken.add(name)
        pod = pod_for_node(ds, node_name, name, hash_)
        b.create(pod, f"{ACTOR} created pod {name} of DaemonSet {ds.name} for node {node_name}",
                 {"daemonSet": ds.name, "node": node_name})
        _event(b, ds, "SuccessfulCreate", f"Created pod: {name}")
        pods.append(pod)
        made += 1
    return made


def _event(b: Batch, ds: DaemonSet, reason: str, message: str) -> None:
    b.create(events.new(ds, reason, message, ACTOR), f"{ACTOR} recorded {reason} on DaemonSet {ds.name}: {message}")
