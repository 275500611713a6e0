"""bench converge: one Deployment scaled 0 → N at tempo instant until every pod is Running and the Endpoints
list them all — through the real loops (the same reconcile code the workers run), batching as Kubernetes does.

The floor F is, in the same run, plain bulk ORM writes of the rows the pipeline had to write (every object insert,
every update as a row rewrite, every change-feed row), so R/F says how close the control plane gets to the
database's own speed.
"""

from __future__ import annotations

import time

from django.db import transaction

from cluster_core import bootstrap, nudge, runtime, writes
from cluster_core.models import Change, Endpoints, Event, Playground, Pod


def _add_nodes(pg: Playground, total: int) -> None:
    b = writes.Batch(pg, "bench")
    for i in range(3, total):
        name = f"k8s-node{i}"
        b.create(bootstrap.node_object(name, f"192.168.{56 + i // 250}.{10 + i % 250}", f"10.244.{i}.0/24",
                                       cpu="16", memory="65536Mi"), f"bench added node {name}")
    b.commit()
    pg.max_pods = max(pg.max_pods, 20000)
    pg.save(update_fields=["max_pods"])


def _deployment(replicas: int) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "bench", "namespace": "default", "labels": {"app": "bench"}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "bench"}},
                     "template": {"metadata": {"labels": {"app": "bench"}},
                                  "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}}}


def _ready_endpoints(pg: Playground) -> int:
    ep = Endpoints.objects.filter(playground=pg, namespace="default", name="bench").first()
    if ep is None:
        return 0
    return sum(len(s.get("addresses") or []) for s in ep.spec.get("subsets") or [])


def _floor(pg: Playground, n_pods: int, rows: dict) -> float:
    """Seconds to bulk-write, in one transaction, the same rows the pipeline wrote (then roll them back)."""
    sample_pod = Pod.objects.filter(playground=pg, namespace="default", labels__app="bench").first()
    sample_event = Event.objects.filter(playground=pg).last()
    sample_change = Change.objects.filter(playground=pg).last()
    scratch = Playground.objects.create(slug=f"floor-{int(time.time() * 1000)}")
    try:
        t0 = time.perf_counter()
        with transaction.atomic():
            pods = [Pod(playground=scratch, namespace="default", name=f"p-{i}", spec=sample_pod.spec,
                        status=sample_pod.status, labels=sample_pod.labels, node_name=sample_pod.node_name,
                        owner_references=sample_pod.owner_references) for i in range(rows["pods"])]
            Pod.objects.bulk_create(pods, batch_size=500)
            events = [Event(playground=scratch, namespace="default", name=f"e-{i}", spec=sample_event.spec)
                      for i in range(rows["events"])]
            Event.objects.bulk_create(events, batch_size=500)
            changes = [Change(playground=scratch, revision=i + 1, type="MODIFIED", kind="Pod", name=f"p-{i}",
                              object=sample_change.object, actor="bench", message=sample_change.message,
                              committed_at=sample_change.committed_at) for i in range(rows["changes"])]
            Change.objects.bulk_create(changes, batch_size=500)
            # Each pod update the pipeline made rewrote a row: do the same number of row rewrites.
            for i in range(rows["pod_updates"]):
                p = pods[i % len(pods)]
                Pod.objects.filter(pk=p.pk).update(status=sample_pod.status, resource_version=i)
        return time.perf_counter() - t0
    finally:
        scratch.delete()


def run(out, pods: int = 1000, nodes: int = 50) -> None:
    nudge.ENABLED = False  # this process drives the loops itself
    slug = f"bench-{int(time.time())}"
    pg = bootstrap.create_playground(slug, tempo="instant")
    try:
        _add_nodes(pg, nodes)
        writes.do_create(pg, _deployment(0), "bench")
        writes.do_create(pg, {"apiVersion": "v1", "kind": "Service",
                              "metadata": {"name": "bench", "namespace": "default"},
                              "spec": {"selector": {"app": "bench"}, "ports": [{"port": 80}]}}, "bench")
        runtime.settle(pg)
        rev0 = Playground.objects.get(pk=pg.pk).revision
        ev0 = Event.objects.filter(playground=pg).count()
        dep = writes.get_object(pg, "Deployment", "default", "bench")
        body = dep.to_k8s()
        body["spec"]["replicas"] = pods
        t0 = time.perf_counter()
        writes.do_update(pg, body, "bench")
        rounds = runtime.settle(pg)
        elapsed = time.perf_counter() - t0
        running = Pod.objects.filter(playground=pg, namespace="default", labels__app="bench", phase="Running").count()
        ready = _ready_endpoints(pg)
        rev1 = Playground.objects.get(pk=pg.pk).revision
        changes = Change.objects.filter(playground=pg, revision__gt=rev0)
        rows = {
            "pods": pods,
            "events": Event.objects.filter(playground=pg).count() - ev0,
            "changes": rev1 - rev0,
            "pod_updates": changes.filter(kind="Pod", type="MODIFIED").count(),
        }
        used = len({n for n in Pod.objects.filter(playground=pg, labels__app="bench").values_list("node_name", flat=True)})
        floor_s = _floor(pg, pods, rows)
        rate = running / elapsed if elapsed else float("inf")
        floor_rate = pods / floor_s if floor_s else float("inf")
        out.write(f"rounds of the loops: {rounds}; writes: {rows['changes']} changes "
                  f"({rows['pod_updates']} pod updates, {rows['events']} events)")
        out.write(f"endpoints ready: {ready}/{pods}; nodes used: {used}")
        if running != pods or ready != pods:
            out.write(f"NOT CONVERGED: {running} Running, {ready} ready endpoints")
        out.write(f"converge: {running} pods Running on {nodes} nodes in {elapsed:.2f} s = {rate:.0f} pods/s; "
                  f"raw write floor {floor_rate:.0f} pods/s; ratio {rate / floor_rate:.2f}")
    finally:
        Playground.objects.filter(pk=pg.pk).delete()
        nudge.ENABLED = True
