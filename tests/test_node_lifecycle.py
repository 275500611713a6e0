"""The node lifecycle controller and the failure buttons: a node going away and coming back, control-plane
components stopped and started — all as stored state and due-times, driven by an injected clock."""

import datetime as dt

import pytest

from cluster_core import actions, clock, failures, runtime
from cluster_core.controllers import node_lifecycle
from cluster_core.models import Change, Event, Node, Pod


def web(pg, replicas=2):
    assert actions.deploy(pg, "web", "nginx", replicas).ok
    runtime.settle(pg)


def node(pg, name="k8s-node2") -> Node:
    return Node.objects.get(playground=pg, name=name)


def ready(n: Node) -> str:
    return node_lifecycle.ready_status(n)


def taints(n: Node) -> list[tuple[str, str]]:
    return [(t["key"], t["effect"]) for t in n.spec.get("taints") or []]


@pytest.fixture
def down(cluster):
    web(cluster)
    assert failures.power_off(cluster, "k8s-node2").ok
    return cluster


def test_it_waits_the_grace_period_before_marking_the_node(down):
    start = clock.now()
    assert node_lifecycle.reconcile(down, "k8s-node2") == 0
    assert node(down).lifecycle_due == start + dt.timedelta(seconds=50)
    assert ready(node(down)) == "True"


def test_it_marks_the_node_not_ready_and_taints_it_when_the_grace_period_is_over(down, fake_clock):
    node_lifecycle.reconcile(down, "k8s-node2")
    fake_clock.advance(50)
    assert node_lifecycle.reconcile(down, "k8s-node2") > 0
    n = node(down)
    assert ready(n) == "Unknown"
    assert taints(n) == [("node.kubernetes.io/unreachable", "NoSchedule"),
                         ("node.kubernetes.io/unreachable", "NoExecute")]
    on_it = Pod.objects.filter(playground=down, node_name="k8s-node2", namespace="default")
    assert on_it and all(
        next(c for c in p.status["conditions"] if c["type"] == "Ready")["status"] == "False" for p in on_it)
    assert Event.objects.filter(playground=down, spec__reason="NodeNotReady").exists()
    assert n.lifecycle_due == clock.now() + dt.timedelta(seconds=300)


def test_it_changes_nothing_when_looked_at_twice(down, fake_clock):
    node_lifecycle.reconcile(down, "k8s-node2")
    fake_clock.advance(50)
    node_lifecycle.reconcile(down, "k8s-node2")
    assert node_lifecycle.reconcile(down, "k8s-node2") == 0


def test_it_evicts_after_the_toleration_and_the_replicaset_replaces_elsewhere(down):
    before = {p.name for p in Pod.objects.filter(playground=down, node_name="k8s-node2", namespace="default")}
    assert before
    runtime.settle(down)
    evicted = Pod.objects.filter(playground=down, name__in=before)
    assert evicted and all(p.deletion_timestamp for p in evicted)  # Terminating: its kubelet is off
    live = Pod.objects.filter(playground=down, namespace="default", deletion_timestamp__isnull=True)
    assert live.count() == 2 and {p.node_name for p in live} == {"k8s-node1"}
    assert all(p.phase == "Running" for p in live)
    eviction = Change.objects.filter(playground=down, actor="node-lifecycle-controller", kind="Pod",
                                     name__in=before).exclude(object__metadata__deletionTimestamp=None).first()
    taint_change = Change.objects.filter(playground=down, actor="node-lifecycle-controller", kind="Node").first()
    added = next(t["timeAdded"] for t in taint_change.object["spec"]["taints"] if t["effect"] == "NoExecute")
    # Evicted 300 s after the taint, then given its own 30 s grace period.
    deleted = clock.parse_rfc3339(eviction.object["metadata"]["deletionTimestamp"])
    assert deleted - clock.parse_rfc3339(added) == dt.timedelta(seconds=330)


def test_it_scales_the_waits_by_the_tempo(cluster, fake_clock):
    from cluster_core.tempo import set_tempo

    web(cluster)
    set_tempo(cluster, "classroom")
    failures.power_off(cluster, "k8s-node2")
    node_lifecycle.reconcile(cluster, "k8s-node2")
    assert node(cluster).lifecycle_due == clock.now() + dt.timedelta(seconds=200)


def test_it_removes_the_taints_and_the_evicted_pods_when_the_node_is_back(down):
    runtime.settle(down)
    assert failures.power_on(down, "k8s-node2").ok
    runtime.settle(down)
    n = node(down)
    assert ready(n) == "True" and taints(n) == []
    assert not Pod.objects.filter(playground=down, deletion_timestamp__isnull=False).exists()


def test_it_keeps_the_master_on(cluster):
    result = failures.power_off(cluster, "k8s-master")
    assert not result.ok and "master" in result.error


def test_it_leaves_new_pods_pending_while_the_scheduler_is_stopped(cluster):
    web(cluster, 1)
    assert failures.stop_component(cluster, "kube-scheduler").ok
    assert not Pod.objects.filter(playground=cluster, name="kube-scheduler-k8s-master").exists()
    actions.scale(cluster, "web", 3)
    runtime.settle(cluster)
    assert Pod.objects.filter(playground=cluster, namespace="default", node_name="").count() == 2
    assert failures.start_component(cluster, "kube-scheduler").ok
    runtime.settle(cluster)
    assert Pod.objects.filter(playground=cluster, namespace="default", phase="Running").count() == 3


def test_it_runs_no_controller_while_the_controller_manager_is_stopped(cluster):
    web(cluster, 1)
    failures.stop_component(cluster, "kube-controller-manager")
    actions.scale(cluster, "web", 3)
    runtime.settle(cluster)
    assert Pod.objects.filter(playground=cluster, namespace="default").count() == 1
    failures.start_component(cluster, "kube-controller-manager")
    runtime.settle(cluster)
    assert Pod.objects.filter(playground=cluster, namespace="default", phase="Running").count() == 3


def test_it_refuses_to_stop_what_it_cannot(cluster):
    result = failures.stop_component(cluster, "etcd")
    assert not result.ok and "cannot be stopped" in result.error
