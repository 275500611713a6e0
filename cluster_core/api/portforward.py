"""`portforward` of a pod over WebSocket: the local port of `kubectl port-forward` (or of the Python client's
`portforward`) really serves the pod's simulated container.

Two wire forms, chosen by the subprotocol the client offers:
- `SPDY/3.1+portforward.k8s.io` (kubectl 1.37): SPDY tunnelled in binary WebSocket messages. For each local
  connection kubectl opens an `error` stream and a `data` stream (headers `streamtype`, `port`, `requestid`), each
  answered with a SYN_REPLY; the bytes of the local connection arrive as DATA frames on the data stream, the answer
  goes back on it; FIN half-closes. Anything written on the error stream is kubectl's error for that connection,
  and kubectl waits for the error stream to end before it closes the local connection.
- `v4.channel.k8s.io` (the Python client): per requested port (`?ports=80`) a data channel 2i and an error channel
  2i+1, each opened by the server with the port number (two bytes, little endian).

What answers is the container listening on the port, as kube-proxy's simulation answers a request that reached
the pod (`kube_proxy.curl` to the pod's IP, logged as coming from 127.0.0.1): HTTP requests get the image's HTTP
response; a port nothing listens on is the runtime's "connection refused".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import zlib

from channels.db import database_sync_to_async

from .. import clock, images, kube_proxy
from ..models import Pod
from . import spdy

log = logging.getLogger(__name__)

SPDY_PROTOCOL = "SPDY/3.1+portforward.k8s.io"
CHANNEL_PROTOCOL = "v4.channel.k8s.io"
REASONS = {200: "OK", 404: "Not Found", 405: "Not Allowed", 400: "Bad Request"}


# ---------------------------------------------------------------------------------------------------------------
# What the container answers


def refused(pod: Pod, port: int) -> str:
    sandbox = hashlib.sha256(pod.uid.encode()).hexdigest()
    netns = f"/var/run/netns/cni-{pod.uid}"
    return (f"error forwarding port {port} to pod {sandbox}, uid : failed to execute portforward in network "
            f'namespace "{netns}": failed to connect to localhost:{port} inside namespace "{sandbox}", IPv4: dial '
            f"tcp4 127.0.0.1:{port}: connect: connection refused IPv6 dial tcp6 [::1]:{port}: connect: connection "
            "refused ")


MAX_REQUEST = 64 * 1024


def split_request(buffer: bytearray) -> bytes | None:
    """Take one complete HTTP request off the buffer, or None if incomplete. Past 64 KiB without the end of a
    request head, the buffer is taken as it stands (the simulated servers read no more than that)."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        if len(buffer) > MAX_REQUEST:
            head = bytes(buffer[:MAX_REQUEST])
            buffer.clear()
            return head
        return None
    head = bytes(buffer[:end + 4])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            length = int(value.strip())
    if len(buffer) < end + 4 + length:
        return None
    del buffer[:end + 4 + length]
    return head


def answer(pg, namespace: str, name: str, port: int, request: bytes) -> tuple[bytes | None, str, bool]:
    """(the response bytes or None when the connection just closes, an error for the error stream, whether to
    close after the response)."""
    pod = Pod.objects.filter(playground=pg, namespace=namespace, name=name).first()
    if pod is None or pod.phase != "Running":
        return None, f"pod {name} is not running", True
    lines = request.decode("latin1").split("\r\n")
    parts = lines[0].split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        # Not HTTP: the simulated servers speak nothing else, and hang up.
        return None, "", True
    method, path, version = parts
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
    close = headers.get("connection", "").lower() == "close" or version == "HTTP/1.0"
    ip = (pod.status or {}).get("podIP") or ""
    resp = kube_proxy.curl(pg, f"{ip}:{port}", path.split("?", 1)[0] or "/", client="127.0.0.1")
    if resp.error:
        if "(52)" in resp.error:
            return None, "", True
        return None, refused(pod, port), True
    server = ""
    for c in (pod.spec or {}).get("containers") or []:
        info = images.lookup(c.get("image") or "")
        if info and info.port == port:
            server = info.server
    status, body = resp.status, resp.body.encode()
    if method not in ("GET", "HEAD"):
        status, body = 405, b""
    return response(status, body, server, close, method == "HEAD"), "", close


def response(status: int, body: bytes, server: str, close: bool, head_only: bool = False,
             now: dt.datetime | None = None) -> bytes:
    date = (now or clock.now()).astimezone(dt.UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'OK')}"]
    if server:
        lines.append(f"Server: {server}")
    lines += [f"Date: {date}", "Content-Type: text/html", f"Content-Length: {len(body)}",
              f"Connection: {'close' if close else 'keep-alive'}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (b"" if head_only else body)


# ---------------------------------------------------------------------------------------------------------------
# The two wire forms


async def serve(pg, namespace: str, name: str, query: dict, offered: list[str], receive, send) -> None:
    if SPDY_PROTOCOL in offered:
        await send({"type": "websocket.accept", "subprotocol": SPDY_PROTOCOL})
        try:
            await SpdyForward(pg, namespace, name, send).run(receive)
        except (spdy.ProtocolError, zlib.error) as exc:
            log.info("port-forward to %s/%s ended: %s", namespace, name, exc)
    elif CHANNEL_PROTOCOL in offered:
        ports = []
        for value in query.get("ports") or []:
            for p in value.split(","):
                if p.strip().isdigit() and 0 < int(p) < 65536:
                    ports.append(int(p))
        if not ports:
            await send({"type": "websocket.close"})
            return
        await send({"type": "websocket.accept", "subprotocol": CHANNEL_PROTOCOL})
        await ChannelForward(pg, namespace, name, ports, send).run(receive)
    else:
        await send({"type": "websocket.close"})
        return
    await send({"type": "websocket.close", "code": 1000})


async def _messages(receive):
    while True:
        message = await receive()
        if message.get("type") == "websocket.disconnect":
            return
        if message.get("type") == "websocket.receive":
            data = message.get("bytes")
            if data is None:
                data = (message.get("text") or "").encode("latin1")
            yield data


class SpdyForward:
    def __init__(self, pg, namespace: str, name: str, send):
        self.pg, self.namespace, self.name, self.send = pg, namespace, name, send
        self.conn = spdy.Connection()
        self.streams: dict[int, dict] = {}
        self.last = 0

    async def out(self, *frames: bytes) -> None:
        data = b"".join(frames)
        if data:
            await self.send({"type": "websocket.send", "bytes": data})

    def _pair(self, data_stream: dict) -> dict | None:
        return next((s for s in self.streams.values()
                     if s["type"] == "error" and s["requestid"] == data_stream["requestid"]), None)

    async def run(self, receive) -> None:
        async for data in _messages(receive):
            for frame in self.conn.feed(data):
                if await self.handle(frame) is False:
                    return

    async def handle(self, frame: spdy.Frame) -> bool:
        if not frame.control:
            stream = self.streams.get(frame.stream)
            if stream is None or stream["type"] != "data":
                return True
            stream["buffer"] += frame.data
            await self.serve_requests(stream)
            if frame.flags & spdy.FLAG_FIN and not stream["done"]:
                await self.finish(stream)
            return True
        if frame.type == spdy.SYN_STREAM:
            self.last = max(self.last, frame.stream)
            port = frame.headers.get("port", "")
            self.streams[frame.stream] = {
                "id": frame.stream, "type": frame.headers.get("streamtype", ""), "requestid":
                frame.headers.get("requestid", ""), "port": int(port) if port.isdigit() else 0,
                "buffer": bytearray(), "done": False}
            await self.out(self.conn.syn_reply(frame.stream))
        elif frame.type == spdy.PING:
            await self.out(self.conn.ping(frame.data[:4]))
        elif frame.type == spdy.RST_STREAM:
            self.streams.pop(frame.stream, None)
        elif frame.type == spdy.GOAWAY:
            await self.out(self.conn.goaway(self.last))
            return False
        return True

    async def serve_requests(self, stream: dict) -> None:
        while not stream["done"]:
            request = split_request(stream["buffer"])
            if request is None:
                return
            reply, error, close = await database_sync_to_async(answer)(
                self.pg, self.namespace, self.name, stream["port"], request)
            if reply:
                await self.out(self.conn.data_frame(stream["id"], reply))
            if error or close:
                await self.finish(stream, error)

    async def finish(self, stream: dict, error: str = "") -> None:
        """End the data stream, and its error stream (with the error, if any): kubectl then closes the local
        connection."""
        stream["done"] = True
        frames = [self.conn.data_frame(stream["id"], b"", fin=True)]
        pair = self._pair(stream)
        if pair is not None and not pair["done"]:
            pair["done"] = True
            if error:
                frames.insert(0, self.conn.data_frame(pair["id"], error.encode()))
            frames.append(self.conn.data_frame(pair["id"], b"", fin=True))
        await self.out(*frames)


class ChannelForward:
    def __init__(self, pg, namespace: str, name: str, ports: list[int], send):
        self.pg, self.namespace, self.name, self.ports, self.send = pg, namespace, name, ports, send
        self.buffers = {i: bytearray() for i in range(len(ports))}

    async def run(self, receive) -> None:
        for i, port in enumerate(self.ports):
            prefix = port.to_bytes(2, "little")
            await self.send({"type": "websocket.send", "bytes": bytes([2 * i]) + prefix})
            await self.send({"type": "websocket.send", "bytes": bytes([2 * i + 1]) + prefix})
        async for data in _messages(receive):
            if not data or data[0] % 2 or data[0] // 2 >= len(self.ports):
                continue
            index = data[0] // 2
            buffer = self.buffers[index]
            buffer += data[1:]
            while True:
                request = split_request(buffer)
                if request is None:
                    break
                reply, error, close = await database_sync_to_async(answer)(
                    self.pg, self.namespace, self.name, self.ports[index], request)
                if reply:
                    await self.send({"type": "websocket.send", "bytes": bytes([2 * index]) + reply})
                if error:
                    await self.send({"type": "websocket.send", "bytes": bytes([2 * index + 1]) + error.encode()})
                if error or close:
                    return
