"""How Daphne's HTTP channel answers a request line or header block over its limits (16 KiB each).

Twisted drops such a connection without a word, and over TLS the client is left waiting for an answer that
never comes (a 60 KB URL hung the API port). Here it answers as the apiserver does — 414 for a request line
too long, 431 for headers too large — closes, and aborts the connection if the peer does not let it close.
"""

from __future__ import annotations

import json

ABORT_AFTER = 2.0


def _status(code: int, reason: str, message: str) -> bytes:
    return json.dumps({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                       "message": message, "reason": reason, "code": code}, separators=(",", ":")).encode()


def _refuse(channel, code: int, phrase: str, reason: str, message: str) -> None:
    from twisted.internet import reactor

    body = _status(code, reason, message)
    head = (f"HTTP/1.1 {code} {phrase}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n").encode()
    transport = channel.transport
    transport.write(head + body)
    transport.loseConnection()

    def abort():
        if transport.connected:
            transport.abortConnection()

    reactor.callLater(ABORT_AFTER, abort)


def install() -> None:
    from twisted.web import http

    def line_length_exceeded(self, line):
        if getattr(self, "_HTTPChannel__first_line", 1):
            return _refuse(self, 414, "Request-URI Too Long", "RequestURITooLong",
                           f"the request line is too long: limit is {self.MAX_LENGTH} bytes")
        return _refuse(self, 431, "Request Header Fields Too Large", "RequestHeaderFieldsTooLarge",
                       f"a request header is too long: limit is {self.MAX_LENGTH} bytes")

    def bad_request(self):
        if self._receivedHeaderSize > self.totalHeadersSize:
            return _refuse(self, 431, "Request Header Fields Too Large", "RequestHeaderFieldsTooLarge",
                           f"the request headers are too large: limit is {self.totalHeadersSize} bytes")
        return _refuse(self, 400, "Bad Request", "BadRequest", "the request could not be parsed")

    http.HTTPChannel.lineLengthExceeded = line_length_exceeded
    http.HTTPChannel._respondToBadRequestAndDisconnect = bad_request
