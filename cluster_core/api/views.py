"""The Kubernetes API over HTTP, at /clusters/<playground>/… — a thin async view in front of `handlers`.

Authentication is the playground's bearer token (kubectl sends it only over TLS). Errors are `Status` objects.
Watches and `logs -f` stream, one JSON event per line, flushed as each change arrives on the feed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError, connections
from django.http import HttpResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from .. import clock, feed, nudge, urgency
from ..errors import ApiError, BadRequest, Forbidden, Gone, NotFound, Timeout, Unauthorized
from ..models import LogLine, Playground
from . import bodies, discovery, handlers, ratelimit
from .handlers import Call, Reply
from .resources import find

log = logging.getLogger(__name__)

ANONYMOUS = {"version", "healthz", "readyz", "livez"}
WATCH_DEFAULT_TIMEOUT = 1800
# How long a watch from a resourceVersion the store has not reached waits for it (the watch cache's 3 s).
FUTURE_RESOURCE_VERSION_WAIT = 3.0


def _replace_broken_connections() -> None:
    """This thread's database connection, if an error broke it (the database restarted and dropped it), is closed
    so the next query opens a new one. Django does this at each request's start and end, but only on the
    request's own thread; the API's queries run on other threads, which would keep a dead connection forever."""
    for conn in connections.all(initialized_only=True):
        if conn.connection is None:
            continue
        if conn.errors_occurred:
            if conn.is_usable():
                conn.errors_occurred = False
            else:
                conn.close()
        else:
            conn.health_check_done = False  # with CONN_HEALTH_CHECKS (PostgreSQL): checked before its next use


def _give_back_pooled_connections() -> None:
    """On PostgreSQL the connections come from a pool that checks each one as it lends it: this thread gives its
    connection back after each call, so the next call borrows a checked one (a connection the server dropped is
    never used again) and an idle thread holds none."""
    for conn in connections.all(initialized_only=True):
        if getattr(conn, "pool", None) is not None and conn.connection is not None and not conn.in_atomic_block:
            conn.close()


def in_db_thread(fn, again_if_dropped: bool = False):
    """`fn` on a worker thread (not the one thread Django's sync views share), on a usable connection.
    `again_if_dropped`: `fn` only reads (or writes what it would write again the same), so when the database had
    dropped the connection it was given — a restart, or a check that passed just before the server ended it — it runs
    once more, on another connection, before the client is told the storage is unavailable."""
    def call(*args, **kwargs):
        try:
            with urgency.writes_first():  # a learner's request: its writes before the loops'
                return _on_usable_connection(fn, again_if_dropped, *args, **kwargs)
        finally:
            _give_back_pooled_connections()

    return sync_to_async(call, thread_sensitive=False)


def _on_usable_connection(fn, again_if_dropped: bool, *args, **kwargs):
    for attempt in (1, 2):
        _replace_broken_connections()
        try:
            return fn(*args, **kwargs)
        except (OperationalError, InterfaceError):
            if not again_if_dropped or attempt == 2 or _connections_usable():
                raise
            _give_back_pooled_connections()


def _connections_usable() -> bool:
    return all(conn.connection is None or conn.is_usable() for conn in connections.all(initialized_only=True))


def json_response(status: int, body, content_type: str = "application/json", headers: dict | None = None):
    if isinstance(body, (dict, list)):
        # The apiserver's JSON encoder ends every document with a newline.
        data = json.dumps(body, separators=(",", ":")) + "\n"
    else:
        data = body
    resp = HttpResponse(data, status=status, content_type=content_type)
    for k, v in (headers or {}).items():
        resp[k] = v
    return resp


def error_response(err: ApiError):
    retry = err.details.get("retryAfterSeconds")
    return json_response(err.code, err.status(), headers={"Retry-After": str(retry)} if retry else None)


def authenticate(slug: str | None, headers: dict) -> Playground:
    """The playground of the bearer token; `slug` None (the API at the server root) accepts any playground."""
    auth = headers.get("authorization", "")
    if not auth.lower().startswith("bearer "):
        raise Unauthorized("Unauthorized")
    token = auth[7:].strip()
    pg = Playground.objects.filter(token=token).first() if token else None
    if pg is None:
        raise Unauthorized("Unauthorized")
    if slug is not None and pg.slug != slug:
        # Say nothing about the other playground, not even whether it exists.
        raise Forbidden("forbidden: this token does not grant access to the requested playground")
    pg.touch()
    return pg


def parse_resource_path(parts: list[str]):
    if parts[0] == "api":
        group, version, rest = "", parts[1] if len(parts) > 1 else "", parts[2:]
    else:
        group, version, rest = parts[1] if len(parts) > 1 else "", parts[2] if len(parts) > 2 else "", parts[3:]
    if not rest:
        return group, version, None
    namespace = ""
    if rest[0] == "namespaces" and len(rest) >= 3 and find(group, version, rest[2]) and rest[2] not in ("status", "finalize"):
        namespace, rest = rest[1], rest[2:]
    res = find(group, version, rest[0])
    if res is None:
        raise NotFound("the server could not find the requested resource")
    name = rest[1] if len(rest) > 1 else ""
    sub = rest[2] if len(rest) > 2 else ""
    subpath = "/".join(rest[3:])
    if sub and sub not in discovery.lookup(group, version, res.plural).subresources:
        # A path under an object that names no served subresource (namespaces/default/secrets when secrets are
        # not served, pods/x/exec) is an unknown resource, as on the apiserver: 404, not 405.
        raise NotFound("the server could not find the requested resource")
    return group, version, (res, namespace, name, sub, subpath)


def discovery_reply(parts: list[str], accept: str):
    aggregated = "as=APIGroupDiscoveryList" in accept
    if parts == ["api"]:
        if aggregated:
            return json_response(200, discovery.aggregated_discovery(core=True), discovery.AGGREGATED_CONTENT_TYPE)
        return json_response(200, discovery.api_versions())
    if parts == ["apis"]:
        if aggregated:
            return json_response(200, discovery.aggregated_discovery(core=False), discovery.AGGREGATED_CONTENT_TYPE)
        return json_response(200, discovery.api_group_list())
    if parts[0] == "api" and len(parts) == 2:
        body = discovery.api_resource_list("", parts[1])
    elif parts[0] == "apis" and len(parts) == 3:
        body = discovery.api_resource_list(parts[1], parts[2])
    elif parts[0] == "apis" and len(parts) == 2:
        groups = [g for g in discovery.api_group_list()["groups"] if g["name"] == parts[1]]
        body = {"kind": "APIGroup", "apiVersion": "v1", **groups[0]} if groups else None
    else:
        body = None
    if not body:
        raise NotFound("the server could not find the requested resource")
    return json_response(200, body)


def openapi_reply(parts: list[str], request, prefix: str):
    from . import openapi

    if parts == ["openapi", "v3"]:
        return json_response(200, openapi.index_document(prefix=prefix), headers={"Cache-Control": "no-cache"})
    if parts[:2] == ["openapi", "v3"]:
        found = openapi.group_version_document("/".join(parts[2:]))
        if found is None:
            raise NotFound("the server could not find the requested resource")
        data, etag = found
        quoted = f'"{etag}"'
        if request.headers.get("If-None-Match") == quoted:
            return HttpResponse(status=304, headers={"ETag": quoted})
        return json_response(200, data.decode() if isinstance(data, bytes) else data,
                             headers={"ETag": quoted, "Cache-Control": "public, immutable"})
    raise NotFound("the server could not find the requested resource")


@csrf_exempt
async def dispatch(request, slug: str, path: str = ""):
    return await serve(request, slug, path, prefix=f"/clusters/{slug}")


@csrf_exempt
async def dispatch_root(request, path: str = ""):
    """The API at the server root, where a real apiserver serves it; the bearer token names the playground.
    `kubectl proxy` forwards here: it drops the kubeconfig's /clusters/<slug> path unless --append-server-path."""
    return await serve(request, None, path, prefix="")


async def serve(request, slug: str | None, path: str, prefix: str):
    parts = [p for p in path.split("/") if p]
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        if parts and parts[0] in ANONYMOUS and len(parts) == 1:
            return await sync_to_async(simple_reply)(parts[0])
        call, refused = _request_call(request, parts, headers)
        if call is not None and not (call.resource.virtual or _watches(call) or _follows(call)):
            # The token looked up and the request answered on one trip to a worker thread: each trip waits for the
            # event loop and a thread again, which a busy class's server makes slow.
            reply = await in_db_thread(authenticated_route, again_if_dropped=request.method == "GET")(slug, headers,
                                                                                                       call)
            return json_response(reply.status, reply.body, reply.content_type, reply.headers)
        pg = await in_db_thread(authenticate, again_if_dropped=True)(slug, headers)
        ratelimit.check(pg)
        if refused is not None:
            raise refused
        if call is not None:
            call = dataclasses.replace(call, pg=pg)
            if call.resource.virtual:
                reply = await in_db_thread(route)(call)
                return json_response(reply.status, reply.body, reply.content_type, reply.headers)
            if _watches(call):
                return await watch_response(call)
            return await follow_logs(call)
        if not parts:
            return json_response(200, {"paths": ["/api", "/api/v1", "/apis", "/openapi/v3", "/version", "/healthz"]})
        if parts[0] in ("api", "apis"):
            return discovery_reply(parts, headers.get("accept", ""))
        if parts[0] == "openapi":
            return await sync_to_async(openapi_reply)(parts, request, prefix)
        raise NotFound("the server could not find the requested resource")
    except ApiError as err:
        return error_response(err)
    except (OperationalError, InterfaceError) as exc:
        # The database is unreachable or dropped the connection (a restart): the client may retry.
        log.warning("API request failed on the database: %s %s: %s", request.method, path, exc)
        err = ApiError("the storage is unavailable for a moment; try again")
        err.code, err.reason = 503, "ServiceUnavailable"
        response = error_response(err)
        response["Retry-After"] = "1"
        return response
    except Exception:
        log.exception("API request failed: %s %s", request.method, path)
        return error_response(ApiError("an internal error occurred; the playground's data is unchanged"))


def _request_call(request, parts: list[str], headers: dict) -> tuple[Call | None, ApiError | None]:
    """The request for a resource as a `Call` not yet given its playground, or the error its path or body gets
    (told after the token is looked up). (None, None): not a resource's path (the root, discovery, OpenAPI)."""
    if not parts or parts[0] not in ("api", "apis"):
        return None, None
    try:
        _, _, target = parse_resource_path(parts)
    except ApiError as err:
        return None, err
    if target is None:
        return None, None
    res, namespace, name, sub, subpath = target
    try:
        body = request.body
    except RequestDataTooBig:
        return None, bodies.RequestEntityTooLarge()
    if res.namespaced is False and namespace:
        return None, NotFound("the server could not find the requested resource")
    return Call(pg=None, method=request.method, resource=res, namespace=namespace, name=name, subresource=sub,
                subpath=subpath, query=request.GET.dict(), body=body, content_type=headers.get("content-type", ""),
                accept=headers.get("accept", ""), actor=handlers.actor_of(headers)), None


def _watches(call: Call) -> bool:
    return call.method == "GET" and call.query.get("watch") in ("true", "1") and not call.name


def _follows(call: Call) -> bool:
    return call.method == "GET" and call.subresource == "log" and call.query.get("follow") in ("true", "1")


def authenticated_route(slug: str | None, headers: dict, call: Call) -> Reply:
    """`route` for the playground of the request's token. The token's lookup only reads: it is tried again on
    another connection when the database had dropped this one, whatever the request then does."""
    pg = _on_usable_connection(authenticate, True, slug, headers)
    ratelimit.check(pg)
    return route(dataclasses.replace(call, pg=pg))


def simple_reply(what: str):
    if what == "version":
        return json_response(200, discovery.VERSION_INFO)
    return HttpResponse("ok", content_type="text/plain")


def route(call: Call) -> Reply:
    m, sub = call.method, call.subresource
    if call.resource.virtual:
        return handlers.virtual(call)
    if sub == "proxy":
        return handlers.proxy(call)
    if sub in ("exec", "attach", "portforward"):
        # Reached only without a WebSocket upgrade (the upgrades go to `streams`), as on the apiserver.
        raise BadRequest("Upgrade request required")
    if m == "GET":
        if not call.name:
            return handlers.do_list(call)
        if sub == "scale":
            return handlers.scale_read(call)
        if sub == "log":
            _, lines = handlers.log_lines(call)
            return Reply(200, "".join(line + "\n" for line in lines), "text/plain")
        if sub in ("", "status"):
            return handlers.do_get(call)
        raise NotFound("the server could not find the requested resource")
    if m == "POST":
        if call.name and not sub:
            from ..errors import MethodNotAllowed

            raise MethodNotAllowed("the server does not allow this method on the requested resource")
        return handlers.do_create(call)
    if m == "PUT":
        return handlers.do_update(call)
    if m == "PATCH":
        return handlers.do_patch(call)
    if m == "DELETE":
        return handlers.do_delete(call) if call.name else handlers.do_delete_collection(call)
    from ..errors import MethodNotAllowed

    raise MethodNotAllowed(f"the server does not allow this method on the requested resource ({m})")


# ---------------------------------------------------------------------------------------------------------------
# watches


def _line(event: dict) -> bytes:
    return (json.dumps(event, separators=(",", ":")) + "\n").encode()


class _TableShape:
    def __init__(self, call: Call):
        self.call = call
        self.first = True

    def wrap(self, kind: str, body: dict, revision: int) -> dict:
        if not self.call.as_table:
            return body
        from . import tables

        t = tables.build_table(kind, [body], clock.now(), include_object=self.call.query.get("includeObject") or "Metadata",
                               resource_version=str(revision), with_columns=self.first)
        self.first = False
        return t


async def watch_response(call: Call):
    q = call.query
    send_initial = q.get("sendInitialEvents") in ("true", "1")
    rv = q.get("resourceVersion")
    try:
        timeout = float(q.get("timeoutSeconds") or WATCH_DEFAULT_TIMEOUT)
    except ValueError:
        raise BadRequest(f"invalid timeoutSeconds: {q.get('timeoutSeconds')!r}") from None
    if rv not in (None, "", "0"):
        try:
            start = int(rv)
        except ValueError:
            raise BadRequest(f"invalid resource version: {rv!r}") from None
    else:
        start = None
    handlers.filters(call)  # a malformed selector is a 400 now, not a broken stream later
    if start is not None:
        await wait_for_revision(call.pg, start)
    stream = watch_events(call, start, send_initial, timeout, q.get("allowWatchBookmarks") in ("true", "1"))
    resp = StreamingHttpResponse(stream, content_type="application/json")
    resp["Cache-Control"] = "no-cache"
    return resp


def _revision(pg: Playground) -> int:
    return Playground.objects.values_list("revision", flat=True).get(pk=pg.pk)


async def wait_for_revision(pg: Playground, wanted: int, wait: float | None = None) -> None:
    """A watch from a resourceVersion the store has not reached yet waits a moment for it, then answers as the
    apiserver does: 504 Timeout, cause ResourceVersionTooLarge (the client relists)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + (FUTURE_RESOURCE_VERSION_WAIT if wait is None else wait)
    while True:
        current = await in_db_thread(_revision)(pg)
        if current >= wanted:
            return
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        await asyncio.sleep(min(remaining, 0.2))
    raise Timeout(f"Timeout: Too large resource version: {wanted}, current: {current}",
                  {"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
                   "retryAfterSeconds": 1})


def _initial(call: Call):
    selectors = {k: v for k, v in call.query.items() if k in ("labelSelector", "fieldSelector")}
    items, revision, _ = handlers.list_objects(dataclasses.replace(call, query=selectors))
    return items, revision


async def watch_events(call: Call, start: int | None, send_initial: bool, timeout: float, bookmarks: bool):
    layer = get_channel_layer()
    group = nudge.feed_group(call.pg.pk)
    channel = await layer.new_channel() if layer else None
    if channel:
        await layer.group_add(group, channel)
    shape = _TableShape(call)
    res = call.resource
    # An empty first chunk makes the server send the 200 and its headers now, as the apiserver does: a client
    # waiting for the response (the Python client's watch, an informer asked to stop) is not left hanging until
    # the first event.
    try:
        yield b""
        ok = handlers.watch_filter(call)
        if start is None:
            items, last = await in_db_thread(_initial)(call)
            for body in items:
                yield _line({"type": "ADDED", "object": shape.wrap(res.kind, body, last)})
            if send_initial:
                yield _line({"type": "BOOKMARK", "object": {"kind": res.kind, "apiVersion": res.api_version,
                                                            "metadata": {"resourceVersion": str(last), "annotations": {
                                                                "k8s.io/initial-events-end": "true"}}}})
        else:
            last = start
        deadline = time.monotonic() + timeout
        last_bookmark = time.monotonic()
        while True:
            try:
                changes = await in_db_thread(feed.changes_since)(call.pg, last,
                                                                                          [res.model_kind])
            except Gone as err:
                yield _line({"type": "ERROR", "object": err.status()})
                return
            for c in changes:
                last = c.revision
                body = handlers.render_change(call, c.object)
                # The served object's namespace: a derived view may live elsewhere than its source (node leases).
                if res.namespaced and call.namespace and body["metadata"].get("namespace") != call.namespace:
                    continue
                if ok(body):
                    yield _line({"type": c.type, "object": shape.wrap(res.kind, body, c.revision)})
            if changes:
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            if bookmarks and time.monotonic() - last_bookmark > 30:
                last_bookmark = time.monotonic()
                yield _line({"type": "BOOKMARK", "object": {"kind": res.kind, "apiVersion": res.api_version,
                                                            "metadata": {"resourceVersion": str(last)}}})
            # The feed notice only says "look again" (and, from a commit, which kinds it wrote: a notice of other
            # kinds only is no reason to read); the poll interval covers a lost one.
            look_by = time.monotonic() + min(remaining, 1.0)
            try:
                if channel:
                    while True:
                        notice = await asyncio.wait_for(layer.receive(channel),
                                                        timeout=max(0.0, look_by - time.monotonic()))
                        if res.model_kind in notice.get("kinds", (res.model_kind,)):
                            break
                else:
                    await asyncio.sleep(min(remaining, 0.5))
            except TimeoutError:
                pass
    finally:
        if channel:
            await layer.group_discard(group, channel)


async def follow_logs(call: Call):
    pod, lines = await in_db_thread(handlers.log_lines)(call)
    container = call.query.get("container") or (pod.spec.get("containers") or [{}])[0].get("name", "")

    def newer(after_id: int):
        return list(LogLine.objects.filter(playground=call.pg, pod_uid=pod.uid, container=container,
                                           id__gt=after_id).values_list("id", "text"))

    def last_id():
        row = LogLine.objects.filter(playground=call.pg, pod_uid=pod.uid).order_by("-id").values_list("id", flat=True)
        return row.first() or 0

    async def stream():
        yield b""  # the headers now, before the first line
        for line in lines:
            yield (line + "\n").encode()
        after = await in_db_thread(last_id)()
        deadline = time.monotonic() + 3600
        while time.monotonic() < deadline:
            rows = await in_db_thread(newer)(after)
            for row_id, text in rows:
                after = row_id
                yield (text + "\n").encode()
            await asyncio.sleep(0.3)

    return StreamingHttpResponse(stream(), content_type="text/plain")
