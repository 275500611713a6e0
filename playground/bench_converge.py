"""bench converge: one Deployment scaled 0 → N at tempo instant until every pod is Running and the Endpoints
list them all — through the real loops (the same reconcile code the workers run), batching as Kubernetes does.

The floor F is, in the same run, plain bulk ORM writes of the rows the pipeline had to write (every object insert,
every update as a row rewrite, every change-feed row, every container log line), replayed from what it really
wrote, so R/F says how close the control plane gets to the database's own speed through the ORM.
"""

from __future__ import annotations

import time

from django.db import transaction

from cluster_core import bootstrap, checkpoint, nudge, runtime, writes
from cluster_core.models import Change, Endpoints, Event, LogLine, Playground, Pod


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


def _converged(pg: Playground, pods: int) -> bool:
    running = Pod.objects.filter(playground=pg, namespace="default", labels__app="bench", phase="Running").count()
    return running == pods and _ready_endpoints(pg) == pods


def _floor(pg: Playground, rev0: int, logs_from: int) -> float:
    """Seconds to write, with plain bulk ORM calls in one transaction, the same rows the pipeline wrote (then roll
    them back): every object it inserted and every row rewrite it made, with the bodies recorded in its feed rows,
    the feed rows themselves (object, message, detail) and the container log lines.

    Replayed from what was really written rather than from one sample row: the floor then weighs what the
    pipeline wrote (a big Endpoints body, trimmed scheduler details, small Events) instead of one row's size times
    the count, and an update rewrites the columns the pipeline's update rewrote, not just `status`.
    """
    changes = list(Change.objects.filter(playground=pg, revision__gt=rev0).order_by("revision"))
    logs = list(LogLine.objects.filter(playground=pg, id__gt=logs_from))
    scratch = Playground.objects.create(slug=f"floor-{int(time.time() * 1000)}")
    try:
        # Objects the pipeline only updated or deleted existed before it started: copy them first, untimed.
        added = {(c.kind, c.namespace, c.name) for c in changes if c.type == "ADDED"}
        before = {}
        for c in changes:
            key = (c.kind, c.namespace, c.name)
            if c.type != "ADDED" and key not in added and key not in before:
                model = writes.model_for(c.kind)
                obj = model.objects.get(playground=pg, namespace=c.namespace, name=c.name)
                obj.pk, obj.playground = None, scratch
                obj.save()
                before[key] = obj
        # The model instances and column values are made before the clock starts: the floor times the writes.
        rows: dict[tuple, object] = dict(before)
        inserts: dict[type, list] = {}
        steps: list[tuple] = []
        for c in changes:
            key = (c.kind, c.namespace, c.name)
            if c.type == "ADDED":
                obj = writes.from_k8s(writes.model_for(c.kind), c.object, c.namespace)
                obj.playground = scratch
                obj.sync_columns()
                inserts.setdefault(type(obj), []).append(obj)
                rows[key] = obj
            elif c.type == "MODIFIED":
                # The row rewrite the pipeline made: every column it sets, with the body it wrote.
                new = writes.from_k8s(writes.model_for(c.kind), c.object, c.namespace)
                new.sync_columns()
                steps.append((key, {f: getattr(new, f) for f in writes.update_fields(type(new))}))
            else:
                steps.append((key, None))
        feed = [Change(playground=scratch, revision=c.revision, type=c.type, kind=c.kind, namespace=c.namespace,
                       name=c.name, uid=c.uid, object=c.object, actor=c.actor, message=c.message, detail=c.detail,
                       committed_at=c.committed_at) for c in changes]
        lines = [LogLine(playground=scratch, pod_uid=x.pod_uid, container=x.container, restart=x.restart, at=x.at,
                         text=x.text) for x in logs]
        t0 = time.perf_counter()
        with transaction.atomic():
            for model, objs in inserts.items():
                model.objects.bulk_create(objs, batch_size=500)
            Change.objects.bulk_create(feed, batch_size=500)
            LogLine.objects.bulk_create(lines, batch_size=500)
            for key, values in steps:
                obj = rows[key]
                if values is None:
                    type(obj).objects.filter(pk=obj.pk).delete()
                else:
                    type(obj).objects.filter(pk=obj.pk).update(**values)
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
        # What the ticker does every couple of seconds in a running server (here nothing else would).
        checkpoint.checkpoint()
        rev0 = Playground.objects.get(pk=pg.pk).revision
        logs_from = LogLine.objects.order_by("-id").values_list("id", flat=True).first() or 0
        ev0 = Event.objects.filter(playground=pg).count()
        dep = writes.get_object(pg, "Deployment", "default", "bench")
        body = dep.to_k8s()
        body["spec"]["replicas"] = pods
        converged_at: list[float] = []

        def observe(_pg) -> None:
            # The moment the goal holds — every pod Running and the Endpoints listing them all: the end of the
            # round that got there (taken before this check's own queries). The loops then still make one
            # confirming resync pass, which the workers do on a timer, not as part of converging.
            ended = time.perf_counter()
            if not converged_at and _converged(pg, pods):
                converged_at.append(ended)

        t0 = time.perf_counter()
        # The loops start from what the scale write nudged, as the workers would receive it.
        with nudge.capture() as nudged:
            writes.do_update(pg, body, "bench")
        rounds = runtime.settle(pg, after_round=observe, targets=set(nudged))
        settled = time.perf_counter() - t0
        elapsed = (converged_at[0] - t0) if converged_at else settled
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
        floor_s = _floor(pg, rev0, logs_from)
        rate = running / elapsed if elapsed else float("inf")
        floor_rate = pods / floor_s if floor_s else float("inf")
        out.write(f"rounds of the loops: {rounds}; writes: {rows['changes']} changes "
                  f"({rows['pod_updates']} pod updates, {rows['events']} events)")
        out.write(f"endpoints ready: {ready}/{pods}; nodes used: {used}")
        out.write(f"converged after {elapsed:.2f} s; the loops' confirming resync pass ended at {settled:.2f} s")
        if running != pods or ready != pods:
            out.write(f"NOT CONVERGED: {running} Running, {ready} ready endpoints")
        out.write(f"converge: {running} pods Running on {nodes} nodes in {elapsed:.2f} s = {rate:.0f} pods/s; "
                  f"raw write floor {floor_rate:.0f} pods/s; ratio {rate / floor_rate:.2f}")
    finally:
        Playground.objects.filter(pk=pg.pk).delete()
        nudge.ENABLED = True
