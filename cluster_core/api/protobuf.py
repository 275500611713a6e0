"""Decode Kubernetes protobuf request bodies into the JSON-shaped dicts the API works with.

kubectl sends ``create`` bodies as ``application/vnd.kubernetes.protobuf`` with no
JSON fallback. Such a body is the magic ``b"k8s\\x00"`` followed by a
``runtime.Unknown`` message (1 typeMeta{1 apiVersion, 2 kind}, 2 raw,
3 contentEncoding, 4 contentType) whose ``raw`` is the object encoded with its
``k8s.io/api/.../generated.proto`` message.

Contract:

* ``decode(body) -> dict`` returns the object exactly as Kubernetes' JSON encoding
  would show it: JSON field names, ``apiVersion`` and ``kind`` set, Time as RFC3339,
  IntOrString as int or str, Quantity as str, bytes as base64, RawExtension and
  FieldsV1 as parsed JSON, and zero values pruned wherever Go's ``omitempty``
  would prune them (proto2 puts non-pointer zero values on the wire).
* Anything that is not such a body (wrong magic, unknown apiVersion/kind,
  truncated or garbage bytes, an unsupported content encoding) raises
  ``ProtobufError``, a ``ValueError``; no other exception escapes.

The wire schema is the data table in ``proto_schema``; this module is the
interpreter. Unknown field numbers are skipped, as protobuf readers do, so a
newer kubectl adding fields does not break decoding.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from functools import cache

from .proto_schema import KINDS, MESSAGES

__all__ = ["MAGIC", "ProtobufError", "decode"]

MAGIC = b"k8s\x00"

# Nesting far beyond anything Kubernetes objects need; stops hostile input from
# turning into a RecursionError.
_MAX_DEPTH = 64

# (wire type, value) of an absent map value: varint 0, or an empty length-delimited field.
_EMPTY = {True: (0, 0), False: (2, b"")}


class ProtobufError(ValueError):
    """The body is not a Kubernetes protobuf object this server can decode."""


# --- wire format -------------------------------------------------------------


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ProtobufError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise ProtobufError("varint longer than 10 bytes")


def _fields(buf: bytes):
    """Yield (field number, wire type, value) for each field of one message.

    Varints come back as unsigned ints, length-delimited fields as bytes.
    """
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = _varint(buf, pos)
        num, wire = key >> 3, key & 7
        if num == 0:
            raise ProtobufError("field number 0")
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 2:
            size, pos = _varint(buf, pos)
            if pos + size > end:
                raise ProtobufError(f"field {num} runs past the end of its message")
            value, pos = buf[pos : pos + size], pos + size
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            if pos + width > end:
                raise ProtobufError(f"field {num} runs past the end of its message")
            value, pos = int.from_bytes(buf[pos : pos + width], "little"), pos + width
        else:
            # Groups (3/4) are not used by Kubernetes; 6/7 do not exist.
            raise ProtobufError(f"unsupported wire type {wire} for field {num}")
        yield num, wire, value


def _signed(value: int) -> int:
    # int32 and int64 negatives are both sign-extended to 64 bits on the wire;
    # bits past 64 (a malformed 10-byte varint) are dropped as Go does.
    value &= (1 << 64) - 1
    return value - (1 << 64) if value >= 1 << 63 else value


def _expect(wire: int, want: int, what: str) -> None:
    if wire != want:
        raise ProtobufError(f"{what}: wire type {wire}, expected {want}")


# --- schema ------------------------------------------------------------------


@cache
def _schema(message: str) -> dict[int, tuple[str, str, str, str]]:
    """{number: (json name, flag, type, shape)} with shape "" / "*" (list) / "{" (map)."""
    if message not in MESSAGES:
        raise ProtobufError(f"no schema for message {message}")
    fields = {}
    for spec in filter(None, (part.strip() for part in MESSAGES[message].split(","))):
        num, name, typ = spec.split(" ")
        flag = name[-1] if name[-1] in "!?=^" else ""
        shape = "{" if typ.startswith("{") else "*" if typ.endswith("*") else ""
        fields[int(num)] = (name.rstrip("!?=^"), flag, typ.strip("{*"), shape)
    return fields


# --- values ------------------------------------------------------------------


def _time(buf: bytes, micro: bool) -> str | None:
    # metav1.Time marshals the zero time as an empty message; JSON shows null.
    if not buf:
        return None
    seconds = nanos = 0
    for num, wire, value in _fields(buf):
        _expect(wire, 0, "Time field")
        if num == 1:
            seconds = _signed(value)
        elif num == 2:
            nanos = _signed(value)
    try:
        moment = datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise ProtobufError(f"timestamp {seconds} out of range") from exc
    if micro:
        # MicroTime keeps sub-second precision, printed as RFC3339Micro.
        return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{max(0, nanos) // 1000 % 1_000_000:06d}Z"
    # Time's protobuf form only carries whole seconds, matching its JSON form.
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _frac(value: int, digits: int) -> str:
    whole, frac = divmod(value, 10**digits)
    tail = f"{frac:0{digits}d}".rstrip("0")
    return f"{whole}.{tail}" if tail else str(whole)


def _go_duration(ns: int) -> str:
    """metav1.Duration travels as int64 nanoseconds but shows as Go's Duration.String()."""
    if ns == 0:
        return "0s"
    sign, ns = ("-" if ns < 0 else ""), abs(ns)
    if ns < 1_000:
        return f"{sign}{ns}ns"
    if ns < 1_000_000:
        return f"{sign}{_frac(ns, 3)}µs"
    if ns < 1_000_000_000:
        return f"{sign}{_frac(ns, 6)}ms"
    seconds, rest = divmod(ns, 1_000_000_000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    text = _frac(seconds * 1_000_000_000 + rest, 9) + "s"
    if minutes or hours:
        text = f"{minutes}m{text}"
    if hours:
        text = f"{hours}h{text}"
    return sign + text


def _single(buf: bytes, field: int) -> tuple[int, object] | None:
    """The last occurrence of `field` in a small wrapper message, as (wire, value)."""
    found = None
    for num, wire, value in _fields(buf):
        if num == field:
            found = (wire, value)
    return found


def _raw_json(buf: bytes, what: str):
    # RawExtension / FieldsV1 hold JSON bytes; nil shows as null in Go's JSON.
    hit = _single(buf, 1)
    if hit is None:
        return None
    _expect(hit[0], 2, what)
    try:
        return json.loads(hit[1])
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtobufError(f"{what} does not hold JSON") from exc


def _int_or_string(buf: bytes) -> int | str:
    kind, int_val, str_val = 0, 0, ""
    for num, wire, value in _fields(buf):
        if num == 1:
            _expect(wire, 0, "IntOrString.type")
            kind = _signed(value)
        elif num == 2:
            _expect(wire, 0, "IntOrString.intVal")
            int_val = _signed(value)
        elif num == 3:
            _expect(wire, 2, "IntOrString.strVal")
            str_val = _text(value)
    return str_val if kind == 1 else int_val


def _text(buf: bytes) -> str:
    try:
        return buf.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtobufError("string field is not valid UTF-8") from exc


def _value(typ: str, wire: int, value, depth: int):
    """One wire value of schema type `typ` converted to its JSON form."""
    if typ == "i":
        _expect(wire, 0, "integer field")
        return _signed(value)
    if typ == "b":
        _expect(wire, 0, "bool field")
        return value != 0
    _expect(wire, 2, f"{typ} field")
    if typ == "s":
        return _text(value)
    if typ == "y":
        return base64.b64encode(value).decode("ascii")
    if typ in ("t", "T"):
        return _time(value, micro=typ == "T")
    if typ == "D":
        hit = _single(value, 1)
        if hit is None:
            return "0s"
        _expect(hit[0], 0, "Duration")
        return _go_duration(_signed(hit[1]))
    if typ == "n":
        return _int_or_string(value)
    if typ == "q":
        hit = _single(value, 1)
        if hit is None:
            return "0"
        _expect(hit[0], 2, "Quantity")
        return _text(hit[1])
    if typ == "x":
        return _raw_json(value, "RawExtension")
    if typ == "f":
        return _raw_json(value, "FieldsV1")
    return _message(value, typ, depth + 1)


def _packed(typ: str, buf: bytes):
    # Repeated scalars may arrive packed (one length-delimited run of varints).
    pos, out = 0, []
    while pos < len(buf):
        value, pos = _varint(buf, pos)
        out.append(_signed(value) if typ == "i" else value != 0)
    return out


def _is_zero(value) -> bool:
    return value is None or value == "" or value == 0 or value == [] or value == {}


def _message(buf: bytes, message: str, depth: int = 0) -> dict:
    if depth > _MAX_DEPTH:
        raise ProtobufError("message nesting too deep")
    schema = _schema(message)
    out: dict = {}
    for num, wire, value in _fields(buf):
        field = schema.get(num)
        if field is None:
            continue
        name, _flag, typ, shape = field
        if shape == "{":
            _expect(wire, 2, f"map entry {name}")
            # An entry with its key or value left out stands for the zero value.
            key, item = "", _value(typ, *_EMPTY[typ in ("i", "b")], depth)
            for entry_num, entry_wire, entry_value in _fields(value):
                if entry_num == 1:
                    _expect(entry_wire, 2, f"map key of {name}")
                    key = _text(entry_value)
                elif entry_num == 2:
                    item = _value(typ, entry_wire, entry_value, depth)
            out.setdefault(name, {})[key] = item
        elif shape == "*":
            if wire == 2 and typ in ("i", "b"):
                out.setdefault(name, []).extend(_packed(typ, value))
            else:
                out.setdefault(name, []).append(_value(typ, wire, value, depth))
        else:
            out[name] = _value(typ, wire, value, depth)
    for name, flag, _typ, _shape in schema.values():
        if flag == "^":
            # Embedded Go struct without a JSON name: its fields sit in the parent.
            out.update(out.pop(name, None) or {})
        elif flag in ("", "?"):
            if name in out and _is_zero(out[name]):
                del out[name]
        elif flag == "=":
            out.setdefault(name, None)
    return out


# --- entry point -------------------------------------------------------------


def decode(body: bytes) -> dict:
    """Decode a ``k8s\\x00`` protobuf body into the object's JSON-shaped dict."""
    if not isinstance(body, bytes | bytearray | memoryview):
        raise ProtobufError("body must be bytes")
    body = bytes(body)
    if not body.startswith(MAGIC):
        raise ProtobufError("not a Kubernetes protobuf body (missing k8s\\0 magic)")
    envelope = body[len(MAGIC) :]
    api_version = kind = encoding = ""
    raw = b""
    for num, wire, value in _fields(envelope):
        if num == 1:
            _expect(wire, 2, "Unknown.typeMeta")
            for meta_num, meta_wire, meta_value in _fields(value):
                if meta_num in (1, 2):
                    _expect(meta_wire, 2, "TypeMeta field")
                    if meta_num == 1:
                        api_version = _text(meta_value)
                    else:
                        kind = _text(meta_value)
        elif num == 2:
            _expect(wire, 2, "Unknown.raw")
            raw = value
        elif num == 3:
            _expect(wire, 2, "Unknown.contentEncoding")
            encoding = _text(value)
    if not api_version or not kind:
        raise ProtobufError("envelope carries no apiVersion/kind")
    if encoding:
        raise ProtobufError(f"unsupported content encoding {encoding!r}")
    message = KINDS.get((api_version, kind))
    if message is None:
        raise ProtobufError(f"unsupported object {api_version} {kind}")
    obj = _message(raw, message)
    return {"kind": kind, "apiVersion": api_version, **obj}
