"""The streaming subresources of a pod over WebSocket: `exec`, `attach` and `portforward`.

kubectl 1.37 and the Python client upgrade `GET …/pods/NAME/exec?command=…&stdin=…&tty=…` to a WebSocket with the
remotecommand subprotocol (`v5.channel.k8s.io`, or `v4.channel.k8s.io`). Every binary message starts with its
channel: 0 stdin, 1 stdout, 2 stderr, 3 error (a `Status` naming the exit code, as the kubelet sends it), 4 resize,
255 close (v5: the client closed its stdin). The server ends with the status and a WebSocket close: kubectl returns
only then. `portforward` is in `portforward.py`. The process behind is a simulated one (`cluster_core.shells`).
Requests are authenticated with the playground's bearer token like every API request; an unauthenticated upgrade
is refused before the handshake completes.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from urllib.parse import parse_qs

from channels.db import database_sync_to_async

from .. import clock
from ..errors import ApiError, Conflict
from ..models import Pod
from ..shells import world
from ..shells.session import Session, exec_not_found
from ..shells.sh import Shell
from ..writes import Batch

log = logging.getLogger(__name__)

PATH = re.compile(r"^/(?:clusters/(?P<slug>[-a-z0-9]+)/)?api/v1/namespaces/(?P<namespace>[^/]+)/pods/"
                  r"(?P<name>[^/]+)/(?P<sub>exec|attach|portforward)/?$")
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
EXEC_PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")


def status(success: bool, message: str = "", reason: str = "", causes: list[dict] | None = None,
           code: int | None = None) -> bytes:
    """The error channel's `Status`, field for field as the kubelet writes it."""
    if success:
        return json.dumps({"metadata": {}, "status": "Success"}, separators=(",", ":")).encode()
    body: dict = {"metadata": {}, "status": "Failure", "message": message, "reason": reason}
    if causes is not None:
        body["details"] = {"causes": causes}
    if code is not None:
        body["code"] = code
    return json.dumps(body, separators=(",", ":")).encode()


def exit_status(argv: list[str], code: int) -> bytes:
    if code == 0:
        return status(True)
    return status(False, f"command terminated with non-zero exit code: error executing command "
                         f"[{' '.join(argv)}], exit code {code}", "NonZeroExitCode",
                  [{"reason": "ExitCode", "message": str(code)}])


def internal_error(message: str) -> bytes:
    text = f"Internal error occurred: {message}"
    return status(False, text, "InternalError", [{"message": message}], 500)


def frames(chunks: list[tuple[int, bytes]]) -> list[bytes]:
    """Consecutive writes to one channel go out as one message."""
    out: list[list] = []
    for channel, data in chunks:
        if out and out[-1][0] == channel:
            out[-1][1] += data
        else:
            out.append([channel, bytearray(data)])
    return [bytes([channel]) + bytes(data) for channel, data in out]


class StreamRouter:
    """The WebSocket side of the ASGI application: the API's stream paths here, everything else to `fallback`
    (the page's own sockets, which check their Origin; API clients send a bearer token instead)."""

    def __init__(self, fallback):
        self.fallback = fallback

    async def __call__(self, scope, receive, send):
        m = PATH.match(scope.get("path", ""))
        if m is None:
            return await self.fallback(scope, receive, send)
        return await serve(scope, receive, send, **m.groupdict())


async def serve(scope, receive, send, slug, namespace, name, sub):
    first = await receive()
    if first.get("type") != "websocket.connect":
        return
    headers = {k.decode("latin1").lower(): v.decode("latin1") for k, v in scope.get("headers") or []}
    query = parse_qs((scope.get("query_string") or b"").decode("latin1"), keep_blank_values=True)
    from .views import authenticate

    try:
        pg = await database_sync_to_async(authenticate)(slug, headers)
    except ApiError:
        await send({"type": "websocket.close"})
        return
    offered = list(scope.get("subprotocols") or [])
    if sub == "portforward":
        from . import portforward

        return await portforward.serve(pg, namespace, name, query, offered, receive, send)
    chosen = next((p for p in EXEC_PROTOCOLS if p in offered), None)
    await send({"type": "websocket.accept", "subprotocol": chosen})
    try:
        await run_exec(pg, namespace, name, sub, query, chosen, receive, send)
    except Exception:
        log.exception("%s into pod %s/%s failed", sub, namespace, name)
        await send({"type": "websocket.send", "bytes": bytes([ERROR]) + internal_error(
            "the playground could not run that command; the cluster is unchanged")})
    await send({"type": "websocket.close", "code": 1000})


def _flag(query: dict, key: str) -> bool:
    return (query.get(key) or [""])[-1] in ("true", "1")


def open_session(pg, namespace: str, name: str, sub: str, query: dict) -> tuple[Session | None, str]:
    """The session to run, or the message of why there is none (the pod, the container, its state)."""
    pod = Pod.objects.filter(playground=pg, namespace=namespace, name=name).first()
    if pod is None:
        return None, f'pods "{name}" not found'
    names = [c.get("name") for c in (pod.spec or {}).get("containers") or []]
    container = (query.get("container") or [""])[-1] or (names[0] if len(names) == 1 else "")
    if not container:
        return None, f"a container name must be specified for pod {name}, choose one of: [{' '.join(names)}]"
    if container not in names:
        return None, f"container {container} is not valid for pod {name}"
    running = any(cs.get("name") == container and "running" in (cs.get("state") or {})
                  for cs in (pod.status or {}).get("containerStatuses") or [])
    if not running:
        return None, f'unable to upgrade connection: container not found ("{container}")'
    snap = world.snapshot(pg, pod, container)
    shell = Shell(snap, world.ClusterNetwork(pg, snap), world.now)
    if sub == "attach":
        # Attaching joins the container's main process; here that is a shell only if the container runs one.
        argv = snap.main or ["sh"]
    else:
        argv = query.get("command") or []
    return Session(shell, list(argv), stdin=_flag(query, "stdin"), tty=_flag(query, "tty")), ""


async def run_exec(pg, namespace, name, sub, query, protocol, receive, send):
    session, problem = await database_sync_to_async(open_session)(pg, namespace, name, sub, query)

    async def emit(chunks):
        for message in frames(chunks):
            await send({"type": "websocket.send", "bytes": message})

    if session is None:
        await send({"type": "websocket.send", "bytes": bytes([ERROR]) + status(False, problem, "", None)})
        return
    if sub == "attach" and not (session.argv and session.argv[0].rsplit("/", 1)[-1] in ("sh", "bash", "ash")):
        # A server's main process reads nothing and writes its log, not to an attached terminal: wait for the end.
        await _wait_closed(receive)
        return
    await emit(await database_sync_to_async(session.start)())
    while not session.finished:
        message = await receive()
        kind = message.get("type")
        if kind == "websocket.disconnect":
            return
        if kind != "websocket.receive":
            continue
        data = message.get("bytes")
        if data is None:
            data = (message.get("text") or "").encode("utf-8")
        if not data:
            continue
        channel, payload = data[0], data[1:]
        if channel == STDIN:
            await emit(await database_sync_to_async(session.feed)(payload))
        elif channel == CLOSE and payload[:1] == bytes([STDIN]):
            await emit(await database_sync_to_async(session.close_stdin)())
    if sub == "attach" and session.finished and not session.failure:
        await database_sync_to_async(main_shell_ended)(pg, namespace, name, query, session.code)
    if session.failure:
        if session.failure == exec_not_found(session.argv[0]):
            message = ("error executing command in container: failed to exec in container: failed to start exec "
                       f'"{secrets.token_hex(32)}": {session.failure}')
            body = internal_error(message)
        else:
            body = status(False, session.failure, "BadRequest", None, 400)
    else:
        body = exit_status(session.argv, session.code)
    await send({"type": "websocket.send", "bytes": bytes([ERROR]) + body})


def main_shell_ended(pg, namespace: str, name: str, query: dict, code: int) -> None:
    """The attached shell was the container's main process: with `stdinOnce` (what `kubectl run -it` sets) its
    stdin closes when the first attach ends, and it exits with the shell's status. The kubelet, which serves
    attach, records the exit; its next sync applies the restart policy."""
    pod = Pod.objects.filter(playground=pg, namespace=namespace, name=name).first()
    if pod is None:
        return
    wanted = (query.get("container") or [""])[-1]
    spec = next((c for c in (pod.spec or {}).get("containers") or []
                 if c.get("name") == wanted or not wanted), None)
    if spec is None or not spec.get("stdinOnce"):
        return
    now = clock.now()
    statuses = []
    for cs in (pod.status or {}).get("containerStatuses") or []:
        running = (cs.get("state") or {}).get("running")
        if cs.get("name") == spec["name"] and running is not None:
            term = {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                    "startedAt": running.get("startedAt"), "finishedAt": clock.rfc3339(now),
                    "containerID": cs.get("containerID", "")}
            cs = {**cs, "ready": False, "started": False, "state": {"terminated": term}}
        statuses.append(cs)
    pod.status = {**pod.status, "containerStatuses": statuses}
    pod.requeue_at = now
    batch = Batch(pg, f"kubelet/{pod.node_name}")
    batch.update(pod, f"kubelet on {pod.node_name} saw container {spec['name']} of pod {name} exit with code "
                      f"{code}: its attached shell ended")
    try:
        batch.commit()
    except Conflict:
        log.info("pod %s/%s changed while its shell ended; the kubelet's next sync sees the container", namespace,
                 name)


async def _wait_closed(receive):
    while True:
        message = await receive()
        if message.get("type") == "websocket.disconnect":
            return
