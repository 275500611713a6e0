"""What stands in front of the ASGI application when it faces a network.

- The Kubernetes API (`/clusters/…`, `/api`, `/apis`, `/openapi`, `/version`) is served only on the TLS port:
  the page's plain-HTTP port answers 404 there, so a bearer token sent over plain HTTP is never accepted.
- A request body over the limit is answered 413 RequestEntityTooLarge before it is read: from Content-Length
  when given, after the limit's worth of bytes otherwise; the rest is never read.
- A request target longer than `MAX_URL_BYTES` is answered 414 before anything parses it.
- The page's WebSocket accepts only its own origin: the Origin header must name the host the request was sent
  to, and that host must be one of ALLOWED_HOSTS (a DNS-rebinding page or another site is closed with 403).
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.utils.deprecation import MiddlewareMixin

from cluster_core.api.bodies import MAX_BODY_BYTES

API_PATH = re.compile(r"^/(clusters/|(api|apis|openapi|version)(/|$))")
# The apiserver answers 414 for request targets longer than its limit; kubectl never comes near this.
MAX_URL_BYTES = 16 * 1024


def _status(code: int, reason: str, message: str) -> bytes:
    return json.dumps({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                       "message": message, "reason": reason, "code": code}, separators=(",", ":")).encode()


async def _answer(send, code: int, reason: str, message: str) -> None:
    body = _status(code, reason, message)
    await send({"type": "http.response.start", "status": code,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def _header(scope: dict, name: bytes) -> str | None:
    for key, value in scope.get("headers") or []:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def is_api_path(path: str) -> bool:
    return bool(API_PATH.match(path))


def over_tls(scope: dict) -> bool:
    if scope["type"] == "http":
        return scope.get("scheme") == "https"
    # Daphne gives a WebSocket no scheme: the port it arrived on tells.
    page_port = getattr(settings, "KUBEPLAY_PAGE_PORT", None)
    server = scope.get("server") or (None, None)
    return page_port is None or server[1] != page_port


class NetworkGuard:
    """ASGI middleware for HTTP and WebSocket scopes; everything else passes through."""

    def __init__(self, app, limit: int = MAX_BODY_BYTES):
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        if scope["type"] == "http":
            target = len(scope.get("raw_path") or path.encode()) + len(scope.get("query_string") or b"")
            if target > MAX_URL_BYTES:
                return await _answer(send, 414, "RequestURITooLong",
                                     f"the request URI is too long: limit is {MAX_URL_BYTES} bytes")
        if is_api_path(path) and not over_tls(scope):
            if scope["type"] == "websocket":
                return await send({"type": "websocket.close", "code": 1008})
            return await _answer(send, 404, "NotFound",
                                 "the Kubernetes API is served only over TLS, on the API port")
        if scope["type"] == "websocket":
            if not is_api_path(path) and not same_origin(scope):
                return await send({"type": "websocket.close", "code": 1008})
            return await self.app(scope, receive, send)
        return await self._limited(scope, receive, send)

    async def _limited(self, scope, receive, send):
        length = _header(scope, b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                return await _answer(send, 400, "BadRequest", "invalid Content-Length")
            if declared > self.limit:
                return await _answer(send, 413, "RequestEntityTooLarge",
                                     f"Request entity too large: limit is {self.limit}")
            return await self.app(scope, receive, send)
        # No length given (chunked): read up to the limit, then answer or hand the bytes on.
        messages, size = [], 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.limit:
                return await _answer(send, 413, "RequestEntityTooLarge",
                                     f"Request entity too large: limit is {self.limit}")
            if not message.get("more_body"):
                break

        async def replay():
            return messages.pop(0) if messages else await receive()

        return await self.app(scope, replay, send)


def same_origin(scope: dict) -> bool:
    """The WebSocket's Origin names the host it was sent to, and that host is allowed. A client that sends no
    Origin is not a browser (a browser always sends one), so no other site can be acting through it."""
    host = _header(scope, b"host") or ""
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return False
    origin = _header(scope, b"origin")
    if origin is None:
        return True
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower()


class ContentSecurityPolicyMiddleware(MiddlewareMixin):
    """Django middleware: the page's Content-Security-Policy (no inline script, never framed)."""

    def process_response(self, request, response):
        if not is_api_path(request.path):
            response.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response
