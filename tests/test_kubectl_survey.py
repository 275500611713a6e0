"""What students type after the seed session, run by the real kubectl 1.37 against one served playground over TLS.

Tests share the playground and run in file order; each works on its own objects, and the drain comes last.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
import urllib.request

import pytest
import yaml

from tests import processes
from tests.kubectl_helpers import AGE, HASH, KUBECTL, SUFFIX, columns, ok, rolled_out, serve, table

pytestmark = pytest.mark.kubectl



@pytest.fixture(scope="module")
def served(tmp_path_factory):
    yield from serve(tmp_path_factory, "survey")


def env(served) -> dict:
    return {"PATH": os.environ.get("PATH", ""), "HOME": str(served.home), "KUBECONFIG": str(served.kubeconfig)}





def fails(served, *args, rc=1) -> str:
    done = served.kubectl(*args)
    assert done.returncode == rc, f"kubectl {' '.join(args)} exited {done.returncode}: {done.stdout}{done.stderr}"
    return done.stderr.strip()


def until(check, what: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def read_until(proc: subprocess.Popen, text: str, timeout: float = 20) -> list[str]:
    """Lines of a streaming kubectl's stdout up to the first one containing `text`."""
    lines: list[str] = []
    found = threading.Event()

    def read():
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if text in line:
                found.set()
                return

    threading.Thread(target=read, daemon=True).start()
    assert found.wait(timeout), f"no line with {text!r} in {lines}"
    return lines



def pod_rows(served, *selector: str) -> list[list[str]]:
    out = ok(served, "get", "pods", "-o", "wide", *selector)
    return table(out)[1] if out.strip() else []


def running(served, app: str, n: int) -> list[list[str]]:
    def check():
        rows = pod_rows(served, "-l", f"app={app}")
        return rows if len(rows) == n and all(r[1] == "1/1" and r[2] == "Running" for r in rows) else None

    return until(check, f"{n} running {app} pods")


def deployment(served, name: str, replicas: int = 1, image: str = "nginx", namespace: str = "default"):
    assert ok(served, "create", "deployment", name, f"--image={image}", f"--replicas={replicas}", "-n",
              namespace).strip() == f"deployment.apps/{name} created"
    rolled_out(served, name, namespace)


# --- reading ---------------------------------------------------------------------------------------------


def test_it_gets_nodes_and_namespaces(served):
    header, rows = table(ok(served, "get", "nodes"))
    assert header == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert [r[:3] for r in rows] == [["k8s-master", "Ready", "control-plane"], ["k8s-node1", "Ready", "<none>"],
                                     ["k8s-node2", "Ready", "<none>"]]
    assert all(re.fullmatch(AGE, r[3]) and r[4] == "v1.37.1" for r in rows)

    header, rows = table(ok(served, "get", "nodes", "-o", "wide"))
    assert header == ["NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE",
                      "KERNEL-VERSION", "CONTAINER-RUNTIME"]
    assert [r[5] for r in rows] == ["192.168.56.10", "192.168.56.11", "192.168.56.12"]
    assert rows[1][6:] == ["<none>", "CentOS Linux 7 (Core)", "3.10.0-1160.el7.x86_64", "containerd://1.7.24"]

    header, rows = table(ok(served, "get", "ns"))
    assert header == ["NAME", "STATUS", "AGE"]
    assert [r[:2] for r in rows] == [["default", "Active"], ["kube-node-lease", "Active"],
                                     ["kube-public", "Active"], ["kube-system", "Active"]]

    header, rows = table(ok(served, "get", "leases", "-n", "kube-node-lease"))
    assert header == ["NAME", "HOLDER", "AGE"]
    assert [r[:2] for r in rows] == [["k8s-master", "k8s-master"], ["k8s-node1", "k8s-node1"],
                                     ["k8s-node2", "k8s-node2"]]


def test_it_lists_the_node_agents_as_daemonsets(served):
    header, rows = table(ok(served, "get", "ds", "-A"))
    assert header == ["NAMESPACE", "NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE",
                      "NODE SELECTOR", "AGE"]
    assert [r[:8] for r in rows] == [
        ["kube-system", "kube-flannel-ds", "3", "3", "3", "3", "3", "<none>"],
        ["kube-system", "kube-proxy", "3", "3", "3", "3", "3", "kubernetes.io/os=linux"]]
    header, rows = table(ok(served, "get", "daemonsets", "-n", "kube-system", "-o", "wide"))
    assert header[-3:] == ["CONTAINERS", "IMAGES", "SELECTOR"]
    assert rows[1][-3:] == ["kube-proxy", "registry.k8s.io/kube-proxy:v1.37.1", "k8s-app=kube-proxy"]


def test_it_lists_pods_every_way(served):
    deployment(served, "lister", replicas=2)
    assert ok(served, "expose", "deployment", "lister", "--port=80").strip() == "service/lister exposed"
    rows = running(served, "lister", 2)
    names = sorted(r[0] for r in rows)
    assert all(re.fullmatch(rf"lister-{HASH}-{SUFFIX}", n) for n in names)
    pod_hash = names[0].split("-")[1]

    header, rows = table(ok(served, "get", "pods", "--show-labels", "-l", "app=lister"))
    assert header == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "LABELS"]
    assert {r[5] for r in rows} == {f"app=lister,pod-template-hash={pod_hash}"}

    assert "No resources found in default namespace." in fails(served, "get", "pods", "-l", "app=nope", rc=0)

    header, rows = table(ok(served, "get", "pods", "-A", "--field-selector", "status.phase=Running"))
    assert header[:2] == ["NAMESPACE", "NAME"] and {r[3] for r in rows} == {"Running"}
    assert {"default", "kube-system"} <= {r[0] for r in rows}
    assert not fails(served, "get", "pods", "--field-selector", "status.phase=Pending", rc=0).startswith("Error")

    # --sort-by asks for includeObject=Object rows: the static pods of kubeadm come first, then ours.
    _, rows = table(ok(served, "get", "pods", "-A", "--sort-by=.metadata.creationTimestamp"))
    assert rows[-1][1] in names and rows[0][0] == "kube-system"

    doc = yaml.safe_load(ok(served, "get", "pods", "-l", "app=lister", "-o", "yaml"))
    assert doc["kind"] == "List" and sorted(p["metadata"]["name"] for p in doc["items"]) == names
    assert doc["items"][0]["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet"
    doc = json.loads(ok(served, "get", "pod", names[0], "-o", "json"))
    assert doc["kind"] == "Pod" and doc["status"]["phase"] == "Running"
    assert ok(served, "get", "pods", "-l", "app=lister", "-o", "name").split() == [f"pod/{n}" for n in names]
    out = ok(served, "get", "pods", "-l", "app=lister", "-o", "jsonpath={.items[*].metadata.name}")
    assert sorted(out.split()) == names
    header, rows = table(ok(served, "get", "pods", "-l", "app=lister", "-o",
                            "custom-columns=NAME:.metadata.name,NODE:.spec.nodeName"))
    assert header == ["NAME", "NODE"]
    assert sorted(r[0] for r in rows) == names and {r[1] for r in rows} <= {"k8s-node1", "k8s-node2"}

    header, rows = table(ok(served, "get", "ep", "lister"))
    assert header == ["NAME", "ENDPOINTS", "AGE"]
    assert re.fullmatch(r"10\.244\.\d+\.\d+:80,10\.244\.\d+\.\d+:80", rows[0][1])
    header, rows = table(ok(served, "get", "endpointslices", "-l", "kubernetes.io/service-name=lister"))
    assert header == ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
    assert re.fullmatch(r"lister-[0-9a-z]{5}", rows[0][0]) and rows[0][1:3] == ["IPv4", "80"]
    assert re.fullmatch(r"10\.244\.\d+\.\d+,10\.244\.\d+\.\d+", rows[0][3])

    out = ok(served, "get", "all", "-A")
    blocks = [b for b in out.split("\n\n") if b.strip()]
    heads = [columns(b.splitlines()[0]) for b in blocks]
    assert heads[0] == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert heads[1] == ["NAMESPACE", "NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert heads[2] == ["NAMESPACE", "NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE",
                        "NODE SELECTOR", "AGE"]
    assert heads[3] == ["NAMESPACE", "NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert heads[4] == ["NAMESPACE", "NAME", "DESIRED", "CURRENT", "READY", "AGE"]
    assert f"pod/{names[0]}" in blocks[0] and "service/lister" in blocks[1]
    assert "daemonset.apps/kube-proxy" in blocks[2]
    assert "deployment.apps/lister" in blocks[3] and f"replicaset.apps/lister-{pod_hash}" in blocks[4]


def test_it_lists_events_with_real_columns(served):
    (row,) = running(served, "lister", 2)[:1]
    pod = row[0]
    header, rows = table(ok(served, "get", "events"))
    assert header == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    # Like etcd, the list is in name order, and a name's suffix orders one object's events in time.
    mine = [r[2] for r in rows if r[3] == f"pod/{pod}"]
    assert mine == ["Scheduled", "Pulling", "Pulled", "Created", "Started"]
    assert any(r[2:4] == ["ScalingReplicaSet", "deployment/lister"] for r in rows)

    header, rows = table(ok(served, "get", "events", "-o", "wide", "--field-selector", f"involvedObject.name={pod}"))
    assert header == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "SUBOBJECT", "SOURCE", "MESSAGE", "FIRST SEEN",
                      "COUNT", "NAME"]
    pulling = next(r for r in rows if r[2] == "Pulling")
    assert pulling[4:7] == ["spec.containers{nginx}", f"kubelet, {row[6]}", 'Pulling image "nginx"']

    _, rows = table(ok(served, "get", "events", "-A", "--sort-by=.lastTimestamp"))
    assert rows[0][0] == "default" or rows[0][0] == "kube-system"


def test_it_describes_what_students_look_at(served):
    node = ok(served, "describe", "node", "k8s-node1")
    assert re.search(r"^Name:\s+k8s-node1$", node, re.M)
    assert re.search(r"^Lease:\n  HolderIdentity:  k8s-node1\n  AcquireTime:     <unset>\n  RenewTime:       ", node, re.M)
    assert re.search(r"^  Ready\s+True\s.*KubeletReady\s+kubelet is posting ready status", node, re.M)
    assert re.search(r"^  InternalIP:  192\.168\.56\.11$", node, re.M)
    assert re.search(r"^Non-terminated Pods:\s+\(\d+ in total\)$", node, re.M)

    rows = running(served, "lister", 2)
    name, ip, node_name = rows[0][0], rows[0][5], rows[0][6]
    pod = ok(served, "describe", "pod", name)
    assert re.search(rf"^Node:\s+{node_name}/192\.168\.56\.1[12]$", pod, re.M)
    assert re.search(rf"^IP:\s+{re.escape(ip)}$", pod, re.M)
    assert re.search(rf"^Controlled By:\s+ReplicaSet/lister-{HASH}$", pod, re.M)
    assert re.search(r"^Status:\s+Running$", pod, re.M)
    assert re.search(r"Normal\s+Scheduled\s+\S+\s+default-scheduler\s+Successfully assigned "
                     rf"default/{name} to {node_name}", pod)
    assert re.search(r'Normal\s+Pulling\s+\S+\s+kubelet\s+spec\.containers\{nginx\}: Pulling image "nginx"', pod)
    assert re.search(r"Normal\s+Started\s+\S+\s+kubelet\s+spec\.containers\{nginx\}: Started container nginx", pod)

    svc = ok(served, "describe", "svc", "lister")
    assert re.search(r"^Selector:\s+app=lister$", svc, re.M)
    assert re.search(r"^Port:\s+<unset>  80/TCP$", svc, re.M)
    ips = sorted(r[5] for r in rows)
    endpoints = re.search(r"^Endpoints:\s+(\S+)$", svc, re.M).group(1)
    assert sorted(e.rsplit(":", 1)[0] for e in endpoints.split(",")) == ips

    rs = ok(served, "describe", "rs", "-l", "app=lister")
    assert re.search(r"^Controlled By:\s+Deployment/lister$", rs, re.M)
    assert re.search(r"^Replicas:\s+2 current / 2 desired$", rs, re.M)
    assert re.search(r"^Pods Status:\s+2 Running / 0 Waiting / 0 Succeeded / 0 Failed$", rs, re.M)
    assert re.search(r"Normal\s+SuccessfulCreate\s+\S+\s+replicaset-controller\s+Created pod: lister-", rs)

    ns = ok(served, "describe", "ns", "default")
    assert ns.splitlines()[:4] == ["Name:         default", "Labels:       kubernetes.io/metadata.name=default",
                                   "Annotations:  <none>", "Status:       Active"]


# --- pods ------------------------------------------------------------------------------------------------


def test_it_runs_and_deletes_bare_pods(served):
    assert ok(served, "run", "bare", "--image=nginx").strip() == "pod/bare created"
    until(lambda: [r for r in pod_rows(served, "-l", "run=bare") if r[2] == "Running"], "bare to run")
    doc = json.loads(ok(served, "get", "pod", "bare", "-o", "json"))
    assert doc["metadata"]["labels"] == {"run": "bare"} and "ownerReferences" not in doc["metadata"]
    # Graceful: kubectl waits (GET, then a WatchList watch) until the kubelet has stopped the pod.
    assert ok(served, "delete", "pod", "bare").strip() == 'pod "bare" deleted from default namespace'
    assert fails(served, "get", "pod", "bare") == 'Error from server (NotFound): pods "bare" not found'

    ok(served, "run", "forced", "--image=nginx")
    done = served.kubectl("delete", "pod", "forced", "--grace-period=0", "--force")
    assert done.returncode == 0
    assert done.stdout.strip() == 'pod "forced" force deleted from default namespace'
    assert done.stderr.strip() == ("Warning: Immediate deletion does not wait for confirmation that the running "
                                   "resource has been terminated. The resource may continue to run on the cluster "
                                   "indefinitely.")

    ok(served, "run", "waited", "--image=nginx")
    until(lambda: [r for r in pod_rows(served, "-l", "run=waited") if r[2] == "Running"], "waited to run")
    # -v=6 logs each request kubectl makes: the delete goes out once its watch is open, not after a guessed pause.
    waiter = subprocess.Popen([str(KUBECTL), "wait", "--for=delete", "pod/waited", "--timeout=30s", "-v=6"],
                              env=env(served), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    log = []
    try:
        for line in waiter.stderr:
            log.append(line)
            if "watch=true" in line:
                break
        assert ok(served, "delete", "pod", "waited", "--wait=false").strip() == \
            'pod "waited" deleted from default namespace'
        out, err = waiter.communicate(timeout=30)
    finally:
        waiter.kill()
    assert waiter.returncode == 0, "".join(log) + err
    assert out.strip() == "pod/waited condition met"


def test_it_reads_logs(served):
    name = running(served, "lister", 2)[0][0]
    tail = ok(served, "logs", name, "--tail=2").splitlines()
    assert len(tail) == 2 and tail[-1].endswith("[notice] 1#1: start worker processes")
    assert fails(served, "logs", name, "--previous") == (
        f'Error from server (BadRequest): previous terminated container "nginx" in pod "{name}" not found')

    follower = subprocess.Popen([str(KUBECTL), "logs", "-f", name], env=env(served), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    try:
        first = follower.stdout.readline()
        assert first.startswith("/docker-entrypoint.sh:")
        # Still streaming: a request to the pod appends its access line to the followed log.
        ok(served, "get", "--raw", f"/api/v1/namespaces/default/pods/{name}:80/proxy/")
        lines = read_until(follower, '"GET / HTTP/1.1" 200')
        assert lines[:5] == [ln for ln in ok(served, "logs", name).splitlines()[1:6]]
        assert follower.poll() is None
    finally:
        follower.kill()
        follower.wait(timeout=10)


def test_it_proxies_to_services_and_pods(served):
    name = running(served, "lister", 2)[0][0]
    assert "Welcome to nginx!" in ok(served, "get", "--raw", f"/api/v1/namespaces/default/pods/{name}:80/proxy/")

    port = processes.free_port()
    proxy = subprocess.Popen([str(KUBECTL), "proxy", f"--port={port}"], env=env(served), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert proxy.stdout.readline().strip() == f"Starting to serve on 127.0.0.1:{port}"
        # The kubeconfig's server has a path (/clusters/default); kubectl proxy forwards to the server root,
        # where the API answers for the playground the token belongs to.
        url = f"http://127.0.0.1:{port}/api/v1/namespaces/default/services/lister:80/proxy/"
        with urllib.request.urlopen(url, timeout=10) as r:
            assert r.status == 200 and "Welcome to nginx!" in r.read().decode()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/apis/apps/v1/namespaces/default/deployments/lister",
                                    timeout=10) as r:
            assert json.loads(r.read())["metadata"]["name"] == "lister"
    finally:
        proxy.kill()
        proxy.wait(timeout=10)


# --- deployments -----------------------------------------------------------------------------------------


def test_it_waits_restarts_and_undoes_rollouts(served):
    deployment(served, "roller")
    assert ok(served, "wait", "--for=condition=available", "deployment/roller", "--timeout=30s").strip() == \
        "deployment.apps/roller condition met"
    first = running(served, "roller", 1)[0][0].split("-")[1]

    assert ok(served, "rollout", "restart", "deployment", "roller").strip() == "deployment.apps/roller restarted"
    rolled_out(served, "roller")
    second = until(lambda: [r for r in running(served, "roller", 1) if r[0].split("-")[1] != first], "a new pod")
    assert second[0][0].split("-")[1] != first

    out = ok(served, "rollout", "history", "deployment", "roller", "--revision=1")
    assert out.splitlines()[0] == "deployment.apps/roller with revision #1"
    assert re.search(rf"Labels:\s+app=roller\n\s+pod-template-hash={first}", out)
    assert re.search(r"Image:\s+nginx", out) and "restartedAt" not in out

    assert ok(served, "rollout", "undo", "deployment", "roller", "--to-revision=1").strip() == \
        "deployment.apps/roller rolled back"
    rolled_out(served, "roller")
    assert running(served, "roller", 1)[0][0].split("-")[1] == first
    _, rows = table("\n".join(ok(served, "rollout", "history", "deployment", "roller").splitlines()[1:]))
    assert rows == [["2", "<none>"], ["3", "<none>"]]
    assert fails(served, "rollout", "undo", "deployment", "roller", "--to-revision=9") == \
        "error: unable to find specified revision 9 in history"

    assert ok(served, "rollout", "pause", "deployment", "roller").strip() == "deployment.apps/roller paused"
    assert fails(served, "rollout", "undo", "deployment", "roller") == (
        "error: you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again")
    assert ok(served, "rollout", "resume", "deployment", "roller").strip() == "deployment.apps/roller resumed"
    assert fails(served, "rollout", "resume", "deployment", "roller") == 'error: deployments.apps "roller" is not paused'

    assert ok(served, "label", "deployment", "roller", "tier=web").strip() == "deployment.apps/roller labeled"
    assert fails(served, "label", "deployment", "roller", "tier=db") == \
        "error: 'tier' already has a value (web), and --overwrite is false"
    assert ok(served, "annotate", "deployment", "roller", "owner=team-a").strip() == \
        "deployment.apps/roller annotated"
    doc = json.loads(ok(served, "get", "deployment", "roller", "-o", "json"))
    assert doc["metadata"]["labels"] == {"app": "roller", "tier": "web"}
    assert doc["metadata"]["annotations"]["owner"] == "team-a"
    ok(served, "delete", "deployment", "roller")


def test_it_prints_write_errors_as_kubectl_does(served, tmp_path):
    manifest = tmp_path / "writer.yaml"
    manifest.write_text("""apiVersion: apps/v1
kind: Deployment
metadata:
  name: writer
spec:
  replicas: 1
  selector:
    matchLabels: {app: writer}
  template:
    metadata:
      labels: {app: writer}
    spec:
      containers:
      - name: nginx
        image: nginx
""")
    assert ok(served, "create", "-f", str(manifest)).strip() == "deployment.apps/writer created"
    assert fails(served, "create", "-f", str(manifest)) == (
        f'Error from server (AlreadyExists): error when creating "{manifest}": '
        'deployments.apps "writer" already exists')

    stale = tmp_path / "stale.yaml"
    stale.write_text(ok(served, "get", "deployment", "writer", "-o", "yaml"))
    ok(served, "label", "deployment", "writer", "touched=yes")
    assert fails(served, "replace", "-f", str(stale)) == (
        f'Error from server (Conflict): error when replacing "{stale}": Operation cannot be fulfilled on '
        'deployments.apps "writer": the object has been modified; please apply your changes to the latest '
        "version and try again")

    assert ok(served, "apply", "--server-side", "-f", str(manifest)).strip() == \
        "deployment.apps/writer serverside-applied"
    same = served.kubectl("diff", "-f", str(manifest))
    assert (same.returncode, same.stdout) == (0, "")
    manifest.write_text(manifest.read_text().replace("replicas: 1", "replicas: 3"))
    diff = served.kubectl("diff", "-f", str(manifest))
    assert diff.returncode == 1, diff.stderr
    assert re.search(r"^-  replicas: 1$", diff.stdout, re.M) and re.search(r"^\+  replicas: 3$", diff.stdout, re.M)
    assert json.loads(ok(served, "get", "deployment", "writer", "-o", "json"))["spec"]["replicas"] == 1
    ok(served, "delete", "-f", str(manifest))


def test_it_scales_with_kubectl_errors(served):
    assert fails(served, "scale", "deployment", "lister", "--replicas=-1") == \
        "error: The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0"
    assert fails(served, "scale", "deployment", "nope", "--replicas=2") == \
        'Error from server (NotFound): deployments.apps "nope" not found'


def test_it_stalls_on_a_bad_image_and_recovers(served):
    deployment(served, "imaged", replicas=4)
    assert ok(served, "set", "image", "deployment/imaged", "nginx=ngnix:1.27").strip() == \
        "deployment.apps/imaged image updated"

    def stalled():
        rows = pod_rows(served, "-l", "app=imaged")
        bad = [r for r in rows if r[2] in ("ErrImagePull", "ImagePullBackOff")]
        return rows if len(bad) == 2 and any(r[2] == "ImagePullBackOff" for r in bad) else None

    rows = until(stalled, "two new pods stuck pulling")
    assert len([r for r in rows if r[2] == "Running"]) == 3  # maxUnavailable 25% of 4: one old pod gone at most
    assert all(r[1] == "0/1" for r in rows if r[2] != "Running")
    _, (row,) = table(ok(served, "get", "deployment", "imaged"))
    assert row[1:4] == ["3/4", "2", "3"]
    done = served.kubectl("rollout", "status", "deployment/imaged", "--timeout=2s")
    assert done.returncode == 1
    assert 'Waiting for deployment "imaged" rollout to finish: 2 out of 4 new replicas have been updated...' in \
        done.stdout
    assert done.stderr.strip() == "error: timed out waiting for the condition"

    assert ok(served, "rollout", "undo", "deployment", "imaged").strip() == "deployment.apps/imaged rolled back"
    rolled_out(served, "imaged")
    running(served, "imaged", 4)
    ok(served, "delete", "deployment", "imaged")


def test_it_keeps_new_pods_off_a_cordoned_node(served):
    deployment(served, "spread", replicas=2)
    assert ok(served, "cordon", "k8s-node2").strip() == "node/k8s-node2 cordoned"
    _, rows = table(ok(served, "get", "nodes"))
    assert rows[2][:2] == ["k8s-node2", "Ready,SchedulingDisabled"]
    before = {r[0] for r in running(served, "spread", 2)}
    ok(served, "scale", "deployment", "spread", "--replicas=6")
    rolled_out(served, "spread")
    new = [r for r in running(served, "spread", 6) if r[0] not in before]
    assert len(new) == 4 and {r[6] for r in new} == {"k8s-node1"}
    assert ok(served, "uncordon", "k8s-node2").strip() == "node/k8s-node2 uncordoned"
    _, rows = table(ok(served, "get", "nodes", "k8s-node2"))
    assert rows[0][1] == "Ready"
    ok(served, "delete", "deployment", "spread")


# --- namespaces, config, the API itself ------------------------------------------------------------------


def test_it_creates_and_deletes_a_namespace(served):
    assert ok(served, "create", "namespace", "team-a").strip() == "namespace/team-a created"
    deployment(served, "web", replicas=2, namespace="team-a")
    _, rows = table(ok(served, "get", "pods", "-n", "team-a"))
    assert len(rows) == 2 and {r[2] for r in rows} == {"Running"}
    # kubectl waits until the namespace controller has emptied and removed it.
    assert ok(served, "delete", "namespace", "team-a").strip() == 'namespace "team-a" deleted'
    assert fails(served, "get", "namespace", "team-a") == 'Error from server (NotFound): namespaces "team-a" not found'
    assert "No resources found in team-a namespace." in fails(served, "get", "pods", "-n", "team-a", rc=0)


def test_it_creates_config_maps(served):
    assert ok(served, "create", "configmap", "settings", "--from-literal=color=blue",
              "--from-literal=size=L").strip() == "configmap/settings created"
    header, rows = table(ok(served, "get", "cm"))
    assert header == ["NAME", "DATA", "AGE"]
    assert ["settings", "2"] in [r[:2] for r in rows]
    doc = yaml.safe_load(ok(served, "get", "cm", "settings", "-o", "yaml"))
    assert doc["data"] == {"color": "blue", "size": "L"}


def test_it_explains_and_discovers(served):
    out = ok(served, "explain", "deployment.spec.strategy")
    assert out.splitlines()[:3] == ["GROUP:      apps", "KIND:       Deployment", "VERSION:    v1"]
    assert "FIELD: strategy <DeploymentStrategy>" in out
    assert re.search(r"^  rollingUpdate\t<RollingUpdateDeployment>$", out, re.M)

    header, rows = table(ok(served, "api-resources"))
    assert header == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    assert ["deployments", "deploy", "apps/v1", "true", "Deployment"] in rows
    assert ["pods", "po", "v1", "true", "Pod"] in rows
    assert ["leases", "coordination.k8s.io/v1", "true", "Lease"] in rows

    info = ok(served, "cluster-info").splitlines()
    assert info[0] == f"Kubernetes control plane is running at {served.api}/clusters/default"
    assert info[1] == (f"CoreDNS is running at {served.api}/clusters/default/api/v1/namespaces/kube-system/"
                       "services/kube-dns:dns/proxy")

    version = ok(served, "version").splitlines()
    assert version[0].startswith("Client Version: v1.37.")
    assert version[-1] == "Server Version: v1.37.1-kubeplay"


# --- last: the drain empties node1 but for its DaemonSet pods ----------------------------------------------


def test_it_drains_a_node_through_the_eviction_api(served):
    deployment(served, "drained", replicas=4)
    done = served.kubectl("drain", "k8s-node1", "--ignore-daemonsets", "--delete-emptydir-data", "--force",
                          "--timeout=30s", timeout=40)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "node/k8s-node1 cordoned" and lines[-1] == "node/k8s-node1 drained"
    evicting = [ln for ln in lines if ln.startswith("evicting pod ")]
    evicted = [ln for ln in lines if ln.endswith(" evicted")]
    assert evicting and len(evicting) == len(evicted)
    assert not [ln for ln in lines if ln.endswith(" deleted")]  # eviction, not the delete fallback
    rows = running(served, "drained", 4)
    assert {r[6] for r in rows} == {"k8s-node2"}
    # The DaemonSet pods stay: kubectl names them and leaves them; none is an unmanaged pod any more.
    assert "Warning: ignoring DaemonSet-managed Pods: kube-system/kube-flannel-ds-" in done.stderr
    assert "declare no controller" not in done.stderr
    _, rows = table(ok(served, "get", "pods", "-A", "-o", "wide", "--field-selector", "spec.nodeName=k8s-node1"))
    assert sorted(re.sub(SUFFIX + "$", "", r[1]) for r in rows) == ["kube-flannel-ds-", "kube-proxy-"]
    assert {r[3] for r in rows} == {"Running"}
    _, rows = table(ok(served, "get", "nodes", "k8s-node1"))
    assert rows[0][1] == "Ready,SchedulingDisabled"
    assert ok(served, "uncordon", "k8s-node1").strip() == "node/k8s-node1 uncordoned"
    _, rows = table(ok(served, "get", "nodes", "k8s-node1"))
    assert rows[0][1] == "Ready"
