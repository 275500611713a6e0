import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cluster_core import bootstrap, clock, images, nudge
from cluster_core.controllers import kubelet
from cluster_core.controllers import kubelet_stages as stages
from cluster_core.models import Event, LogLine, Node, Playground, Pod
from cluster_core.writes import Batch, do_create, do_delete
from tests.builders import bare_playground

# ---------------------------------------------------------------------------------------------------------------
# Pure: the stage table and what the kubelet observes


def facts(state, deleting=False, known=True):
    return {"state": state, "deleting": deleting, "images_known": known}


def test_it_walks_a_known_image_through_the_stage_table():
    assert stages.find(facts("Scheduled")).next == "ContainerCreating"
    assert stages.find(facts("ContainerCreating")).next == "Starting"
    assert stages.find(facts("ContainerCreating")).delay == "pull"
    assert stages.find(facts("Starting")).next == "Running"
    assert stages.find(facts("Running")) is None


def test_it_walks_an_unknown_image_into_back_off():
    assert stages.find(facts("ContainerCreating", known=False)).next == "ErrImagePull"
    assert stages.find(facts("ErrImagePull", known=False)).next == "ImagePullBackOff"
    retry = stages.find(facts("ImagePullBackOff", known=False))
    assert (retry.next, retry.delay) == ("ErrImagePull", "backoff")


def test_it_stops_started_pods_and_drops_unstarted_ones_when_deleted():
    assert stages.find(facts("Running", deleting=True)).next == "Stopped"
    assert stages.find(facts("Stopped", deleting=True)).next == "Deleted"
    assert stages.find(facts("ContainerCreating", deleting=True)).next == "Deleted"
    assert all(stages.find(facts(s, deleting=True)).interrupts for s in ("Running", "ImagePullBackOff"))


def test_it_observes_a_pod_from_its_status():
    p = Pod(spec={"containers": [{"name": "nginx", "image": "nginx"}]})
    assert kubelet.observe(p)["state"] == "Scheduled"
    p.status = {"startTime": "x", "containerStatuses": [{"state": {"waiting": {"reason": "ContainerCreating"}}}]}
    assert kubelet.observe(p)["state"] == "ContainerCreating"
    p.status["containerStatuses"][0]["imageID"] = "docker.io/library/nginx@sha256:0"
    assert kubelet.observe(p)["state"] == "Starting"
    p.spec["containers"][0]["image"] = "nginxx"
    assert kubelet.observe(p)["images_known"] is False


def test_it_names_images_as_containerd_does():
    assert kubelet.image_ref("nginx") == "docker.io/library/nginx:latest"
    assert kubelet.image_ref("httpd:2.4") == "docker.io/library/httpd:2.4"
    assert kubelet.image_ref("bitnami/redis") == "docker.io/bitnami/redis:latest"
    assert kubelet.image_ref("registry.k8s.io/pause:3.10") == "registry.k8s.io/pause:3.10"
    assert kubelet.image_id("nginx").startswith("docker.io/library/nginx@sha256:")


def test_it_formats_startup_logs_with_believable_timestamps():
    at = dt.datetime(2026, 11, 26, 9, 0, 3, tzinfo=dt.UTC)
    lines = kubelet.startup_lines(images.CATALOGUE["nginx"], "10.244.1.2", at)
    assert lines[-1] == "2026/11/26 09:00:03 [notice] 1#1: start worker processes"
    httpd = kubelet.startup_lines(images.CATALOGUE["httpd"], "10.244.1.2", at)
    assert "using 10.244.1.2." in httpd[0]
    assert httpd[1].startswith("[Thu Nov 26 09:00:03.000000 2026] [mpm_event:notice]")


# ---------------------------------------------------------------------------------------------------------------
# The loop against the database


@pytest.fixture
def pg(db, fake_clock, quiet_nudges):
    return bare_playground("kubelet", tempo="realtime")


def bound_pod(pg, name, node="k8s-node1", image="nginx", **spec):
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"nodeName": node, "containers": [{"name": "web", "image": image}], **spec}}
    return do_create(pg, body, "test")


def reasons(p):
    return [e.spec["reason"] for e in Event.objects.filter(involved_uid=p.uid).order_by("id")]


def get(name):
    return Pod.objects.get(name=name)


def waiting(p):
    return p.status["containerStatuses"][0]["state"].get("waiting", {}).get("reason")


def test_it_takes_a_pod_to_running_after_the_catalogue_delays(pg, fake_clock):
    p = bound_pod(pg, "test1-857949f6d6-rwh4c")
    assert kubelet.reconcile(pg, "k8s-node1") == 2  # the pod and its Pulling event
    p = get(p.name)
    assert (p.phase, waiting(p)) == ("Pending", "ContainerCreating")
    assert p.status["hostIP"] == "192.168.56.11"
    assert "podIP" not in p.status
    assert p.requeue_at == clock.now() + dt.timedelta(seconds=3)
    ev = Event.objects.get(involved_uid=p.uid)
    assert ev.spec["message"] == 'Pulling image "nginx"'
    assert ev.spec["involvedObject"]["fieldPath"] == "spec.containers{web}"
    assert kubelet.reconcile(pg, "k8s-node1") == 0  # nothing is due yet

    fake_clock.advance(3)
    kubelet.reconcile(pg, "k8s-node1")
    p = get(p.name)
    assert (p.phase, waiting(p)) == ("Pending", "ContainerCreating")
    assert reasons(p) == ["Pulling", "Pulled", "Created", "Started"]
    pulled = Event.objects.get(involved_uid=p.uid, spec__reason="Pulled")
    assert pulled.spec["message"] == (
        'Successfully pulled image "nginx" in 3s (3s including waiting). Image size: 72000000 bytes.')

    fake_clock.advance(1)
    kubelet.reconcile(pg, "k8s-node1")
    p = get(p.name)
    assert p.phase == "Running"
    assert p.status["podIP"] == "10.244.1.2"
    assert p.status["podIPs"] == [{"ip": "10.244.1.2"}]
    cs = p.status["containerStatuses"][0]
    assert (cs["ready"], cs["started"], "running" in cs["state"]) == (True, True, True)
    assert cs["containerID"].startswith("containerd://")
    assert {c["type"]: c["status"] for c in p.status["conditions"]} == dict.fromkeys(kubelet.CONDITIONS, "True")
    assert p.requeue_at is None
    logs = list(LogLine.objects.filter(pod_uid=p.uid).values_list("text", flat=True))
    assert logs[-1].endswith("[notice] 1#1: start worker processes")
    assert kubelet.reconcile(pg, "k8s-node1") == 0


def test_it_completes_every_stage_in_one_pass_at_tempo_instant(pg):
    Playground.objects.filter(pk=pg.pk).update(tempo="instant")
    pg.refresh_from_db()
    p = bound_pod(pg, "quick", image="httpd")
    kubelet.reconcile(pg, "k8s-node1")
    p = get("quick")
    assert p.phase == "Running"
    assert reasons(p) == ["Pulling", "Pulled", "Created", "Started"]
    assert kubelet.reconcile(pg, "k8s-node1") == 0


def test_it_backs_off_pulling_an_unknown_image(pg, fake_clock):
    p = bound_pod(pg, "typo", image="nginxx")
    kubelet.reconcile(pg, "k8s-node1")
    fake_clock.advance(kubelet.UNKNOWN_PULL_SECONDS)
    kubelet.reconcile(pg, "k8s-node1")
    p = get("typo")
    assert waiting(p) == "ErrImagePull"
    failed = Event.objects.filter(involved_uid=p.uid, spec__reason="Failed").order_by("id").first()
    assert failed.spec["message"].startswith(
        'Failed to pull image "nginxx": failed to pull and unpack image "docker.io/library/nginxx:latest"')
    assert "pull access denied, repository does not exist or may require authorization" in failed.spec["message"]

    delays = []
    for _ in range(4):
        fake_clock.set(p.requeue_at)
        kubelet.reconcile(pg, "k8s-node1")  # ErrImagePull → ImagePullBackOff
        p = get("typo")
        assert waiting(p) == "ImagePullBackOff"
        delays.append((p.requeue_at - clock.now()).total_seconds())
        fake_clock.set(p.requeue_at)
        kubelet.reconcile(pg, "k8s-node1")  # the retry fails again
        p = get("typo")
        assert waiting(p) == "ErrImagePull"
    assert delays == [10, 20, 40, 80]
    backoff = Event.objects.get(involved_uid=p.uid, spec__reason="BackOff")
    assert backoff.spec["message"] == 'Back-off pulling image "nginxx"'
    assert backoff.spec["count"] == 4


def test_it_caps_the_back_off_at_five_minutes(pg):
    rec = kubelet.Recorder(Batch(pg, "test"), Pod(), Node(), [Event(spec={"reason": "BackOff", "count": 9})])
    retry = stages.find(facts("ImagePullBackOff", known=False))
    sync = kubelet.Sync(pg, Node(), clock.now(), Batch(pg, "test"))
    assert sync.delay(retry, Pod(spec={"containers": []}), rec) == 300


def test_it_stops_a_deleted_pod_and_then_removes_it(pg, fake_clock):
    Playground.objects.filter(pk=pg.pk).update(tempo="instant")
    pg.refresh_from_db()
    bound_pod(pg, "doomed")
    kubelet.reconcile(pg, "k8s-node1")
    Playground.objects.filter(pk=pg.pk).update(tempo="realtime")
    pg.refresh_from_db()
    _, gone = do_delete(pg, "Pod", "default", "doomed", "kubectl")
    assert not gone
    assert kubelet.reconcile(pg, "k8s-node1") == 2  # the pod and its Killing event
    p = get("doomed")
    assert "terminated" in p.status["containerStatuses"][0]["state"]
    killing = Event.objects.get(involved_uid=p.uid, spec__reason="Killing")
    assert killing.spec["message"] == "Stopping container web"
    assert kubelet.reconcile(pg, "k8s-node1") == 0
    fake_clock.advance(kubelet.STOP_SECONDS)
    assert kubelet.reconcile(pg, "k8s-node1") == 1
    assert not Pod.objects.filter(name="doomed").exists()


def test_it_hands_out_unique_ips_from_each_node_cidr(pg):
    Playground.objects.filter(pk=pg.pk).update(tempo="instant")
    pg.refresh_from_db()
    for name, node in (("a", "k8s-node1"), ("b", "k8s-node1"), ("c", "k8s-node2"), ("d", "k8s-node1")):
        bound_pod(pg, name, node=node)
    bound_pod(pg, "host", node="k8s-node2", hostNetwork=True)
    for node in ("k8s-node1", "k8s-node2"):
        kubelet.reconcile(pg, node)
    ips = {p.name: p.status["podIP"] for p in Pod.objects.all()}
    assert ips == {"a": "10.244.1.2", "b": "10.244.1.3", "c": "10.244.2.2", "d": "10.244.1.4",
                   "host": "192.168.56.12"}
    do_delete(pg, "Pod", "default", "b", "kubectl")
    kubelet.reconcile(pg, "k8s-node1")
    bound_pod(pg, "e")
    kubelet.reconcile(pg, "k8s-node1")
    assert get("e").status["podIP"] == "10.244.1.3"  # the lowest address free again


def test_it_reads_the_ips_held_on_several_nodes_in_one_query(pg):
    Playground.objects.filter(pk=pg.pk).update(tempo="instant")
    pg.refresh_from_db()
    bound_pod(pg, "a")
    bound_pod(pg, "c", node="k8s-node2")
    kubelet.reconcile_nodes(pg, ["k8s-node1", "k8s-node2"])
    bound_pod(pg, "b")
    bound_pod(pg, "d", node="k8s-node2")
    with CaptureQueriesContext(connection) as ctx:
        kubelet.reconcile_nodes(pg, ["k8s-node1", "k8s-node2"])
    assert len([q for q in ctx.captured_queries if "podIP" in q["sql"]]) == 1
    ips = {p.name: p.status["podIP"] for p in Pod.objects.all()}
    assert ips == {"a": "10.244.1.2", "b": "10.244.1.3", "c": "10.244.2.2", "d": "10.244.2.3"}


def test_it_refreshes_the_node_heartbeat_at_most_every_40_seconds(pg, fake_clock):
    assert kubelet.reconcile(pg, "k8s-node2") == 0
    fake_clock.advance(39)
    assert kubelet.reconcile(pg, "k8s-node2") == 0
    fake_clock.advance(1)
    assert kubelet.reconcile(pg, "k8s-node2") == 1
    node = Node.objects.get(name="k8s-node2")
    ready = next(c for c in node.status["conditions"] if c["type"] == "Ready")
    assert ready["lastHeartbeatTime"] == clock.rfc3339(clock.now())
    assert kubelet.reconcile(pg, "k8s-node2") == 0


def test_it_leaves_running_static_pods_alone(pg):
    node = Node.objects.get(name="k8s-master")
    static = bootstrap._running_pod("etcd-k8s-master", "kube-system", node, "registry.k8s.io/etcd:3.5.21-0",
                                    {"component": "etcd"}, "192.168.56.10", "192.168.56.10")
    b = Batch(pg, "kubeadm")
    b.create(static)
    b.commit()
    assert kubelet.reconcile(pg, "k8s-master") == 0


def test_a_heartbeat_wakes_only_the_node_lifecycle_controller(pg, fake_clock):
    fake_clock.advance(40)
    with nudge.capture() as nudged:
        assert kubelet.reconcile(pg, "k8s-node2") == 1
    assert nudged == {(nudge.NODE_LIFECYCLE, "k8s-node2")}
    # A node whose readiness or labels change still wakes the loops that place pods, and the lessons' checker.
    node = Node.objects.get(name="k8s-node2")
    node.labels = {**node.labels, "disk": "ssd"}
    b = Batch(pg, "kubectl")
    b.update(node)
    with nudge.capture() as nudged:
        b.commit()
    assert {(nudge.DAEMONSET, "*"), (nudge.SCHEDULER, ""), (nudge.LESSONS, "*")} <= nudged
