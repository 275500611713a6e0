"""A tiny read-only apiserver stand-in for running the real kubectl against `tables` and `discovery`.

`serve(objects, now)` starts a `ThreadingHTTPServer` on a free 127.0.0.1 port in a thread and yields a
`FixtureServer` (its `url`, and the `requests` kubectl made). It answers `/version`, aggregated discovery
(or only the legacy documents with `aggregated=False`), and GET on any served resource path — list,
cluster-wide list, single object — as a Table when kubectl asks for one, else as plain JSON. Ages are
computed against a fixed `now`, so kubectl's output is deterministic.

`seed_cluster()` is the cluster of the students' seed document (deployment test1 with its ReplicaSet and
pods, the kubernetes and test1 services, nodes k8s-master/k8s-node1/k8s-node2, events).
`run_kubectl(url, *args)` runs the binary with a throwaway KUBECONFIG and HOME; `parse_table(text)` splits
kubectl's column output using the header's column positions (so empty cells survive).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from cluster_core.api import discovery, tables

FIXED_NOW = dt.datetime(2026, 11, 26, 16, 10, 0, tzinfo=dt.UTC)
RESOURCE_VERSION = "1040"


def kubectl_path() -> str | None:
    beside_python = Path(sys.executable).with_name("kubectl")
    if beside_python.exists():
        return str(beside_python)
    return shutil.which("kubectl")


def ago(now: dt.datetime = FIXED_NOW, **delta: float) -> str:
    return (now - dt.timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the seed cluster ------------------------------------------------------------------------------------


def _meta(name: str, created: str, namespace: str | None = "default", **extra) -> dict:
    meta = {"name": name, "uid": f"uid-{name}", "resourceVersion": "1000", "creationTimestamp": created}
    if namespace:
        meta["namespace"] = namespace
    meta.update(extra)
    return meta


def _node(name: str, ip: str, role: str | None, now: dt.datetime) -> dict:
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}
    if role:
        labels[f"node-role.kubernetes.io/{role}"] = ""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": _meta(name, ago(now, hours=40), None, labels=labels),
        "spec": {"podCIDR": "10.244.0.0/24"},
        "status": {
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
            "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
            "nodeInfo": {
                "kubeletVersion": "v1.37.1",
                "osImage": "Ubuntu 24.04.1 LTS",
                "kernelVersion": "6.8.0-45-generic",
                "containerRuntimeVersion": "containerd://2.1.4",
            },
        },
    }


def _pod(name: str, namespace: str, created: str, node: str, ip: str | None, container: dict, labels: dict,
         owner: dict | None = None) -> dict:
    status: dict = {
        "phase": "Running" if container["state"].get("running") else "Pending",
        "conditions": [{"type": "Ready", "status": "True" if container["ready"] else "False"}],
        "hostIP": "192.168.1.11",
        "containerStatuses": [container],
    }
    if ip:
        status.update(podIP=ip, podIPs=[{"ip": ip}])
    meta = _meta(name, created, namespace, labels=labels)
    if owner:
        meta["ownerReferences"] = [owner]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": {"nodeName": node, "containers": [{"name": container["name"], "image": container["image"]}]},
        "status": status,
    }


def _event(name: str, kind: str, obj: str, reason: str, message: str, component: str, host: str = "",
           last: str | None = None, event_time: str | None = None) -> dict:
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": _meta(name, last or event_time),
        "involvedObject": {"kind": kind, "namespace": "default", "name": obj},
        "reason": reason,
        "message": message,
        "source": {"component": component, "host": host} if host else {"component": component},
        "firstTimestamp": last,
        "lastTimestamp": last,
        "count": 1 if last else None,
        "type": "Normal",
        "eventTime": event_time,
        "reportingComponent": component,
        "reportingInstance": host,
    }
    # Like the real server, leave out what is unset (scheduler events carry only eventTime).
    return {k: v for k, v in event.items() if v is not None}


def seed_cluster(now: dt.datetime = FIXED_NOW) -> list[dict]:
    """The seed's cluster after `create deployment test1`, `expose` and a scale-up in progress."""
    app = {"app": "test1"}
    rs_labels = {"app": "test1", "pod-template-hash": "857949f6d6"}
    template = {"metadata": {"labels": app}, "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}
    rs_owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "test1-857949f6d6",
                "uid": "uid-test1-857949f6d6", "controller": True, "blockOwnerDeletion": True}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta("default", ago(now, hours=40), None),
         "status": {"phase": "Active"}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta("kube-system", ago(now, hours=40), None),
         "status": {"phase": "Active"}},
        _node("k8s-master", "192.168.1.10", "control-plane", now),
        _node("k8s-node1", "192.168.1.11", None, now),
        _node("k8s-node2", "192.168.1.12", None, now),
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": _meta("test1", ago(now, minutes=10), labels=app, generation=1,
                              annotations={"deployment.kubernetes.io/revision": "1"}),
            "spec": {"replicas": 1, "selector": {"matchLabels": app}, "template": template},
            "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1,
                       "availableReplicas": 1},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": _meta("test1-857949f6d6", ago(now, minutes=10), labels=rs_labels,
                              ownerReferences=[{"apiVersion": "apps/v1", "kind": "Deployment", "name": "test1",
                                                "uid": "uid-test1", "controller": True}]),
            "spec": {"replicas": 1, "selector": {"matchLabels": rs_labels},
                     "template": {**template, "metadata": {"labels": rs_labels}}},
            "status": {"replicas": 1, "fullyLabeledReplicas": 1, "readyReplicas": 1, "availableReplicas": 1},
        },
        _pod("test1-857949f6d6-rwh4c", "default", ago(now, seconds=55), "k8s-node1", "10.244.1.2",
             {"name": "nginx", "image": "nginx", "ready": True, "restartCount": 0, "started": True,
              "state": {"running": {"startedAt": ago(now, seconds=50)}}}, rs_labels, rs_owner),
        _pod("test1-857949f6d6-sln25", "default", ago(now, seconds=34), "k8s-node2", None,
             {"name": "nginx", "image": "nginx", "ready": False, "restartCount": 0, "started": False,
              "state": {"waiting": {"reason": "ContainerCreating"}}}, rs_labels, rs_owner),
        _pod("coredns-7db6d8ff4d-x2x7k", "kube-system", ago(now, hours=40), "k8s-master", "10.244.0.2",
             {"name": "coredns", "image": "registry.k8s.io/coredns/coredns:v1.12.0", "ready": True,
              "restartCount": 2, "started": True, "state": {"running": {"startedAt": ago(now, minutes=5)}},
              "lastState": {"terminated": {"exitCode": 255, "reason": "Unknown",
                                           "finishedAt": ago(now, minutes=5)}}},
             {"k8s-app": "kube-dns"}),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _meta("kubernetes", ago(now, hours=40),
                              labels={"component": "apiserver", "provider": "kubernetes"}),
            "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.1", "clusterIPs": ["10.96.0.1"],
                     "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]},
            "status": {"loadBalancer": {}},
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _meta("test1", ago(now, seconds=3), labels=app),
            "spec": {"type": "NodePort", "clusterIP": "10.105.125.250", "clusterIPs": ["10.105.125.250"],
                     "selector": app,
                     "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80, "nodePort": 30942}]},
            "status": {"loadBalancer": {}},
        },
        _event("test1.187b3c1a2f000001", "Deployment", "test1", "ScalingReplicaSet",
               "Scaled up replica set test1-857949f6d6 from 0 to 1", "deployment-controller",
               last=ago(now, minutes=10)),
        _event("test1-857949f6d6.187b3c1a2f000002", "ReplicaSet", "test1-857949f6d6", "SuccessfulCreate",
               "Created pod: test1-857949f6d6-rwh4c", "replicaset-controller", last=ago(now, seconds=55)),
        _event("test1-857949f6d6-rwh4c.187b3c1a2f000003", "Pod", "test1-857949f6d6-rwh4c", "Scheduled",
               "Successfully assigned default/test1-857949f6d6-rwh4c to k8s-node1", "default-scheduler",
               event_time=ago(now, seconds=55).replace("Z", ".000000Z")),
        _event("test1-857949f6d6-rwh4c.187b3c1a2f000004", "Pod", "test1-857949f6d6-rwh4c", "Pulling",
               'Pulling image "nginx"', "kubelet", "k8s-node1", last=ago(now, seconds=54)),
    ]


# --- the server ------------------------------------------------------------------------------------------


@dataclass
class FixtureServer:
    url: str
    objects: list[dict]
    now: dt.datetime
    aggregated: bool
    requests: list[tuple[str, str]] = field(default_factory=list)  # (path with query, Accept)

    def paths(self) -> list[str]:
        return [p for p, _ in self.requests]


def _parse_resource_path(path: str) -> tuple[discovery.ResourceInfo, str | None, str | None] | None:
    """`/api/v1/namespaces/default/pods/x` -> (pods, "default", "x"); None if not a served resource path."""
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    namespace = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 2:
        return None
    info = discovery.lookup(group, version, rest[0])
    if info is None:
        return None
    return info, namespace, rest[1] if len(rest) == 2 else None


def _handler_for(server: FixtureServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):  # keep test output quiet
            pass

        def _send(self, code: int, body: dict, content_type: str = "application/json") -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _not_found(self, message: str = "the server could not find the requested resource") -> None:
            self._send(404, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                             "message": message, "reason": "NotFound", "code": 404})

        def do_GET(self) -> None:
            accept = self.headers.get("Accept", "")
            server.requests.append((self.path, accept))
            url = urlsplit(self.path)
            path, query = url.path.rstrip("/"), parse_qs(url.query)
            if path == "/version":
                return self._send(200, discovery.VERSION_INFO)
            if path in ("/api", "/apis"):
                if server.aggregated and "as=APIGroupDiscoveryList" in accept:
                    return self._send(200, discovery.aggregated_discovery(core=path == "/api"),
                                      discovery.AGGREGATED_CONTENT_TYPE)
                legacy = discovery.api_versions() if path == "/api" else discovery.api_group_list()
                return self._send(200, legacy)
            parts = [p for p in path.split("/") if p]
            if parts == ["api", "v1"] or (len(parts) == 3 and parts[0] == "apis"):
                group, version = ("", "v1") if parts[0] == "api" else (parts[1], parts[2])
                doc = discovery.api_resource_list(group, version)
                return self._send(200, doc) if doc else self._not_found()
            parsed = _parse_resource_path(path)
            if parsed is None:
                return self._not_found()
            info, namespace, name = parsed
            found = [
                o for o in server.objects
                if o.get("apiVersion") == info.api_version and o.get("kind") == info.kind
                and (namespace is None or o["metadata"].get("namespace") == namespace)
                and (name is None or o["metadata"]["name"] == name)
            ]
            found.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
            if name is not None and not found:
                return self._not_found(f'{info.group_resource} "{name}" not found')
            if "as=Table" in accept:
                include = query.get("includeObject", ["Metadata"])[0]
                table = tables.build_table(info.kind, found, server.now, include_object=include,
                                           resource_version=RESOURCE_VERSION)
                return self._send(200, table)
            if name is not None:
                return self._send(200, found[0])
            return self._send(200, {"kind": f"{info.kind}List", "apiVersion": info.api_version,
                                    "metadata": {"resourceVersion": RESOURCE_VERSION}, "items": found})

    return Handler


@contextlib.contextmanager
def serve(objects: list[dict] | None = None, now: dt.datetime = FIXED_NOW,
          aggregated: bool = True) -> Iterator[FixtureServer]:
    state = FixtureServer("", seed_cluster(now) if objects is None else objects, now, aggregated)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(state))
    httpd.daemon_threads = True
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


# --- running kubectl -------------------------------------------------------------------------------------


def run_kubectl(url: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run kubectl against `url` with a kubeconfig holding just that cluster and a fresh HOME (cold cache)."""
    binary = kubectl_path()
    assert binary, "kubectl binary not found"
    with tempfile.TemporaryDirectory() as home:
        kubeconfig = Path(home) / "kubeconfig"
        kubeconfig.write_text(
            "apiVersion: v1\nkind: Config\n"
            f"clusters:\n- name: fixture\n  cluster:\n    server: {url}\n"
            "contexts:\n- name: fixture\n  context:\n    cluster: fixture\n    namespace: default\n"
            "current-context: fixture\n"
        )
        env = {"PATH": os.environ.get("PATH", ""), "HOME": home, "KUBECONFIG": str(kubeconfig)}
        return subprocess.run(
            [binary, f"--server={url}", *args],
            env=env, capture_output=True, text=True, timeout=timeout, check=False,
        )


_HEADER_COLUMN = re.compile(r"\S+(?: \S+)*")


def parse_table(text: str) -> list[list[list[str]]]:
    """kubectl column output -> blocks (split on blank lines) of rows of cells; row 0 is the header.

    Columns start where the header's words start ("NOMINATED NODE" is one header), which keeps empty cells.
    """
    blocks: list[list[list[str]]] = []
    for chunk in re.split(r"\n\s*\n", text.strip("\n")):
        lines = [line for line in chunk.splitlines() if line.strip()]
        if not lines:
            continue
        starts = [m.start() for m in _HEADER_COLUMN.finditer(lines[0])]
        ends = starts[1:] + [None]
        blocks.append([[line[s:e].strip() for s, e in zip(starts, ends, strict=True)] for line in lines])
    return blocks
