import pytest

from cluster_core.controllers import endpoints
from cluster_core.models import Change, Endpoints, Pod, Service
from cluster_core.writes import Batch, do_create, do_delete, do_update
from tests.builders import bare_playground

# ---------------------------------------------------------------------------------------------------------------
# Pure: desired subsets


def svc(target_port=80, **spec):
    return Service(namespace="default", name="test1", spec={
        "selector": {"app": "test1"},
        "ports": [{"port": 80, "protocol": "TCP", "targetPort": target_port}], **spec})


def running(name, ip, ready=True, node="k8s-node1", labels=None, ports=None, **extra):
    p = Pod(namespace="default", name=name, uid=f"uid-{name}", labels=labels or {"app": "test1"},
            spec={"nodeName": node, "containers": [{"name": "nginx", "image": "nginx", "ports": ports or []}]},
            status={"phase": "Running", "podIP": ip,
                    "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}, **extra)
    p.sync_columns()
    return p


def test_it_lists_ready_and_not_ready_pods_apart():
    pods = [running("b", "10.244.1.3"), running("a", "10.244.1.2"), running("c", "10.244.2.2", ready=False,
                                                                           node="k8s-node2")]
    assert endpoints.desired_subsets(svc(), pods) == [{
        "addresses": [
            {"ip": "10.244.1.2", "nodeName": "k8s-node1",
             "targetRef": {"kind": "Pod", "namespace": "default", "name": "a", "uid": "uid-a"}},
            {"ip": "10.244.1.3", "nodeName": "k8s-node1",
             "targetRef": {"kind": "Pod", "namespace": "default", "name": "b", "uid": "uid-b"}},
        ],
        "notReadyAddresses": [
            {"ip": "10.244.2.2", "nodeName": "k8s-node2",
             "targetRef": {"kind": "Pod", "namespace": "default", "name": "c", "uid": "uid-c"}},
        ],
        "ports": [{"port": 80, "protocol": "TCP"}],
    }]


def test_it_leaves_out_terminating_unaddressed_and_unselected_pods():
    import datetime as dt

    pods = [
        running("gone", "10.244.1.2", deletion_timestamp=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)),
        running("new", ""),
        running("other", "10.244.1.4", labels={"app": "other"}),
    ]
    assert endpoints.desired_subsets(svc(), pods) == []


def test_it_resolves_a_named_target_port_per_pod():
    pods = [running("a", "10.244.1.2", ports=[{"name": "web", "containerPort": 8080, "protocol": "TCP"}]),
            running("b", "10.244.1.3", ports=[{"name": "web", "containerPort": 9090, "protocol": "TCP"}]),
            running("c", "10.244.1.4")]
    subsets = endpoints.desired_subsets(svc(target_port="web"), pods)
    assert [(s["ports"][0]["port"], [a["ip"] for a in s["addresses"]]) for s in subsets] == [
        (8080, ["10.244.1.2"]), (9090, ["10.244.1.3"])]


def test_it_describes_changes_in_plain_words():
    old = {"subsets": [{"addresses": [{"ip": "10.244.1.2", "targetRef": {"name": "test1-857949f6d6-rwh4c"}}]}]}
    new = {"subsets": [{"addresses": [{"ip": "10.244.1.2", "targetRef": {"name": "test1-857949f6d6-rwh4c"}},
                                      {"ip": "10.244.1.3", "targetRef": {"name": "test1-857949f6d6-zmll6"}}]}]}
    assert endpoints.describe_change("test1", old, new) == (
        "added 10.244.1.3 (test1-857949f6d6-zmll6) to service test1")
    assert endpoints.describe_change("test1", new, old) == (
        "removed 10.244.1.3 (test1-857949f6d6-zmll6) from service test1")


# ---------------------------------------------------------------------------------------------------------------
# The loop against the database


@pytest.fixture
def pg(db, fake_clock, quiet_nudges):
    pg = bare_playground("ep")
    b = Batch(pg, "test")
    b.create(Service(namespace="default", name="kubernetes", spec={
        "clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]}))
    b.create(Endpoints(namespace="default", name="kubernetes", spec={"subsets": [{
        "addresses": [{"ip": "192.168.56.10"}], "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]}]}))
    b.commit()
    return pg


def add_pod(pg, p):
    b = Batch(pg, "test")
    p.uid = Pod().uid
    b.create(p)
    b.commit()


def expose(pg):
    return do_create(pg, {"apiVersion": "v1", "kind": "Service",
                          "metadata": {"name": "test1", "namespace": "default", "labels": {"app": "test1"}},
                          "spec": {"type": "NodePort", "selector": {"app": "test1"},
                                   "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}]}}, "kubectl")


def test_it_creates_endpoints_for_a_service_and_then_does_nothing(pg):
    add_pod(pg, running("test1-857949f6d6-rwh4c", "10.244.1.2"))
    expose(pg)
    assert endpoints.reconcile(pg, "") == 1
    ep = Endpoints.objects.get(name="test1")
    assert ep.labels == {"app": "test1"}
    assert [a["ip"] for a in ep.spec["subsets"][0]["addresses"]] == ["10.244.1.2"]
    change = Change.objects.filter(kind="Endpoints", actor="endpoints-controller").get()
    assert change.message == (
        "endpoints-controller created endpoints test1: added 10.244.1.2 (test1-857949f6d6-rwh4c) to service test1")
    assert endpoints.reconcile(pg, "") == 0


def test_it_follows_pods_coming_and_going(pg):
    add_pod(pg, running("test1-857949f6d6-rwh4c", "10.244.1.2"))
    expose(pg)
    endpoints.reconcile(pg, "")
    add_pod(pg, running("test1-857949f6d6-zmll6", "10.244.1.3"))
    assert endpoints.reconcile(pg, "") == 1
    assert Change.objects.filter(kind="Endpoints").last().message == (
        "endpoints-controller added 10.244.1.3 (test1-857949f6d6-zmll6) to service test1")
    p = Pod.objects.get(name="test1-857949f6d6-rwh4c")
    p.status = {**p.status, "conditions": [{"type": "Ready", "status": "False"}]}
    b = Batch(pg, "kubelet/k8s-node1")
    b.update(p)
    b.commit()
    endpoints.reconcile(pg, "")
    subset = Endpoints.objects.get(name="test1").spec["subsets"][0]
    assert [a["ip"] for a in subset["addresses"]] == ["10.244.1.3"]
    assert [a["ip"] for a in subset["notReadyAddresses"]] == ["10.244.1.2"]
    do_delete(pg, "Pod", "default", "test1-857949f6d6-zmll6", "kubectl")  # terminating: out at once
    endpoints.reconcile(pg, "")
    assert "addresses" not in Endpoints.objects.get(name="test1").spec["subsets"][0]


def test_it_follows_a_selector_change(pg):
    add_pod(pg, running("a", "10.244.1.2"))
    svc_obj = expose(pg)
    endpoints.reconcile(pg, "")
    body = svc_obj.to_k8s()
    body["spec"]["selector"] = {"app": "nothing"}
    do_update(pg, body, "kubectl")
    endpoints.reconcile(pg, "")
    assert Endpoints.objects.get(name="test1").spec == {}


def test_it_deletes_endpoints_of_a_deleted_service_but_keeps_kubernetes(pg):
    expose(pg)
    endpoints.reconcile(pg, "")
    do_delete(pg, "Service", "default", "test1", "kubectl")
    Service.objects.filter(name="kubernetes").delete()
    assert endpoints.reconcile(pg, "") == 1
    assert list(Endpoints.objects.values_list("name", flat=True)) == ["kubernetes"]
