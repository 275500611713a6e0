"""The API surface kubeplay serves, as data, plus the discovery documents built from it.

Contract (pure functions, no DB):

* ``RESOURCES`` — every served resource as a frozen ``ResourceInfo``, in the order a real 1.37 apiserver
  lists them: groups by the aggregator's group priority (core, apps, events.k8s.io, coordination.k8s.io,
  discovery.k8s.io), and
  resources inside a group-version alphabetically by plural. kubectl expands ``get all`` in this order, so
  it asks pods, services, daemonsets, deployments, replicasets — as on a real cluster.
* ``lookup(group, version, resource)`` -> ``ResourceInfo | None`` by plural; ``lookup_kind(group, kind)``.
* ``aggregated_discovery(core)`` — the ``APIGroupDiscoveryList`` for ``/api`` (``core=True``, one item named
  ``""``) or ``/apis`` (one item per group). It must be served with exactly ``AGGREGATED_CONTENT_TYPE``,
  otherwise kubectl parses it as a legacy document and finds no resources.
* Legacy documents for clients that do not ask for the aggregated form: ``api_versions()`` (``/api``),
  ``api_group_list()`` (``/apis``), ``api_resource_list(group, version)`` (``/api/v1``, ``/apis/<g>/<v>``,
  including ``deployments/scale``-style subresource entries; ``None`` for an unknown group-version).
* ``VERSION_INFO`` for ``/version``: minor 37, so kubectl 1.36–1.38 prints no version-skew warning.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field

AGGREGATED_CONTENT_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

VERSION_INFO = {
    "major": "1",
    "minor": "37",
    "emulationMajor": "1",
    "emulationMinor": "37",
    "minCompatibilityMajor": "1",
    "minCompatibilityMinor": "36",
    "gitVersion": "v1.37.1-kubeplay",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-11-01T00:00:00Z",
    "goVersion": "go1.26.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
_STATUS_VERBS = ("get", "patch", "update")
# Connect-style subresources (proxy) answer every HTTP method; discovery spells that as these verbs.
_PROXY_VERBS = ("create", "delete", "get", "patch", "update")


@dataclass(frozen=True)
class Subresource:
    name: str
    kind: str
    verbs: tuple[str, ...]
    # The response kind lives in another group for some subresources (deployments/scale -> autoscaling/v1 Scale).
    group: str = ""
    version: str = "v1"


@dataclass(frozen=True)
class ResourceInfo:
    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    verbs: tuple[str, ...] = ALL_VERBS
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    # Excluded from hashing so ResourceInfo stays usable as a dict key or set member.
    subresources: dict[str, Subresource] = field(default_factory=dict, hash=False)

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def api_version(self) -> str:
        """The apiVersion field of objects of this resource (same as group_version)."""
        return self.group_version

    @property
    def group_resource(self) -> str:
        """`deployments.apps`, or bare `pods` for the core group — the form used in error messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


def _subs(*subs: Subresource) -> dict[str, Subresource]:
    return {s.name: s for s in sorted(subs, key=lambda s: s.name)}


def _status(kind: str, group: str = "") -> Subresource:
    return Subresource("status", kind, _STATUS_VERBS, group=group)


_CORE = (
    ResourceInfo("", "v1", "configmaps", "configmap", "ConfigMap", True, short_names=("cm",)),
    ResourceInfo("", "v1", "endpoints", "endpoints", "Endpoints", True, short_names=("ep",)),
    ResourceInfo("", "v1", "events", "event", "Event", True, short_names=("ev",)),
    ResourceInfo(
        "", "v1", "namespaces", "namespace", "Namespace", False,
        short_names=("ns",), subresources=_subs(_status("Namespace")),
    ),
    ResourceInfo(
        "", "v1", "nodes", "node", "Node", False,
        short_names=("no",), subresources=_subs(_status("Node")),
    ),
    ResourceInfo(
        "", "v1", "pods", "pod", "Pod", True,
        short_names=("po",), categories=("all",),
        subresources=_subs(
            _status("Pod"),
            Subresource("attach", "PodAttachOptions", ("create", "get")),
            Subresource("binding", "Binding", ("create",)),
            # `kubectl drain` looks for this entry (name, kind, group, version) before it evicts instead of deleting.
            Subresource("eviction", "Eviction", ("create",), group="policy", version="v1"),
            Subresource("exec", "PodExecOptions", ("create", "get")),
            Subresource("log", "Pod", ("get",)),
            Subresource("portforward", "PodPortForwardOptions", ("create", "get")),
            Subresource("proxy", "PodProxyOptions", _PROXY_VERBS),
        ),
    ),
    ResourceInfo(
        "", "v1", "replicationcontrollers", "replicationcontroller", "ReplicationController", True,
        short_names=("rc",), categories=("all",),
        subresources=_subs(_status("ReplicationController"),
                           Subresource("scale", "Scale", _STATUS_VERBS, group="autoscaling", version="v1")),
    ),
    ResourceInfo("", "v1", "secrets", "secret", "Secret", True),
    ResourceInfo("", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", True, short_names=("sa",)),
    ResourceInfo(
        "", "v1", "services", "service", "Service", True,
        short_names=("svc",), categories=("all",),
        subresources=_subs(_status("Service"), Subresource("proxy", "ServiceProxyOptions", _PROXY_VERBS)),
    ),
)

_SCALE = Subresource("scale", "Scale", _STATUS_VERBS, group="autoscaling", version="v1")

_APPS = (
    ResourceInfo(
        "apps", "v1", "daemonsets", "daemonset", "DaemonSet", True,
        short_names=("ds",), categories=("all",),
        subresources=_subs(_status("DaemonSet", "apps")),
    ),
    ResourceInfo(
        "apps", "v1", "deployments", "deployment", "Deployment", True,
        short_names=("deploy",), categories=("all",),
        subresources=_subs(_SCALE, _status("Deployment", "apps")),
    ),
    ResourceInfo(
        "apps", "v1", "replicasets", "replicaset", "ReplicaSet", True,
        short_names=("rs",), categories=("all",),
        subresources=_subs(_SCALE, _status("ReplicaSet", "apps")),
    ),
    ResourceInfo(
        "apps", "v1", "statefulsets", "statefulset", "StatefulSet", True,
        short_names=("sts",), categories=("all",),
        subresources=_subs(_SCALE, _status("StatefulSet", "apps")),
    ),
)

_BATCH = (
    ResourceInfo("batch", "v1", "cronjobs", "cronjob", "CronJob", True, short_names=("cj",), categories=("all",),
                 subresources=_subs(_status("CronJob", "batch"))),
    ResourceInfo("batch", "v1", "jobs", "job", "Job", True, categories=("all",),
                 subresources=_subs(_status("Job", "batch"))),
)

_RBAC_GROUP = "rbac.authorization.k8s.io"
_RBAC = (
    ResourceInfo(_RBAC_GROUP, "v1", "clusterrolebindings", "clusterrolebinding", "ClusterRoleBinding", False),
    ResourceInfo(_RBAC_GROUP, "v1", "clusterroles", "clusterrole", "ClusterRole", False),
    ResourceInfo(_RBAC_GROUP, "v1", "rolebindings", "rolebinding", "RoleBinding", True),
    ResourceInfo(_RBAC_GROUP, "v1", "roles", "role", "Role", True),
)

# Reviews are only ever created: the answer comes back in the response, nothing is stored.
_AUTHENTICATION = (
    ResourceInfo("authentication.k8s.io", "v1", "selfsubjectreviews", "selfsubjectreview", "SelfSubjectReview",
                 False, verbs=("create",)),
)

_AUTHORIZATION = (
    ResourceInfo("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "selfsubjectaccessreview",
                 "SelfSubjectAccessReview", False, verbs=("create",)),
    ResourceInfo("authorization.k8s.io", "v1", "selfsubjectrulesreviews", "selfsubjectrulesreview",
                 "SelfSubjectRulesReview", False, verbs=("create",)),
)

# metrics-server's aggregated API, as `kubectl top` finds it.
_METRICS = (
    ResourceInfo("metrics.k8s.io", "v1beta1", "nodes", "", "NodeMetrics", False, verbs=("get", "list")),
    ResourceInfo("metrics.k8s.io", "v1beta1", "pods", "", "PodMetrics", True, verbs=("get", "list")),
)

# Same short name as core/v1 events, as on a real cluster; kubectl prefers core and warns about the other.
_EVENTS = (ResourceInfo("events.k8s.io", "v1", "events", "event", "Event", True, short_names=("ev",)),)

_COORDINATION = (ResourceInfo("coordination.k8s.io", "v1", "leases", "lease", "Lease", True),)

_DISCOVERY = (ResourceInfo("discovery.k8s.io", "v1", "endpointslices", "endpointslice", "EndpointSlice", True),)

# Group order of a real apiserver (aggregator group priorities: apps 17800, events 17750, authentication 17700,
# authorization 17600,
# batch 17400, rbac 17000, coordination 16500, discovery 16200, then aggregated APIs such as metrics.k8s.io).
GROUP_ORDER = ("", "apps", "events.k8s.io", "authentication.k8s.io", "authorization.k8s.io", "batch",
               "rbac.authorization.k8s.io", "coordination.k8s.io", "discovery.k8s.io", "metrics.k8s.io")

RESOURCES: tuple[ResourceInfo, ...] = (_CORE + _APPS + _EVENTS + _AUTHENTICATION + _AUTHORIZATION + _BATCH + _RBAC + _COORDINATION
                                       + _DISCOVERY + _METRICS)

_BY_PLURAL = {(r.group, r.version, r.plural): r for r in RESOURCES}
_BY_KIND = {(r.group, r.kind): r for r in RESOURCES}


def lookup(group: str, version: str, resource: str) -> ResourceInfo | None:
    """The served resource for a URL's group, version and plural (`("apps", "v1", "deployments")`)."""
    return _BY_PLURAL.get((group, version, resource))


def lookup_kind(group: str, kind: str) -> ResourceInfo | None:
    """The served resource for an object's group and kind (e.g. to follow an ownerReference)."""
    return _BY_KIND.get((group, kind))


def group_versions(group: str) -> list[str]:
    """Served versions of a group, preferred first (one each today)."""
    return sorted({r.version for r in RESOURCES if r.group == group})


def _resources_of(group: str, version: str) -> list[ResourceInfo]:
    return [r for r in RESOURCES if r.group == group and r.version == version]


# --- aggregated discovery (apidiscovery.k8s.io/v2) -------------------------------------------------------


def _aggregated_resource(r: ResourceInfo) -> dict:
    entry: dict = {
        "resource": r.plural,
        "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
        "scope": "Namespaced" if r.namespaced else "Cluster",
        "singularResource": r.singular,
        "verbs": list(r.verbs),
    }
    if r.short_names:
        entry["shortNames"] = list(r.short_names)
    if r.categories:
        entry["categories"] = list(r.categories)
    if r.subresources:
        entry["subresources"] = [
            {
                "subresource": s.name,
                "responseKind": {"group": s.group, "version": s.version, "kind": s.kind},
                "verbs": list(s.verbs),
            }
            for s in r.subresources.values()
        ]
    return entry


def _aggregated_group(group: str) -> dict:
    return {
        "metadata": {"name": group},
        "versions": [
            {
                "version": v,
                "resources": [_aggregated_resource(r) for r in _resources_of(group, v)],
                "freshness": "Current",
            }
            for v in group_versions(group)
        ],
    }


def aggregated_discovery(core: bool) -> dict:
    """APIGroupDiscoveryList for `/api` (core=True) or `/apis` (core=False)."""
    groups = [""] if core else [g for g in GROUP_ORDER if g]
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": [_aggregated_group(g) for g in groups],
    }


# --- legacy discovery ------------------------------------------------------------------------------------


def api_versions(server_address: str = "127.0.0.1:6443") -> dict:
    """Legacy `/api` answer."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def api_group_list() -> dict:
    """Legacy `/apis` answer."""
    groups = []
    for g in GROUP_ORDER[1:]:
        versions = [{"groupVersion": f"{g}/{v}", "version": v} for v in group_versions(g)]
        groups.append({"name": g, "versions": versions, "preferredVersion": versions[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def _storage_version_hash(r: ResourceInfo) -> str:
    # Opaque to clients; like the real one it is a short digest of the stored group/version/kind.
    digest = hashlib.sha256(f"{r.group_version}, Kind={r.kind}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()


def api_resource_list(group: str, version: str) -> dict | None:
    """Legacy `/api/v1` or `/apis/<group>/<version>` answer; None when the group-version is not served."""
    served = _resources_of(group, version)
    if not served:
        return None
    entries: list[dict] = []
    for r in served:
        entry: dict = {
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": list(r.verbs),
        }
        if r.short_names:
            entry["shortNames"] = list(r.short_names)
        if r.categories:
            entry["categories"] = list(r.categories)
        entry["storageVersionHash"] = _storage_version_hash(r)
        entries.append(entry)
        for s in r.subresources.values():
            sub: dict = {"name": f"{r.plural}/{s.name}", "singularName": "", "namespaced": r.namespaced}
            if (s.group, s.version) != (r.group, r.version):
                sub["group"], sub["version"] = s.group, s.version
            sub.update({"kind": s.kind, "verbs": list(s.verbs)})
            entries.append(sub)
    # The real server lists names sorted, subresources right after their parent.
    entries.sort(key=lambda e: e["name"])
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": entries}
