"""Kubernetes Events (core/v1), written by the component that saw the thing happen."""

from __future__ import annotations

from . import clock
from .models import Event, KubeObject, new_row

_seq = 0


def _suffix(at) -> str:
    # Real names are <object>.<hex UnixNano>; a time-ordered suffix keeps same-second events in order.
    global _seq
    _seq = (_seq + 1) % 1000
    return format(int(at.timestamp() * 1e9) + _seq, "x")


def new(obj: KubeObject, reason: str, message: str, component: str, host: str = "", type_: str = "Normal",
        field_path: str = "") -> Event:
    at = clock.now()
    now = clock.rfc3339(at)
    involved = {
        "kind": obj.KIND,
        "namespace": obj.namespace,
        "name": obj.name,
        "uid": obj.uid,
        "apiVersion": obj.API_VERSION,
        "resourceVersion": str(obj.resource_version),
    }
    if field_path:
        involved["fieldPath"] = field_path
    body = {
        "involvedObject": involved,
        "reason": reason,
        "message": message,
        "source": {"component": component, **({"host": host} if host else {})},
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
        "type": type_,
        "eventTime": None,
        "reportingComponent": component,
        "reportingInstance": host,
    }
    return new_row(Event, namespace=obj.namespace or "default", name=f"{obj.name}.{_suffix(at)}", spec=body,
                   creation_timestamp=at)
