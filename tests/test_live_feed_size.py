"""The live feed at any size the caps allow: a message over the WebSocket limit goes as parts the page joins, and
a viewer that cannot be sent a push gets a fresh snapshot instead of keeping a wrong picture."""

import asyncio
import functools
import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from cluster_core import writes
from cluster_core.bootstrap import create_playground
from playground import consumers
from playground.asgi import application
from playground.story import uncarry

HEADERS = [(b"origin", b"http://testserver"), (b"host", b"testserver")]


def run_async(test):
    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        return asyncio.run(test(*args, **kwargs))

    return wrapper


def service(name: str, selector: dict | None = None) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"type": "ClusterIP", "selector": selector or {"app": name}, "ports": [{"port": 80}]}}


async def message(ws: WebsocketCommunicator) -> tuple[dict, int]:
    """One message as the page reads it (parts joined), and how many WebSocket messages carried it."""
    got, count = [], 0
    while True:
        msg = json.loads(await ws.receive_from(timeout=20))
        count += 1
        if msg["type"] != "part":
            return msg, count
        got.append(msg["data"])
        if not msg["more"]:
            return json.loads("".join(got)), count


def test_it_splits_a_message_over_the_limit_into_parts_under_it():
    text = json.dumps({"type": "state", "objects": [{"name": f'p-{i}', "note": '"\\\n\u00e9\u4e2d\x01' * 20}
                                                    for i in range(9000)]}, ensure_ascii=False)
    assert len(text.encode()) > 3 * consumers.MESSAGE_LIMIT
    messages = consumers.parts(text)
    assert len(messages) > 3
    assert all(len(m.encode()) <= consumers.MESSAGE_LIMIT for m in messages)
    loaded = [json.loads(m) for m in messages]
    assert [m["more"] for m in loaded] == [True] * (len(loaded) - 1) + [False]
    assert "".join(m["data"] for m in loaded) == text


def test_it_sends_a_message_under_the_limit_as_it_is():
    assert consumers.parts('{"type":"changes"}') == ['{"type":"changes"}']


@pytest.mark.django_db(transaction=True)
@run_async
async def test_it_sends_a_snapshot_over_the_limit_in_parts(monkeypatch):
    await sync_to_async(create_playground)("default", tempo="instant")
    monkeypatch.setattr(consumers, "MESSAGE_LIMIT", 4000)
    ws = WebsocketCommunicator(application, "/ws/p/default/", headers=HEADERS)
    assert (await ws.connect())[0]
    state, count = await message(ws)
    assert state["type"] == "state" and count > 1
    assert {("Node", "k8s-node1"), ("Service", "kubernetes")} <= {(o["kind"], o["name"]) for o in state["objects"]}
    await ws.disconnect()


@pytest.mark.django_db(transaction=True)
@run_async
async def test_it_sends_a_push_over_the_limit_in_parts(monkeypatch):
    pg = await sync_to_async(create_playground)("default", tempo="instant")
    ws = WebsocketCommunicator(application, "/ws/p/default/", headers=HEADERS)
    assert (await ws.connect())[0]
    await message(ws)
    monkeypatch.setattr(consumers, "MESSAGE_LIMIT", 2000)
    selector = {f"key-{i}": "v" * 60 for i in range(60)}
    await sync_to_async(writes.do_create)(pg, service("wide", selector), "kubectl create")
    changes, count = [], 0
    async with asyncio.timeout(20):
        while not any(c["name"] == "wide" for c in changes):
            msg, n = await message(ws)
            count += n
            changes += uncarry(msg["changes"])
    wide = next(c for c in changes if c["name"] == "wide")
    assert count > 1 and wide["row"]["selector"] == selector
    await ws.disconnect()


@pytest.mark.django_db(transaction=True)
@run_async
async def test_it_resyncs_a_viewer_that_cannot_be_sent_a_push(monkeypatch):
    pg = await sync_to_async(create_playground)("default", tempo="instant")
    ws = WebsocketCommunicator(application, "/ws/p/default/", headers=HEADERS)
    assert (await ws.connect())[0]
    await message(ws)
    real_text = consumers.Push.text
    failed = []

    def text_once_broken(push, lang, whole=False):
        if not failed:
            failed.append(push.last)
            raise ValueError("this push cannot be sent")
        return real_text(push, lang, whole)

    monkeypatch.setattr(consumers.Push, "text", text_once_broken)
    await sync_to_async(writes.do_create)(pg, service("after"), "kubectl create")
    msg, _ = await message(ws)
    assert failed and msg["type"] == "state"
    assert ("Service", "after") in {(o["kind"], o["name"]) for o in msg["objects"]}
    assert msg["revision"] >= failed[0]
    await ws.disconnect()
