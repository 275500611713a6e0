import datetime as dt

import pytest

from cluster_core import clock, names, writes
from cluster_core.controllers import deployment, replicaset
from cluster_core.controllers.deployment import (
    RSView,
    fenceposts,
    is_scaling_event,
    max_unavailable,
    plan_cleanup,
    plan_rollout,
    plan_scale,
    scaled_value,
)
from cluster_core.models import Deployment, Event, Namespace, Playground, Pod, ReplicaSet

T0 = dt.datetime(2026, 11, 26, 9, 0, 0, tzinfo=dt.UTC)


def rolling(replicas, surge="25%", unavailable="25%"):
    return {"replicas": replicas, "strategy": {"type": "RollingUpdate",
                                               "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}}


# ---------------------------------------------------------------------------------------------------------------
# Pure plans


def test_it_rounds_surge_up_and_unavailable_down():
    assert scaled_value("25%", 10, True) == 3
    assert scaled_value("25%", 10, False) == 2
    assert scaled_value(2, 10, True) == 2
    assert fenceposts(rolling(3)) == (1, 0)
    assert fenceposts(rolling(4, surge=1, unavailable="50%")) == (1, 2)


def test_it_allows_one_unavailable_when_both_budgets_are_zero():
    assert fenceposts(rolling(3, surge=0, unavailable=0)) == (0, 1)
    assert max_unavailable(rolling(3, surge=0, unavailable="10%")) == 1
    assert max_unavailable({"replicas": 3, "strategy": {"type": "Recreate"}}) == 0


def test_it_creates_the_new_replicaset_at_its_first_step_size():
    plan = plan_rollout(rolling(4, surge=1, unavailable=1), RSView("new", exists=False),
                        [RSView("old", replicas=4, available=4, actual=4)])
    assert plan.create_new
    # One surge pod for the new ReplicaSet, and one old pod may go at once (maxUnavailable 1).
    assert plan.scale == {"new": 1, "old": 3}


def test_it_removes_unhealthy_old_replicas_before_healthy_ones():
    olds = [RSView("old", replicas=4, available=2, created=T0)]
    new = RSView("new", replicas=1, available=0, created=T0 + dt.timedelta(1))
    plan = plan_rollout(rolling(4, surge=1, unavailable=1), new, olds)
    # 5 pods, 3 must stay available, the new one is not: 5 - 3 - 1 = 1 pod may go, an unavailable one.
    assert plan.scale == {"old": 3}


def simulate(spec, olds, steps=50):
    """Run plan_rollout against ReplicaSets whose new pods become available one step later; check budgets."""
    want = spec["replicas"]
    surge, unavailable = fenceposts(spec)
    new = RSView("new", exists=False, created=T0 + dt.timedelta(hours=1))
    history = []
    for _ in range(steps):
        plan = plan_rollout(spec, new, olds)
        new = RSView("new", replicas=plan.scale.get("new", new.replicas), available=new.replicas,
                     created=new.created)
        olds = [RSView(o.name, replicas=plan.scale.get(o.name, o.replicas),
                       available=min(o.available, plan.scale.get(o.name, o.replicas)), created=o.created)
                for o in olds]
        total = new.replicas + sum(o.replicas for o in olds)
        available = min(new.available, new.replicas) + sum(o.available for o in olds)
        assert total <= want + surge
        assert available >= want - unavailable
        history.append((new.replicas, [o.replicas for o in olds]))
        if new.replicas == want and new.available == want and all(o.replicas == 0 for o in olds):
            return history
    raise AssertionError(f"the rollout did not finish: {history}")


def test_it_rolls_within_surge_and_unavailable_budgets():
    old = [RSView("old", replicas=10, available=10, created=T0)]
    history = simulate(rolling(10), old)
    assert history[0] == (3, [8])  # surge 3, unavailable 2


def test_it_rolls_one_by_one_without_surge():
    history = simulate(rolling(3, surge=0, unavailable=1), [RSView("old", replicas=3, available=3, created=T0)])
    assert history[0] == (0, [2])


def test_it_rolls_over_several_old_replicasets_oldest_first():
    olds = [RSView("v1", replicas=2, available=2, created=T0),
            RSView("v2", replicas=2, available=2, created=T0 + dt.timedelta(minutes=1))]
    history = simulate(rolling(4, surge=1, unavailable=1), olds)
    assert history[0] == (1, [1, 2])


def test_it_recreates_only_after_old_pods_are_gone():
    spec = {"replicas": 3, "strategy": {"type": "Recreate"}}
    old = RSView("old", replicas=3, available=3, actual=3)
    new = RSView("new", exists=False)
    assert plan_rollout(spec, new, [old]).scale == {"old": 0}
    gone = RSView("old", replicas=0, actual=1)
    assert plan_rollout(spec, new, [gone], old_pods_running=True).scale == {}
    plan = plan_rollout(spec, new, [gone], old_pods_running=False)
    assert plan.create_new and plan.scale == {"new": 3}


def test_it_scales_the_only_active_replicaset():
    rs = RSView("web", replicas=1, available=1, desired=1)
    assert is_scaling_event({"replicas": 3}, rs, [])
    assert plan_scale({"replicas": 3}, rs, []).scale == {"web": 3}
    assert plan_scale({"replicas": 1}, rs, []).scale == {}


def test_it_scales_proportionally_during_a_rollout():
    spec = rolling(20, surge=3, unavailable=2)
    new = RSView("new", replicas=5, desired=10, max_replicas=13, created=T0 + dt.timedelta(1))
    old = RSView("old", replicas=8, desired=10, max_replicas=13, created=T0)
    plan = plan_scale(spec, new, [old])
    # 13 pods of an allowed 13 become 23 of 23, split 5:8 → 9:14.
    assert plan.scale == {"new": 9, "old": 14}


def test_it_keeps_revision_history_limit_of_scaled_down_replicasets():
    olds = [RSView(f"r{i}", revision=i, created=T0 + dt.timedelta(minutes=i)) for i in range(1, 5)]
    olds[1] = RSView("r2", revision=2, replicas=1, actual=1)
    assert plan_cleanup(1, olds) == ["r1", "r3"]  # r2 still has a pod: kept, not replaced by r4
    assert plan_cleanup(None, olds) == []


# ---------------------------------------------------------------------------------------------------------------
# Reconcile against the database, with the kubelet simulated by hand


@pytest.fixture
def pg(db, fake_clock, quiet_nudges):
    pg = Playground.objects.create(slug="deploy")
    b = writes.Batch(pg, "test")
    b.create(Namespace(name="default", status={"phase": "Active"}))
    b.commit()
    return pg


def deploy(pg, replicas=1, image="nginx", name="test1", **spec):
    return writes.do_create(pg, {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "nginx", "image": image}]}}, **spec},
    }, "kubectl")


def edit(pg, change, name="test1"):
    body = Deployment.objects.get(playground=pg, name=name).to_k8s()
    change(body["spec"])
    writes.do_update(pg, body, "kubectl")


def set_image(pg, image, name="test1"):
    def change(spec):
        spec["template"]["spec"]["containers"][0]["image"] = image

    edit(pg, change, name)


def controllers(pg):
    n = sum(deployment.reconcile(pg, k) for k in deployment.keys(pg))
    return n + sum(replicaset.reconcile(pg, k) for k in replicaset.keys(pg))


def kubelet(pg, start=None):
    """Terminating pods finish; pending pods start Running and Ready (at most `start` of them)."""
    b = writes.Batch(pg, "kubelet")
    for pod in Pod.objects.filter(playground=pg, deletion_timestamp__isnull=False):
        b.delete(pod)
    pending = Pod.objects.filter(playground=pg, deletion_timestamp__isnull=True, phase="Pending").order_by("pk")
    for pod in pending[:start] if start is not None else pending:
        pod.spec = {**pod.spec, "nodeName": "k8s-node1"}
        pod.status = {"phase": "Running", "conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": clock.rfc3339(clock.now())}]}
        b.update(pod)
    b.commit()
    return len(b)


def converge(pg, start=None, check=None, rounds=100):
    for _ in range(rounds):
        n = controllers(pg)
        if check:
            check(pg)
        n += kubelet(pg, start)
        clock.current().advance(1)
        if n == 0:
            return
    raise AssertionError("the cluster did not converge")


def the(pg, name="test1"):
    return Deployment.objects.get(playground=pg, name=name)


def replicasets(pg):
    return list(ReplicaSet.objects.filter(playground=pg).order_by("creation_timestamp", "name"))


def live_pods(pg):
    return list(Pod.objects.filter(playground=pg, deletion_timestamp__isnull=True))


def images(pg):
    return sorted(p.spec["containers"][0]["image"] for p in live_pods(pg))


def conditions(d):
    return {c["type"]: c for c in d.status.get("conditions", [])}


def test_it_creates_a_replicaset_for_the_pod_template(pg):
    d = deploy(pg)
    assert deployment.reconcile(pg, "default/test1") > 0
    assert deployment.reconcile(pg, "default/test1") == 0
    (rs,) = replicasets(pg)
    # A fixed value: the same template's hash as `kubectl get rs` shows it for this Deployment on a served
    # playground (test1-5cc67958d5); a change to the hash function shows here.
    h = "5cc67958d5"
    assert names.pod_template_hash(d.spec["template"]) == h
    assert rs.name == f"test1-{h}"
    assert rs.labels == {"app": "test1", "pod-template-hash": h}
    assert rs.spec["selector"] == {"matchLabels": {"app": "test1", "pod-template-hash": h}}
    assert rs.spec["template"]["metadata"]["labels"]["pod-template-hash"] == h
    assert rs.spec["replicas"] == 1
    assert rs.owner_references == [d.controller_ref()]
    assert rs.annotations == {"deployment.kubernetes.io/revision": "1",
                              "deployment.kubernetes.io/desired-replicas": "1",
                              "deployment.kubernetes.io/max-replicas": "2"}
    assert the(pg).annotations["deployment.kubernetes.io/revision"] == "1"
    (event,) = Event.objects.filter(playground=pg)
    assert event.spec["reason"] == "ScalingReplicaSet"
    assert event.spec["message"] == f"Scaled up replica set {rs.name} from 0 to 1"
    assert event.spec["source"] == {"component": "deployment-controller"}


def test_it_keeps_the_same_hash_for_the_same_template(pg):
    d = deploy(pg)
    assert names.pod_template_hash(d.spec["template"]) == names.pod_template_hash(the(pg).spec["template"]) \
        == "5cc67958d5"
    converge(pg)
    first = replicasets(pg)[0].name
    edit(pg, lambda spec: spec.update(minReadySeconds=0))  # a spec change that leaves the template alone
    converge(pg)
    assert [rs.name for rs in replicasets(pg)] == [first]


def test_it_copies_the_change_cause(pg):
    d = deploy(pg)
    d.annotations = {"kubernetes.io/change-cause": "kubectl create deployment test1 --image=nginx"}
    b = writes.Batch(pg, "kubectl")
    b.update(d)
    b.commit()
    deployment.reconcile(pg, "default/test1")
    assert replicasets(pg)[0].annotations["kubernetes.io/change-cause"].startswith("kubectl create")


def test_it_reports_status_and_conditions_like_kubernetes(pg):
    deploy(pg)
    deployment.reconcile(pg, "default/test1")
    d = the(pg)
    assert conditions(d)["Available"]["reason"] == "MinimumReplicasUnavailable"
    assert conditions(d)["Progressing"]["reason"] == "NewReplicaSetCreated"
    assert d.status["observedGeneration"] == 1
    converge(pg)
    d = the(pg)
    rs = replicasets(pg)[0]
    assert d.status == {
        "observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1,
        "conditions": d.status["conditions"],
    }
    available, progressing = conditions(d)["Available"], conditions(d)["Progressing"]
    assert (available["status"], available["reason"]) == ("True", "MinimumReplicasAvailable")
    assert available["message"] == "Deployment has minimum availability."
    assert (progressing["status"], progressing["reason"]) == ("True", "NewReplicaSetAvailable")
    assert progressing["message"] == f'ReplicaSet "{rs.name}" has successfully progressed.'
    # Progressing was True all along: its transition time is the first one, its update time the last.
    assert progressing["lastTransitionTime"] == clock.rfc3339(T0)
    assert progressing["lastUpdateTime"] > progressing["lastTransitionTime"]
    assert deployment.reconcile(pg, "default/test1") == 0


def test_it_scales_1_to_3_to_1(pg):
    deploy(pg)
    converge(pg)
    edit(pg, lambda spec: spec.update(replicas=3))
    converge(pg)
    (rs,) = replicasets(pg)
    assert rs.spec["replicas"] == 3 and len(live_pods(pg)) == 3
    assert rs.annotations["deployment.kubernetes.io/desired-replicas"] == "3"
    assert the(pg).status["readyReplicas"] == 3
    edit(pg, lambda spec: spec.update(replicas=1))
    converge(pg)
    assert len(live_pods(pg)) == 1 and the(pg).status["availableReplicas"] == 1
    messages = list(Event.objects.filter(playground=pg, spec__reason="ScalingReplicaSet")
                    .order_by("pk").values_list("spec__message", flat=True))
    assert messages == [f"Scaled up replica set {rs.name} from 0 to 1", f"Scaled up replica set {rs.name} from 1 to 3",
                        f"Scaled down replica set {rs.name} from 3 to 1"]
    assert controllers(pg) == 0


def budget_check(want, surge, unavailable):
    def check(pg):
        pods = live_pods(pg)
        ready = [p for p in pods if p.phase == "Running"]
        assert len(pods) <= want + surge, f"{len(pods)} pods exceed {want} + maxSurge {surge}"
        assert len(ready) >= want - unavailable, f"only {len(ready)} available, maxUnavailable {unavailable}"

    return check


def test_it_rolls_out_a_new_image_within_the_budgets(pg):
    deploy(pg, replicas=4, strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}})
    converge(pg)
    set_image(pg, "httpd")
    # One pod becomes ready per round, so the rollout takes many steps; the budgets hold after every one.
    converge(pg, start=1, check=budget_check(4, 1, 1))
    old, new = replicasets(pg)
    assert old.spec["replicas"] == 0 and new.spec["replicas"] == 4
    assert images(pg) == ["httpd"] * 4
    assert new.annotations["deployment.kubernetes.io/revision"] == "2"
    d = the(pg)
    assert d.annotations["deployment.kubernetes.io/revision"] == "2"
    assert d.status["updatedReplicas"] == 4 and d.status["observedGeneration"] == 2
    assert conditions(d)["Progressing"]["message"] == f'ReplicaSet "{new.name}" has successfully progressed.'
    assert controllers(pg) == 0


def test_it_rolls_out_with_default_budgets_one_pod_at_a_time(pg):
    deploy(pg, replicas=3)  # 25% / 25% of 3: surge 1, unavailable 0
    converge(pg)
    set_image(pg, "httpd")
    converge(pg, start=1, check=budget_check(3, 1, 0))
    assert images(pg) == ["httpd"] * 3


def test_it_rolls_back_to_the_first_replicaset(pg):
    deploy(pg, replicas=2)
    converge(pg)
    first = replicasets(pg)[0]
    set_image(pg, "httpd")
    converge(pg)
    # kubectl rollout undo: the template of the previous revision, without its pod-template-hash label.
    template = first.spec["template"]
    template["metadata"]["labels"].pop("pod-template-hash")
    edit(pg, lambda spec: spec.update(template=template))
    converge(pg)
    rss = replicasets(pg)
    assert len(rss) == 2
    back = ReplicaSet.objects.get(pk=first.pk)
    assert back.name == first.name and back.spec["replicas"] == 2
    assert back.annotations["deployment.kubernetes.io/revision"] == "3"
    assert back.annotations["deployment.kubernetes.io/revision-history"] == "1"
    assert the(pg).annotations["deployment.kubernetes.io/revision"] == "3"
    assert images(pg) == ["nginx", "nginx"]
    assert all(p.name.startswith(first.name + "-") for p in live_pods(pg))
    assert controllers(pg) == 0


def test_it_recreates(pg):
    deploy(pg, replicas=3, strategy={"type": "Recreate"})
    converge(pg)
    old = replicasets(pg)[0]
    set_image(pg, "httpd")
    for _ in range(5):  # the controllers alone, without the kubelet
        if not controllers(pg):
            break
    assert ReplicaSet.objects.get(pk=old.pk).spec["replicas"] == 0
    # Old pods are still terminating: no new ReplicaSet yet.
    assert len(replicasets(pg)) == 1
    assert controllers(pg) == 0
    seen_together = []

    def check(pg):
        found = {p.spec["containers"][0]["image"] for p in Pod.objects.filter(playground=pg)}
        seen_together.append(found == {"nginx", "httpd"})

    converge(pg, check=check)
    assert not any(seen_together)
    assert images(pg) == ["httpd"] * 3
    assert replicasets(pg)[1].spec["replicas"] == 3


def test_it_keeps_only_revision_history_limit_old_replicasets(pg):
    deploy(pg, replicas=1, revisionHistoryLimit=1)
    converge(pg)
    for image in ("httpd", "redis", "busybox"):
        set_image(pg, image)
        converge(pg)
    rss = replicasets(pg)
    assert [rs.annotations["deployment.kubernetes.io/revision"] for rs in rss] == ["3", "4"]
    assert images(pg) == ["busybox"]


def test_it_does_not_roll_a_paused_deployment(pg):
    deploy(pg, replicas=2)
    converge(pg)
    edit(pg, lambda spec: spec.update(paused=True))
    set_image(pg, "httpd")
    converge(pg)
    assert len(replicasets(pg)) == 1 and images(pg) == ["nginx", "nginx"]
    progressing = conditions(the(pg))["Progressing"]
    assert (progressing["status"], progressing["reason"]) == ("Unknown", "DeploymentPaused")
    edit(pg, lambda spec: spec.update(replicas=3))  # a paused deployment still scales
    converge(pg)
    assert images(pg) == ["nginx"] * 3
    edit(pg, lambda spec: spec.update(paused=False))
    converge(pg)
    assert images(pg) == ["httpd"] * 3


def test_it_survives_a_restart_in_the_middle_of_a_rollout(pg):
    deploy(pg, replicas=4, strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}})
    converge(pg)
    set_image(pg, "httpd")
    for _ in range(3):
        controllers(pg)
        kubelet(pg, start=1)
    # A restarted controller manager knows nothing but what the database holds.
    fresh = Playground.objects.get(pk=pg.pk)
    names.seed(7)
    converge(fresh, start=1, check=budget_check(4, 1, 1))
    assert images(fresh) == ["httpd"] * 4
    added = Event.objects.filter(playground=pg, spec__reason="SuccessfulCreate").count()
    assert added == 8  # 4 nginx pods, then each of 4 httpd pods created exactly once
    assert controllers(fresh) == 0


def test_it_only_writes_status_when_it_changed(pg):
    deploy(pg)
    converge(pg)
    rv = the(pg).resource_version
    clock.current().advance(60)
    assert deployment.reconcile(pg, "default/test1") == 0
    assert the(pg).resource_version == rv
