"""Which model stands behind each served resource, and the read-only views derived from stored objects
(EndpointSlices from Endpoints, events.k8s.io Events from core Events)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ..models import KINDS, KubeObject


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    model_kind: str  # the stored kind behind it
    derived: bool = False  # read-only view of another kind

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def model(self) -> type[KubeObject]:
        return KINDS[self.model_kind]

    @property
    def qualified(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural


RESOURCES = [
    Resource("", "v1", "namespaces", "Namespace", False, "Namespace"),
    Resource("", "v1", "nodes", "Node", False, "Node"),
    Resource("", "v1", "pods", "Pod", True, "Pod"),
    Resource("", "v1", "services", "Service", True, "Service"),
    Resource("", "v1", "endpoints", "Endpoints", True, "Endpoints"),
    Resource("", "v1", "events", "Event", True, "Event"),
    Resource("", "v1", "configmaps", "ConfigMap", True, "ConfigMap"),
    Resource("apps", "v1", "deployments", "Deployment", True, "Deployment"),
    Resource("apps", "v1", "replicasets", "ReplicaSet", True, "ReplicaSet"),
    Resource("events.k8s.io", "v1", "events", "Event", True, "Event", derived=True),
    Resource("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True, "Endpoints", derived=True),
]
_BY_PATH = {(r.group, r.version, r.plural): r for r in RESOURCES}


def find(group: str, version: str, plural: str) -> Resource | None:
    return _BY_PATH.get((group, version, plural))


def render(res: Resource, obj: KubeObject) -> dict:
    """The object as this resource serves it."""
    body = obj.to_k8s()
    if not res.derived:
        return body
    if res.kind == "EndpointSlice":
        return endpoint_slice(body)
    return events_v1(body)


def render_body(res: Resource, body: dict) -> dict:
    if not res.derived:
        return body
    if res.kind == "EndpointSlice":
        return endpoint_slice(body)
    return events_v1(body)


def endpoint_slice(ep: dict) -> dict:
    meta = ep["metadata"]
    name = meta["name"]
    suffix = hashlib.sha1(meta.get("uid", name).encode()).hexdigest()[:5]
    endpoints, ports = [], []
    for subset in ep.get("subsets") or []:
        for ready, key in ((True, "addresses"), (False, "notReadyAddresses")):
            for a in subset.get(key) or []:
                e = {"addresses": [a["ip"]], "conditions": {"ready": ready, "serving": ready, "terminating": False}}
                if a.get("nodeName"):
                    e["nodeName"] = a["nodeName"]
                if a.get("targetRef"):
                    e["targetRef"] = a["targetRef"]
                endpoints.append(e)
        for p in subset.get("ports") or []:
            if p not in ports:
                ports.append(p)
    return {
        "kind": "EndpointSlice",
        "apiVersion": "discovery.k8s.io/v1",
        "metadata": {
            **{k: v for k, v in meta.items() if k not in ("labels", "name", "ownerReferences")},
            "name": f"{name}-{suffix}",
            "generateName": f"{name}-",
            "labels": {"kubernetes.io/service-name": name,
                       "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"},
        },
        "addressType": "IPv4",
        "endpoints": endpoints,
        "ports": ports,
    }


def events_v1(ev: dict) -> dict:
    return {
        "kind": "Event",
        "apiVersion": "events.k8s.io/v1",
        "metadata": ev["metadata"],
        "eventTime": ev.get("eventTime"),
        "reportingController": (ev.get("source") or {}).get("component", ""),
        "reportingInstance": ev.get("reportingInstance", ""),
        "action": ev.get("action", ev.get("reason", "")),
        "reason": ev.get("reason", ""),
        "regarding": ev.get("involvedObject", {}),
        "note": ev.get("message", ""),
        "type": ev.get("type", "Normal"),
        "deprecatedSource": ev.get("source", {}),
        "deprecatedFirstTimestamp": ev.get("firstTimestamp"),
        "deprecatedLastTimestamp": ev.get("lastTimestamp"),
        "deprecatedCount": ev.get("count", 1),
    }
