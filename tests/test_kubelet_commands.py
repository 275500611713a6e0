"""The kubelet runs the containers' own commands: a command that ends completes the pod (or is restarted, backing
off, under `restartPolicy: Always`), its output is the container's log, and probes decide readiness and liveness."""

import pytest

from cluster_core import actions, clock, runtime
from cluster_core.controllers import kubelet
from cluster_core.models import Endpoints, Event, Pod
from cluster_core.shells import process
from cluster_core.shells.container import Container
from cluster_core.shells.sh import Shell


def run_pod(pg, name: str, container: dict, restart: str = "Always", **spec) -> None:
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"run": name}},
            "spec": {"containers": [{"name": name, **container}], "restartPolicy": restart, **spec}}
    actions.call(pg, "POST", actions.PODS, body=body)


def status(pg, name: str) -> dict:
    return Pod.objects.get(playground=pg, name=name).status


def logs(pg, name: str, previous: bool = False) -> str:
    query = {"previous": "true"} if previous else {}
    return actions.call(pg, "GET", actions.PODS, name, subresource="log", query=query).body


# ---------------------------------------------------------------------------------------------------------------
# Pure


def test_it_tells_a_server_from_a_command_that_ends():
    assert process.serves({"image": "nginx"})
    assert process.serves({"image": "busybox", "command": ["sleep", "infinity"]})
    assert process.serves({"image": "busybox", "args": ["sh", "-c", "while true; do echo hi; sleep 5; done"]})
    assert not process.serves({"image": "busybox", "args": ["echo", "hi"]})
    assert not process.serves({"image": "busybox"})  # busybox's own command is `sh`, which ends at once
    assert process.serves({"image": "busybox", "stdin": True})  # … unless it has a stdin to read (`run -it`)


def test_it_runs_a_main_process_to_its_exit_code_and_running_time():
    sh = Shell(Container("p", "default", "c", "busybox"))
    assert process.run(sh, ["sh", "-c", "echo hi; sleep 5; exit 2"]) == process.MainRun("hi\n", 2, 5.0)
    assert process.run(sh, ["nothere"]).code == process.START_ERROR


def test_it_backs_off_restarts_as_the_kubelet_does():
    assert [kubelet.crash_backoff(n) for n in (1, 2, 3, 4, 7, 8)] == [0, 10, 20, 40, 300, 300]


def test_it_probes_the_port_and_path_the_image_serves():
    c = {"image": "nginx", "ports": [{"name": "web", "containerPort": 80}]}
    assert process.probe({"httpGet": {"path": "/", "port": "web"}}, c, "10.244.1.5", None) == ""
    assert process.probe({"httpGet": {"path": "/healthz", "port": 80}}, c, "10.244.1.5", None) == (
        "HTTP probe failed with statuscode: 404")
    assert process.probe({"tcpSocket": {"port": 8080}}, c, "10.244.1.5", None) == (
        "dial tcp 10.244.1.5:8080: connect: connection refused")


# ---------------------------------------------------------------------------------------------------------------
# Through the loops


@pytest.fixture
def pg(cluster):
    return cluster


def test_it_completes_a_pod_whose_command_ends_and_keeps_its_output(pg):
    run_pod(pg, "box", {"image": "busybox", "args": ["echo", "hi"]}, restart="Never")
    runtime.settle(pg)
    st = status(pg, "box")
    assert st["phase"] == "Succeeded"
    terminated = st["containerStatuses"][0]["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (0, "Completed")
    assert logs(pg, "box") == "hi\n"


def test_it_fails_a_pod_whose_command_fails_under_never(pg):
    run_pod(pg, "bad", {"image": "busybox", "command": ["sh", "-c", "echo oops; exit 3"]}, restart="Never")
    runtime.settle(pg)
    st = status(pg, "bad")
    assert st["phase"] == "Failed"
    assert st["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 3


def test_it_restarts_a_crashing_container_with_back_off_under_always(pg, fake_clock):
    run_pod(pg, "crash", {"image": "busybox", "command": ["sh", "-c", "echo try; exit 1"]})
    runtime.settle(pg, horizon=45)
    st = status(pg, "crash")
    cs = st["containerStatuses"][0]
    assert st["phase"] == "Running"
    assert cs["restartCount"] >= 3
    assert cs["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert cs["lastState"]["terminated"]["exitCode"] == 1
    pod = Pod.objects.get(playground=pg, name="crash")
    # The next restart waits the stored back-off, never a sleep: its due-time lies ahead.
    assert pod.requeue_at > clock.now()
    backoffs = Event.objects.filter(playground=pg, involved_uid=pod.uid, spec__reason="BackOff")
    assert backoffs.exists()
    assert logs(pg, "crash") == "try\n"


def test_it_leaves_an_unready_pod_out_of_the_endpoints(pg):
    actions.deploy(pg, "web", "nginx", 2)
    runtime.settle(pg)
    actions.expose(pg, "web", 80, "ClusterIP")
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "unready", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx",
                                     "readinessProbe": {"httpGet": {"path": "/healthz", "port": 80}}}]}}
    actions.call(pg, "POST", actions.PODS, body=body)
    runtime.settle(pg)
    st = status(pg, "unready")
    assert st["phase"] == "Running" and st["containerStatuses"][0]["ready"] is False
    ep = Endpoints.objects.get(playground=pg, name="web").spec
    ready = [a["targetRef"]["name"] for s in ep["subsets"] for a in s.get("addresses") or []]
    unready = [a["targetRef"]["name"] for s in ep["subsets"] for a in s.get("notReadyAddresses") or []]
    assert "unready" not in ready and unready == ["unready"] and len(ready) == 2


def test_it_restarts_a_container_whose_liveness_probe_fails(pg):
    run_pod(pg, "sick", {"image": "nginx", "livenessProbe": {"httpGet": {"path": "/healthz", "port": 80},
                                                             "periodSeconds": 5, "failureThreshold": 1}})
    runtime.settle(pg, horizon=30)
    cs = status(pg, "sick")["containerStatuses"][0]
    assert cs["restartCount"] >= 1
    pod = Pod.objects.get(playground=pg, name="sick")
    reasons = set(Event.objects.filter(playground=pg, involved_uid=pod.uid).values_list("spec__reason", flat=True))
    assert {"Unhealthy", "Killing"} <= reasons


def test_it_restarts_the_documentations_liveness_example_once_its_file_is_gone(pg, fake_clock):
    # kubernetes.io's "Define a liveness command": healthy for 30 s, then `cat /tmp/healthy` fails.
    run_pod(pg, "liveness-exec", {
        "image": "busybox", "args": ["/bin/sh", "-c", "touch /tmp/healthy; sleep 30; rm -f /tmp/healthy; sleep 600"],
        "livenessProbe": {"exec": {"command": ["cat", "/tmp/healthy"]}, "initialDelaySeconds": 5,
                          "periodSeconds": 5}})
    runtime.settle(pg, horizon=40)
    pod = Pod.objects.get(playground=pg, name="liveness-exec")
    started = clock.parse_rfc3339(pod.status["containerStatuses"][0]["state"]["running"]["startedAt"])
    # Fails from second 30 on; three failures 5 s apart: killed at second 45 of its run, a stored due-time.
    assert (pod.requeue_at - started).total_seconds() == 45
    fake_clock.advance(44)
    runtime.settle(pg, horizon=0)
    assert status(pg, "liveness-exec")["containerStatuses"][0]["restartCount"] == 0
    fake_clock.advance(2)
    runtime.settle(pg, horizon=0)
    assert status(pg, "liveness-exec")["containerStatuses"][0]["restartCount"] == 1
    pod = Pod.objects.get(playground=pg, name="liveness-exec")
    unhealthy = Event.objects.get(playground=pg, involved_uid=pod.uid, spec__reason="Unhealthy")
    assert unhealthy.spec["message"] == "Liveness probe failed: cat: can't open '/tmp/healthy': No such file or directory"


def test_it_shows_exec_the_files_the_main_process_wrote(pg):
    from cluster_core.api.streams import open_session

    run_pod(pg, "writer", {"image": "busybox", "command": ["sh", "-c", "echo hello > /tmp/greeting; sleep 3600"]})
    runtime.settle(pg)
    session, problem = open_session(pg, "default", "writer", "exec", {"command": ["cat", "/tmp/greeting"]})
    assert problem == "" and session.start() == [(1, b"hello\n")]
