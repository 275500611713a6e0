"""Request bodies in JSON, YAML or Kubernetes protobuf; a missing Content-Type is JSON (the Python client)."""

from __future__ import annotations

import json
import math

import yaml

from ..errors import BadRequest, UnsupportedMediaType

JSON_TYPES = ("application/json", "application/merge-patch+json", "application/strategic-merge-patch+json",
              "application/json-patch+json")
YAML_TYPES = ("application/yaml", "application/apply-patch+yaml", "application/x-yaml", "text/yaml")
PROTOBUF = "application/vnd.kubernetes.protobuf"
ACCEPTED = "application/json, application/yaml, application/vnd.kubernetes.protobuf"
# The apiserver's decoders stop at a nesting depth too ("exceeded max depth").
TOO_DEEP = "the body of the request could not be decoded: it is nested too deeply"


def media_type(content_type: str | None) -> str:
    return (content_type or "application/json").split(";", 1)[0].strip().lower() or "application/json"


def _refuse_constant(name: str):
    # Python's decoder takes NaN and Infinity; JSON has no such numbers and the apiserver refuses them.
    raise ValueError(f"invalid number {name}")


def _finite(body) -> None:
    """YAML spells infinities and NaN (.inf, .nan); JSON cannot hold them, so neither can an object."""
    todo = [body]
    while todo:
        value = todo.pop()
        if isinstance(value, float) and not math.isfinite(value):
            raise BadRequest(f"the body of the request could not be decoded: unsupported value {value}")
        if isinstance(value, dict):
            todo.extend(value.values())
        elif isinstance(value, list):
            todo.extend(value)


def decode(raw: bytes, content_type: str | None):
    mt = media_type(content_type)
    if not raw:
        raise BadRequest("the request body is empty")
    if mt in JSON_TYPES:
        try:
            return json.loads(raw, parse_constant=_refuse_constant)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadRequest(f"the body of the request could not be decoded as JSON: {exc}") from None
        except RecursionError:
            raise BadRequest(TOO_DEEP) from None
    if mt in YAML_TYPES:
        try:
            body = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise BadRequest(f"the body of the request could not be decoded as YAML: {exc}") from None
        except RecursionError:
            raise BadRequest(TOO_DEEP) from None
        _finite(body)
        return body
    if mt == PROTOBUF:
        from . import protobuf

        try:
            return protobuf.decode(raw)
        except protobuf.ProtobufError as exc:
            raise BadRequest(f"the body of the request could not be decoded as protobuf: {exc}") from None
    raise UnsupportedMediaType(
        f"the body of the request was in an unknown format - accepted media types include: {ACCEPTED}"
    )


def decode_object(raw: bytes, content_type: str | None) -> dict:
    body = decode(raw, content_type)
    if not isinstance(body, dict):
        raise BadRequest("the body of the request must be a JSON object")
    return body
