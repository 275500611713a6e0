"""The namespace controller.

Key: a namespace name. Contract: an active Namespace without `status.phase` gets `Active`. A Namespace with a
deletionTimestamp (phase Terminating, set by writes.do_delete) gets every namespaced object in it deleted — pods
gracefully, so their kubelets stop them — while its status conditions say what is still there; once nothing is
left, the `kubernetes` finalizer is done and the Namespace itself is deleted. default, kube-system, kube-public
and kube-node-lease never get here: the write path refuses to delete them.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from .. import clock
from ..models import KINDS, Namespace, Playground
from ..writes import Batch, stage_delete

ACTOR = "namespace-controller"
NAMESPACED = [m for m in KINDS.values() if m.NAMESPACED]


def keys(pg: Playground) -> list[str]:
    return list(Namespace.objects.filter(playground=pg).values_list("name", flat=True))


def _resource(model) -> str:
    return f"{model.PLURAL}.{model.GROUP}" if model.GROUP else model.PLURAL


def deletion_conditions(remaining: Counter, finalizers: Counter, old: list[dict], now: dt.datetime) -> list[dict]:
    """The conditions `kubectl describe namespace` shows while it terminates (lastTransitionTime kept when the
    status of a condition did not change)."""

    def cond(type_, status, reason, message):
        return {"type": type_, "status": status, "reason": reason, "message": message}

    if remaining:
        parts = ", ".join(f"{r} has {n} resource instances" for r, n in sorted(remaining.items()))
        content = cond("NamespaceContentRemaining", "True", "SomeResourcesRemain",
                       f"Some resources are remaining: {parts}")
    else:
        content = cond("NamespaceContentRemaining", "False", "ContentRemoved", "All content successfully removed")
    if finalizers:
        parts = ", ".join(f"{f} in {n} resource instances" for f, n in sorted(finalizers.items()))
        final = cond("NamespaceFinalizersRemaining", "True", "SomeFinalizersRemain",
                     f"Some content in the namespace has finalizers remaining: {parts}")
    else:
        final = cond("NamespaceFinalizersRemaining", "False", "ContentHasNoFinalizers",
                     "All content-preserving finalizers finished")
    wanted = [
        cond("NamespaceDeletionDiscoveryFailure", "False", "ResourcesDiscovered", "All resources successfully discovered"),
        cond("NamespaceDeletionGroupVersionParsingFailure", "False", "ParsedGroupVersions",
             "All legacy kube types successfully parsed"),
        cond("NamespaceDeletionContentFailure", "False", "ContentDeleted",
             "All content successfully deleted, may be waiting on finalization"),
        content,
        final,
    ]
    before = {c.get("type"): c for c in old or []}
    out = []
    for c in wanted:
        prev = before.get(c["type"])
        since = prev.get("lastTransitionTime") if prev and prev.get("status") == c["status"] else clock.rfc3339(now)
        out.append({"type": c["type"], "status": c["status"], "lastTransitionTime": since, "reason": c["reason"],
                    "message": c["message"]})
    return out


def reconcile(pg: Playground, key: str) -> int:
    ns = Namespace.objects.filter(playground=pg, name=key).first()
    if ns is None:
        return 0
    b = Batch(pg, ACTOR)
    if ns.deletion_timestamp is None:
        if not (ns.status or {}).get("phase"):
            ns.status = {**(ns.status or {}), "phase": "Active"}
            b.update(ns, f"{ACTOR} marked namespace {ns.name} Active")
        b.commit()
        return len(b)
    now = clock.now()
    remaining: Counter = Counter()
    finalizers: Counter = Counter()
    for model in NAMESPACED:
        for obj in model.objects.filter(playground=pg, namespace=ns.name):
            gone = False
            if obj.deletion_timestamp is None:
                gone = stage_delete(b, obj, f"{ACTOR} deleted {obj.KIND.lower()} {obj.name}: namespace {ns.name} "
                                            "is terminating")
            if not gone:
                remaining[_resource(model)] += 1
                for f in obj.finalizers or []:
                    finalizers[f] += 1
    if not remaining:
        # Content is gone: the `kubernetes` finalizer is satisfied and the namespace goes with this batch.
        if ns.finalizers:
            b.commit()
            return len(b)
        b.delete(ns, f"{ACTOR} deleted namespace {ns.name}: it is empty")
        b.commit()
        return len(b)
    conditions = deletion_conditions(remaining, finalizers, (ns.status or {}).get("conditions"), now)
    status = {**(ns.status or {}), "phase": "Terminating", "conditions": conditions}
    if status != ns.status:
        ns.status = status
        b.update(ns, f"{ACTOR} is emptying namespace {ns.name}: "
                     + ", ".join(f"{n} {r}" for r, n in sorted(remaining.items())) + " still there")
    b.commit()
    return len(b)
