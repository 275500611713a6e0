"""The scale-out mode on real engines: PostgreSQL + Redis (channels-redis), two Daphne web processes serving HTTP
only, and the reconcile loops in separate `runworker` processes. Skips, saying why, where the services are absent;
`.ci/run` sets KUBEPLAY_REQUIRE_SCALEOUT=1 so that there a missing service is a failure."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from urllib.parse import urlparse

import pytest

from tests import processes

pytestmark = pytest.mark.scaleout

DATABASE_URL = os.environ.get("KUBEPLAY_SCALEOUT_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("KUBEPLAY_SCALEOUT_REDIS_URL", "redis://127.0.0.1:6379/0")


def unavailable() -> str | None:
    try:
        import psycopg

        with psycopg.connect(DATABASE_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        return f"PostgreSQL at {DATABASE_URL} is not reachable: {exc}"
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except Exception as exc:
        return f"Redis at {REDIS_URL} is not reachable: {exc}"
    return None


@pytest.fixture(scope="module")
def scaleout(tmp_path_factory):
    processes.require_services(unavailable())
    import psycopg

    name = f"kubeplay_scaleout_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    db_url = urlparse(DATABASE_URL)._replace(path=f"/{name}").geturl()
    data = tmp_path_factory.mktemp("scaleout")
    env = processes.base_env(data, DATABASE_URL=db_url, REDIS_URL=REDIS_URL,
                             KUBEPLAY_CHANNEL_PREFIX=f"kp-{uuid.uuid4().hex[:8]}")
    started = []
    try:
        web1 = processes.start_playground(data, env, tempo="instant", extra_args=("--no-workers",))
        started.append(web1)
        web2 = processes.start_playground(data, env, tempo="instant", migrate=False,
                                          extra_args=("--no-workers", "--no-ticker"))
        started.append(web2)
        # Two worker processes share the loops' channels: Redis hands each nudge to one of them, and optimistic
        # concurrency settles the races between them.
        web1.extra.append(processes.start_worker(env, data, "worker-1"))
        web1.extra.append(processes.start_worker(env, data, "worker-2"))
        yield {"web1": web1, "web2": web2, "env": env, "data": data}
    finally:
        for s in started:
            s.stop()
        with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pods(served, selector="app=test1") -> list[dict]:
    status, body = processes.api_get(served, f"/api/v1/namespaces/default/pods?labelSelector={selector}")
    assert status == 200, body
    return json.loads(body)["items"]


def wait_for(predicate, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}; last: {last}")


def test_it_serves_the_seed_flow_from_two_web_processes_with_loops_in_a_worker(scaleout):
    web1, web2 = scaleout["web1"], scaleout["web2"]
    done = web1.kubectl("create", "deployment", "test1", "--image=nginx", check=True)
    assert done.stdout.strip() == "deployment.apps/test1 created"

    def running(n):
        items = pods(web2)
        ok = [p for p in items if p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")]
        return ok if len(ok) == n and len(items) == n else None

    first = wait_for(lambda: running(1), what="1 Running pod seen through the second web process")
    assert first[0]["status"]["podIP"].startswith("10.244.")
    assert web2.kubectl("scale", "deployment", "test1", "--replicas=3", check=True).stdout.strip() == \
        "deployment.apps/test1 scaled"
    three = wait_for(lambda: running(3), what="3 Running pods")
    nodes = {p["spec"]["nodeName"] for p in three}
    assert nodes == {"k8s-node1", "k8s-node2"}
    exposed = web1.kubectl("expose", "deployment", "test1", "--type=NodePort", "--port=80", check=True)
    assert exposed.stdout.strip() == "service/test1 exposed"

    def answered():
        status, body = processes.api_get(web2, "/api/v1/namespaces/default/services/test1:80/proxy/")
        return body if status == 200 else None

    assert b"Welcome to nginx!" in wait_for(answered, what="the service answering through kube-proxy")


def test_it_converges_after_the_workers_are_killed_mid_rollout(scaleout):
    web1, env, data = scaleout["web1"], scaleout["env"], scaleout["data"]
    if not pods(web1):
        web1.kubectl("create", "deployment", "test1", "--image=nginx", "--replicas=3", check=True)
    # Slow the loops' clock so the rollout is still under way when the worker dies.
    web1.kubectl("scale", "deployment", "test1", "--replicas=3", check=True)
    wait_for(lambda: len([p for p in pods(web1) if p["status"].get("phase") == "Running"]) == 3, what="3 Running")
    processes.manage(env, "shell", "-c",
                     "from cluster_core.models import Playground; Playground.objects.update(tempo='realtime')")
    web1.kubectl("set", "image", "deployments/test1", "nginx=httpd", check=True)
    wait_for(lambda: any(c["image"] == "httpd" for p in pods(web1) for c in p["spec"]["containers"]),
             what="the first httpd pod")
    for worker in web1.extra:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    web1.extra[:] = [processes.start_worker(env, data, "worker-3")]

    def converged():
        items = pods(web1)
        live = [p for p in items if not p["metadata"].get("deletionTimestamp")]
        images = {c["image"] for p in live for c in p["spec"]["containers"]}
        if len(items) == 3 and images == {"httpd"} and all(p["status"].get("phase") == "Running" for p in items):
            return items
        return None

    final = wait_for(converged, timeout=90, what="the rollout to finish after a worker restart")
    assert len({p["metadata"]["name"] for p in final}) == 3
    hashes = {p["metadata"]["labels"]["pod-template-hash"] for p in final}
    assert len(hashes) == 1
    status, body = processes.api_get(web1, "/apis/apps/v1/namespaces/default/replicasets?labelSelector=app=test1")
    rss = json.loads(body)["items"]
    by_hash = {rs["metadata"]["labels"]["pod-template-hash"]: rs for rs in rss}
    assert by_hash[hashes.pop()]["status"]["readyReplicas"] == 3
    assert sum(rs["spec"]["replicas"] for rs in rss) == 3


def test_a_receive_on_a_quiet_redis_channel_outlasts_redis_blocking_time_and_then_gets_its_message():
    """channels-redis blocks in Redis for 5 s per receive; the client's socket must wait longer than that, or every
    quiet channel's receive fails with a read time-out instead of coming back empty and trying again."""
    processes.require_services(unavailable())
    import asyncio

    from channels_redis.core import RedisChannelLayer
    from django.conf import settings

    host = {"address": REDIS_URL, "socket_timeout": settings.REDIS_SOCKET_TIMEOUT}
    layer = RedisChannelLayer(hosts=[host], prefix=f"kp-quiet-{uuid.uuid4().hex[:8]}")
    assert settings.REDIS_SOCKET_TIMEOUT > layer.brpop_timeout

    async def main():
        channel = await layer.new_channel()
        receiving = asyncio.ensure_future(layer.receive(channel))
        await asyncio.sleep(layer.brpop_timeout + 2)  # quiet for longer than one blocking pop
        assert not receiving.done() or receiving.exception() is None
        await layer.send(channel, {"type": "look.again"})
        message = await asyncio.wait_for(receiving, timeout=10)
        await layer.flush()
        return message

    assert asyncio.run(main())["type"] == "look.again"
