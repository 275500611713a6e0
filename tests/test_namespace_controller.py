import pytest

from cluster_core import writes
from cluster_core.controllers import namespace
from cluster_core.controllers.namespace import deletion_conditions
from cluster_core.errors import Forbidden
from cluster_core.models import ConfigMap, Deployment, Event, Namespace, Playground, Pod, ReplicaSet
from tests import builders


@pytest.fixture
def pg(db, fake_clock, quiet_nudges):
    pg = Playground.objects.create(slug="ns")
    b = writes.Batch(pg, "test")
    for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
        b.create(Namespace(name=name, status={"phase": "Active"}))
    b.commit()
    return pg


def demo(pg, replicas=2):
    """Namespace demo with a deployment whose pods run on a node."""
    writes.do_create(pg, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}}, "kubectl")
    writes.do_create(pg, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "demo"},
                          "data": {"a": "1"}}, "kubectl")
    builders.running_deployment(pg, "web", "demo", replicas=replicas)


def in_demo(pg):
    return sum(m.objects.filter(playground=pg, namespace="demo").count()
               for m in (Deployment, ReplicaSet, Pod, ConfigMap, Event))


def test_it_marks_a_namespace_without_phase_active(pg):
    b = writes.Batch(pg, "test")
    b.create(Namespace(name="fresh"))
    b.commit()
    assert namespace.reconcile(pg, "fresh") == 1
    assert Namespace.objects.get(playground=pg, name="fresh").status == {"phase": "Active"}
    assert namespace.reconcile(pg, "fresh") == 0


@pytest.mark.parametrize("name", ["default", "kube-system", "kube-public", "kube-node-lease"])
def test_it_refuses_to_delete_system_namespaces(pg, name):
    with pytest.raises(Forbidden) as exc:
        writes.do_delete(pg, "Namespace", "", name, "kubectl")
    assert exc.value.message == f'namespaces "{name}" is forbidden: this namespace may not be deleted'
    assert exc.value.status()["code"] == 403
    assert Namespace.objects.get(playground=pg, name=name).deletion_timestamp is None


def test_it_empties_a_terminating_namespace_then_deletes_it(pg):
    demo(pg)
    writes.do_delete(pg, "Namespace", "", "demo", "kubectl")
    ns = Namespace.objects.get(playground=pg, name="demo")
    assert ns.status["phase"] == "Terminating"
    assert namespace.reconcile(pg, "demo") > 0
    # Everything went at once except the running pods, which their kubelet stops gracefully.
    assert not Deployment.objects.filter(playground=pg, namespace="demo").exists()
    assert not ConfigMap.objects.filter(playground=pg, namespace="demo").exists()
    assert not Event.objects.filter(playground=pg, namespace="demo").exists()
    pods = list(Pod.objects.filter(playground=pg, namespace="demo"))
    assert len(pods) == 2 and all(p.deletion_timestamp for p in pods)
    ns.refresh_from_db()
    remaining = {c["type"]: c for c in ns.status["conditions"]}["NamespaceContentRemaining"]
    assert remaining["status"] == "True"
    assert remaining["message"] == "Some resources are remaining: pods has 2 resource instances"
    assert namespace.reconcile(pg, "demo") == 0  # waiting on the kubelet: nothing to do
    b = writes.Batch(pg, "kubelet")
    for pod in pods:
        b.delete(pod)
    b.commit()
    assert namespace.reconcile(pg, "demo") == 1
    assert not Namespace.objects.filter(playground=pg, name="demo").exists()
    assert in_demo(pg) == 0
    assert "demo" not in namespace.keys(pg)


def test_it_waits_for_finalizers_of_its_content(pg):
    demo(pg, replicas=0)
    cm = ConfigMap.objects.get(playground=pg, name="settings")
    cm.finalizers = ["example.com/keep"]
    b = writes.Batch(pg, "test")
    b.update(cm)
    b.commit()
    writes.do_delete(pg, "Namespace", "", "demo", "kubectl")
    namespace.reconcile(pg, "demo")
    ns = Namespace.objects.get(playground=pg, name="demo")
    conditions = {c["type"]: c for c in ns.status["conditions"]}
    assert conditions["NamespaceFinalizersRemaining"]["message"] == (
        "Some content in the namespace has finalizers remaining: example.com/keep in 1 resource instances")
    assert namespace.reconcile(pg, "demo") == 0
    cm.refresh_from_db()
    cm.finalizers = []
    b = writes.Batch(pg, "test")
    b.delete(cm)
    b.commit()
    namespace.reconcile(pg, "demo")
    assert not Namespace.objects.filter(playground=pg, name="demo").exists()


def test_it_keeps_condition_transition_times_while_content_drains(fake_clock):
    from collections import Counter

    first = deletion_conditions(Counter({"pods": 2}), Counter(), [], fake_clock.now())
    fake_clock.advance(5)
    again = deletion_conditions(Counter({"pods": 1}), Counter(), first, fake_clock.now())
    assert [c["lastTransitionTime"] for c in again] == [c["lastTransitionTime"] for c in first]
    done = deletion_conditions(Counter(), Counter(), again, fake_clock.now())
    content = {c["type"]: c for c in done}["NamespaceContentRemaining"]
    assert (content["status"], content["reason"]) == ("False", "ContentRemoved")
    assert content["lastTransitionTime"] != first[3]["lastTransitionTime"]
