"""The seed document's kubectl session, run by the real kubectl 1.37 against a served playground over TLS."""

from __future__ import annotations

import re
import subprocess
import time

import pytest

from tests.kubectl_helpers import AGE, HASH, KUBECTL, SUFFIX, columns, ok, rolled_out, serve, table

pytestmark = pytest.mark.kubectl



@pytest.fixture(scope="module")
def served(tmp_path_factory):
    yield from serve(tmp_path_factory, "kubectl")






def settled_pods(served, n: int) -> list[list[str]]:
    deadline = time.monotonic() + 30
    rows = []
    while time.monotonic() < deadline:
        _, rows = table(ok(served, "get", "pod", "-o", "wide"))
        test1 = [r for r in rows if r[0].startswith("test1-")]
        if len(test1) == n and all(r[2] == "Running" for r in test1):
            return test1
        time.sleep(0.2)
    raise AssertionError(f"expected {n} Running test1 pods, got {rows}")


def test_it_runs_the_seed_session(served):
    assert ok(served, "create", "deployment", "test1", "--image=nginx").strip() == "deployment.apps/test1 created"
    rolled_out(served)

    header, rows = table(ok(served, "get", "deployments.apps"))
    assert header == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert rows[0][:4] == ["test1", "1/1", "1", "1"] and re.fullmatch(AGE, rows[0][4])

    out = ok(served, "get", "pod", "-o", "wide")
    header, _ = table(out)
    assert header == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE", "READINESS GATES"]
    (pod,) = settled_pods(served, 1)
    assert re.fullmatch(rf"test1-{HASH}-{SUFFIX}", pod[0])
    first_hash = pod[0].split("-")[1]
    assert pod[1:4] == ["1/1", "Running", "0"]
    assert re.fullmatch(r"10\.244\.[12]\.\d+", pod[5]) and pod[6] in ("k8s-node1", "k8s-node2")
    assert pod[7:] == ["<none>", "<none>"]

    header, rows = table(ok(served, "get", "pod", "--all-namespaces", "-o", "wide"))
    assert header[:2] == ["NAMESPACE", "NAME"] and header[-1] == "READINESS GATES"
    names = {r[1] for r in rows if r[0] == "kube-system"}
    for static in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        assert f"{static}-k8s-master" in names
    assert len([n for n in names if n.startswith("kube-proxy-")]) == 3
    assert len([n for n in names if n.startswith("kube-flannel-ds-")]) == 3
    assert len([n for n in names if n.startswith("coredns-")]) == 2
    assert all(r[3] == "Running" for r in rows)

    assert ok(served, "expose", "deployment", "test1", "--type=NodePort", "--port=80").strip() == "service/test1 exposed"
    header, rows = table(ok(served, "get", "service"))
    assert header == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert rows[0][:5] == ["kubernetes", "ClusterIP", "10.96.0.1", "<none>", "443/TCP"]
    assert rows[1][:4] == ["test1", "NodePort", rows[1][2], "<none>"]
    assert re.fullmatch(r"10\.(9[6-9]|10[0-9]|11[01])\.\d+\.\d+", rows[1][2])
    assert re.fullmatch(r"80:3\d{4}/TCP", rows[1][4])
    assert "Welcome to nginx!" in ok(served, "get", "--raw", "/api/v1/namespaces/default/services/test1:80/proxy/")

    assert ok(served, "scale", "deployment", "test1", "--replicas=3").strip() == "deployment.apps/test1 scaled"
    rolled_out(served)
    three = settled_pods(served, 3)
    assert {r[6] for r in three} == {"k8s-node1", "k8s-node2"}
    assert len({r[5] for r in three}) == 3

    assert ok(served, "scale", "deployment", "test1", "--replicas=1").strip() == "deployment.apps/test1 scaled"
    rolled_out(served)
    settled_pods(served, 1)
    _, rows = table(ok(served, "get", "deployments.apps"))
    assert rows[0][:4] == ["test1", "1/1", "1", "1"]

    assert ok(served, "set", "image", "deployments/test1", "nginx=httpd").strip() == \
        "deployment.apps/test1 image updated"
    rolled_out(served)
    (pod,) = settled_pods(served, 1)
    second_hash = pod[0].split("-")[1]
    assert second_hash != first_hash
    assert "It works!" in ok(served, "get", "--raw", "/api/v1/namespaces/default/services/test1:80/proxy/")

    assert ok(served, "rollout", "undo", "deployment", "test1").strip() == "deployment.apps/test1 rolled back"
    rolled_out(served)
    (pod,) = settled_pods(served, 1)
    assert pod[0].split("-")[1] == first_hash
    assert "Welcome to nginx!" in ok(served, "get", "--raw", "/api/v1/namespaces/default/services/test1:80/proxy/")

    history = ok(served, "rollout", "history", "deployment", "test1").splitlines()
    assert history[0] == "deployment.apps/test1 "
    header, rows = table("\n".join(history[1:]))
    assert header == ["REVISION", "CHANGE-CAUSE"]
    assert rows == [["2", "<none>"], ["3", "<none>"]]

    described = ok(served, "describe", "deployment", "test1")
    assert re.search(r"^Name:\s+test1$", described, re.M)
    assert re.search(rf"^NewReplicaSet:\s+test1-{first_hash} \(1/1 replicas created\)", described, re.M)
    assert "ScalingReplicaSet" in described

    logs = ok(served, "logs", "deploy/test1")
    assert "start worker processes" in logs and '"GET / HTTP/1.1" 200' in logs

    out = ok(served, "delete", "deployments.apps", "test1")
    assert out.strip() == 'deployment.apps "test1" deleted from default namespace'
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        left = ok(served, "get", "rs,pods", "-l", "app=test1", "-o", "name")
        if not left.strip():
            break
        time.sleep(0.2)
    assert left.strip() == ""


def test_it_applies_twice_and_prints_kubectl_errors(served, tmp_path):
    manifest = tmp_path / "web.yaml"
    doc = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: IMAGE
"""
    manifest.write_text(doc.replace("IMAGE", "nginx"))
    assert ok(served, "apply", "-f", str(manifest)).strip() == "deployment.apps/web created"
    manifest.write_text(doc.replace("IMAGE", "httpd"))
    assert ok(served, "apply", "-f", str(manifest)).strip() == "deployment.apps/web configured"
    assert ok(served, "apply", "-f", str(manifest)).strip() == "deployment.apps/web unchanged"

    missing = served.kubectl("get", "deployment", "nonexist")
    assert missing.returncode == 1
    assert missing.stderr.strip() == 'Error from server (NotFound): deployments.apps "nonexist" not found'
    again = served.kubectl("create", "deployment", "web", "--image=nginx")
    assert again.stderr.strip() == 'error: failed to create deployment: deployments.apps "web" already exists'
    bad = served.kubectl("create", "deployment", "Bad_Name", "--image=nginx")
    assert bad.stderr.startswith('error: failed to create deployment: Deployment.apps "Bad_Name" is invalid: '
                                 'metadata.name: Invalid value: "Bad_Name"')
    manifest.write_text(doc.replace("IMAGE", "nginx").replace("replicas: 2", "replicas: 2\n  replicaz: 3"))
    strict = served.kubectl("apply", "-f", str(manifest))
    assert strict.returncode == 1
    assert 'unknown field "spec.replicaz"' in strict.stderr
    neg = tmp_path / "neg.yaml"
    neg.write_text(doc.replace("IMAGE", "nginx").replace("name: web", "name: web2", 1).replace("replicas: 2", "replicas: -1"))
    invalid = served.kubectl("apply", "-f", str(neg))
    assert invalid.stderr.strip() == ('The Deployment "web2" is invalid: spec.replicas: Invalid value: -1: '
                                      "must be greater than or equal to 0")


def test_it_refuses_a_wrong_token(served, tmp_path):
    config = served.kubeconfig.read_text().replace(served.token, "not-the-token")
    other = tmp_path / "kubeconfig"
    other.write_text(config)
    env = {"HOME": str(served.home), "KUBECONFIG": str(other), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([str(KUBECTL), "get", "pods"], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    assert "error: You must be logged in to the server (Unauthorized)" in done.stderr


def test_it_streams_get_w(served):
    ok(served, "create", "deployment", "watched", "--image=nginx")
    rolled_out(served, "watched")
    proc = subprocess.Popen([str(KUBECTL), "get", "pods", "-l", "app=watched", "-w"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={"HOME": str(served.home), "KUBECONFIG": str(served.kubeconfig), "PATH": "/usr/bin:/bin"})
    try:
        header = proc.stdout.readline()
        assert columns(header) == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
        first = proc.stdout.readline()
        assert columns(first)[2] == "Running"
        ok(served, "scale", "deployment", "watched", "--replicas=2")
        seen = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            seen.append(columns(line))
            if len([c for c in seen if c[2] == "Running" and c[0] != columns(first)[0]]) >= 1:
                break
        statuses = [c[2] for c in seen]
        assert "Pending" in statuses or "ContainerCreating" in statuses
        assert "Running" in statuses
    finally:
        proc.kill()
        proc.wait(timeout=10)
    ok(served, "delete", "deployment", "watched")
