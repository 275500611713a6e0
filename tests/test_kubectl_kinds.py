"""The kinds a course uses beyond the seed, through the real kubectl 1.37 against a served playground: Jobs,
CronJobs, ConfigMaps and Secrets used by a pod, ServiceAccounts, a StatefulSet scaled up in order, `auth can-i`
and `top`."""

from __future__ import annotations

import json
import re

import pytest

from tests.kubectl_helpers import AGE, SUFFIX, ok, serve, table

pytestmark = pytest.mark.kubectl


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    yield from serve(tmp_path_factory, "kubectl-kinds")


def test_it_runs_a_job_created_with_kubectl_to_completion(served):
    assert ok(served, "create", "job", "hello", "--image=busybox").strip() == "job.batch/hello created"
    ok(served, "wait", "--for=condition=complete", "job/hello", "--timeout=60s", timeout=70)
    header, rows = table(ok(served, "get", "jobs"))
    assert header == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
    assert rows[0][:3] == ["hello", "Complete", "1/1"] and re.fullmatch(AGE, rows[0][4])
    _, pods = table(ok(served, "get", "pods", "-l", "job-name=hello"))
    assert len(pods) == 1 and re.fullmatch(rf"hello-{SUFFIX}", pods[0][0]) and pods[0][1:3] == ["0/1", "Completed"]
    out = ok(served, "delete", "job", "hello")
    assert out.strip() == 'job.batch "hello" deleted from default namespace'


def test_it_runs_a_jobs_command_and_keeps_its_output(served):
    out = ok(served, "create", "job", "greet", "--image=busybox", "--", "echo", "hello from a job")
    assert out.strip() == "job.batch/greet created"
    ok(served, "wait", "--for=condition=complete", "job/greet", "--timeout=60s", timeout=70)
    assert ok(served, "logs", "job/greet") == "hello from a job\n"


def test_it_creates_a_cronjob_with_kubectl(served):
    out = ok(served, "create", "cronjob", "tick", "--image=busybox", "--schedule=*/1 * * * *")
    assert out.strip() == "cronjob.batch/tick created"
    header, rows = table(ok(served, "get", "cronjobs"))
    assert header == ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE"]
    assert rows[0][:6] == ["tick", "*/1 * * * *", "<none>", "False", "0", "<none>"]
    stored = json.loads(ok(served, "get", "cronjob", "tick", "-o", "json"))
    assert stored["spec"]["concurrencyPolicy"] == "Allow" and stored["spec"]["successfulJobsHistoryLimit"] == 3


def test_it_runs_a_pod_using_a_configmap_and_a_secret(served):
    assert ok(served, "create", "configmap", "settings", "--from-literal=color=blue").strip() == \
        "configmap/settings created"
    assert ok(served, "create", "secret", "generic", "creds", "--from-literal=password=s3cret").strip() == \
        "secret/creds created"
    header, rows = table(ok(served, "get", "secret", "creds"))
    assert header == ["NAME", "TYPE", "DATA", "AGE"] and rows[0][:3] == ["creds", "Opaque", "1"]
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "configured"},
           "spec": {"containers": [{"name": "web", "image": "nginx",
                                    "env": [{"name": "COLOR", "valueFrom": {"configMapKeyRef": {
                                        "name": "settings", "key": "color"}}},
                                            {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {
                                                "name": "creds", "key": "password"}}}]}]}}
    path = served.home / "configured.json"
    path.write_text(json.dumps(pod))
    assert ok(served, "apply", "-f", str(path)).strip() == "pod/configured created"
    ok(served, "wait", "--for=condition=Ready", "pod/configured", "--timeout=60s", timeout=70)
    env = served.kubectl("exec", "configured", "--", "env").stdout.splitlines()
    assert "COLOR=blue" in env and "PASSWORD=s3cret" in env


def test_it_lists_the_default_service_account_of_every_namespace(served):
    header, rows = table(ok(served, "get", "sa"))
    assert header == ["NAME", "SECRETS", "AGE"] and [r[:2] for r in rows] == [["default", "0"]]
    _, everywhere = table(ok(served, "get", "serviceaccounts", "-A"))
    assert {r[0] for r in everywhere if r[1] == "default"} == {"default", "kube-node-lease", "kube-public",
                                                               "kube-system"}


STATEFULSET = {
    "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web"},
    "spec": {"replicas": 0, "serviceName": "nginx", "selector": {"matchLabels": {"app": "nginx"}},
             "template": {"metadata": {"labels": {"app": "nginx"}},
                          "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}},
}


def test_it_scales_a_statefulset_from_zero_to_three_in_order(served):
    path = served.home / "web.json"
    path.write_text(json.dumps(STATEFULSET))
    assert ok(served, "apply", "-f", str(path)).strip() == "statefulset.apps/web created"
    assert ok(served, "scale", "statefulset", "web", "--replicas=3").strip() == "statefulset.apps/web scaled"
    ok(served, "rollout", "status", "statefulset/web", "--timeout=60s", timeout=70)
    header, rows = table(ok(served, "get", "statefulset", "web"))
    assert header == ["NAME", "READY", "AGE"] and rows[0][:2] == ["web", "3/3"]
    _, pods = table(ok(served, "get", "pods", "-l", "app=nginx"))
    assert [p[0] for p in pods] == ["web-0", "web-1", "web-2"] and {p[2] for p in pods} == {"Running"}
    events = json.loads(ok(served, "get", "events", "--field-selector", "involvedObject.name=web", "-o", "json"))
    created = [e["message"] for e in sorted(events["items"], key=lambda e: int(e["metadata"]["resourceVersion"]))
               if e["reason"] == "SuccessfulCreate"]
    assert created == [f"create Pod web-{i} in StatefulSet web successful" for i in range(3)]


def test_it_answers_auth_can_i_for_the_playgrounds_admin(served):
    assert ok(served, "auth", "can-i", "create", "pods").strip() == "yes"
    assert ok(served, "auth", "can-i", "delete", "deployments", "-n", "kube-system").strip() == "yes"


def test_it_shows_top_nodes_and_pods(served):
    ok(served, "create", "deployment", "busy", "--image=nginx", "--replicas=2")
    ok(served, "rollout", "status", "deployment/busy", "--timeout=60s", timeout=70)
    header, nodes = table(ok(served, "top", "nodes"))
    assert header == ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]
    assert [n[0] for n in nodes] == ["k8s-master", "k8s-node1", "k8s-node2"]
    assert all(re.fullmatch(r"\d+m", n[1]) and re.fullmatch(r"\d+%", n[2]) and re.fullmatch(r"\d+Mi", n[3])
               for n in nodes)

    header, rows = table(ok(served, "top", "pods", "-l", "app=busy"))
    assert header == ["NAME", "CPU(cores)", "MEMORY(bytes)"] and len(rows) == 2
    assert all(re.fullmatch(rf"busy-\w+-{SUFFIX}", r[0]) and re.fullmatch(r"\d+m", r[1])
               and re.fullmatch(r"\d+Mi", r[2]) for r in rows)


def test_it_says_who_the_playgrounds_token_is(served):
    header, rows = table(ok(served, "auth", "whoami"))
    assert header == ["ATTRIBUTE", "VALUE"]
    assert rows == [["Username", "kubernetes-admin"], ["Groups", "[kubeadm:cluster-admins system:authenticated]"]]


def test_it_starts_with_the_default_cluster_roles_and_binds_to_them(served):
    _, roles = table(ok(served, "get", "clusterroles"))
    assert [r[0] for r in roles] == ["admin", "cluster-admin", "edit", "view"]
    out = ok(served, "create", "rolebinding", "viewers", "--clusterrole=view", "--group=class")
    assert out.strip() == "rolebinding.rbac.authorization.k8s.io/viewers created"
    header, rows = table(ok(served, "get", "rolebinding", "viewers", "-o", "wide"))
    assert header == ["NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"]
    assert rows[0][:2] == ["viewers", "ClusterRole/view"] and rows[0][-1] == "class"
