"""bench live: N WebSocket viewers on one playground while a Deployment scales 0 → M, against a real server.

The server is a `manage.py playground` subprocess on a fresh data directory (the embedded default: SQLite and the
in-memory channel layer). Every viewer checks that the revisions it receives are exactly the ones after its
snapshot, one by one (a gap is a lost change, a step back is out of order), and measures each change's delivery
latency from its commit (`at`, the `Change.committed_at` the server pushes) to the moment the viewer's socket
returned the message. The scale goes through the Kubernetes API (the scale subresource), as kubectl's would.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import ssl
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from playground.bench.server import MANAGE, ROOT, migrate, server_env, start_playground, stop
from playground.story import uncarry

NAME = "bench"


@dataclass
class Server:
    proc: subprocess.Popen
    port: int
    api_port: int
    token: str
    ca: ssl.SSLContext


def start_server(data_dir: Path, tempo: str) -> Server:
    env = server_env(data_dir)
    migrate(env)
    proc, port, api_port = start_playground(data_dir, env, tempo)
    out = subprocess.run([*MANAGE, "kubeconfig", "default", "--server", f"https://127.0.0.1:{api_port}"], cwd=ROOT,
                         env=env, check=True, capture_output=True, text=True).stdout
    config = yaml.safe_load(out)
    ca = ssl.create_default_context(
        cadata=base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"]).decode())
    return Server(proc, port, api_port, config["users"][0]["user"]["token"], ca)


def scale(server: Server, replicas: int) -> None:
    url = (f"https://127.0.0.1:{server.api_port}/clusters/default/apis/apps/v1/namespaces/default/deployments/"
           f"{NAME}/scale")
    req = urllib.request.Request(url, method="PATCH", data=json.dumps({"spec": {"replicas": replicas}}).encode(),
                                 headers={"Authorization": f"Bearer {server.token}",
                                          "Content-Type": "application/merge-patch+json"})
    urllib.request.urlopen(req, context=server.ca, timeout=30).read()


def deploy(server: Server) -> None:
    """The Deployment at 0 replicas, created through the Kubernetes API as `kubectl create` would."""
    body = {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": NAME, "namespace": "default", "labels": {"app": NAME}},
            "spec": {"replicas": 0, "selector": {"matchLabels": {"app": NAME}},
                     "template": {"metadata": {"labels": {"app": NAME}},
                                  "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}}}
    url = f"https://127.0.0.1:{server.api_port}/clusters/default/apis/apps/v1/namespaces/default/deployments"
    req = urllib.request.Request(url, method="POST", data=json.dumps(body).encode(),
                                 headers={"Authorization": f"Bearer {server.token}",
                                          "Content-Type": "application/json"})
    urllib.request.urlopen(req, context=server.ca, timeout=30).read()


@dataclass
class Viewer:
    revision: int = 0
    messages: int = 0
    changes: int = 0
    lost: int = 0
    out_of_order: int = 0
    latencies: list[float] = field(default_factory=list)
    last_received: float = 0.0
    server_side: list[float] = field(default_factory=list)
    transit: list[float] = field(default_factory=list)
    running: set[str] = field(default_factory=set)
    status: dict[str, str] = field(default_factory=dict)
    inbox: list[tuple[float, bytes]] = field(default_factory=list)

    def check(self, parse_times: list[float]) -> None:
        """Every message as received, in order: the same checks and timings as if done on arrival."""
        for received, data in self.inbox:
            msg = parsed(data, parse_times)
            self.server_side.append(msg["sent"] - msg["changes"][0]["at"] if msg["changes"] else 0.0)
            self.transit.append(received - msg["sent"])
            self.take(msg, received)
        self.inbox = []

    def take(self, msg: dict, received: float) -> None:
        """Check every revision arrived, once and in order, and time each from its own commit."""
        self.messages += 1
        self.last_received = max(self.last_received, received)
        for c in msg["changes"]:
            if c["rev"] <= self.revision:
                self.out_of_order += 1
                continue
            self.lost += c["rev"] - self.revision - 1
            self.revision = c["rev"]
            self.changes += 1
            self.latencies.append(received - c["at"])
            if c["kind"] == "Pod" and c["name"].startswith(f"{NAME}-"):
                # A row comes whole, as the fields that changed (`set`), or not at all when a later entry of the
                # same push carries it.
                status = (c.get("row") or c.get("set") or {}).get("status", self.status.get(c["name"]))
                if c["type"] == "DELETED":
                    self.status.pop(c["name"], None)
                elif status:
                    self.status[c["name"]] = status
                if self.status.get(c["name"]) == "Running":
                    self.running.add(c["name"])
                else:
                    self.running.discard(c["name"])


async def watch(url: str, viewer: Viewer, connected: list, go, stop) -> None:
    import websockets

    origin = "http://" + url.split("://", 1)[1].split("/", 1)[0]  # the page's own origin, as a browser sends it
    async with websockets.connect(url, origin=origin, max_size=None, open_timeout=60,
                                  compression=None) as ws:
        state = json.loads(await ws.recv())
        viewer.revision = state["revision"]
        connected.append(viewer)
        while not go.is_set():
            await asyncio.sleep(0.01)
        while not stop.is_set():
            try:
                data = await asyncio.wait_for(ws.recv(decode=False), timeout=0.5)
            except TimeoutError:
                continue
            # Only the time and the bytes now: checking them here would make the 100th socket of this process
            # wait behind 99 copies of the same work, and measure the harness instead of the server.
            viewer.inbox.append((time.time(), _PUSHES.setdefault(data, data)))


# The viewers of one process get the same bytes for a push (but the first after connecting): kept and parsed once.
_PUSHES: dict[bytes, bytes] = {}
_PARSED: dict[bytes, dict] = {}


def parsed(data: bytes, timings: list[float]) -> dict:
    if data not in _PARSED:
        start = time.perf_counter()
        msg = json.loads(data)
        msg["changes"] = uncarry(msg["changes"])
        timings.append(time.perf_counter() - start)
        _PARSED[data] = msg
    return _PARSED[data]


async def _viewers(url: str, count: int, connected_counter, go, stop) -> list[Viewer]:
    viewers = [Viewer() for _ in range(count)]
    connected: list[Viewer] = []
    tasks = []
    for v in viewers:
        tasks.append(asyncio.create_task(watch(url, v, connected, go, stop)))
        await asyncio.sleep(0.01)  # not all in one instant: that would measure accept(), not delivery
    while len(connected) < count:
        failed = [t for t in tasks if t.done() and t.exception()]
        if failed:
            raise failed[0].exception()
        await asyncio.sleep(0.05)
    with connected_counter.get_lock():
        connected_counter.value += count
    while not go.is_set():
        await asyncio.sleep(0.01)
    cpu = time.process_time()
    await asyncio.gather(*tasks)
    return viewers, time.process_time() - cpu


def _client_process(url: str, count: int, connected_counter, go, stop, results) -> None:
    """A share of the viewers in their own process: one Python process cannot take 200 sockets' messages in
    time, and would measure its own backlog instead of the server's delivery."""
    viewers, receiving_cpu = asyncio.run(_viewers(url, count, connected_counter, go, stop))
    parse_times: list[float] = []
    for v in viewers:
        v.check(parse_times)
    results.put(([(v.revision, v.messages, v.changes, v.lost, v.out_of_order, v.latencies, v.server_side,
                   v.transit, v.last_received)
                  for v in viewers], receiving_cpu, parse_times))


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def measure(server: Server, viewers: int, pods: int, out) -> None:
    import multiprocessing as mp

    url = f"ws://127.0.0.1:{server.port}/ws/p/default/"
    ctx = mp.get_context("spawn")
    counter, go, stop, results = ctx.Value("i", 0), ctx.Event(), ctx.Event(), ctx.Queue()
    nproc = max(1, min(os.cpu_count() or 1, 8, viewers))
    shares = [viewers // nproc + (1 if i < viewers % nproc else 0) for i in range(nproc)]
    procs = [ctx.Process(target=_client_process, args=(url, n, counter, go, stop, results)) for n in shares if n]
    for p in procs:
        p.start()
    deadline = time.monotonic() + 120
    while counter.value < viewers:
        if time.monotonic() > deadline or any(p.exitcode not in (None, 0) for p in procs):
            stop.set()
            raise RuntimeError(f"only {counter.value} of {viewers} viewers connected")
        time.sleep(0.1)
    out.write(f"{viewers} viewers connected ({len(procs)} client processes); scaling deployment {NAME} 0 → {pods}\n")
    out.flush()
    go.set()
    started = time.time()
    scale(server, pods)
    deadline = time.monotonic() + 300
    while not _all_running(server, pods) and time.monotonic() < deadline:
        time.sleep(0.25)
    running_after = time.time() - started
    # The last pushes still reach everyone after this: the viewers keep reading for 2 s more. The rates below are
    # over the delivery window only — from the scale request to the last message any viewer received.
    time.sleep(2.0)
    stop.set()
    shares_back = [results.get(timeout=60) for _ in procs]
    rows = [r for share in shares_back for r in share[0]]
    receiving_cpu = sum(share[1] for share in shares_back)
    parse_times = [t for share in shares_back for t in share[2]]
    for p in procs:
        p.join(timeout=10)

    top = max(r[0] for r in rows)
    latencies = [x for r in rows for x in r[5]]
    server_side = [x for r in rows for x in r[6]]
    transit = [x for r in rows for x in r[7]]
    messages = sum(r[1] for r in rows)
    window = max(r[8] for r in rows) - started
    first = rows[0]
    out.write(f"pods Running (as the API said, polled every 0.25 s) after {running_after:.1f} s; last message "
              f"received {window:.1f} s after the scale request; changes per viewer: {first[2]}; viewers behind at "
              f"the end: {sum(1 for r in rows if r[0] < top)}\n")
    out.write(f"pushes per viewer: {first[1]} ({first[2] / max(first[1], 1):.1f} changes a push)\n")
    out.write(f"server side, commit of a push's first change to its send: p50 {percentile(server_side, 50) * 1000:.0f} ms"
              f"   p99 {percentile(server_side, 99) * 1000:.0f} ms\n")
    out.write(f"encoded push to the viewer's socket returning it: p50 {percentile(transit, 50) * 1000:.0f} ms   "
              f"p99 {percentile(transit, 99) * 1000:.0f} ms\n")
    out.write(f"messages/s (all viewers, scale request → last message received): {messages / window:.0f}   "
              f"changes/s delivered: {len(latencies) / window:.0f}\n")
    out.write(f"harness: receiving {receiving_cpu / max(messages, 1) * 1e6:.0f} µs CPU a message; one viewer's "
              f"parse of a push (once per process): p50 {percentile(parse_times, 50) * 1000:.1f} ms   "
              f"max {max(parse_times, default=0) * 1000:.1f} ms\n")
    out.write(f"lost: {sum(r[3] for r in rows)}   out-of-order: {sum(r[4] for r in rows)}\n")
    out.write(f"delivery latency from commit: p50 {percentile(latencies, 50) * 1000:.0f} ms   "
              f"p99 {percentile(latencies, 99) * 1000:.0f} ms   max {max(latencies, default=0) * 1000:.0f} ms\n")


def _all_running(server: Server, pods: int) -> bool:
    url = (f"https://127.0.0.1:{server.api_port}/clusters/default/apis/apps/v1/namespaces/default/deployments/"
           f"{NAME}")
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {server.token}"})
    body = json.loads(urllib.request.urlopen(req, context=server.ca, timeout=30).read())
    return (body.get("status") or {}).get("readyReplicas", 0) >= pods


def run(out, viewers: int = 200, pods: int = 200, tempo: str = "realtime") -> None:
    with tempfile.TemporaryDirectory(prefix="kubeplay-bench-live-") as tmp:
        server = start_server(Path(tmp), tempo)
        try:
            deploy(server)
            measure(server, viewers, pods, out)
        finally:
            stop(server.proc)
