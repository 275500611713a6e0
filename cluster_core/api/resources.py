"""Which model stands behind each served resource, and the read-only views derived from stored objects
(EndpointSlices from Endpoints, events.k8s.io Events from core Events, node Leases from Nodes)."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from .. import clock
from ..models import KINDS, KubeObject

NODE_LEASE_NAMESPACE = "kube-node-lease"
NODE_LEASE_SECONDS = 40


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    model_kind: str  # the stored kind behind it
    derived: bool = False  # read-only view of another kind
    # Computed on request, never stored: reviews (answered in the response) and metrics.
    virtual: bool = False

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
    Resource("", "v1", "secrets", "Secret", True, "Secret"),
    Resource("", "v1", "serviceaccounts", "ServiceAccount", True, "ServiceAccount"),
    Resource("", "v1", "replicationcontrollers", "ReplicationController", True, "ReplicationController"),
    Resource("apps", "v1", "daemonsets", "DaemonSet", True, "DaemonSet"),
    Resource("apps", "v1", "deployments", "Deployment", True, "Deployment"),
    Resource("apps", "v1", "replicasets", "ReplicaSet", True, "ReplicaSet"),
    Resource("apps", "v1", "statefulsets", "StatefulSet", True, "StatefulSet"),
    Resource("batch", "v1", "jobs", "Job", True, "Job"),
    Resource("batch", "v1", "cronjobs", "CronJob", True, "CronJob"),
    Resource("rbac.authorization.k8s.io", "v1", "roles", "Role", True, "Role"),
    Resource("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True, "RoleBinding"),
    Resource("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False, "ClusterRole"),
    Resource("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False,
             "ClusterRoleBinding"),
    Resource("events.k8s.io", "v1", "events", "Event", True, "Event", derived=True),
    Resource("coordination.k8s.io", "v1", "leases", "Lease", True, "Node", derived=True),
    Resource("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True, "Endpoints", derived=True),
    Resource("authentication.k8s.io", "v1", "selfsubjectreviews", "SelfSubjectReview", False, "",
             derived=True, virtual=True),
    Resource("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", False, "",
             derived=True, virtual=True),
    Resource("authorization.k8s.io", "v1", "selfsubjectrulesreviews", "SelfSubjectRulesReview", False, "",
             derived=True, virtual=True),
    Resource("metrics.k8s.io", "v1beta1", "nodes", "NodeMetrics", False, "Node", derived=True, virtual=True),
    Resource("metrics.k8s.io", "v1beta1", "pods", "PodMetrics", True, "Pod", derived=True, virtual=True),
]
_BY_PATH = {(r.group, r.version, r.plural): r for r in RESOURCES}


def find(group: str, version: str, plural: str) -> Resource | None:
    return _BY_PATH.get((group, version, plural))


def render(res: Resource, obj: KubeObject) -> dict:
    """The object as this resource serves it."""
    return render_body(res, obj.to_k8s())


def render_body(res: Resource, body: dict) -> dict:
    if not res.derived:
        return body
    if res.kind == "EndpointSlice":
        return endpoint_slice(body)
    if res.kind == "Lease":
        return node_lease(body)
    return events_v1(body)


def node_lease(node: dict) -> dict:
    """The heartbeat Lease a kubelet keeps in kube-node-lease for its node (`kubectl describe node` prints it).
    The simulated kubelet of a Ready node never misses a renewal; a node that is not Ready renewed last when it
    last reported its heartbeat."""
    meta = node["metadata"]
    name = meta["name"]
    ready = next((c for c in (node.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"), {})
    if ready.get("status") == "True":
        renew = clock.rfc3339(clock.now())
    else:
        renew = ready.get("lastHeartbeatTime") or meta.get("creationTimestamp")
    return {
        "kind": "Lease",
        "apiVersion": "coordination.k8s.io/v1",
        "metadata": {
            "name": name,
            "namespace": NODE_LEASE_NAMESPACE,
            "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"lease/{meta.get('uid', name)}")),
            "resourceVersion": meta.get("resourceVersion", ""),
            "creationTimestamp": meta.get("creationTimestamp"),
            "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": name, "uid": meta.get("uid", "")}],
        },
        "spec": {
            "holderIdentity": name,
            "leaseDurationSeconds": NODE_LEASE_SECONDS,
            # MicroTime: the kubelet writes microseconds.
            "renewTime": renew.replace("Z", ".000000Z") if renew and "." not in renew else renew,
        },
    }


def endpoint_slice(ep: dict) -> dict:
    meta = ep["metadata"]
    name = meta["name"]
    suffix = hashlib.sha1(meta.get("uid", name).encode()).hexdigest()[:5]
    endpoints, ports = [], []
    for subset in ep.get("subsets") or []:
        for ready, key in ((True, "addresses"), (False, "notReadyAddresses")):
            for a in subset.get(key) or []:
                e = {"addresses": [a["ip"]], "conditions": {"ready": ready, "serving": ready, "terminating": False}}
                if a.get("hostname"):
                    e["hostname"] = a["hostname"]
                if a.get("nodeName"):
                    e["nodeName"] = a["nodeName"]
                if a.get("targetRef"):
                    e["targetRef"] = a["targetRef"]
                endpoints.append(e)
        for p in subset.get("ports") or []:
            # The slice controller always writes the port's name, "" when the Service port has none: clients
            # dereference it (`kubectl describe svc` matches slice ports to Service ports by name).
            p = {"name": p.get("name") or "", **{k: v for k, v in p.items() if k != "name"}}
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
