"""The page on a network: the Kubernetes API only over TLS, bodies and URLs refused before they cost anything,
the WebSocket only from the page's own origin, the page unframeable with no inline script, a per-install secret."""

import asyncio
import functools
import json

import pytest
from channels.testing import ApplicationCommunicator, WebsocketCommunicator
from django.test import Client

from cluster_core.bootstrap import create_playground
from playground import settings as project_settings
from playground.asgi import application


def run_async(test):
    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        return asyncio.run(test(*args, **kwargs))

    return wrapper


def http_scope(path: str, scheme: str = "http", method: str = "GET", headers=(), query: bytes = b"") -> dict:
    return {"type": "http", "http_version": "1.1", "method": method, "scheme": scheme, "path": path,
            "raw_path": path.encode(), "query_string": query, "root_path": "",
            "headers": [(b"host", b"127.0.0.1"), *headers], "client": ("127.0.0.1", 5000),
            "server": ("127.0.0.1", 8000)}


async def answer(scope: dict, body: bytes = b"", more_body: bool = False) -> tuple[int, dict, bytes, int]:
    """Send one request to the whole ASGI application; (status, headers, body, request messages unread)."""
    app = ApplicationCommunicator(application, scope)
    await app.send_input({"type": "http.request", "body": body, "more_body": more_body})
    start = await app.receive_output(timeout=20)
    chunks = []
    while True:
        msg = await app.receive_output(timeout=20)
        chunks.append(msg.get("body", b""))
        if not msg.get("more_body"):
            break
    unread = app.input_queue.qsize()
    await app.wait(timeout=5)
    return start["status"], dict(start["headers"]), b"".join(chunks), unread


@pytest.mark.django_db(transaction=True)
@run_async
async def test_it_refuses_the_kubernetes_api_on_the_plain_http_port():
    from asgiref.sync import sync_to_async

    pg = await sync_to_async(create_playground)("default", tempo="instant")
    bearer = (b"authorization", f"Bearer {pg.token}".encode())
    for path in ("/clusters/default/api/v1/namespaces/default/pods", "/api/v1/pods", "/apis", "/version",
                 "/openapi/v3"):
        status, _, body, _ = await answer(http_scope(path, headers=[bearer]))
        assert status == 404 and b"only over TLS" in body
    status, _, body, _ = await answer(http_scope("/clusters/default/api/v1/namespaces/default/pods",
                                                 scheme="https", headers=[bearer]))
    assert status == 200 and json.loads(body)["kind"] == "PodList"


@pytest.mark.django_db(transaction=True)
@run_async
async def test_it_serves_the_kubernetes_api_without_the_pages_middleware():
    from asgiref.sync import sync_to_async

    pg = await sync_to_async(create_playground)("default", tempo="instant")
    bearer = (b"authorization", f"Bearer {pg.token}".encode())
    status, headers, body, _ = await answer(http_scope("/api/v1/namespaces", scheme="https", headers=[bearer]))
    assert status == 200 and json.loads(body)["kind"] == "NamespaceList"
    # Neither the locale's nor the page's framing header: the page's middleware did not run.
    names = {name.lower() for name in headers}
    assert b"content-language" not in names and b"x-frame-options" not in names
    _status, headers, _body, _ = await answer(http_scope("/start"))
    assert b"x-frame-options" in {name.lower() for name in headers}


@run_async
async def test_it_answers_413_from_content_length_before_reading_the_body():
    scope = http_scope("/clusters/default/api/v1/namespaces/default/configmaps", scheme="https", method="POST",
                       headers=[(b"content-length", b"104857600"), (b"content-type", b"application/json")])
    status, _, body, unread = await answer(scope, b"{", more_body=True)
    assert status == 413 and json.loads(body)["reason"] == "RequestEntityTooLarge"
    assert unread == 1  # the first chunk of the body was never even taken


@run_async
async def test_it_answers_413_once_a_body_without_length_passes_the_limit():
    scope = http_scope("/clusters/default/api/v1/namespaces/default/configmaps", scheme="https", method="POST",
                       headers=[(b"content-type", b"application/json")])
    app = ApplicationCommunicator(application, scope)
    for _ in range(4):
        await app.send_input({"type": "http.request", "body": b"x" * (1 << 20), "more_body": True})
    start = await app.receive_output(timeout=20)
    assert start["status"] == 413
    await app.send_input({"type": "http.request", "body": b"x" * (1 << 20), "more_body": True})
    await app.wait(timeout=5)
    assert app.input_queue.qsize() == 1  # what came after the limit is never read


@run_async
async def test_it_answers_414_for_a_very_long_url():
    status, _, body, _ = await answer(http_scope("/clusters/default/api/v1/pods", scheme="https",
                                                 query=b"labelSelector=" + b"a" * 60_000))
    assert status == 414 and json.loads(body)["code"] == 414


@pytest.mark.django_db(transaction=True)
@run_async
async def test_it_accepts_the_page_websocket_only_from_its_own_origin():
    from asgiref.sync import sync_to_async

    await sync_to_async(create_playground)("default", tempo="instant")
    cases = [([(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")], True),
             ([(b"origin", b"https://evil.example"), (b"host", b"127.0.0.1:8000")], False),
             ([(b"origin", b"http://127.0.0.1:9999"), (b"host", b"127.0.0.1:8000")], False),
             # DNS rebinding: the attacker's name resolves here, but it is not one of ALLOWED_HOSTS.
             ([(b"origin", b"http://rebound.example:8000"), (b"host", b"rebound.example:8000")], False)]
    for headers, accepted in cases:
        ws = WebsocketCommunicator(application, "/ws/p/default/", headers=headers)
        connected, _ = await ws.connect(timeout=20)
        assert connected is accepted, headers
        await ws.disconnect()


def test_it_defaults_allowed_hosts_to_this_machines_names():
    assert project_settings.LOCAL_HOSTS == ["localhost", "127.0.0.1", "[::1]"]
    assert "*" not in project_settings.ALLOWED_HOSTS


@pytest.mark.django_db
def test_it_answers_head_on_the_page(cluster):
    assert Client().head("/p/default/").status_code == 200


@pytest.mark.django_db
def test_it_serves_the_page_unframeable_with_a_content_security_policy(cluster):
    response = Client().get("/p/default/")
    csp = response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self';" in csp and "unsafe-inline" not in csp
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_it_serves_a_page_without_inline_script(cluster):
    import re

    html = Client().get("/p/default/").content.decode()
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S)
    executable = [body for attrs, body in scripts if "application/json" not in attrs and body.strip()]
    assert scripts and executable == []
    assert not re.search(r"\son[a-z]+=", html)


def test_it_makes_one_secret_key_per_install(tmp_path):
    first = project_settings._install_secret(tmp_path / "a" / "secret_key")
    again = project_settings._install_secret(tmp_path / "a" / "secret_key")
    other = project_settings._install_secret(tmp_path / "b" / "secret_key")
    assert first == again and first != other and len(first) >= 50
    assert (tmp_path / "a" / "secret_key").stat().st_mode & 0o077 == 0
    assert "dev-only" not in project_settings.SECRET_KEY
