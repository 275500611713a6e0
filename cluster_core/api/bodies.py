"""Request bodies in JSON, YAML or Kubernetes protobuf; a missing Content-Type is JSON (the Python client).

Every decoded body passes one gate (`_plain`) before anything else sees it: at most `MAX_DEPTH` levels of nesting,
YAML aliases expanded within `MAX_EXPANDED_NODES`, string keys only, finite numbers, and strings that can be
stored (a lone UTF-16 surrogate becomes U+FFFD, as Go's decoder does). The result is a plain tree of fresh
dicts and lists, so nothing downstream — schema checks, patches, deep copies, controllers copying a template —
can recurse deeper than that or meet an object shared between two places.
"""

from __future__ import annotations

import datetime as dt
import json
import math

import yaml

from ..errors import BadRequest, UnsupportedMediaType

JSON_TYPES = ("application/json", "application/merge-patch+json", "application/strategic-merge-patch+json",
              "application/json-patch+json")
YAML_TYPES = ("application/yaml", "application/apply-patch+yaml", "application/x-yaml", "text/yaml")
PROTOBUF = "application/vnd.kubernetes.protobuf"
ACCEPTED = "application/json, application/yaml, application/vnd.kubernetes.protobuf"
# The request body limit of the apiserver (3 MiB); larger bodies answer 413 before they are read.
MAX_BODY_BYTES = 3 * 1024 * 1024
# Kubernetes objects nest about fifteen levels (a Deployment's container's probe's handler); a body nested more
# than this is refused before anything walks it, so no code path can recurse into trouble.
MAX_DEPTH = 64
# YAML aliases may repeat a node, never multiply a small body into a huge object ("billion laughs").
MAX_EXPANDED_NODES = 100_000
# The apiserver's decoders stop at a nesting depth too ("exceeded max depth").
TOO_DEEP = "the body of the request could not be decoded: it is nested too deeply"
TOO_MANY_ALIASES = "the body of the request could not be decoded as YAML: yaml: document contains excessive aliasing"


def media_type(content_type: str | None) -> str:
    return (content_type or "application/json").split(";", 1)[0].strip().lower() or "application/json"


def _refuse_constant(name: str):
    # Python's decoder takes NaN and Infinity; JSON has no such numbers and the apiserver refuses them.
    raise ValueError(f"invalid number {name}")


def _storable(text: str) -> str:
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        # A lone surrogate from a JSON escape ("\ud800"): Go's decoder reads it as U+FFFD.
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _scalar(value):
    if isinstance(value, float) and not math.isfinite(value):
        raise BadRequest(f"the body of the request could not be decoded: unsupported value {value}")
    if isinstance(value, str):
        return _storable(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, bytes):
        raise BadRequest("the body of the request could not be decoded: binary values are not supported")
    return value


def _key(key) -> str:
    if isinstance(key, str):
        return _storable(key)
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    if isinstance(key, (int, float, dt.date)):
        return str(key)
    raise BadRequest("the body of the request could not be decoded: a map key must be a string")


def _plain(body, budget: int = MAX_EXPANDED_NODES):
    """A fresh tree of the decoded body, checked on the way; iterative, so a hostile body cannot recurse here.
    Raises BadRequest when the body nests deeper than MAX_DEPTH or holds more than `budget` nodes (YAML aliases
    make a tree larger than its bytes; JSON and protobuf cannot, their budget is the body limit)."""
    if not isinstance(body, (dict, list)):
        return _scalar(body)
    root = {} if isinstance(body, dict) else []
    todo = [(body, root, 1)]
    nodes = 0
    while todo:
        source, target, depth = todo.pop()
        if depth > MAX_DEPTH:
            raise BadRequest(TOO_DEEP)
        items = source.items() if isinstance(source, dict) else enumerate(source)
        for key, value in items:
            nodes += 1
            if nodes > budget:
                raise BadRequest(TOO_MANY_ALIASES)
            if isinstance(value, (dict, list)):
                child = {} if isinstance(value, dict) else []
                todo.append((value, child, depth + 1))
            else:
                child = _scalar(value)
            if isinstance(target, dict):
                target[_key(key)] = child
            else:
                target.append(child)
    return root


class _Loader(yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader):
    """YAML as the apiserver reads it (YAML converted to JSON): timestamps stay the strings they were."""


_Loader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_yaml_str)
# `!!binary` stays its base64 text: that is how a []byte field (a Secret's data) is written in JSON anyway.
_Loader.add_constructor("tag:yaml.org,2002:binary", yaml.SafeLoader.construct_yaml_str)


def _yaml_shape(raw: bytes) -> None:
    """Walk the YAML events (no recursion, nothing built yet) and refuse a body whose nesting is too deep or
    whose aliases would expand it beyond the budget."""
    anchors: dict[str, tuple[int, int]] = {}  # anchor -> (expanded nodes, height)
    stack: list[list] = []  # [anchor, nodes, height]
    total = 0
    try:
        for event in yaml.parse(raw, Loader=_Loader):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                stack.append([event.anchor, 1, 1])
                if len(stack) > MAX_DEPTH:
                    raise BadRequest(TOO_DEEP)
                continue
            if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                anchor, nodes, height = stack.pop()
                size = (nodes, height)
            elif isinstance(event, yaml.ScalarEvent):
                anchor, size = event.anchor, (1, 0)
            elif isinstance(event, yaml.AliasEvent):
                anchor = None
                if event.anchor not in anchors:
                    # An alias to a node not yet complete refers to itself: it has no finite expansion.
                    raise BadRequest(f"the body of the request could not be decoded as YAML: unknown anchor "
                                     f"'{event.anchor}' referenced")
                size = anchors[event.anchor]
            else:
                continue
            if anchor:
                anchors[anchor] = size
            if stack:
                stack[-1][1] += size[0]
                stack[-1][2] = max(stack[-1][2], size[1] + 1)
                if len(stack) + size[1] > MAX_DEPTH:
                    raise BadRequest(TOO_DEEP)
            else:
                total += size[0]
            if (stack[0][1] if stack else total) > MAX_EXPANDED_NODES and anchors:
                raise BadRequest(TOO_MANY_ALIASES)
    except yaml.YAMLError as exc:
        raise BadRequest(f"the body of the request could not be decoded as YAML: {exc}") from None


def decode(raw: bytes, content_type: str | None):
    mt = media_type(content_type)
    if not raw:
        raise BadRequest("the request body is empty")
    if len(raw) > MAX_BODY_BYTES:
        raise RequestEntityTooLarge()
    if mt in JSON_TYPES:
        try:
            body = json.loads(raw, parse_constant=_refuse_constant)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadRequest(f"the body of the request could not be decoded as JSON: {exc}") from None
        except RecursionError:
            raise BadRequest(TOO_DEEP) from None
        return _plain_unbounded(body)
    if mt in YAML_TYPES:
        _yaml_shape(raw)
        try:
            body = yaml.load(raw, Loader=_Loader)  # noqa: S506 (a safe loader)
        except yaml.YAMLError as exc:
            raise BadRequest(f"the body of the request could not be decoded as YAML: {exc}") from None
        except RecursionError:
            raise BadRequest(TOO_DEEP) from None
        return _plain(body, MAX_BODY_BYTES if not _has_alias(raw) else MAX_EXPANDED_NODES)
    if mt == PROTOBUF:
        from . import protobuf

        try:
            body = protobuf.decode(raw)
        except protobuf.ProtobufError as exc:
            raise BadRequest(f"the body of the request could not be decoded as protobuf: {exc}") from None
        except RecursionError:
            raise BadRequest(TOO_DEEP) from None
        return _plain_unbounded(body)
    raise UnsupportedMediaType(
        f"the body of the request was in an unknown format - accepted media types include: {ACCEPTED}"
    )


def _plain_unbounded(body):
    """JSON and protobuf have no aliases: every node took bytes of the body, so only the depth is bounded."""
    return _plain(body, MAX_BODY_BYTES)


def bounded(tree):
    """A computed object (a patch's result) through the same gate as a body: a fresh tree, within the depth."""
    return _plain(tree, MAX_BODY_BYTES)


def _has_alias(raw: bytes) -> bool:
    return b"*" in raw


def decode_object(raw: bytes, content_type: str | None) -> dict:
    body = decode(raw, content_type)
    if not isinstance(body, dict):
        raise BadRequest("the body of the request must be a JSON object")
    return body


class RequestEntityTooLarge(BadRequest):
    code, reason = 413, "RequestEntityTooLarge"

    def __init__(self, limit: int = MAX_BODY_BYTES, message: str = ""):
        super().__init__(message or f"Request entity too large: limit is {limit}")
