"""Kubernetes Events (core/v1), written by the component that saw the thing happen."""

from __future__ import annotations

from . import clock
from .models import Event, KubeObject

_seq = 0


def _suffix() -> str:
    # Real names are <object>.<hex UnixNano>; a time-ordered suffix keeps same-second events in order.
    global _seq
    _seq = (_seq + 1) % 1000
    return format(int(clock.now().timestamp() * 1e9) + _seq, "x")


def new(obj: KubeObject, reason: str, message: str, component: str, host: str = "", type_: str = "Normal",
        field_path: str = "") -> Event:
    now = clock.rfc3339(clock.now())
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
    return Event(namespace=obj.namespace or "default", name=f"{obj.name}.{_suffix()}", spec=body)
