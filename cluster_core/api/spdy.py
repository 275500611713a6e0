"""SPDY/3.1 framing, as much of it as port-forwarding needs (draft "SPDY Protocol - Draft 3.1").

kubectl tunnels SPDY through its port-forward WebSocket: the binary messages carry a SPDY byte stream cut at
arbitrary places. A frame is 8 bytes of head and a payload. Control frames (first bit set) carry a version (3), a
type and flags; data frames carry a stream id and flags (FIN = 0x01 half-closes the stream). Header blocks of
SYN_STREAM, SYN_REPLY and HEADERS are name/value pairs compressed with zlib over one stream per direction for the
whole connection, primed with the protocol's own dictionary (section 2.6.10.1).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

VERSION = 3
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = 1, 2, 3, 4, 6, 7, 8, 9
FLAG_FIN = 0x01
MAX_HEADER_BLOCK = 64 * 1024
# A frame longer than this is not port-forward traffic kubectl sends (it writes 32 KiB at a time).
MAX_FRAME = 1 << 20


class ProtocolError(Exception):
    """The peer broke the framing: the connection ends."""

# The dictionary of draft 3: the common header words, each after its 32-bit length, then a run of status codes,
# reason phrases, dates and media types.
_WORDS = (
    "options", "head", "post", "put", "delete", "trace", "accept", "accept-charset", "accept-encoding",
    "accept-language", "accept-ranges", "age", "allow", "authorization", "cache-control", "connection",
    "content-base", "content-encoding", "content-language", "content-length", "content-location", "content-md5",
    "content-range", "content-type", "date", "etag", "expect", "expires", "from", "host", "if-match",
    "if-modified-since", "if-none-match", "if-range", "if-unmodified-since", "last-modified", "location",
    "max-forwards", "pragma", "proxy-authenticate", "proxy-authorization", "range", "referer", "retry-after",
    "server", "te", "trailer", "transfer-encoding", "upgrade", "user-agent", "vary", "via", "warning",
    "www-authenticate", "method", "get", "status", "200 OK", "version", "HTTP/1.1", "url", "public", "set-cookie",
    "keep-alive", "origin",
)
_TAIL = (
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized"
    "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable"
    "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
    "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
    "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
)
DICTIONARY = b"".join(struct.pack(">I", len(w)) + w.encode() for w in _WORDS) + _TAIL.encode()


@dataclass
class Frame:
    control: bool
    type: int = 0  # control frames
    stream: int = 0  # data frames, and the stream a control frame names
    flags: int = 0
    data: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def encode_headers(headers: dict[str, str]) -> bytes:
    out = [struct.pack(">I", len(headers))]
    for k, v in headers.items():
        out += [struct.pack(">I", len(k)), k.encode(), struct.pack(">I", len(v)), v.encode()]
    return b"".join(out)


def decode_headers(block: bytes) -> dict[str, str]:
    try:
        return _decode_headers(block)
    except struct.error:
        raise ProtocolError("truncated header block") from None


def _decode_headers(block: bytes) -> dict[str, str]:
    (n,), pos, out = struct.unpack_from(">I", block, 0), 4, {}
    for _ in range(min(n, 1024)):
        (klen,) = struct.unpack_from(">I", block, pos)
        key = block[pos + 4:pos + 4 + klen].decode("latin1")
        pos += 4 + klen
        (vlen,) = struct.unpack_from(">I", block, pos)
        out[key.lower()] = block[pos + 4:pos + 4 + vlen].decode("latin1")
        pos += 4 + vlen
    return out


class Connection:
    """One side of a SPDY connection: `feed(bytes)` returns the complete frames so far; the `*_frame` methods
    build frames to send."""

    def __init__(self):
        self.buffer = bytearray()
        self.inflate = zlib.decompressobj(zdict=DICTIONARY)
        self.deflate = zlib.compressobj(zdict=DICTIONARY)

    def feed(self, data: bytes) -> list[Frame]:
        self.buffer += data
        frames = []
        while len(self.buffer) >= 8:
            length = int.from_bytes(self.buffer[5:8], "big")
            if length > MAX_FRAME:
                raise ProtocolError(f"frame of {length} bytes")
            if len(self.buffer) < 8 + length:
                break
            head, payload = bytes(self.buffer[:8]), bytes(self.buffer[8:8 + length])
            del self.buffer[:8 + length]
            frames.append(self._frame(head, payload))
        return frames

    def _frame(self, head: bytes, payload: bytes) -> Frame:
        flags = head[4]
        if not head[0] & 0x80:
            return Frame(False, stream=int.from_bytes(head[:4], "big") & 0x7FFFFFFF, flags=flags, data=payload)
        ftype = int.from_bytes(head[2:4], "big")
        frame = Frame(True, ftype, flags=flags, data=payload)
        if ftype in (SYN_STREAM, SYN_REPLY, HEADERS, RST_STREAM, WINDOW_UPDATE) and len(payload) >= 4:
            frame.stream = int.from_bytes(payload[:4], "big") & 0x7FFFFFFF
        if ftype == SYN_STREAM:
            frame.headers = decode_headers(self._inflate(payload[10:]))
        elif ftype in (SYN_REPLY, HEADERS):
            frame.headers = decode_headers(self._inflate(payload[4:]))
        return frame

    def _inflate(self, block: bytes) -> bytes:
        # A header block is a few hundred bytes; one that inflates past the limit is refused, not expanded.
        out = self.inflate.decompress(block, MAX_HEADER_BLOCK)
        if self.inflate.unconsumed_tail:
            raise ProtocolError("header block too large")
        return out

    @staticmethod
    def _control(ftype: int, flags: int, payload: bytes) -> bytes:
        return struct.pack(">HHI", 0x8000 | VERSION, ftype, (flags << 24) | len(payload)) + payload

    def syn_reply(self, stream: int, headers: dict[str, str] | None = None, flags: int = 0) -> bytes:
        block = self.deflate.compress(encode_headers(headers or {})) + self.deflate.flush(zlib.Z_SYNC_FLUSH)
        return self._control(SYN_REPLY, flags, struct.pack(">I", stream) + block)

    def data_frame(self, stream: int, data: bytes, fin: bool = False) -> bytes:
        return struct.pack(">II", stream, ((FLAG_FIN if fin else 0) << 24) | len(data)) + data

    def ping(self, ping_id: bytes) -> bytes:
        return self._control(PING, 0, ping_id)

    def rst_stream(self, stream: int, status: int = 5) -> bytes:
        return self._control(RST_STREAM, 0, struct.pack(">II", stream, status))

    def goaway(self, last_stream: int) -> bytes:
        return self._control(GOAWAY, 0, struct.pack(">II", last_stream, 0))
