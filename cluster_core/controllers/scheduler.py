"""kube-scheduler: places pending pods on nodes.

Key "" is the playground's scheduling queue. One reconcile is one scheduling cycle over every pending pod
(no `nodeName`, not terminating, `schedulerName: default-scheduler`) in creation order, written in one Batch.
For each pod every node goes through the filters `fits_<rule>(pod, node, state) -> reason | None` (the first
reason rejects the node), the survivors are ranked by the scorers `score_<rule>(pod, node, state) -> 0..100`
(weighted sum; ties go to the first node by name), and the pod is bound: `spec.nodeName`, condition
PodScheduled True and a `Scheduled` event. Pods placed earlier in the cycle count against later ones. A pod no
node fits gets PodScheduled False / Unschedulable and a `FailedScheduling` event, written only when the message
changes, so a resync that finds nothing new writes nothing. Any node or pod change nudges the queue again.
"""

from __future__ import annotations

import functools
import math
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction

from .. import clock, events, placement
from ..models import Node, Playground, Pod
from ..writes import Batch

# What can give this loop work: a resync skips it while no commit of these came (`workers.run_loop`).
WATCHES = frozenset({"Node", "Pod"})

ACTOR = "kube-scheduler"
COMPONENT = "default-scheduler"

# The real scheduler's defaults for containers without requests, used only for scoring.
DEFAULT_CPU_MILLIS = 100
DEFAULT_MEMORY = 200 * 1024 * 1024

TERMINAL = ("Succeeded", "Failed")


# ---------------------------------------------------------------------------------------------------------------
# Quantities

_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$")
_SUFFIX = {
    "": 1, "n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000), "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
}


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> Fraction:
    m = _QUANTITY.match(text.strip())
    if not m or m.group(2) not in _SUFFIX:
        return Fraction(0)
    try:
        return Fraction(m.group(1)) * _SUFFIX[m.group(2)]
    except (ValueError, ZeroDivisionError):
        return Fraction(0)


def parse_quantity(text) -> Fraction:
    """A resource.Quantity (`100m`, `0.5`, `70Mi`, `4026512Ki`, `1e3`) as an exact number; junk counts as 0."""
    # A cycle over a thousand pods and fifty nodes parses the same few strings again and again.
    return _parse(str(text))


def cpu_millis(text) -> int:
    return math.ceil(parse_quantity(text) * 1000)


def memory_bytes(text) -> int:
    return math.ceil(parse_quantity(text))


@dataclass(frozen=True)
class Requests:
    cpu: int = 0  # millicores
    memory: int = 0  # bytes


def pod_requests(pod: Pod, non_zero: bool = False) -> Requests:
    """What the pod asks for: the sum over containers, or the largest init container if that is more.

    With `non_zero`, a container without a request counts as 100m / 200Mi, as the real scheduler scores.
    Computed once per pod object: a cycle asks for it once per node.
    """
    cache = pod.__dict__.setdefault("_requests", {})
    if non_zero not in cache:
        cache[non_zero] = _pod_requests(pod, non_zero)
    return cache[non_zero]


def _pod_requests(pod: Pod, non_zero: bool) -> Requests:

    def one(c: dict) -> Requests:
        req = (c.get("resources") or {}).get("requests") or {}
        cpu = cpu_millis(req["cpu"]) if "cpu" in req else (DEFAULT_CPU_MILLIS if non_zero else 0)
        mem = memory_bytes(req["memory"]) if "memory" in req else (DEFAULT_MEMORY if non_zero else 0)
        return Requests(cpu, mem)

    spec = pod.spec or {}
    main = [one(c) for c in spec.get("containers") or [] if isinstance(c, dict)]
    init = [one(c) for c in spec.get("initContainers") or [] if isinstance(c, dict)]
    cpu = max([sum(r.cpu for r in main)] + [r.cpu for r in init])
    mem = max([sum(r.memory for r in main)] + [r.memory for r in init])
    return Requests(cpu, mem)


# ---------------------------------------------------------------------------------------------------------------
# The cycle's view of the nodes


@dataclass
class NodeInfo:
    """What is already placed on one node (the scheduler's NodeInfo)."""

    node: Node
    requested: Requests = field(default_factory=Requests)
    non_zero: Requests = field(default_factory=Requests)
    pods: int = 0
    owners: Counter = field(default_factory=Counter)
    # Bumped by every pod added: a filter or score computed at an older version is stale.
    version: int = 0

    def add(self, pod: Pod) -> None:
        self.version += 1
        r, nz = pod_requests(pod), pod_requests(pod, non_zero=True)
        self.requested = Requests(self.requested.cpu + r.cpu, self.requested.memory + r.memory)
        self.non_zero = Requests(self.non_zero.cpu + nz.cpu, self.non_zero.memory + nz.memory)
        self.pods += 1
        if pod.controller_uid:
            self.owners[pod.controller_uid] += 1

    def allocatable(self) -> tuple[int, int, int]:
        if "_alloc" not in self.__dict__:
            alloc = (self.node.status or {}).get("allocatable") or (self.node.status or {}).get("capacity") or {}
            self._alloc = (cpu_millis(alloc.get("cpu", 0)), memory_bytes(alloc.get("memory", 0)),
                           int(alloc.get("pods", 0) or 0))
        return self._alloc


@dataclass
class CycleState:
    """Every node's NodeInfo for one scheduling cycle; binding a pod adds it to its node."""

    nodes: dict[str, NodeInfo]
    # The most pods any one node has of each owner, kept as pods are added (the spread score's denominator).
    most: Counter = field(default_factory=Counter)
    static: dict = field(default_factory=dict)
    # Per class of equivalent pods, per node: (node version, owner's most, filter reason, score row).
    results: dict = field(default_factory=dict)

    def info(self, node: Node) -> NodeInfo:
        return self.nodes[node.name]

    def bind(self, pod: Pod, node: Node) -> None:
        info = self.nodes[node.name]
        info.add(pod)
        if pod.controller_uid:
            self.most[pod.controller_uid] = max(self.most[pod.controller_uid], info.owners[pod.controller_uid])


def snapshot(nodes: list[Node], placed: list[Pod]) -> CycleState:
    state = CycleState({n.name: NodeInfo(n) for n in nodes})
    for pod in placed:
        if pod.node_name in state.nodes:
            state.bind(pod, state.nodes[pod.node_name].node)
    return state


# ---------------------------------------------------------------------------------------------------------------
# Filters: a reason (the phrase the real scheduler counts in "0/3 nodes are available: ...") or None


def _tolerated(pod: Pod, taint: dict) -> bool:
    return placement.tolerated(pod.spec or {}, taint)


def _taint_reason(taint: dict) -> str:
    return f"node(s) had untolerated taint {{{taint.get('key', '')}: {taint.get('value', '')}}}"


def fits_unschedulable(pod: Pod, node: Node, state: CycleState) -> str | None:
    if not (node.spec or {}).get("unschedulable"):
        return None
    if _tolerated(pod, {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}):
        return None
    return "node(s) were unschedulable"


def node_ready(node: Node) -> str:
    for c in (node.status or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c.get("status", "Unknown")
    return "Unknown"


def fits_node_ready(pod: Pod, node: Node, state: CycleState) -> str | None:
    # The node lifecycle controller would taint a node that is not Ready; we judge the condition directly,
    # with the same taint keys, so a DaemonSet-style toleration still lets a pod through.
    ready = node_ready(node)
    if ready == "True":
        return None
    key = "node.kubernetes.io/not-ready" if ready == "False" else "node.kubernetes.io/unreachable"
    taint = {"key": key, "effect": "NoSchedule"}
    return None if _tolerated(pod, taint) else _taint_reason(taint)


def fits_taints(pod: Pod, node: Node, state: CycleState) -> str | None:
    for taint in (node.spec or {}).get("taints") or []:
        if taint.get("effect") not in ("NoSchedule", "NoExecute"):
            continue  # PreferNoSchedule only lowers a score in the real scheduler
        if not _tolerated(pod, taint):
            return _taint_reason(taint)
    return None


def fits_node_affinity(pod: Pod, node: Node, state: CycleState) -> str | None:
    if placement.matches_node_selector(pod.spec or {}, node.name, node.labels or {}):
        return None
    return "node(s) didn't match Pod's node affinity/selector"


def fits_resources(pod: Pod, node: Node, state: CycleState) -> str | None:
    info = state.info(node)
    cpu, memory, pods = info.allocatable()
    want = pod_requests(pod)
    reasons = []
    if info.pods + 1 > pods:
        reasons.append("Too many pods")
    if want.cpu and info.requested.cpu + want.cpu > cpu:
        reasons.append("Insufficient cpu")
    if want.memory and info.requested.memory + want.memory > memory:
        reasons.append("Insufficient memory")
    return ", ".join(reasons) or None


# In the real scheduler's plugin order; the first reason rejects the node.
FILTERS = (fits_unschedulable, fits_node_ready, fits_taints, fits_node_affinity, fits_resources)
# These look only at the pod's spec and the node, so within a cycle their answer for one pod of a ReplicaSet is
# the answer for all its pods (the real scheduler caches equivalent pods the same way).
STATIC_FILTERS = FILTERS[:-1]


def owner_class(pod: Pod) -> tuple | None:
    """Pods that get the same answer from the static filters: the pods of one owner, except that a DaemonSet's
    pods each name their own node in their affinity, so the node they are pinned to is part of the class."""
    if not pod.controller_uid:
        return None
    if "_pinned" not in pod.__dict__:
        pod._pinned = placement.pinned_node(pod.spec or {})
    return pod.controller_uid, pod._pinned


def filter_reason(pod: Pod, node: Node, state: CycleState) -> str | None:
    owner = owner_class(pod)
    key = (*owner, node.name) if owner else None
    if key is not None and key in state.static:
        reason = state.static[key]
    else:
        reason = next((r for rule in STATIC_FILTERS if (r := rule(pod, node, state))), None)
        if key is not None:
            state.static[key] = reason
    return reason or fits_resources(pod, node, state)


# ---------------------------------------------------------------------------------------------------------------
# Scorers: 0..100, higher is better


def score_least_allocated(pod: Pod, node: Node, state: CycleState) -> int:
    info = state.info(node)
    cpu, memory, _ = info.allocatable()
    want = pod_requests(pod, non_zero=True)

    def free(requested: int, allocatable: int) -> float:
        if allocatable <= 0 or requested > allocatable:
            return 0.0
        return (allocatable - requested) * 100 / allocatable

    return int((free(info.non_zero.cpu + want.cpu, cpu) + free(info.non_zero.memory + want.memory, memory)) / 2)


def score_spread(pod: Pod, node: Node, state: CycleState) -> int:
    """Fewer pods of the same owner on the node is better (SelectorSpread's formula)."""
    if not pod.controller_uid:
        return 100
    most = state.most[pod.controller_uid]
    if most == 0:
        return 100
    return int(100 * (most - state.info(node).owners[pod.controller_uid]) / most)


# Weights as in the default profile: topology spreading counts twice a resource score.
SCORERS = ((score_least_allocated, 1), (score_spread, 2))
SCORE_NAMES = {score_least_allocated: "least_allocated", score_spread: "spread"}
_SCORERS = tuple((s, w, SCORE_NAMES[s]) for s, w in SCORERS)


# ---------------------------------------------------------------------------------------------------------------
# One pod's decision (pure)


# How many runners-up the change feed keeps beside the chosen node (the page's "Why?" panel shows them).
ALTERNATIVES = 3


@dataclass
class Decision:
    filtered: dict[str, str]
    scores: dict[str, dict[str, int]]
    chosen: str | None
    # The nodes that shared the best total, when more than one did: the chosen one was picked among them at random.
    tied: list[str] = field(default_factory=list)

    def detail(self) -> dict:
        """What the feed keeps of the decision: every rejected node with its reason, the chosen node's scores and
        the best alternatives. With many feasible nodes the others are left out (`feasible` counts them all),
        but the rows kept always answer the questions `why()` asks the same way as all rows would: the lowest
        total shows whether everything tied, and a node with at least the chosen one's spread score shows it
        did not win on spreading alone."""
        scores = self.scores
        if self.chosen is not None and len(scores) > ALTERNATIVES + 1:
            mine = scores[self.chosen]
            # Best total first, then by name: plain tuples sort without a key function.
            ranked = sorted([(-row["total"], n) for n, row in scores.items() if n != self.chosen])
            keep = {self.chosen, *(n for _, n in ranked[:ALTERNATIVES]), ranked[-1][1]}
            spread = mine["spread"]
            keep.update(next(([n] for _, n in ranked if scores[n]["spread"] >= spread), []))
            scores = {n: scores[n] for n in sorted(keep)}
        out = {"filtered": self.filtered, "scores": scores, "chosen": self.chosen, "feasible": len(self.scores),
               "weights": {name: weight for _, weight, name in _SCORERS}}
        if self.tied:
            out["tied"] = self.tied
        return out


def equivalence(pod: Pod) -> tuple | None:
    """Pods of one owner asking for the same resources get the same answers from every filter and scorer on a
    node in the same state (the old scheduler's equivalence cache): a cycle over a thousand replicas re-evaluates
    only the nodes whose state changed since the previous replica."""
    owner = owner_class(pod)
    if owner is None:
        return None
    return owner, pod_requests(pod), pod_requests(pod, non_zero=True)


def evaluate(pod: Pod, node: Node, state: CycleState) -> tuple[str | None, dict[str, int] | None]:
    """The node's filter reason, or its score row when it fits."""
    reason = filter_reason(pod, node, state)
    if reason:
        return reason, None
    row = {}
    total = 0
    for scorer, weight, name in _SCORERS:
        row[name] = value = scorer(pod, node, state)
        total += value * weight
    row["total"] = total
    return None, row


def decide(pod: Pod, nodes: list[Node], state: CycleState) -> Decision:
    key = equivalence(pod)
    known = state.results.setdefault(key, {}) if key is not None else {}
    # The spread score of every node depends on the most pods any node has of this owner.
    most = state.most[pod.controller_uid] if pod.controller_uid else 0
    filtered: dict[str, str] = {}
    scores: dict[str, dict[str, int]] = {}
    best, best_total = None, -1
    ties: list[str] = []
    infos = state.nodes
    for node in nodes:
        name = node.name
        version = infos[name].version
        hit = known.get(name)
        if hit is None or hit[0] != version or hit[1] != most:
            hit = known[name] = (version, most, *evaluate(pod, node, state))
        reason, row = hit[2], hit[3]
        if reason:
            filtered[name] = reason
            continue
        scores[name] = row
        total = row["total"]
        if total > best_total:
            best, best_total, ties = name, total, [name]
        elif total == best_total:
            ties.append(name)
    if len(ties) > 1:
        # As the real scheduler does, a tie is broken at random; the generator is seeded with the pod's uid, so
        # the same pod in the same cluster is placed the same way again (a replay, a test).
        best = tie_breaker(pod).choice(sorted(ties))
        return Decision(filtered, scores, best, sorted(ties))
    return Decision(filtered, scores, best)


def tie_breaker(pod: Pod) -> random.Random:
    return random.Random(f"{pod.uid}/{pod.name}")


_TAINT = re.compile(r"untolerated taint \{(?P<key>[^:]*): (?P<value>[^}]*)\}")


def _plain(reason: str) -> str:
    """`node(s) had untolerated taint {k: }` → `untolerated taint k`: the counted phrase, said of one node."""
    text = reason.replace("node(s) had ", "").replace("node(s) were ", "").replace("node(s) ", "")
    return _TAINT.sub(lambda m: f"untolerated taint {m['key']}" + (f"={m['value']}" if m["value"] else ""), text)


def why(d: Decision, owner: str = "") -> str:
    """The decision in plain words: why the chosen node won, and why the others were rejected."""
    chosen = d.scores[d.chosen]
    others = [row for name, row in d.scores.items() if name != d.chosen]
    if not others:
        because = "the only node that fits"
    elif all(row["total"] == chosen["total"] for row in others):
        because = "tied with the others, picked at random (seeded with the pod's uid)"
    elif all(row["spread"] < chosen["spread"] for row in others):
        because = f"fewest pods of {owner or 'the same owner'}"
    else:
        because = "most free CPU and memory"
    rejected = "; ".join(f"{name} rejected: {_plain(reason)}" for name, reason in sorted(d.filtered.items()))
    return f"{because}; {rejected}" if rejected else because


def fit_error(d: Decision, total: int) -> str:
    """The message the real scheduler puts in FailedScheduling, reasons counted and sorted like FitError."""
    counts: Counter = Counter()
    preemption: Counter = Counter()
    for reason in d.filtered.values():
        parts = reason.split(", ")
        counts.update(parts)
        # Evicting lower-priority pods can free resources, but can never remove a taint or a label mismatch.
        resources = all(p.startswith(("Insufficient", "Too many")) for p in parts)
        preemption["No preemption victims found for incoming pod" if resources
                   else "Preemption is not helpful for scheduling"] += 1
    head = f"0/{total} nodes are available"
    reasons = ", ".join(sorted(f"{n} {r}" for r, n in counts.items()))
    tail = ", ".join(sorted(f"{n} {r}" for r, n in preemption.items()))
    if not reasons:
        return f"{head}: no nodes available to schedule pods."
    return f"{head}: {reasons}. preemption: {head}: {tail}."


# ---------------------------------------------------------------------------------------------------------------
# The loop


def keys(pg: Playground) -> list[str]:
    return [""]


def _set_condition(pod: Pod, status: str, reason: str = "", message: str = "") -> None:
    now = clock.rfc3339(clock.now())
    cond = {"type": "PodScheduled", "status": status, "lastProbeTime": None, "lastTransitionTime": now}
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    st = dict(pod.status or {})
    conds = [c for c in st.get("conditions") or [] if c.get("type") != "PodScheduled"]
    st["conditions"] = [*conds, cond]
    st.setdefault("phase", "Pending")
    pod.status = st


def _scheduled_condition(pod: Pod) -> dict:
    return next((c for c in (pod.status or {}).get("conditions") or [] if c.get("type") == "PodScheduled"), {})


def _owner(pod: Pod) -> str:
    ref = next((r for r in pod.owner_references or [] if r.get("controller")), None)
    return f"{ref.get('kind', '').lower()} {ref.get('name', '')}" if ref else ""


def reconcile(pg: Playground, key: str = "") -> int:
    pending = [
        p for p in Pod.objects.filter(playground=pg).pending().order_by("creation_timestamp", "id")
        if (p.spec or {}).get("schedulerName", COMPONENT) == COMPONENT
    ]
    if not pending:
        return 0
    nodes = list(Node.objects.filter(playground=pg).live().order_by("name"))
    placed = Pod.objects.filter(playground=pg).exclude(node_name="").exclude(phase__in=TERMINAL)
    state = snapshot(nodes, list(placed.only("node_name", "spec", "controller_uid")))
    b = Batch(pg, ACTOR)
    for pod in pending:
        d = decide(pod, nodes, state)
        if d.chosen:
            node = state.nodes[d.chosen].node
            pod.spec = {**pod.spec, "nodeName": node.name}
            _set_condition(pod, "True")
            state.bind(pod, node)
            b.update(pod, f"kube-scheduler bound pod {pod.name} to {node.name}: {why(d, _owner(pod))}", d.detail())
            assigned = f"Successfully assigned {pod.namespace}/{pod.name} to {node.name}"
            b.create(events.new(pod, "Scheduled", assigned, COMPONENT),
                     f"kube-scheduler recorded Scheduled on pod {pod.name}: {assigned}")
            continue
        message = fit_error(d, len(nodes))
        if _scheduled_condition(pod).get("message") == message:
            continue  # nothing new to tell: no event spam on every resync
        _set_condition(pod, "False", "Unschedulable", message)
        b.update(pod, f"kube-scheduler could not place pod {pod.name}: {message}", d.detail())
        b.create(events.new(pod, "FailedScheduling", message, COMPONENT, type_="Warning"),
                 f"kube-scheduler recorded FailedScheduling on pod {pod.name}")
    b.commit()
    return len(b)
