"""bench converge: one Deployment scaled 0 → N at tempo instant until every pod is Running and the Endpoints
list them all — through the real loops (the same reconcile code the workers run), batching as Kubernetes does.

The floor F is, in the same run, the fastest way this machine writes the rows the pipeline wrote (every object
insert, every row rewrite, every change-feed row, every container log line): the same statements through the same
driver calls, values prepared in advance, one transaction — no controller logic. R/F < 1 says how much of the
machine's own write speed the control plane keeps while deciding what to write.
"""

from __future__ import annotations

import time

from django.db import connection, transaction
from django.db.models import Max

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
    """Seconds this machine takes to write the rows the pipeline wrote, the fastest way it can: the same INSERT and
    conditional UPDATE statements through the same driver (`executemany`), every value prepared before the clock
    starts, one statement per table and kind of write, all in one transaction (then committed). No controller
    logic, no reads, no revisions to take, no per-batch transactions.

    Replayed from what was really written: every object inserted (with its id given, so no RETURNING), every row
    rewrite with the body it wrote (UPDATE … WHERE id AND resource_version, as the pipeline's), every delete, every
    feed row and every container log line, into a scratch playground.
    """
    changes = list(Change.objects.filter(playground=pg, revision__gt=rev0).order_by("revision"))
    logs = list(LogLine.objects.filter(playground=pg, id__gt=logs_from))
    scratch = Playground.objects.create(slug=f"floor-{int(time.time() * 1000)}")
    try:
        # Objects the pipeline only updated or deleted existed before it started: copied first, untimed.
        added = {(c.kind, c.namespace, c.name) for c in changes if c.type == "ADDED"}
        rows: dict[tuple, list] = {}  # key -> [id, resource_version]
        for c in changes:
            key = (c.kind, c.namespace, c.name)
            if c.type != "ADDED" and key not in added and key not in rows:
                obj = writes.model_for(c.kind).objects.get(playground=pg, namespace=c.namespace, name=c.name)
                obj.pk, obj.playground = None, scratch
                obj.save()
                rows[key] = [obj.pk, obj.resource_version]
        next_id = {}
        statements: dict[tuple, list[list]] = {}  # (sql, order) -> parameter rows
        for c in changes:
            model = writes.model_for(c.kind)
            key = (c.kind, c.namespace, c.name)
            if c.type == "DELETED":
                pk, rv = rows.pop(key)
                sql = f"DELETE FROM {qn(model._meta.db_table)} WHERE {qn('id')} = %s AND {qn('resource_version')} = %s"
                statements.setdefault((sql, 2), []).append([pk, rv])
                continue
            obj = writes.from_k8s(model, c.object, c.namespace)
            obj.playground_id, obj.uid, obj.resource_version = scratch.pk, c.uid, c.revision
            obj.sync_columns()
            if c.type == "ADDED":
                if model not in next_id:
                    next_id[model] = (model.objects.aggregate(top=Max("id"))["top"] or 0) + 1_000_000
                obj.pk = next_id[model]
                next_id[model] += 1
                fields = list(model._meta.concrete_fields)
                head, one = writes._insert_sql(model, fields)
                statements.setdefault((head + one, 0), []).extend(writes._rows(fields, [obj], None))
                rows[key] = [obj.pk, obj.resource_version]
            else:
                fields = [model._meta.get_field(name) for name in writes.update_fields(model)]
                sql = (f"UPDATE {qn(model._meta.db_table)} SET {', '.join(f'{qn(f.column)} = %s' for f in fields)} "
                       f"WHERE {qn('id')} = %s AND {qn('resource_version')} = %s")
                pk, rv = rows[key]
                statements.setdefault((sql, 1), []).append(writes._rows(fields, [obj], None)[0] + [pk, rv])
                rows[key][1] = obj.resource_version
        feed_fields = [Change._meta.get_field(name) for name in writes.FEED_COLUMNS]
        head, one = writes._insert_sql(Change, feed_fields)
        feed = [Change(playground=scratch, revision=c.revision, type=c.type, kind=c.kind, namespace=c.namespace,
                       name=c.name, uid=c.uid, object=c.object, actor=c.actor, message=c.message, detail=c.detail,
                       committed_at=c.committed_at) for c in changes]
        statements[(head + one, 3)] = writes._rows(feed_fields, feed, None)
        log_fields = [f for f in LogLine._meta.concrete_fields if not f.primary_key]
        head, one = writes._insert_sql(LogLine, log_fields)
        statements[(head + one, 3)] = writes._rows(log_fields, [
            LogLine(playground=scratch, pod_uid=x.pod_uid, container=x.container, restart=x.restart, at=x.at,
                    text=x.text) for x in logs], None)
        # Inserts, then the row rewrites in the order they were made, then deletes, then the feed and the logs.
        ordered = sorted(statements.items(), key=lambda item: item[0][1])
        t0 = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cur:
            for (sql, _), params in ordered:
                if params:
                    cur.executemany(sql, params)
        return time.perf_counter() - t0
    finally:
        scratch.delete()


def qn(name: str) -> str:
    return connection.ops.quote_name(name)


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
                  f"write floor (the same rows, driver only) {floor_rate:.0f} pods/s in {floor_s:.2f} s; "
                  f"ratio R/F {rate / floor_rate:.2f}")
    finally:
        Playground.objects.filter(pk=pg.pk).delete()
        nudge.ENABLED = True
