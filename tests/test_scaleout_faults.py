"""Faults in the scale-out mode (PostgreSQL + Redis, two Daphne web processes, two workers): a web process and a
worker killed with SIGKILL under load, Redis restarted, PostgreSQL's connections cut. Each time the cluster
converges afterwards with no pod lost or duplicated, and a viewer's picture recovers.

Redis here is a private `redis-server` on a free port (started and restarted by the test: the machine's shared
Redis is left alone). The PostgreSQL "restart" is simulated: every connection of the app's database is ended
with `pg_terminate_backend`, which is what the processes see when the server restarts (the shared server itself
is not restarted)."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import threading
import time
import uuid
from urllib.parse import urlparse

import pytest

from tests import processes
from tests.test_scaleout import DATABASE_URL, pods, wait_for

pytestmark = pytest.mark.scaleout


class PrivateRedis:
    def __init__(self, data_dir):
        self.port = processes.free_port()
        self.dir = data_dir
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                      "--save", "", "--appendonly", "no", "--dir", str(self.dir)],
                                     stdout=(self.dir / "redis.log").open("a"), stderr=subprocess.STDOUT)
        import redis

        wait_for(lambda: _pings(redis, self.url), timeout=20, what="the private redis-server")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)


def _pings(redis, url) -> bool:
    try:
        return redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception:
        return False


def unavailable() -> str | None:
    if shutil.which("redis-server") is None:
        return "redis-server is not installed"
    try:
        import psycopg

        with psycopg.connect(DATABASE_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        return f"PostgreSQL at {DATABASE_URL} is not reachable: {exc}"
    return None


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    processes.require_services(unavailable())
    import psycopg

    data = tmp_path_factory.mktemp("faults")
    redis = PrivateRedis(data)
    redis.start()
    name = f"kubeplay_faults_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    db_url = urlparse(DATABASE_URL)._replace(path=f"/{name}").geturl()
    env = processes.base_env(data, DATABASE_URL=db_url, REDIS_URL=redis.url, KUBEPLAY_CHANNEL_PREFIX="faults")
    state = {"env": env, "data": data, "redis": redis, "db": name, "webs": [], "workers": []}
    try:
        state["webs"].append(processes.start_playground(data, env, tempo="instant", extra_args=("--no-workers",)))
        state["webs"].append(processes.start_playground(data, env, tempo="instant", migrate=False,
                                                        extra_args=("--no-workers", "--no-ticker")))
        state["workers"] += [processes.start_worker(env, data, "worker-1"), processes.start_worker(env, data, "worker-2")]
        yield state
    finally:
        for w in state["webs"]:
            w.stop()
        for p in state["workers"]:
            processes.stop(p)
        redis.stop()
        with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def converged(served, replicas: int, image: str = "nginx"):
    """The Deployment's pods as the API serves them once the cluster has converged: exactly `replicas`, all Running
    with the wanted image, none terminating, one ReplicaSet holding them."""
    items = pods(served)
    live = [p for p in items if not p["metadata"].get("deletionTimestamp")]
    if len(items) != replicas or len(live) != replicas:
        return None
    if any(p["status"].get("phase") != "Running" or p["spec"]["containers"][0]["image"] != image for p in live):
        return None
    status, body = processes.api_get(served, "/apis/apps/v1/namespaces/default/replicasets?labelSelector=app=test1")
    active = [rs for rs in json.loads(body)["items"] if rs["spec"]["replicas"]]
    if len(active) != 1 or active[0]["status"].get("readyReplicas") != replicas:
        return None
    return items


def assert_no_pod_lost_or_duplicated(items: list[dict], replicas: int) -> None:
    names = [p["metadata"]["name"] for p in items]
    ips = [p["status"]["podIP"] for p in items]
    assert len(names) == len(set(names)) == replicas
    assert len(ips) == len(set(ips)) == replicas


def viewer_state(served) -> dict:
    """A new viewer's picture (the page's snapshot, parts joined) from a web process."""
    import websockets

    async def read():
        url = f"ws://127.0.0.1:{served.port}/ws/p/default/"
        async with websockets.connect(url, origin=f"http://127.0.0.1:{served.port}", max_size=None) as ws:
            got = []
            while True:
                msg = json.loads(await ws.recv())
                if msg["type"] != "part":
                    return msg
                got.append(msg["data"])
                if not msg["more"]:
                    return json.loads("".join(got))

    return asyncio.run(read())


def viewer_agrees(served, items: list[dict]) -> bool:
    """A viewer's picture matches the API's. A connection refused while the server recovers is tried again, as
    the page does (it reconnects after a close)."""
    import websockets

    try:
        state = viewer_state(served)
    except (OSError, websockets.exceptions.WebSocketException):
        return False
    shown = {o["name"] for o in state["objects"] if o["kind"] == "Pod" and o["ns"] == "default"}
    return shown == {p["metadata"]["name"] for p in items}


class Load:
    """Clients writing through both web processes while a fault happens: ConfigMaps created one after another
    (their names are counted so none is lost or made twice) and scale requests."""

    def __init__(self, webs):
        self.webs = webs
        self.stop = threading.Event()
        self.created: list[str] = []
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        i = 0
        while not self.stop.is_set():
            served = self.webs[i % len(self.webs)]
            name = f"load-{i}"
            try:
                done = served.kubectl("create", "configmap", name, timeout=20)
                if done.returncode == 0:
                    self.created.append(name)
            except subprocess.TimeoutExpired:
                pass
            i += 1

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=60)


def settled(webs, replicas: int) -> list[dict]:
    """The Deployment test1 at `replicas`, converged, before a fault."""
    if webs[0].kubectl("get", "deployment", "test1").returncode != 0:
        webs[0].kubectl("create", "deployment", "test1", "--image=nginx", f"--replicas={replicas}", check=True)
    webs[0].kubectl("scale", "deployment", "test1", f"--replicas={replicas}", check=True)
    return wait_for(lambda: converged(webs[0], replicas), timeout=120, what=f"{replicas} Running pods")


def test_it_converges_after_a_web_process_and_a_worker_are_killed_under_load(cluster):
    webs, env, data = cluster["webs"], cluster["env"], cluster["data"]
    settled(webs, 4)
    with Load(webs[:1]) as load:
        webs[1].kubectl("scale", "deployment", "test1", "--replicas=8", check=True)
        webs[1].proc.send_signal(signal.SIGKILL)
        webs[1].proc.wait(timeout=10)
        cluster["workers"][0].send_signal(signal.SIGKILL)
        cluster["workers"][0].wait(timeout=10)
        webs[0].kubectl("scale", "deployment", "test1", "--replicas=6", check=True)
        cluster["workers"][0] = processes.start_worker(env, data, "worker-1b")
        webs[1] = processes.start_playground(data, env, tempo="instant", migrate=False,
                                             extra_args=("--no-workers", "--no-ticker"))
    final = wait_for(lambda: converged(webs[1], 6), timeout=120, what="6 Running pods after the kills")
    assert_no_pod_lost_or_duplicated(final, 6)
    status, body = processes.api_get(webs[1], "/api/v1/namespaces/default/configmaps")
    stored = [c["metadata"]["name"] for c in json.loads(body)["items"] if c["metadata"]["name"].startswith("load-")]
    assert load.created and set(load.created) <= set(stored)  # every write the API confirmed is there
    assert wait_for(lambda: viewer_agrees(webs[1], final), timeout=30, what="a viewer of the restarted web process")


def test_it_converges_after_redis_restarts(cluster):
    webs, redis = cluster["webs"], cluster["redis"]
    settled(webs, 6)
    redis.stop()
    time.sleep(1)  # the processes meet a Redis that is gone, not merely slow
    redis.start()
    webs[0].kubectl("scale", "deployment", "test1", "--replicas=3", check=True)
    final = wait_for(lambda: converged(webs[1], 3), timeout=180, what="3 Running pods after the Redis restart")
    assert_no_pod_lost_or_duplicated(final, 3)
    assert all(p.poll() is None for p in cluster["workers"]), "a worker died with Redis"
    for served in webs:
        assert served.proc.poll() is None
        assert wait_for(lambda s=served: viewer_agrees(s, final), timeout=30, what="a viewer after Redis restarted")


def test_it_converges_after_postgresql_drops_every_connection(cluster):
    import psycopg

    webs = cluster["webs"]
    settled(webs, 3)
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        ended = conn.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s "
                             "AND pid <> pg_backend_pid()", (cluster["db"],)).fetchone()[0]
    assert ended > 0
    done = wait_for(lambda: webs[1].kubectl("scale", "deployment", "test1", "--replicas=5").returncode == 0 or None,
                    timeout=60, what="the API answering again")
    assert done
    final = wait_for(lambda: converged(webs[0], 5), timeout=180, what="5 Running pods after the connections died")
    assert_no_pod_lost_or_duplicated(final, 5)
    assert all(p.poll() is None for p in cluster["workers"])
    assert wait_for(lambda: viewer_agrees(webs[0], final), timeout=30, what="a viewer after PostgreSQL came back")
