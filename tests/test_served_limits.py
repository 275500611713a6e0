"""The served playground's two ports as a client on the network meets them: the API only over TLS, and
request lines or headers over the limit answered (414/431) instead of a connection left hanging."""

import ssl
import urllib.error
import urllib.request

import pytest

from tests import processes


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    s = processes.start_playground(tmp_path_factory.mktemp("served-limits"))
    yield s
    s.stop()


def fetch(url: str, served=None, headers: dict | None = None, method: str = "GET",
          data: bytes | None = None) -> tuple[int, bytes]:
    ctx = ssl.create_default_context(cafile=str(served.ca_file())) if served else None
    req = urllib.request.Request(url, headers=headers or {}, method=method, data=data)
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=20) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_it_refuses_the_bearer_token_api_on_the_page_port(served):
    auth = {"Authorization": f"Bearer {served.token}"}
    assert fetch(f"{served.url}/clusters/default/api/v1/pods", headers=auth)[0] == 404
    assert fetch(f"{served.url}/api/v1/pods", headers=auth)[0] == 404
    assert fetch(f"{served.api}/clusters/default/api/v1/pods", served, headers=auth)[0] == 200


def test_it_answers_414_for_a_60_kb_url_on_the_tls_port(served):
    auth = {"Authorization": f"Bearer {served.token}"}
    code, body = fetch(f"{served.api}/clusters/default/api/v1/pods?labelSelector={'a' * 60_000}", served,
                       headers=auth)
    assert code == 414 and b'"reason":"RequestURITooLong"' in body


def test_it_answers_431_for_headers_too_large(served):
    headers = {"Authorization": f"Bearer {served.token}", **{f"X-Pad-{i}": "p" * 1000 for i in range(20)}}
    code, _ = fetch(f"{served.api}/clusters/default/api/v1/pods", served, headers=headers)
    assert code == 431


def test_it_answers_head_on_the_served_page(served):
    code, _ = fetch(f"{served.url}/p/default/", method="HEAD")
    assert code == 200


def test_it_brings_a_push_and_a_snapshot_over_one_mib_to_every_viewer(served):
    import asyncio
    import json

    import websockets

    from playground.story import uncarry

    selector = {f"k{i:05d}-{'x' * 50}": "v" * 60 for i in range(10_000)}
    body = json.dumps({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "wide"},
                       "spec": {"type": "ClusterIP", "selector": selector, "ports": [{"port": 80}]}}).encode()
    url = f"ws://127.0.0.1:{served.port}/ws/p/default/"
    origin = f"http://127.0.0.1:{served.port}"

    async def read(ws) -> dict:
        got = []
        while True:
            msg = json.loads(await ws.recv())
            if msg["type"] != "part":
                return msg
            got.append(msg["data"])
            if not msg["more"]:
                return json.loads("".join(got))

    async def scenario():
        async with websockets.connect(url, origin=origin, max_size=None) as first:
            await read(first)
            created = await asyncio.to_thread(
                fetch, f"{served.api}/clusters/default/api/v1/namespaces/default/services", served,
                {"Authorization": f"Bearer {served.token}", "Content-Type": "application/json"}, "POST", body)
            assert created[0] == 201, created[1][:300]
            changes = []
            async with asyncio.timeout(60):
                while not any(c["name"] == "wide" and c.get("row") for c in changes):
                    changes += uncarry((await read(first))["changes"])
            pushed = next(c for c in changes if c["name"] == "wide" and c.get("row"))
            assert len(pushed["row"]["selector"]) == 10_000
        async with websockets.connect(url, origin=origin, max_size=None) as second:
            state = await read(second)
            wide = [o for o in state["objects"] if o["kind"] == "Service" and o["name"] == "wide"]
            assert state["type"] == "state" and len(wide[0]["selector"]) == 10_000

    asyncio.run(scenario())
