"""The StatefulSet controller.

Key: "namespace/name" of a StatefulSet. Contract: the StatefulSet owns pods with stable names `<name>-0` …
`<name>-(replicas-1)`, each with `hostname` = its name and `subdomain` = `spec.serviceName`, so the headless
Service gives each its own DNS name (`web-0.nginx.default.svc.cluster.local`). With `podManagementPolicy:
OrderedReady` (the default) it creates one pod at a time, lowest ordinal first, and only once every lower pod is
Running and Ready; it removes pods one at a time, highest ordinal first, waiting until the previous one is gone.
`Parallel` creates and removes them all at once. A changed template rolls out (RollingUpdate) by replacing one pod
at a time, highest ordinal first, down to `partition`; `OnDelete` replaces a pod only when someone deletes it. Status is recomputed from the pods and written only when it
changed. `plan` is pure.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from .. import clock, defaults, events, jsontext
from ..models import Playground, Pod, StatefulSet, new_row
from ..writes import Batch, stage_delete

# What can give this loop work: a resync skips it while no commit of these came (`workers.run_loop`).
WATCHES = frozenset({"StatefulSet", "Pod"})

ACTOR = "statefulset-controller"


def keys(pg: Playground) -> list[str]:
    return [f"{ns}/{name}" for ns, name in StatefulSet.objects.filter(playground=pg).values_list("namespace", "name")]


# ---------------------------------------------------------------------------------------------------------------
# Pure


def ordinal(sts_name: str, pod_name: str) -> int | None:
    prefix = f"{sts_name}-"
    tail = pod_name[len(prefix):] if pod_name.startswith(prefix) else ""
    return int(tail) if tail.isdigit() else None


def is_ready(pod) -> bool:
    return pod.phase == "Running" and pod.deletion_timestamp is None and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in (pod.status or {}).get("conditions") or [])


@dataclass
class Plan:
    create: list[int] = field(default_factory=list)
    delete: list[int] = field(default_factory=list)


def pod_revision(pod) -> str:
    return (pod.labels or {}).get("controller-revision-hash", "")


def plan(replicas: int, pods: dict[int, object], parallel: bool, start: int = 0, update_revision: str = "",
         partition: int | None = 0) -> Plan:
    """Which ordinals to create and which to delete now, given the pods by ordinal. With a RollingUpdate
    (`partition` not None) a pod from an older template is replaced once all the others are running and ready,
    highest ordinal first, down to the partition; `OnDelete` (`partition` None) leaves that to the user."""
    wanted = range(start, start + replicas)
    missing = [i for i in wanted if i not in pods]
    extra = sorted((i for i in pods if i not in wanted), reverse=True)
    if parallel:
        p = Plan(create=missing, delete=[i for i in extra if pods[i].deletion_timestamp is None])
        if p.create or p.delete or any(q.deletion_timestamp is not None or not is_ready(q) for q in pods.values()):
            return p
    else:
        # Ordered: nothing new while any pod is terminating or not yet ready.
        if any(p.deletion_timestamp is not None for p in pods.values()):
            return Plan()
        for i in wanted:
            if i not in pods:
                return Plan(create=[i])
            if not is_ready(pods[i]):
                return Plan()
        if extra:
            return Plan(delete=[extra[0]])
    if partition is None or not update_revision:
        return Plan()
    stale = [i for i in wanted if i >= start + partition and pod_revision(pods[i]) != update_revision]
    return Plan(delete=[max(stale)]) if stale else Plan()


def revision(sts: StatefulSet) -> str:
    template = jsontext.encode((sts.spec or {}).get("template") or {})
    return f"{sts.name}-{hashlib.sha256(template.encode()).hexdigest()[:10]}"


def pod_for(sts: StatefulSet, index: int) -> Pod:
    spec = sts.spec or {}
    tmpl = jsontext.decode(jsontext.encode(spec.get("template") or {}))
    meta = tmpl.get("metadata") or {}
    name = f"{sts.name}-{index}"
    pod_spec = tmpl.get("spec") or {}
    pod_spec["hostname"] = name
    if spec.get("serviceName"):
        pod_spec["subdomain"] = spec["serviceName"]
    labels = {**(meta.get("labels") or {}), "apps.kubernetes.io/pod-index": str(index),
              "controller-revision-hash": revision(sts), "statefulset.kubernetes.io/pod-name": name}
    pod = new_row(Pod, namespace=sts.namespace, name=name, labels=labels,
                  annotations=dict(meta.get("annotations") or {}), owner_references=[sts.controller_ref()],
                  spec=pod_spec, creation_timestamp=clock.now())
    defaults.apply(pod)
    return pod


def compute_status(sts: StatefulSet, pods: list) -> dict:
    live = [p for p in pods if p.deletion_timestamp is None]
    ready = sum(1 for p in live if is_ready(p))
    update = revision(sts)
    updated = sum(1 for p in live if pod_revision(p) == update)
    # The current revision stays the old template's until every pod runs the new one.
    current = (sts.status or {}).get("currentRevision") or update
    if updated == len(live) or not any(pod_revision(p) == current for p in live):
        current = update
    return {"observedGeneration": sts.generation, "replicas": len(live), "readyReplicas": ready,
            "currentReplicas": sum(1 for p in live if pod_revision(p) == current), "updatedReplicas": updated,
            "currentRevision": current, "updateRevision": update, "collisionCount": 0, "availableReplicas": ready}


# ---------------------------------------------------------------------------------------------------------------
# Reconcile


def reconcile(pg: Playground, key: str) -> int:
    namespace, name = key.split("/", 1)
    sts = StatefulSet.objects.filter(playground=pg, namespace=namespace, name=name).first()
    if sts is None:
        return 0
    spec = sts.spec or {}
    owned = list(Pod.objects.filter(playground=pg, namespace=namespace, controller_uid=sts.uid))
    by_ordinal = {i: p for p in owned if (i := ordinal(sts.name, p.name)) is not None}
    b = Batch(pg, ACTOR)
    if sts.deletion_timestamp is None:
        start = int((spec.get("ordinals") or {}).get("start", 0) or 0)
        strategy = spec.get("updateStrategy") or {}
        partition = None if strategy.get("type") == "OnDelete" else int(
            (strategy.get("rollingUpdate") or {}).get("partition", 0) or 0)
        p = plan(int(spec.get("replicas", 1) or 0), by_ordinal, spec.get("podManagementPolicy") == "Parallel",
                 start, revision(sts), partition)
        taken = set(Pod.objects.filter(playground=pg, namespace=namespace,
                                       name__in=[f"{sts.name}-{i}" for i in p.create])
                    .values_list("name", flat=True))
        for i in p.create:
            pod = pod_for(sts, i)
            if pod.name in taken:
                continue  # a pod of that name that is not ours: the real controller waits too
            b.create(pod, f"{ACTOR} created pod {pod.name} for StatefulSet {sts.name} (ordinal {i})",
                     {"statefulSet": sts.name})
            _event(b, sts, "SuccessfulCreate", f"create Pod {pod.name} in StatefulSet {sts.name} successful")
            owned.append(pod)
        for i in p.delete:
            pod = by_ordinal[i]
            why = (f"it runs an older template than {revision(sts)} (rolling update, highest ordinal first)"
                   if i < start + int(spec.get("replicas", 1) or 0) else
                   f"StatefulSet {sts.name} wants {spec.get('replicas')} replicas (highest ordinal first)")
            stage_delete(b, pod, f"{ACTOR} deleted pod {pod.name}: {why}")
            _event(b, sts, "SuccessfulDelete", f"delete Pod {pod.name} in StatefulSet {sts.name} successful")
    status = compute_status(sts, owned)
    if status != (sts.status or {}) or len(b):
        sts.status = status
        b.update(sts, f"{ACTOR} updated the status of StatefulSet {sts.name}: {status['replicas']} pods, "
                      f"{status['readyReplicas']} ready",
                 {"replicas": status["replicas"], "readyReplicas": status["readyReplicas"]})
    b.commit()
    return len(b)


def _event(b: Batch, sts: StatefulSet, reason: str, message: str) -> None:
    b.create(events.new(sts, reason, message, ACTOR), f"{ACTOR} recorded {reason} on StatefulSet {sts.name}")
