import pytest

from cluster_core import clock, writes
from cluster_core.controllers import garbage_collector
from cluster_core.controllers.garbage_collector import Item, plan
from cluster_core.models import Deployment, Namespace, Node, Playground, Pod, ReplicaSet
from tests import builders


def ref(uid, kind="ReplicaSet", block=True):
    return {"apiVersion": "apps/v1", "kind": kind, "name": uid, "uid": uid, "controller": True,
            "blockOwnerDeletion": block}


# ---------------------------------------------------------------------------------------------------------------
# Pure plan


def test_it_deletes_dependents_whose_owner_is_gone():
    items = [Item("Pod", 1, "p1", "p1", [ref("gone")]), Item("Pod", 2, "p2", "p2", [ref("rs")]),
             Item("ReplicaSet", 3, "rs", "rs")]
    assert plan(items, set()) == {"p1": ("delete", "its owner ReplicaSet gone no longer exists")}


def test_it_drops_a_vanished_owner_when_another_owner_lives():
    items = [Item("Pod", 1, "p1", "p1", [ref("gone"), ref("rs")]), Item("ReplicaSet", 3, "rs", "rs")]
    assert plan(items, set())["p1"][0] == "drop-owners"


def test_it_deletes_dependents_of_a_foreground_deletion_first():
    owner = Item("Deployment", 1, "d", "d", deleting=True, finalizers=["foregroundDeletion"])
    rs = Item("ReplicaSet", 2, "rs", "rs", [ref("d", "Deployment")])
    pod = Item("Pod", 3, "p", "p", [ref("rs")], node_name="n1")
    decisions = plan([owner, rs, pod], {"n1"})
    # The ReplicaSet has dependents of its own: it goes in the foreground too. The owner waits.
    assert decisions == {"rs": ("delete-foreground", decisions["rs"][1])}


def test_it_finishes_a_foreground_deletion_when_no_blocking_dependent_is_left():
    owner = Item("ReplicaSet", 1, "rs", "rs", deleting=True, finalizers=["foregroundDeletion"])
    loose = Item("Pod", 2, "p", "p", [ref("rs", block=False)])
    decisions = plan([owner, loose], set())
    assert decisions["rs"][0] == "finish"
    assert decisions["p"][0] == "delete"


def test_it_leaves_terminating_dependents_to_finish():
    pod = Item("Pod", 2, "p", "p", [ref("gone")], deleting=True, node_name="n1")
    assert plan([pod], {"n1"}) == {}


def test_it_removes_pods_whose_node_is_gone():
    pod = Item("Pod", 2, "p", "p", [ref("gone", "Node")], deleting=True, node_name="n1")
    assert plan([pod], set())["p"][0] == "delete"


# ---------------------------------------------------------------------------------------------------------------
# Reconcile


@pytest.fixture
def pg(db, fake_clock, quiet_nudges):
    pg = Playground.objects.create(slug="gc")
    b = writes.Batch(pg, "test")
    b.create(Namespace(name="default", status={"phase": "Active"}))
    b.create(Node(name="k8s-node1"))
    b.commit()
    return pg


def running_deployment(pg, replicas=2):
    builders.running_deployment(pg, "test1", replicas=replicas)


def kubelet_finishes(pg):
    b = writes.Batch(pg, "kubelet")
    for pod in Pod.objects.filter(playground=pg, deletion_timestamp__isnull=False, finalizers=[]):
        b.delete(pod)
    b.commit()


def test_it_cascades_a_background_deletion(pg):
    running_deployment(pg)
    writes.do_delete(pg, "Deployment", "default", "test1", "kubectl")
    assert garbage_collector.reconcile(pg, "") == 1
    assert not ReplicaSet.objects.filter(playground=pg).exists()
    assert garbage_collector.reconcile(pg, "") == 2
    terminating = list(Pod.objects.filter(playground=pg))
    assert len(terminating) == 2 and all(p.deletion_timestamp for p in terminating)
    assert all(p.deletion_grace_period_seconds == 30 for p in terminating)
    assert garbage_collector.reconcile(pg, "") == 0  # does nothing when converged
    kubelet_finishes(pg)
    assert not Pod.objects.filter(playground=pg).exists()
    assert garbage_collector.reconcile(pg, "") == 0


def test_it_cascades_a_foreground_deletion_dependents_first(pg):
    running_deployment(pg)
    writes.do_delete(pg, "Deployment", "default", "test1", "kubectl", propagation="Foreground")
    d = Deployment.objects.get(playground=pg)
    assert d.deletion_timestamp and d.finalizers == ["foregroundDeletion"]
    garbage_collector.reconcile(pg, "")
    rs = ReplicaSet.objects.get(playground=pg)
    assert rs.deletion_timestamp and rs.finalizers == ["foregroundDeletion"]
    garbage_collector.reconcile(pg, "")
    assert all(p.deletion_timestamp for p in Pod.objects.filter(playground=pg))
    assert garbage_collector.reconcile(pg, "") == 0
    # Owners wait for their pods to be really gone.
    assert ReplicaSet.objects.filter(playground=pg).exists() and Deployment.objects.filter(playground=pg).exists()
    kubelet_finishes(pg)
    assert garbage_collector.reconcile(pg, "") == 1
    assert not ReplicaSet.objects.filter(playground=pg).exists()
    assert garbage_collector.reconcile(pg, "") == 1
    assert not Deployment.objects.filter(playground=pg).exists()
    assert garbage_collector.reconcile(pg, "") == 0


def test_it_leaves_orphans_alone(pg):
    running_deployment(pg)
    writes.do_delete(pg, "Deployment", "default", "test1", "kubectl", propagation="Orphan")
    assert garbage_collector.reconcile(pg, "") == 0
    rs = ReplicaSet.objects.get(playground=pg)
    assert rs.owner_references == []
    assert Pod.objects.filter(playground=pg, deletion_timestamp__isnull=True).count() == 2


def test_it_deletes_mirror_pods_of_a_deleted_node_at_once(pg):
    node = Node.objects.get(playground=pg, name="k8s-node1")
    b = writes.Batch(pg, "kubelet")
    b.create(Pod(namespace="default", name="etcd-k8s-node1", spec={"nodeName": node.name},
                 status={"phase": "Running"},
                 owner_references=[{"apiVersion": "v1", "kind": "Node", "name": node.name, "uid": node.uid,
                                    "controller": True}]))
    b.commit()
    assert garbage_collector.reconcile(pg, "") == 0
    writes.do_delete(pg, "Node", "", "k8s-node1", "kubectl")
    # No kubelet is left to stop it gracefully, so it goes straight away.
    assert garbage_collector.reconcile(pg, "") == 1
    assert not Pod.objects.filter(playground=pg).exists()


def test_it_forgets_a_vanished_owner_of_an_object_with_another_owner(pg):
    running_deployment(pg, replicas=1)
    pod = Pod.objects.get(playground=pg)
    rs_ref = pod.owner_references[0]
    pod.owner_references = [rs_ref, {"apiVersion": "v1", "kind": "ConfigMap", "name": "gone",
                                     "uid": "00000000-0000-0000-0000-000000000000"}]
    b = writes.Batch(pg, "test")
    b.update(pod)
    b.commit()
    assert garbage_collector.reconcile(pg, "") == 1
    pod.refresh_from_db()
    assert pod.owner_references == [rs_ref] and pod.deletion_timestamp is None
    assert garbage_collector.reconcile(pg, "") == 0


def test_it_reads_every_kind_once_however_many_objects(pg, django_assert_max_num_queries):
    running_deployment(pg, replicas=50)
    clock.current().advance(1)
    with django_assert_max_num_queries(len(garbage_collector.KINDS_WATCHED)):
        assert garbage_collector.reconcile(pg, "") == 0
