"""bench api: the Kubernetes API as a client sees it — over HTTPS, through Daphne's ASGI, the bearer token looked up on
every request — with N pods in a served playground.

The server is a `manage.py playground` subprocess on a fresh data directory (as `bench live` starts it), given
enough nodes for every pod to run before it starts. The client keeps one TLS connection open, as kubectl does, and
times each request from sending it to having read the whole body: a Table list of the pods (what `kubectl get pods`
asks for), the same list as JSON, one pod by name; then, with a watch open on a second connection, a label patch
on a third, from sending the PATCH to the watch event for it arriving. Percentiles are nearest-rank over every
sample (p99 of 1000 samples is the 990th fastest, not the slowest).
"""

from __future__ import annotations

import http.client
import json
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from playground.bench.live import NAME, Server, start_server
from playground.bench.server import ROOT, stop

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
PODS = "/clusters/default/api/v1/namespaces/default/pods"

# Nodes enough for every pod (110 pods a node), added before the server starts so its scheduler sees them at once.
ADD_NODES = """
from cluster_core import bootstrap
from playground.bench.converge import _add_nodes
_add_nodes(bootstrap.get_or_create_default(), {nodes})
"""


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, -(-len(ordered) * p // 100) - 1))] if ordered else 0.0


class Client:
    """One keep-alive HTTPS connection with the playground's token."""

    def __init__(self, server: Server):
        self.server = server
        self.conn = http.client.HTTPSConnection("127.0.0.1", server.api_port, context=server.ca, timeout=60)

    def request(self, method: str, path: str, accept: str = "application/json", body: dict | None = None,
                content_type: str = "") -> tuple[int, bytes]:
        headers = {"Authorization": f"Bearer {self.server.token}", "Accept": accept}
        if content_type:
            headers["Content-Type"] = content_type
        self.conn.request(method, path, body=json.dumps(body).encode() if body is not None else None, headers=headers)
        resp = self.conn.getresponse()
        return resp.status, resp.read()

    def timed(self, path: str, accept: str) -> float:
        t0 = time.perf_counter()
        status, _ = self.request("GET", path, accept)
        elapsed = time.perf_counter() - t0
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}")
        return elapsed


def _prepare(data_dir: Path, pods: int) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(KUBEPLAY_DATA_DIR=str(data_dir))
    for args in (["migrate", "--noinput"], ["shell", "-c", ADD_NODES.format(nodes=3 + -(-pods // 100))]):
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True)


def _deploy(client: Client, pods: int) -> None:
    body = {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": NAME, "namespace": "default", "labels": {"app": NAME}},
            "spec": {"replicas": pods, "selector": {"matchLabels": {"app": NAME}},
                     "template": {"metadata": {"labels": {"app": NAME}},
                                  "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}}}
    status, text = client.request("POST", "/clusters/default/apis/apps/v1/namespaces/default/deployments", body=body,
                                  content_type="application/json")
    if status != 201:
        raise RuntimeError(f"creating the deployment answered {status}: {text[:300]!r}")
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        _, text = client.request("GET", f"/clusters/default/apis/apps/v1/namespaces/default/deployments/{NAME}")
        if (json.loads(text).get("status") or {}).get("readyReplicas", 0) >= pods:
            return
        time.sleep(0.5)
    raise RuntimeError(f"{pods} pods did not become ready")


def _watch(server: Server, resource_version: str, events: queue.Queue, opened: threading.Event) -> None:
    conn = http.client.HTTPSConnection("127.0.0.1", server.api_port, context=server.ca, timeout=600)
    conn.request("GET", f"{PODS}?watch=true&resourceVersion={resource_version}&allowWatchBookmarks=false",
                 headers={"Authorization": f"Bearer {server.token}", "Accept": "application/json"})
    resp = conn.getresponse()
    opened.set()
    while True:
        line = resp.readline()
        if not line:
            return
        events.put((time.perf_counter(), line))


def _write_to_event(server: Server, names: list[str], rv: str, samples: int) -> tuple[list[float], list[float]]:
    events: queue.Queue = queue.Queue()
    opened = threading.Event()
    threading.Thread(target=_watch, args=(server, rv, events, opened), daemon=True).start()
    opened.wait(30)
    writer = Client(server)
    patches, deliveries = [], []
    for i in range(samples):
        t0 = time.perf_counter()
        status, _ = writer.request("PATCH", f"{PODS}/{names[i % len(names)]}",
                                   body={"metadata": {"labels": {"bench-touch": str(i)}}},
                                   content_type="application/merge-patch+json")
        patches.append(time.perf_counter() - t0)
        if status != 200:
            raise RuntimeError(f"PATCH answered {status}")
        while True:
            arrived, line = events.get(timeout=30)
            labels = json.loads(line)["object"]["metadata"].get("labels") or {}
            if labels.get("bench-touch") == str(i):
                deliveries.append(arrived - t0)
                break
    return patches, deliveries


def run(out, pods: int = 1000, samples: int = 1000) -> None:
    with tempfile.TemporaryDirectory(prefix="kubeplay-bench-api-") as tmp:
        _prepare(Path(tmp), pods)
        server = start_server(Path(tmp), "instant")
        try:
            client = Client(server)
            _deploy(client, pods)
            _, body = client.request("GET", PODS)
            listed = json.loads(body)
            names = [p["metadata"]["name"] for p in listed["items"]]
            for _ in range(5):  # warm: first requests fill caches and open the database connection
                client.timed(PODS, TABLE)
                client.timed(PODS, "application/json")
            table = [client.timed(PODS, TABLE) for _ in range(samples)]
            plain = [client.timed(PODS, "application/json") for _ in range(samples)]
            one = [client.timed(f"{PODS}/{names[i % len(names)]}", "application/json") for i in range(samples)]
            patches, deliveries = _write_to_event(server, names, listed["metadata"]["resourceVersion"], samples)
        finally:
            stop(server.proc)
    ms = 1000

    def line(what: str, values: list[float]) -> None:
        out.write(f"{what}: p50 {statistics.median(values) * ms:.1f} ms, p99 {pct(values, 99) * ms:.1f} ms, "
                  f"max {max(values) * ms:.1f} ms ({len(values)} samples)")

    out.write(f"over HTTPS (one keep-alive TLS connection, bearer token), {len(names)} pods in the playground")
    line(f"Table list of {len(names)} pods (kubectl get pods)", table)
    line(f"JSON list of {len(names)} pods", plain)
    line("GET one pod", one)
    line("PATCH a pod's label", patches)
    line("PATCH sent → its watch event read by the client", deliveries)
