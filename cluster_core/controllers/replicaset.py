"""The ReplicaSet controller.

Key: "namespace/name" of a ReplicaSet. Contract: the ReplicaSet owns exactly `spec.replicas` active pods (its
controller ownerReference, not terminating, not finished). Missing pods are created from `spec.template` and
surplus pods are deleted gracefully, the least valuable first (`rank_victims`); orphan pods matching the selector
are adopted and owned pods that stopped matching are released. Status (replicas, fullyLabeledReplicas,
readyReplicas, availableReplicas, observedGeneration, a ReplicaFailure condition) is recomputed from the pods
every time and written only when it changed. Everything for one ReplicaSet commits in one batch: pods are loaded
once and created in bulk, because scaling 0 → 1000 has to stay well under a second.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from .. import clock, defaults, events, jsontext, labels, names
from ..errors import Conflict
from ..models import Playground, Pod, ReplicaSet, ReplicationController, new_row
from ..writes import Batch, stage_delete

# What can give this loop work: a resync skips it while no commit of these came (`workers.run_loop`).
WATCHES = frozenset({"ReplicaSet", "ReplicationController", "Pod"})

ACTOR = "replicaset-controller"

PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}
# What a reconcile reads of each owned pod to count, claim and rank it (`Pod.objects.views`); a pod it writes is
# loaded whole first (`_whole`).
OBSERVED = ("name", "namespace", "uid", "resource_version", "labels", "status", "phase",
            "node_name", "deletion_timestamp", "creation_timestamp", "controller_uid")


RC_PREFIX = "ReplicationController:"


def keys(pg: Playground) -> list[str]:
    # ReplicationControllers, the ReplicaSet's predecessor, are run by this same loop (as upstream runs them),
    # keyed apart.
    return ([f"{ns}/{name}" for ns, name in ReplicaSet.objects.filter(playground=pg).values_list("namespace", "name")]
            + [f"{RC_PREFIX}{ns}/{name}" for ns, name in
               ReplicationController.objects.filter(playground=pg).values_list("namespace", "name")])


def selector_of(rs) -> dict | None:
    """The LabelSelector of a ReplicaSet; a ReplicationController's plain map of labels as one."""
    selector = (rs.spec or {}).get("selector")
    if rs.KIND == "ReplicationController":
        return {"matchLabels": selector} if selector else None
    return selector


# ---------------------------------------------------------------------------------------------------------------
# Pure helpers


def ready_condition(pod: Pod) -> dict | None:
    for c in (pod.status or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c
    return None


def is_ready(pod: Pod) -> bool:
    c = ready_condition(pod)
    return bool(c) and c.get("status") == "True"


def is_available(pod: Pod, min_ready_seconds: int, now: dt.datetime) -> bool:
    if not is_ready(pod):
        return False
    if min_ready_seconds <= 0:
        return True
    since = clock.parse_rfc3339(ready_condition(pod).get("lastTransitionTime"))
    return since is not None and since + dt.timedelta(seconds=min_ready_seconds) <= now


def is_active(pod: Pod) -> bool:
    return pod.deletion_timestamp is None and pod.phase not in ("Succeeded", "Failed")


def _restarts(pod: Pod) -> int:
    return sum(int(c.get("restartCount") or 0) for c in (pod.status or {}).get("containerStatuses") or [])


def rank_victims(pods: list[Pod]) -> list[Pod]:
    """Pods in the order the ReplicaSet controller deletes them (controller.ActivePodsWithRanks):
    unassigned before assigned, Pending < Unknown < Running, not ready before ready, pods sharing a node with
    more of their siblings first, ready for a shorter time first, more restarts first, newer first."""
    per_node = Counter(p.node_name for p in pods if p.node_name)
    far_future = dt.datetime.max.replace(tzinfo=dt.UTC)

    def ready_since(p: Pod) -> dt.datetime:
        c = ready_condition(p)
        return (clock.parse_rfc3339(c.get("lastTransitionTime")) if c else None) or far_future

    def key(p: Pod):
        ready = is_ready(p)
        return (
            bool(p.node_name),
            PHASE_RANK.get(p.phase, 1),
            ready,
            -per_node[p.node_name] if p.node_name else 0,
            # Among ready pods, the one that became ready last goes first (negated: later sorts earlier).
            -ready_since(p).timestamp() if ready else 0,
            -_restarts(p),
            -p.creation_timestamp.timestamp(),
            p.name,
        )

    return sorted(pods, key=key)


def pod_from_template(rs: ReplicaSet, name: str, template_json: str | None = None) -> Pod:
    # A JSON round trip copies the template several times faster than deepcopy: it matters at 1000 pods.
    tmpl = jsontext.decode(template_json or jsontext.encode((rs.spec or {}).get("template") or {}))
    meta = tmpl.get("metadata") or {}
    # Built without the model constructor (a scale-up builds a thousand); inserted with their primary keys read
    # back, as every created object is.
    pod = new_row(
        Pod,
        namespace=rs.namespace,
        name=name,
        generate_name=f"{rs.name}-",
        labels=dict(meta.get("labels") or {}),
        annotations=dict(meta.get("annotations") or {}),
        owner_references=[rs.controller_ref()],
        spec=tmpl.get("spec") or {},
        creation_timestamp=clock.now(),
    )
    defaults.apply(pod)
    return pod


def compute_status(rs: ReplicaSet, pods: list[Pod], now: dt.datetime, failure: dict | None) -> dict:
    """The ReplicaSet's status from its active pods (never incremented)."""
    spec = rs.spec or {}
    tlabels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    min_ready = int(spec.get("minReadySeconds") or 0)
    status = {
        "replicas": len(pods),
        "fullyLabeledReplicas": sum(1 for p in pods if all((p.labels or {}).get(k) == v for k, v in tlabels.items())),
        "readyReplicas": sum(1 for p in pods if is_ready(p)),
        "availableReplicas": sum(1 for p in pods if is_available(p, min_ready, now)),
        "observedGeneration": rs.generation,
    }
    conditions = [c for c in (rs.status or {}).get("conditions") or [] if c.get("type") != "ReplicaFailure"]
    if failure:
        conditions.append(failure)
    if conditions:
        status["conditions"] = conditions
    return status


def _has_failure(rs: ReplicaSet, message: str) -> bool:
    return any(c.get("type") == "ReplicaFailure" and c.get("message") == message
               for c in (rs.status or {}).get("conditions") or [])


def _failure_condition(rs: ReplicaSet, message: str, now: dt.datetime) -> dict:
    for c in (rs.status or {}).get("conditions") or []:
        if c.get("type") == "ReplicaFailure" and c.get("message") == message:
            return c  # unchanged: keep its transition time so a retry writes nothing
    return {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": message,
            "lastTransitionTime": clock.rfc3339(now)}


# ---------------------------------------------------------------------------------------------------------------
# Reconcile


def reconcile(pg: Playground, key: str) -> int:
    model = ReplicaSet
    if key.startswith(RC_PREFIX):
        model, key = ReplicationController, key[len(RC_PREFIX):]
    namespace, name = key.split("/", 1)
    rs = model.objects.filter(playground=pg, namespace=namespace, name=name).first()
    if rs is None:
        return 0
    now = clock.now()
    b = Batch(pg, ACTOR)
    selector = selector_of(rs)
    owned = Pod.objects.filter(playground=pg, namespace=namespace, controller_uid=rs.uid).views(*OBSERVED)
    pods = _claim(b, rs, selector, owned)
    claimed = b.commit() if len(b) else 0
    # A fresh batch: an adopted pod may be picked as a victim below and must not be written twice in one batch.
    b = Batch(pg, ACTOR)
    active = [p for p in pods if is_active(p)]
    want = int((rs.spec or {}).get("replicas", 1) or 0)
    failure = None
    created = 0
    # A ReplicaSet being deleted only reports status; its pods are the garbage collector's business now.
    if rs.deletion_timestamp is None:
        if len(active) < want:
            made, failure = _create_pods(pg, b, rs, want - len(active), now)
            active += made
            created = len(made)
        elif len(active) > want:
            victims = _whole(rank_victims(active)[: len(active) - want])
            gone = {p.pk for p in victims}
            for pod in victims:
                stage_delete(b, pod, f"{ACTOR} deleted pod {pod.name}: {rs.KIND} {rs.name} has "
                                     f"{len(active)} pods and wants {want}")
                _event(b, rs, "SuccessfulDelete", f"Deleted pod: {pod.name}")
            active = [p for p in active if p.pk not in gone]
    status = compute_status(rs, active, now, failure)
    # When pods are created the ReplicaSet is written too: its resourceVersion check makes a concurrent
    # reconcile of the same ReplicaSet conflict and retry instead of creating the same pods twice.
    if status != (rs.status or {}) or created:
        rs.status = status
        b.update(rs, f"{ACTOR} updated the status of {rs.KIND} {rs.name}: {status['replicas']} pods, "
                     f"{status['readyReplicas']} ready, {status['availableReplicas']} available",
                 {"replicas": status["replicas"], "readyReplicas": status["readyReplicas"],
                  "availableReplicas": status["availableReplicas"]})
    b.commit()
    return claimed + len(b)


def _event(b: Batch, rs: ReplicaSet, reason: str, message: str, type_: str = "Normal") -> None:
    b.create(events.new(rs, reason, message, ACTOR, type_=type_),
             f"{ACTOR} recorded {reason} on {rs.KIND} {rs.name}: {message}")


def _claim(b: Batch, rs: ReplicaSet, selector: dict | None, owned: list[Pod]) -> list[Pod]:
    """Adopt orphans that match the selector and release owned pods that no longer do (ClaimPods)."""
    mine = []
    for pod in owned:
        if labels.selector_matches(selector, pod.labels):
            mine.append(pod)
        elif pod.deletion_timestamp is None:
            [pod] = _whole([pod])
            pod.owner_references = [r for r in pod.owner_references if r.get("uid") != rs.uid]
            b.update(pod, f"{ACTOR} released pod {pod.name}: its labels no longer match {rs.KIND} {rs.name}")
    if rs.deletion_timestamp is not None or not selector:
        return mine
    orphans = Pod.objects.filter(playground=rs.playground_id, namespace=rs.namespace, controller_uid="",
                                 deletion_timestamp__isnull=True)
    for pod in orphans:
        if labels.selector_matches(selector, pod.labels):
            pod.owner_references = [*pod.owner_references, rs.controller_ref()]
            b.update(pod, f"{ACTOR} adopted pod {pod.name}: it matches the selector of {rs.KIND} {rs.name}")
            mine.append(pod)
    return mine


def _whole(pods: list) -> list[Pod]:
    """The pods this reconcile writes, loaded whole (the others were only observed). One that changed since it
    was observed is a conflict: the reconcile starts again from a fresh read."""
    views = [p for p in pods if not isinstance(p, Pod)]
    loaded = Pod.objects.in_bulk([v.pk for v in views]) if views else {}
    out = []
    for p in pods:
        if not isinstance(p, Pod):
            whole = loaded.get(p.pk)
            if whole is None or whole.resource_version != p.resource_version:
                raise Conflict.of(Pod.PLURAL, Pod.GROUP, p.name)
            p = whole
        out.append(p)
    return out


def _create_pods(pg: Playground, b: Batch, rs: ReplicaSet, missing: int, now: dt.datetime):
    """Create up to `missing` pods, within the playground's pod cap. Returns (pods, ReplicaFailure or None)."""
    room = max(0, pg.max_pods - Pod.objects.filter(playground=pg).count())
    count = min(missing, room)
    prefix = f"{rs.name}-"
    taken = set(Pod.objects.filter(playground=pg, namespace=rs.namespace, name__startswith=prefix)
                .values_list("name", flat=True))
    made = []
    template_json = jsontext.encode((rs.spec or {}).get("template") or {})
    for i in range(count):
        name = prefix + names.random_suffix()
        while name in taken:
            name = prefix + names.random_suffix()
        taken.add(name)
        pod = pod_from_template(rs, name, template_json)
        b.create(pod, f"{ACTOR} created pod {name} for {rs.KIND} {rs.name} ({i + 1} of {missing} missing)",
                 {"replicaSet": rs.name})
        _event(b, rs, "SuccessfulCreate", f"Created pod: {name}")
        made.append(pod)
    if count == missing:
        return made, None
    # Like the apiserver's answer to a generateName create: the name in the message is the prefix.
    message = (f'pods "{prefix}" is forbidden: this playground already has its maximum of {pg.max_pods} pods '
               "(cap max_pods)")
    if not _has_failure(rs, message):
        # Warn once per new failure, not on every retry, so a capped ReplicaSet settles.
        _event(b, rs, "FailedCreate", f"Error creating: {message}", "Warning")
    return made, _failure_condition(rs, message, now)
