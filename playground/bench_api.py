"""bench api: with N pods in a playground, the server-side latency of a Table list and a JSON list of pods, and
of a watch event's delivery after a write (commit → event line produced by the watch stream)."""

from __future__ import annotations

import asyncio
import json
import statistics
import time

from asgiref.sync import sync_to_async

from cluster_core import bootstrap, nudge, runtime, writes
from cluster_core.api import views
from cluster_core.api.handlers import Call
from cluster_core.api.resources import find
from cluster_core.models import Playground

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def _list_once(pg: Playground, accept: str) -> float:
    t0 = time.perf_counter()
    call = Call(pg=pg, method="GET", resource=find("", "v1", "pods"), namespace="default",
                query={}, accept=accept, actor="bench")
    reply = views.route(call)
    json.dumps(reply.body, separators=(",", ":"))
    return time.perf_counter() - t0


def _touch(pg: Playground, names: list[str], i: int) -> float:
    pod = writes.get_object(pg, "Pod", "default", names[i % len(names)])
    body = pod.to_k8s()
    body["metadata"].setdefault("labels", {})["bench-touch"] = str(i)
    writes.do_update(pg, body, "bench")
    return time.time()


async def _watch_latency(pg: Playground, names: list[str], samples: int) -> list[float]:
    res = find("", "v1", "pods")
    call = Call(pg=pg, method="GET", resource=res, namespace="default", query={"watch": "true"}, accept="application/json",
                actor="bench")
    rev = await sync_to_async(lambda: Playground.objects.get(pk=pg.pk).revision)()
    stream = views.watch_events(call, rev, False, 600, False)
    latencies: list[float] = []
    arrived: asyncio.Queue = asyncio.Queue()

    async def reader():
        async for line in stream:
            await arrived.put((time.time(), json.loads(line)))

    task = asyncio.ensure_future(reader())
    await asyncio.sleep(0.2)
    for i in range(samples):
        await sync_to_async(_touch, thread_sensitive=False)(pg, names, i)
        got_at, event = await asyncio.wait_for(arrived.get(), timeout=10)
        labels = event["object"]["metadata"].get("labels", {})
        assert labels.get("bench-touch") == str(i), "watch delivered the wrong event"
        committed = await sync_to_async(_commit_time)(pg, int(event["object"]["metadata"]["resourceVersion"]))
        latencies.append(got_at - committed)
        await asyncio.sleep(0.01)
    task.cancel()
    return latencies


def _commit_time(pg: Playground, revision: int) -> float:
    from cluster_core.models import Change

    return Change.objects.get(playground=pg, revision=revision).committed_at.timestamp()


def run(out, pods: int = 1000, samples: int = 50) -> None:
    nudge.ENABLED = False
    pg = bootstrap.create_playground(f"benchapi-{int(time.time())}", tempo="instant")
    try:
        writes.do_create(pg, {"apiVersion": "apps/v1", "kind": "Deployment",
                              "metadata": {"name": "bench", "namespace": "default"},
                              "spec": {"replicas": pods, "selector": {"matchLabels": {"app": "bench"}},
                                       "template": {"metadata": {"labels": {"app": "bench"}},
                                                    "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}}},
                         "bench")
        runtime.settle(pg)
        nudge.ENABLED = True
        n = len(views.route(Call(pg=pg, method="GET", resource=find("", "v1", "pods"), namespace="default",
                                 accept="application/json")).body["items"])
        for _ in range(3):
            _list_once(pg, TABLE)
        table = [_list_once(pg, TABLE) for _ in range(samples)]
        plain = [_list_once(pg, "application/json") for _ in range(samples)]
        names = list(writes.model_for("Pod").objects.filter(playground=pg, namespace="default")
                     .values_list("name", flat=True))
        watch = asyncio.run(_watch_latency(pg, names, samples))
        ms = 1000
        out.write(f"pods in the playground: {n}; samples: {samples}")
        out.write(f"table list of {n} pods: p50 {statistics.median(table) * ms:.1f} ms, p99 {pct(table, 99) * ms:.1f} ms")
        out.write(f"json list of {n} pods: p50 {statistics.median(plain) * ms:.1f} ms, p99 {pct(plain, 99) * ms:.1f} ms")
        out.write(f"watch delivery after a write: p50 {statistics.median(watch) * ms:.1f} ms, "
                  f"p99 {pct(watch, 99) * ms:.1f} ms")
    finally:
        nudge.ENABLED = True
        Playground.objects.filter(pk=pg.pk).delete()
