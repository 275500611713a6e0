import datetime as dt

import pytest

from cluster_core import clock, writes
from cluster_core.controllers import replicaset
from cluster_core.controllers.replicaset import rank_victims
from cluster_core.models import Event, Namespace, Playground, Pod, ReplicaSet

T0 = dt.datetime(2026, 11, 26, 9, 0, 0, tzinfo=dt.UTC)


@pytest.fixture
def pg(db, fake_clock, quiet_nudges):
    pg = Playground.objects.create(slug="rs")
    b = writes.Batch(pg, "test")
    b.create(Namespace(name="default", status={"phase": "Active"}))
    b.commit()
    return pg


def make_rs(pg, replicas=3, name="web-abc"):
    return writes.do_create(pg, {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": name, "labels": {"app": "web"}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}},
    }, "kubectl")


def scale(pg, replicas, name="web-abc"):
    rs = ReplicaSet.objects.get(playground=pg, name=name)
    body = rs.to_k8s()
    body["spec"]["replicas"] = replicas
    writes.do_update(pg, body, "kubectl")


def run(pg, pod, node="node1", ready=True, at=None):
    """What the kubelet would report: scheduled, Running, Ready since `at`."""
    when = clock.rfc3339(at or clock.now())
    pod.spec = {**pod.spec, "nodeName": node}
    conditions = [{"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": when}]
    pod.status = {"phase": "Running", "conditions": conditions}
    b = writes.Batch(pg, "kubelet")
    b.update(pod)
    b.commit()


def pods(pg):
    return list(Pod.objects.filter(playground=pg).order_by("name"))


def active(pg):
    return [p for p in pods(pg) if p.deletion_timestamp is None]


def mem_pod(name, node="", phase="Pending", ready=None, created=T0, ready_since=None, restarts=0):
    status = {"phase": phase, "containerStatuses": [{"restartCount": restarts}]}
    if ready is not None:
        status["conditions"] = [{"type": "Ready", "status": "True" if ready else "False",
                                 "lastTransitionTime": clock.rfc3339(ready_since or created)}]
    return Pod(name=name, node_name=node, phase=phase, status=status, creation_timestamp=created)


def test_it_ranks_victims_as_kubernetes_does():
    later = T0 + dt.timedelta(minutes=5)
    ordered = rank_victims([
        mem_pod("running-ready-old", "n1", "Running", True, ready_since=T0),
        mem_pod("running-ready-new", "n2", "Running", True, ready_since=later),
        mem_pod("running-not-ready", "n1", "Running", False),
        mem_pod("pending-assigned", "n2", "Pending"),
        mem_pod("unknown", "n2", "Unknown"),
        mem_pod("unassigned", "", "Pending"),
    ])
    assert [p.name for p in ordered] == [
        "unassigned", "pending-assigned", "unknown", "running-not-ready", "running-ready-new", "running-ready-old",
    ]


def test_it_ranks_newer_and_crashier_pods_first_among_equals():
    later = T0 + dt.timedelta(seconds=30)
    ordered = rank_victims([
        mem_pod("old", "n1", "Running", True, created=T0),
        mem_pod("new", "n2", "Running", True, created=later, ready_since=T0),
        mem_pod("restarts", "n3", "Running", True, created=T0, restarts=4),
    ])
    assert [p.name for p in ordered] == ["restarts", "new", "old"]


def test_it_creates_missing_pods_in_one_batch(pg):
    rs = make_rs(pg, replicas=3)
    writes_made = replicaset.reconcile(pg, "default/web-abc")
    made = pods(pg)
    assert len(made) == 3
    for pod in made:
        assert pod.name.startswith("web-abc-") and len(pod.name) == len("web-abc-") + 5
        assert pod.generate_name == "web-abc-"
        assert pod.labels == {"app": "web"}
        assert pod.owner_references == [rs.controller_ref()]
        assert pod.controller_uid == rs.uid
        assert pod.spec["containers"][0]["image"] == "nginx"
        assert pod.status["phase"] == "Pending"
    messages = sorted(Event.objects.filter(playground=pg).values_list("spec__message", flat=True))
    assert messages == sorted(f"Created pod: {p.name}" for p in made)
    # 3 pods + 3 events + the status, all at once.
    assert writes_made == 7
    rs.refresh_from_db()
    assert rs.status == {"replicas": 3, "fullyLabeledReplicas": 3, "readyReplicas": 0, "availableReplicas": 0,
                         "observedGeneration": 1}


def test_it_does_nothing_when_converged(pg):
    make_rs(pg, replicas=2)
    assert replicaset.reconcile(pg, "default/web-abc") > 0
    assert replicaset.reconcile(pg, "default/web-abc") == 0
    assert len(pods(pg)) == 2


def test_it_recomputes_status_from_the_pods(pg):
    make_rs(pg, replicas=3)
    replicaset.reconcile(pg, "default/web-abc")
    a, b, c = pods(pg)
    run(pg, a)
    run(pg, b, ready=False)
    assert replicaset.reconcile(pg, "default/web-abc") == 1
    rs = ReplicaSet.objects.get(playground=pg)
    assert rs.status["replicas"] == 3
    assert rs.status["readyReplicas"] == 1
    assert rs.status["availableReplicas"] == 1
    assert replicaset.reconcile(pg, "default/web-abc") == 0


def test_it_waits_min_ready_seconds_before_counting_a_pod_available(pg, fake_clock):
    rs = make_rs(pg, replicas=1)
    rs.spec = {**rs.spec, "minReadySeconds": 10}
    b = writes.Batch(pg, "test")
    b.update(rs)
    b.commit()
    replicaset.reconcile(pg, "default/web-abc")
    run(pg, pods(pg)[0])
    replicaset.reconcile(pg, "default/web-abc")
    rs.refresh_from_db()
    assert rs.status["readyReplicas"] == 1 and rs.status["availableReplicas"] == 0
    fake_clock.advance(10)
    replicaset.reconcile(pg, "default/web-abc")
    rs.refresh_from_db()
    assert rs.status["availableReplicas"] == 1


def test_it_deletes_surplus_pods_least_valuable_first(pg):
    make_rs(pg, replicas=3)
    replicaset.reconcile(pg, "default/web-abc")
    unscheduled, not_ready, ready = pods(pg)
    run(pg, not_ready, ready=False)
    run(pg, ready)
    replicaset.reconcile(pg, "default/web-abc")
    scale(pg, 1)
    replicaset.reconcile(pg, "default/web-abc")
    # An unscheduled pod goes at once; a scheduled one is left to its kubelet with a grace period.
    assert not Pod.objects.filter(pk=unscheduled.pk).exists()
    not_ready.refresh_from_db()
    assert not_ready.deletion_timestamp == clock.now() + dt.timedelta(seconds=30)
    assert not_ready.deletion_grace_period_seconds == 30
    assert [p.name for p in active(pg)] == [ready.name]
    messages = set(Event.objects.filter(playground=pg, spec__reason="SuccessfulDelete")
                   .values_list("spec__message", flat=True))
    assert messages == {f"Deleted pod: {unscheduled.name}", f"Deleted pod: {not_ready.name}"}
    rs = ReplicaSet.objects.get(playground=pg)
    assert rs.status["replicas"] == 1 and rs.status["observedGeneration"] == 2
    assert replicaset.reconcile(pg, "default/web-abc") == 0


def test_it_replaces_a_pod_that_was_deleted(pg):
    make_rs(pg, replicas=2)
    replicaset.reconcile(pg, "default/web-abc")
    victim = pods(pg)[0]
    run(pg, victim)
    writes.do_delete(pg, "Pod", "default", victim.name, "kubectl")
    replicaset.reconcile(pg, "default/web-abc")
    assert len(active(pg)) == 2
    assert victim.name not in [p.name for p in active(pg)]


def test_it_adopts_orphans_and_releases_pods_that_stop_matching(pg):
    rs = make_rs(pg, replicas=2)
    writes.do_create(pg, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "stray", "labels": {"app": "web"}},
                          "spec": {"containers": [{"name": "c", "image": "nginx"}]}}, "kubectl")
    replicaset.reconcile(pg, "default/web-abc")
    assert Pod.objects.get(name="stray").controller_uid == rs.uid
    assert len(active(pg)) == 2
    stray = Pod.objects.get(name="stray")
    stray.labels = {"app": "debug"}
    b = writes.Batch(pg, "kubectl")
    b.update(stray)
    b.commit()
    replicaset.reconcile(pg, "default/web-abc")
    stray.refresh_from_db()
    assert stray.owner_references == [] and stray.deletion_timestamp is None
    assert Pod.objects.filter(playground=pg, controller_uid=rs.uid).count() == 2
    assert replicaset.reconcile(pg, "default/web-abc") == 0


def test_it_stops_at_the_pod_cap_and_warns_once(pg):
    make_rs(pg, replicas=6)
    Playground.objects.filter(pk=pg.pk).update(max_pods=4)
    pg.refresh_from_db()
    replicaset.reconcile(pg, "default/web-abc")
    assert len(pods(pg)) == 4
    warnings = list(Event.objects.filter(playground=pg, spec__reason="FailedCreate"))
    assert len(warnings) == 1
    assert warnings[0].spec["type"] == "Warning"
    assert "maximum of 4 pods (cap max_pods)" in warnings[0].spec["message"]
    rs = ReplicaSet.objects.get(playground=pg)
    failure = rs.status["conditions"][0]
    assert (failure["type"], failure["reason"]) == ("ReplicaFailure", "FailedCreate")
    assert replicaset.reconcile(pg, "default/web-abc") == 0
    scale(pg, 4)
    replicaset.reconcile(pg, "default/web-abc")
    rs.refresh_from_db()
    assert "conditions" not in rs.status


def test_it_leaves_a_replicaset_being_deleted_to_the_garbage_collector(pg):
    rs = make_rs(pg, replicas=2)
    rs.deletion_timestamp = clock.now()
    rs.finalizers = ["foregroundDeletion"]
    b = writes.Batch(pg, "test")
    b.update(rs)
    b.commit()
    replicaset.reconcile(pg, "default/web-abc")
    assert pods(pg) == []


def test_it_scales_from_0_to_1000_pods_in_one_batch(pg, django_assert_max_num_queries):
    make_rs(pg, replicas=1000)
    # A handful of reads and writes, whatever the count: no per-pod work. SQLite splits each bulk insert into
    # chunks of ~40 rows, hence the slack. (How fast is `bench converge`'s to say.)
    with django_assert_max_num_queries(100):
        replicaset.reconcile(pg, "default/web-abc")
    assert Pod.objects.filter(playground=pg).count() == 1000
    assert len({p.name for p in pods(pg)}) == 1000
    assert replicaset.reconcile(pg, "default/web-abc") == 0
