import datetime as dt

import pytest

from cluster_core import bootstrap, clock, placement, runtime, writes
from cluster_core.controllers import daemonset
from cluster_core.models import DaemonSet, Event, Node, Pod
from tests.builders import bare_playground

T0 = dt.datetime(2026, 11, 26, 9, 0, 0, tzinfo=dt.UTC)
MASTER_TOLERATION = {"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}


def ds_body(name="agent", image="registry.k8s.io/pause:3.10", tolerations=None, node_selector=None):
    spec = {"containers": [{"name": "agent", "image": image}]}
    if tolerations:
        spec["tolerations"] = tolerations
    if node_selector:
        spec["nodeSelector"] = node_selector
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name, "namespace": "kube-system"},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}}


def mem_ds(**kw) -> DaemonSet:
    ds = writes.from_k8s(DaemonSet, ds_body(**kw))
    from cluster_core import defaults

    defaults.apply(ds)
    return ds


def mem_nodes() -> list[Node]:
    return [bootstrap.node_object(name, ip, cidr, cp) for name, ip, cidr, cp in bootstrap.NODES]


def mem_pod(ds: DaemonSet, node: str, ready=True, hash_=None, name=None, created=T0) -> Pod:
    pod = daemonset.pod_for_node(ds, node, name or f"{ds.name}-{node}", hash_ or daemonset.template_hash(ds))
    pod.creation_timestamp = created
    pod.spec["nodeName"] = node
    pod.node_name, pod.phase = node, "Running"
    pod.status = {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": clock.rfc3339(T0)}]}
    return pod


@pytest.fixture
def pg(db, fake_clock, quiet_nudges):
    return bare_playground("ds", tempo="instant")


def create(pg, **kw) -> DaemonSet:
    return writes.do_create(pg, ds_body(**kw), "kubectl")


def pods(pg, name="agent") -> list[Pod]:
    return list(Pod.objects.filter(playground=pg, name__startswith=f"{name}-").order_by("node_name"))


def live(pg, name="agent") -> list[Pod]:
    return [p for p in pods(pg, name) if p.deletion_timestamp is None]


# --- pure ------------------------------------------------------------------------------------------------


def test_it_aims_each_pod_at_its_node_and_adds_the_daemon_tolerations():
    ds = mem_ds(image="nginx")
    spec = daemonset.daemon_pod_spec(ds.spec["template"]["spec"], "k8s-node1")
    assert placement.pinned_node(spec) == "k8s-node1"
    assert spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] == {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["k8s-node1"]}]}]}
    keys = {t["key"] for t in spec["tolerations"]}
    assert "node.kubernetes.io/unschedulable" in keys and "node.kubernetes.io/not-ready" in keys
    assert "tolerations" not in ds.spec["template"]["spec"]  # the template itself is left as it is


def test_it_plans_one_pod_per_node_that_tolerates_the_master_taint_or_not():
    nodes = mem_nodes()
    assert daemonset.plan(mem_ds(), nodes, [], T0).create == ["k8s-node1", "k8s-node2"]
    tolerant = mem_ds(tolerations=[MASTER_TOLERATION])
    assert daemonset.plan(tolerant, nodes, [], T0).create == ["k8s-master", "k8s-node1", "k8s-node2"]
    assert daemonset.plan(mem_ds(node_selector={"kubernetes.io/hostname": "k8s-node2"}), nodes, [], T0).create == [
        "k8s-node2"]


def test_it_plans_nothing_when_converged_and_deletes_strays():
    ds, nodes = mem_ds(), mem_nodes()
    placed = [mem_pod(ds, "k8s-node1"), mem_pod(ds, "k8s-node2")]
    assert not daemonset.plan(ds, nodes, placed, T0)
    extra = mem_pod(ds, "k8s-node1", name="agent-late", created=T0 + dt.timedelta(seconds=5))
    on_master = mem_pod(ds, "k8s-master", name="agent-master")
    gone = mem_pod(ds, "k8s-node9", name="agent-gone")
    todo = daemonset.plan(ds, nodes, [*placed, extra, on_master, gone], T0)
    assert todo.create == []
    # A NoSchedule taint keeps new pods off the master but does not evict one already there.
    assert sorted(p.name for p, _ in todo.delete) == ["agent-gone", "agent-late"]


def test_it_rolls_one_node_at_a_time():
    ds, nodes = mem_ds(tolerations=[MASTER_TOLERATION]), mem_nodes()
    old = [mem_pod(ds, n.name, hash_="old") for n in nodes]
    assert [p.spec["nodeName"] for p, _ in daemonset.plan(ds, nodes, old, T0).delete] == ["k8s-master"]
    # The master's old pod is going: no other node may lose its pod until the master has a new one.
    old[0].deletion_timestamp = T0
    assert not daemonset.plan(ds, nodes, old, T0)
    renewed = [mem_pod(ds, "k8s-master"), *old[1:]]
    assert [p.spec["nodeName"] for p, _ in daemonset.plan(ds, nodes, renewed, T0).delete] == ["k8s-node1"]
    # An old pod that is not available anyway is replaced at once, beside the one the budget allows.
    old[2].status["conditions"][0]["status"] = "False"
    old[0].deletion_timestamp = None
    assert sorted(p.spec["nodeName"] for p, _ in daemonset.plan(ds, nodes, old, T0).delete) == [
        "k8s-master", "k8s-node2"]


def test_it_computes_the_status_from_nodes_and_pods():
    ds, nodes = mem_ds(), mem_nodes()
    placed = [mem_pod(ds, "k8s-node1", hash_="old"), mem_pod(ds, "k8s-node2", ready=False),
              mem_pod(ds, "k8s-master", name="agent-master")]
    assert daemonset.compute_status(ds, nodes, placed, T0) == {
        "currentNumberScheduled": 2, "numberMisscheduled": 1, "desiredNumberScheduled": 2, "numberReady": 1,
        "observedGeneration": 1, "updatedNumberScheduled": 1, "numberAvailable": 1, "numberUnavailable": 1}


# --- reconcile -------------------------------------------------------------------------------------------


def test_it_runs_one_pod_on_every_eligible_node(pg):
    ds = create(pg)
    assert daemonset.reconcile(pg, "kube-system/agent") > 0
    assert daemonset.reconcile(pg, "kube-system/agent") == 0
    runtime.settle(pg)
    running = pods(pg)
    assert [p.node_name for p in running] == ["k8s-node1", "k8s-node2"]  # the master's taint is not tolerated
    assert all(p.phase == "Running" for p in running)
    for p in running:
        assert p.name.startswith("agent-") and len(p.name) == len("agent-") + 5
        assert p.owner_references == [ds.controller_ref()]
        assert p.labels["controller-revision-hash"] == "6b4ff76cb"  # fixed: the pause template's hash
        assert p.labels["pod-template-generation"] == "1"
    created = Event.objects.filter(playground=pg, involved_uid=ds.uid, spec__reason="SuccessfulCreate")
    assert sorted(e.spec["message"] for e in created) == sorted(f"Created pod: {p.name}" for p in running)
    ds.refresh_from_db()
    assert ds.status["desiredNumberScheduled"] == 2 and ds.status["numberReady"] == 2
    assert daemonset.reconcile(pg, "kube-system/agent") == 0


def test_it_runs_on_the_master_when_its_taint_is_tolerated(pg):
    create(pg, tolerations=[MASTER_TOLERATION])
    runtime.settle(pg)
    assert [p.node_name for p in pods(pg)] == ["k8s-master", "k8s-node1", "k8s-node2"]


def test_it_puts_a_pod_on_a_node_added_later(pg):
    create(pg)
    runtime.settle(pg)
    b = writes.Batch(pg, "kubelet/k8s-node3")
    b.create(bootstrap.node_object("k8s-node3", "192.168.56.13", "10.244.3.0/24"), "kubeadm join k8s-node3")
    b.commit()
    runtime.settle(pg)
    assert [(p.node_name, p.phase) for p in pods(pg)][-1] == ("k8s-node3", "Running")
    assert DaemonSet.objects.get(playground=pg).status["numberAvailable"] == 3


def test_it_still_runs_its_pod_on_a_cordoned_node(pg):
    node = Node.objects.get(playground=pg, name="k8s-node1")
    node.spec = {**node.spec, "unschedulable": True}
    b = writes.Batch(pg, "kubectl")
    b.update(node)
    b.commit()
    create(pg)
    runtime.settle(pg)
    assert [(p.node_name, p.phase) for p in pods(pg)] == [("k8s-node1", "Running"), ("k8s-node2", "Running")]


def test_it_recreates_a_deleted_pod(pg):
    create(pg)
    runtime.settle(pg)
    victim = pods(pg)[0]
    writes.do_delete(pg, "Pod", "kube-system", victim.name, "kubectl")
    runtime.settle(pg)
    after = pods(pg)
    assert victim.name not in {p.name for p in after}
    assert [(p.node_name, p.phase) for p in after] == [("k8s-node1", "Running"), ("k8s-node2", "Running")]


def test_it_rolls_a_new_template_out_node_by_node(pg):
    create(pg, tolerations=[MASTER_TOLERATION])
    runtime.settle(pg)
    first = {p.name for p in pods(pg)}
    ds = DaemonSet.objects.get(playground=pg)
    body = ds.to_k8s()
    body["spec"]["template"]["spec"]["containers"][0]["image"] = "httpd"
    writes.do_update(pg, body, "kubectl")
    ds.refresh_from_db()
    daemonset.reconcile(pg, "kube-system/agent")
    assert len([p for p in pods(pg) if p.deletion_timestamp]) == 1
    daemonset.reconcile(pg, "kube-system/agent")
    assert len([p for p in pods(pg) if p.deletion_timestamp]) == 1  # one node at a time
    runtime.settle(pg)
    after = pods(pg)
    assert len(after) == 3 and not first & {p.name for p in after}
    assert {p.labels["controller-revision-hash"] for p in after} == {"58dfbdbb46"}  # fixed: the httpd template's
    assert {p.spec["containers"][0]["image"] for p in after} == {"httpd"}
    ds.refresh_from_db()
    assert ds.status["updatedNumberScheduled"] == 3 and ds.status["observedGeneration"] == 2
    assert daemonset.reconcile(pg, "kube-system/agent") == 0


def test_it_goes_with_its_pods_when_deleted(pg):
    create(pg)
    runtime.settle(pg)
    writes.do_delete(pg, "DaemonSet", "kube-system", "agent", "kubectl")
    runtime.settle(pg)
    assert pods(pg) == []


def test_the_seed_runs_kube_proxy_and_flannel_on_every_node(db, fake_clock, quiet_nudges):
    seed = bootstrap.create_playground("seeded", tempo="instant")
    for name in ("kube-proxy", "kube-flannel-ds"):
        running = pods(seed, name)
        assert [(p.node_name, p.phase) for p in running] == [(n, "Running") for n, *_ in bootstrap.NODES]
        # Host-network pods have the node's address.
        assert [p.status["podIP"] for p in running] == [ip for _, ip, *_ in bootstrap.NODES]
    assert runtime.run_once(seed) == 0
