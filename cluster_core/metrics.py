"""Simulated resource usage, as metrics-server serves it (`metrics.k8s.io/v1beta1` NodeMetrics and PodMetrics),
so `kubectl top` has something true to the cluster's shape to show.

Usage follows the pods placed: a container uses what its image typically uses at rest (nginx a millicore and a few
MiB, the apiserver far more), varied per container and per 15-second scrape window so the numbers move like real
ones; a node uses what its system daemons use plus the sum of the Running pods on it. Pure functions of the
objects and the time: nothing is stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from . import clock, images

API_VERSION = "metrics.k8s.io/v1beta1"
SCRAPE_SECONDS = 15
WINDOW = "15.012s"
MI = 1024 * 1024

# (millicores, MiB) a container of this image uses at rest.
TYPICAL = {
    "nginx": (1, 4),
    "httpd": (1, 7),
    "redis": (3, 3),
    "busybox": (0, 1),
    "alpine": (0, 1),
    "tomcat": (4, 110),
    "mysql": (9, 380),
    "gcr.io/google-samples/kubernetes-bootcamp": (1, 12),
    "registry.k8s.io/coredns/coredns": (3, 14),
    "coredns/coredns": (3, 14),
    "registry.k8s.io/kube-proxy": (1, 17),
    "flannel/flannel": (4, 12),
    "registry.k8s.io/kube-apiserver": (45, 260),
    "registry.k8s.io/etcd": (22, 48),
    "registry.k8s.io/kube-controller-manager": (17, 52),
    "registry.k8s.io/kube-scheduler": (4, 22),
}
DEFAULT_TYPICAL = (2, 10)
# The node's own daemons (kubelet, containerd, the OS): what `top node` shows beyond the pods.
SYSTEM = {"master": (90, 620), "worker": (35, 410)}


def _jitter(seed: str, window: int) -> float:
    """A factor in [0.8, 1.2) stable for one container within one scrape window."""
    digest = hashlib.sha256(f"{seed}/{window}".encode()).digest()
    return 0.8 + (int.from_bytes(digest[:4], "big") / 2**32) * 0.4


def _window(now: dt.datetime) -> int:
    return int(now.timestamp() // SCRAPE_SECONDS)


def container_usage(pod_uid: str, container: dict, now: dt.datetime) -> tuple[int, int]:
    """(nanocores, bytes) one container uses now."""
    cpu_m, mem_mi = TYPICAL.get(images.repository(container.get("image") or ""), DEFAULT_TYPICAL)
    factor = _jitter(f"{pod_uid}/{container.get('name', '')}", _window(now))
    cpu = int((cpu_m + 0.25) * factor * 1_000_000)
    memory = int(mem_mi * MI * factor) // 1024 * 1024
    return cpu, memory


def reports(pod) -> bool:
    """metrics-server only reports pods whose containers run."""
    return pod.phase == "Running" and pod.deletion_timestamp is None


def _stamp(now: dt.datetime) -> str:
    # The scrape that produced the numbers: the start of the current window.
    return clock.rfc3339(dt.datetime.fromtimestamp(_window(now) * SCRAPE_SECONDS, dt.UTC))


def cpu_text(nanocores: int) -> str:
    return f"{nanocores}n"


def memory_text(nbytes: int) -> str:
    return f"{nbytes // 1024}Ki"


def pod_metrics(pod, now: dt.datetime) -> dict:
    containers = []
    for c in (pod.spec or {}).get("containers") or []:
        cpu, memory = container_usage(pod.uid, c, now)
        containers.append({"name": c.get("name", ""), "usage": {"cpu": cpu_text(cpu), "memory": memory_text(memory)}})
    meta = {"name": pod.name, "namespace": pod.namespace, "creationTimestamp": clock.rfc3339(now)}
    if pod.labels:
        meta["labels"] = dict(pod.labels)
    return {"kind": "PodMetrics", "apiVersion": API_VERSION, "metadata": meta, "timestamp": _stamp(now),
            "window": WINDOW, "containers": containers}


def node_usage(node, pods: list, now: dt.datetime) -> tuple[int, int]:
    master = "node-role.kubernetes.io/control-plane" in (node.labels or {})
    cpu_m, mem_mi = SYSTEM["master" if master else "worker"]
    factor = _jitter(f"{node.uid}/system", _window(now))
    cpu, memory = int(cpu_m * factor * 1_000_000), int(mem_mi * MI * factor)
    for pod in pods:
        if reports(pod):
            for c in (pod.spec or {}).get("containers") or []:
                c_cpu, c_mem = container_usage(pod.uid, c, now)
                cpu, memory = cpu + c_cpu, memory + c_mem
    return cpu, memory


def node_metrics(node, pods: list, now: dt.datetime) -> dict:
    cpu, memory = node_usage(node, pods, now)
    meta = {"name": node.name, "creationTimestamp": clock.rfc3339(now)}
    if node.labels:
        meta["labels"] = dict(node.labels)
    return {"kind": "NodeMetrics", "apiVersion": API_VERSION, "metadata": meta, "timestamp": _stamp(now),
            "window": WINDOW, "usage": {"cpu": cpu_text(cpu), "memory": memory_text(memory)}}
