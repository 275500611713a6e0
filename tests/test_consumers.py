"""The live feed over a real WebSocket: full state on connect, then every change, and only its own playground's."""

import asyncio
import functools
import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from cluster_core import writes
from cluster_core.bootstrap import create_playground
from playground.asgi import application
from playground.story import uncarry

pytestmark = pytest.mark.django_db(transaction=True)



def run_async(test):
    """Run an async test body in its own event loop (the suite has no asyncio plugin)."""

    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        return asyncio.run(test(*args, **kwargs))

    return wrapper


HEADERS = [(b"origin", b"http://testserver"), (b"host", b"testserver")]


def config_map(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}}


async def connect(slug: str) -> tuple[WebsocketCommunicator, dict]:
    ws = WebsocketCommunicator(application, f"/ws/p/{slug}/", headers=HEADERS)
    connected, _ = await ws.connect()
    assert connected
    return ws, json.loads(await ws.receive_from(timeout=10))


async def changes_until(ws: WebsocketCommunicator, predicate, timeout: float = 10) -> list[dict]:
    got = []
    async with asyncio.timeout(timeout):
        while not any(predicate(c) for c in got):
            msg = json.loads(await ws.receive_from(timeout=timeout))
            assert msg["type"] == "changes"
            got += uncarry(msg["changes"])
    return got


@pytest.fixture
def two_playgrounds(fake_clock):
    return create_playground("default", tempo="instant"), create_playground("other", tempo="instant")


@run_async
async def test_it_sends_the_full_state_on_connect(two_playgrounds):
    ws, state = await connect("default")
    assert state["type"] == "state"
    names = {(o["kind"], o["name"]) for o in state["objects"]}
    assert {("Node", "k8s-master"), ("Node", "k8s-node1"), ("Node", "k8s-node2"), ("Service", "kubernetes")} <= names
    assert any(o["kind"] == "Pod" and o["name"].startswith("coredns-") and o["status"] == "Running"
               for o in state["objects"])
    assert state["revision"] == two_playgrounds[0].revision
    await ws.disconnect()


@run_async
async def test_it_pushes_a_write_made_through_the_api_path(two_playgrounds):
    pg, _ = two_playgrounds
    ws, state = await connect("default")
    await sync_to_async(writes.do_create)(pg, config_map("hello"), "kubectl create configmap")
    got = await changes_until(ws, lambda c: c["name"] == "hello")
    change = next(c for c in got if c["name"] == "hello")
    assert change["type"] == "ADDED" and change["kind"] == "ConfigMap"
    assert change["rev"] == state["revision"] + 1
    assert change["at"] > 0  # the commit time, for latency measurements
    assert "asked kube-apiserver to create ConfigMap hello" in change["step"]
    await ws.disconnect()


@run_async
async def test_it_pushes_an_action_with_its_story_in_the_viewers_language(two_playgrounds):
    from cluster_core import actions

    pg, _ = two_playgrounds
    ws = WebsocketCommunicator(application, "/ws/p/default/?lang=zh-hans", headers=HEADERS)
    assert (await ws.connect())[0]
    await ws.receive_from(timeout=10)
    await sync_to_async(actions.deploy)(pg, "test1", "nginx")
    got = await changes_until(ws, lambda c: c["kind"] == "Deployment" and c["name"] == "test1")
    change = next(c for c in got if c["name"] == "test1")
    assert "请求 kube-apiserver 创建 Deployment test1" in change["step"]
    assert change["path"] == ["client", "apiserver", "etcd"]
    await ws.disconnect()


@run_async
async def test_it_only_sends_a_socket_its_own_playgrounds_changes(two_playgrounds):
    pg, other = two_playgrounds
    mine, state = await connect("default")
    theirs, their_state = await connect("other")
    await sync_to_async(writes.do_create)(other, config_map("theirs"), "kubectl create configmap")
    await sync_to_async(writes.do_create)(pg, config_map("mine"), "kubectl create configmap")
    got = await changes_until(mine, lambda c: c["name"] == "mine")
    assert [c["name"] for c in got] == ["mine"]
    assert [c["rev"] for c in got] == [state["revision"] + 1]
    got = await changes_until(theirs, lambda c: c["name"] == "theirs")
    assert [c["name"] for c in got] == ["theirs"]
    assert await theirs.receive_nothing(timeout=0.3)
    await mine.disconnect()
    await theirs.disconnect()


@run_async
async def test_it_coalesces_a_burst_into_few_pushes_with_every_revision(two_playgrounds):
    pg, _ = two_playgrounds
    ws, state = await connect("default")
    for i in range(30):
        await sync_to_async(writes.do_create)(pg, config_map(f"burst-{i}"), "kubectl create configmap")
    pushes, revs = 0, []
    async with asyncio.timeout(10):
        while len(revs) < 30:
            msg = json.loads(await ws.receive_from(timeout=10))
            pushes += 1
            revs += [c["rev"] for c in msg["changes"]]
    assert revs == list(range(state["revision"] + 1, state["revision"] + 31))  # nothing lost, in order
    assert pushes < 30
    await ws.disconnect()


@run_async
async def test_it_refuses_an_unknown_playground(two_playgrounds):
    ws = WebsocketCommunicator(application, "/ws/p/nope/", headers=HEADERS)
    connected, _ = await ws.connect()
    assert not connected


def test_it_sends_a_burst_lean_with_every_revision_and_rows_only_where_needed():
    from playground import consumers

    def change(rev, type_, name, status, kind="Pod"):
        obj = {"metadata": {"name": name, "namespace": "default", "resourceVersion": str(rev)},
               "spec": {"nodeName": "n1" if status != "Pending" else ""}, "status": {"phase": status}}
        return {"revision": rev, "type": type_, "kind": kind, "namespace": "default", "name": name, "object": obj,
                "actor": "kubelet/n1", "message": "", "detail": {}, "committed_at": 1000.0}

    base = {}
    first = consumers.Push([change(1, "ADDED", "p", "Pending")], base)
    assert json.loads(first.text("en"))["changes"][0]["row"]["status"] == "Pending"
    burst = [change(r, "MODIFIED", "p", "Running" if r % 2 else "Pending") for r in range(2, 40)]
    burst.append(change(40, "DELETED", "q", "Running"))
    push = consumers.Push(burst, base)
    lean = uncarry(json.loads(push.text("en"))["changes"])
    assert [c["rev"] for c in lean] == list(range(2, 41))  # every revision, in order
    assert all("row" not in c and "set" not in c for c in lean[:-2])  # superseded: revision and step only
    # Only what changed since the row sent last: the fields, and the table row (`kubectl get pods -o wide`'s cells).
    assert lean[-2]["set"] == {"node": "n1", "status": "Running",
                               "cells": ["p", "0/0", "Running", "0", "", "<none>", "n1", "<none>", "<none>"]}
    assert "row" not in lean[-1] and lean[-1]["type"] == "DELETED"
    whole = uncarry(json.loads(push.text("en", whole=True))["changes"])
    assert all(c["row"]["status"] for c in whole[:-1])  # a viewer just connected gets whole rows


def test_it_reads_a_push_in_one_row_as_the_orm_reads_it_row_by_row(fake_clock):
    from cluster_core.models import Change
    from playground import consumers

    pg = create_playground("default", tempo="instant")
    writes.do_create(pg, {**config_map("greeting"), "data": {"k": "grüß dich, 你好"}}, "kubectl create configmap")
    rows = Change.objects.filter(playground=pg).order_by("revision")
    assert consumers.read_changes(pg.pk, 3) == [consumers._change_dict(c) for c in rows if c.revision > 3]
    assert consumers.read_changes(pg.pk, pg.revision) == []


@run_async
async def test_it_reads_one_snapshot_for_viewers_opening_at_once_and_none_misses_a_revision(two_playgrounds,
                                                                                            monkeypatch):
    # A room following the instructor opens sixty sockets on one playground at once: they share reads, and a
    # viewer that came while a read ran gets the next one, so nothing written meanwhile is missed.
    from playground import consumers

    reads = []

    def counted(pg):
        reads.append(pg.pk)
        return real(pg)

    real = consumers.snapshot
    monkeypatch.setattr(consumers, "snapshot", counted)
    opened = await asyncio.gather(*(connect("default") for _ in range(12)))
    assert all(state["type"] == "state" for _ws, state in opened)
    assert 1 <= len(reads) < 12
    await sync_to_async(writes.do_create)(two_playgrounds[0], config_map("after-open"), "kubectl create configmap")
    for ws, state in opened:
        got = await changes_until(ws, lambda c: c.get("name") == "after-open")
        assert [c["rev"] for c in got] == list(range(state["revision"] + 1, got[-1]["rev"] + 1))
        await ws.disconnect()


def test_it_gives_a_snapshot_the_tempo_in_force_not_the_one_its_viewer_connected_at(two_playgrounds):
    # A snapshot is shared by the viewers asking at once, and a resync's viewer may have connected long ago.
    from cluster_core.models import Playground
    from playground import consumers

    stale = two_playgrounds[0]
    Playground.objects.filter(pk=stale.pk).update(tempo="classroom", paused=True)
    state = consumers.snapshot(stale)
    assert (stale.tempo, stale.paused) == ("instant", False)
    assert (state["tempo"], state["paused"]) == ("classroom", True)
