"""The live feed's hand-over from snapshot to pushes, and the hub's life: a viewer gets every revision after its
snapshot exactly once — none the snapshot already had, none lost while it was being read — and a playground's hub
stops with its last viewer and starts again with the next."""

import asyncio
import functools
import json

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator

from cluster_core import writes
from cluster_core.bootstrap import create_playground
from playground import consumers
from playground.asgi import application
from playground.story import uncarry

pytestmark = pytest.mark.django_db(transaction=True)

HEADERS = [(b"origin", b"http://testserver"), (b"host", b"testserver")]


def run_async(test):
    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        return asyncio.run(test(*args, **kwargs))

    return wrapper


def change(rev: int, name: str, type_: str = "MODIFIED", phase: str = "Running") -> dict:
    obj = {"metadata": {"name": name, "namespace": "default", "resourceVersion": str(rev)},
           "spec": {"nodeName": "k8s-node1"}, "status": {"phase": phase}}
    return {"revision": rev, "uid": f"uid-{name}", "type": type_, "kind": "Pod", "namespace": "default", "name": name,
            "object": obj, "actor": "kubelet/k8s-node1", "message": "", "detail": {}, "committed_at": 1000.0}


class Viewer(consumers.PlaygroundConsumer):
    """A consumer without a socket: what it would send is kept in `sent`."""

    def __init__(self, revision=None, ahead=0):
        super().__init__()
        self.lang, self.pending, self.sent = "en", [], []
        self.revision, self.ahead = revision, ahead

    async def send_text(self, text: str) -> None:
        msg = json.loads(text)
        if msg["type"] == "changes":
            msg["changes"] = uncarry(msg["changes"])
        self.sent.append(msg)


def revisions(viewer: Viewer) -> list[int]:
    return [c["rev"] for m in viewer.sent if m["type"] == "changes" for c in m["changes"]]


@run_async
async def test_it_drops_a_push_the_snapshot_already_had():
    viewer = Viewer(revision=12, ahead=12)
    await viewer.deliver(consumers.Push([change(11, "p"), change(12, "p")], {}))
    assert viewer.sent == []


@run_async
async def test_it_trims_a_push_that_overlaps_the_snapshot_to_the_revisions_after_it():
    viewer = Viewer(revision=11, ahead=13)
    await viewer.deliver(consumers.Push([change(10, "p"), change(11, "q"), change(12, "p"), change(13, "q")], {}))
    assert revisions(viewer) == [12, 13]
    # The snapshot may hold objects newer than its revision (read after it): these entries carry whole rows.
    assert all("row" in c and "set" not in c for c in viewer.sent[0]["changes"])
    assert viewer.revision == 13


@run_async
async def test_it_sends_lean_pushes_once_past_what_the_snapshot_held():
    base = {}
    viewer = Viewer(revision=11, ahead=11)
    await viewer.deliver(consumers.Push([change(12, "p", "ADDED", "Pending")], base))
    await viewer.deliver(consumers.Push([change(13, "p")], base))
    assert revisions(viewer) == [12, 13]
    assert viewer.sent[1]["changes"][0]["set"]["status"] == "Running"  # only what changed


@run_async
async def test_it_sends_pushes_that_arrive_while_the_snapshot_is_read_after_it(fake_clock, monkeypatch):
    pg = await sync_to_async(create_playground)("default", tempo="instant")
    viewer = Viewer()
    viewer.playground, viewer.hub = pg, consumers.Hub(pg.pk)
    taken = {}
    real = consumers.snapshot

    def snapshot_with_a_write_meanwhile(p):
        state = real(p)
        taken["revision"] = state["revision"]
        # A write commits after the snapshot's revision, and its push reaches the viewer before the snapshot is sent.
        writes.do_create(p, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "meanwhile"}}, "kubectl")
        async_to_sync(viewer.deliver)(consumers.Push(consumers.read_changes(p.pk, state["revision"]), {}))
        return state

    monkeypatch.setattr(consumers, "snapshot", snapshot_with_a_write_meanwhile)
    await viewer.send_state()
    assert [m["type"] for m in viewer.sent] == ["state", "changes"]
    assert viewer.sent[0]["revision"] == taken["revision"]
    assert revisions(viewer) == [taken["revision"] + 1]
    assert viewer.sent[1]["changes"][0]["name"] == "meanwhile"
    assert viewer.pending == []


async def connect(slug: str) -> tuple[WebsocketCommunicator, dict]:
    ws = WebsocketCommunicator(application, f"/ws/p/{slug}/", headers=HEADERS)
    connected, _ = await ws.connect()
    assert connected
    return ws, json.loads(await ws.receive_from(timeout=10))


async def hub_stopped(playground_id: int) -> None:
    """Until the playground's hub of this loop has gone (its task ends with its last viewer)."""
    loop_id = id(asyncio.get_running_loop())
    async with asyncio.timeout(10):
        while (loop_id, playground_id) in consumers.HUBS:
            await asyncio.sleep(0.01)


@run_async
async def test_it_stops_the_hub_with_its_last_viewer_and_starts_a_new_one_for_the_next(fake_clock):
    pg = await sync_to_async(create_playground)("default", tempo="instant")
    ws, _ = await connect("default")
    first = consumers.HUBS[(id(asyncio.get_running_loop()), pg.pk)]
    await ws.disconnect()
    await hub_stopped(pg.pk)
    assert first.task.done()
    await asyncio.wait({first.listener}, timeout=10)  # its feed subscription ends with it
    assert first.listener.cancelled()

    ws, state = await connect("default")
    second = consumers.HUBS[(id(asyncio.get_running_loop()), pg.pk)]
    assert second is not first
    await sync_to_async(writes.do_create)(pg, {"apiVersion": "v1", "kind": "ConfigMap",
                                               "metadata": {"name": "after-restart"}}, "kubectl")
    msg = json.loads(await ws.receive_from(timeout=10))
    assert [(c["rev"], c["name"]) for c in uncarry(msg["changes"])] == [(state["revision"] + 1, "after-restart")]
    await ws.disconnect()
