"""port-forward's wire forms, pure: SPDY/3.1 frames and header blocks, HTTP requests cut from a byte stream."""

import struct
import zlib

from cluster_core.api import portforward, spdy


def syn_stream(compressor, stream: int, headers: dict) -> bytes:
    block = compressor.compress(spdy.encode_headers(headers)) + compressor.flush(zlib.Z_SYNC_FLUSH)
    payload = struct.pack(">IIH", stream, 0, 0) + block
    return struct.pack(">HHI", 0x8003, spdy.SYN_STREAM, len(payload)) + payload


def test_it_reads_syn_streams_cut_anywhere_with_one_header_context():
    client = zlib.compressobj(zdict=spdy.DICTIONARY)
    wire = (syn_stream(client, 1, {"streamtype": "error", "port": "80", "requestid": "0"})
            + syn_stream(client, 3, {"streamtype": "data", "port": "80", "requestid": "0"}))
    conn = spdy.Connection()
    frames = conn.feed(wire[:7]) + conn.feed(wire[7:30]) + conn.feed(wire[30:])
    assert [(f.type, f.stream, f.headers["streamtype"]) for f in frames] == [
        (spdy.SYN_STREAM, 1, "error"), (spdy.SYN_STREAM, 3, "data")]


def test_it_replies_with_a_header_block_the_peer_can_inflate():
    server = spdy.Connection()
    reply = server.syn_reply(5, {"x": "y"})
    peer = spdy.Connection()
    (frame,) = peer.feed(reply)
    assert (frame.control, frame.type, frame.stream, frame.headers) == (True, spdy.SYN_REPLY, 5, {"x": "y"})


def test_it_frames_data_with_fin():
    (frame,) = spdy.Connection().feed(spdy.Connection().data_frame(3, b"hi", fin=True))
    assert (frame.control, frame.stream, frame.flags, frame.data) == (False, 3, spdy.FLAG_FIN, b"hi")


def test_it_cuts_whole_http_requests_off_the_stream():
    buffer = bytearray(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /x HTTP/1.1\r\n")
    assert portforward.split_request(buffer) == b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
    assert portforward.split_request(buffer) is None and buffer == bytearray(b"GET /x HTTP/1.1\r\n")


def test_it_refuses_a_header_block_that_inflates_past_the_limit():
    client = zlib.compressobj(zdict=spdy.DICTIONARY)
    wire = syn_stream(client, 1, {"streamtype": "data", "padding": "x" * (spdy.MAX_HEADER_BLOCK * 4)})
    try:
        spdy.Connection().feed(wire)
    except spdy.ProtocolError:
        return
    raise AssertionError("an oversized header block was inflated")
