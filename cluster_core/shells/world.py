"""A container's snapshot and its network, read from the cluster's stored objects.

The snapshot takes the Services that existed when the pod started (the kubelet writes the Service variables once,
at container start), the ConfigMaps and Secrets of the pod's namespace, and the pod as stored. The network answers
as the cluster does from inside a pod: cluster DNS (coredns) with the pod's search path, and HTTP through
kube-proxy's simulation, so `curl test1` from a pod is load-balanced over the Service's ready endpoints.
"""

from __future__ import annotations

import datetime as dt
import ipaddress

from .. import clock, kube_proxy
from ..models import ConfigMap, Playground, Pod, Secret, Service
from . import container as containers
from . import process
from .sh import Http, Shell


def _secrets(pg: Playground, namespace: str) -> dict[str, dict]:
    return {s.name: s.to_k8s() for s in Secret.objects.filter(playground=pg, namespace=namespace)}


def snapshot(pg: Playground, pod: Pod, container: str, at: dt.datetime | None = None,
             with_main_files: bool = True) -> containers.Container:
    """The container as a process started in it at `at` (now) sees it, with the files its main process has
    written by then (run again here, without its network: it is deterministic)."""
    snap = _snapshot(pg, pod, container)
    spec = next((c for c in (pod.spec or {}).get("containers") or [] if c.get("name") == container), {})
    if not with_main_files or snap.started is None or process.serves(spec):
        return snap
    run = process.run(Shell(snap, now=lambda: at or clock.now()), snap.main)
    return containers.at_time(snap, run.timeline, ((at or clock.now()) - snap.started).total_seconds())


def _snapshot(pg: Playground, pod: Pod, container: str) -> containers.Container:
    body = pod.to_k8s()
    started = clock.parse_rfc3339((body.get("status") or {}).get("startTime")) or pod.creation_timestamp
    services = [s.to_k8s() for s in Service.objects.filter(playground=pg, namespace=pod.namespace)
                # startTime is stored to the second: compare at that precision.
                if started is None or s.creation_timestamp is None
                or s.creation_timestamp.replace(microsecond=0) <= started]
    master = Service.objects.filter(playground=pg, namespace="default", name="kubernetes").first()
    configmaps = {c.name: c.to_k8s() for c in ConfigMap.objects.filter(playground=pg, namespace=pod.namespace)}
    return containers.snapshot(body, container, services, configmaps, _secrets(pg, pod.namespace),
                               master.to_k8s() if master else None)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class ClusterNetwork:
    """DNS and HTTP as seen from one pod."""

    def __init__(self, pg: Playground, c: containers.Container):
        self.pg, self.c = pg, c

    def lookup(self, name: str) -> tuple[str, str] | None:
        name = name.lower().rstrip(".")
        if _is_ip(name):
            return name, name
        if name in ("localhost",):
            return name, "127.0.0.1"
        if name == self.c.hostname:
            return name, self.c.pod_ip
        domain = containers.CLUSTER_DOMAIN
        search = [f"{self.c.namespace}.svc.{domain}", f"svc.{domain}", domain]
        # ndots:5 — a name with fewer dots tries the search list first.
        candidates = ([f"{name}.{s}" for s in search] + [name]) if name.count(".") < 5 else [name]
        services = {(s.name, s.namespace): s for s in Service.objects.filter(playground=self.pg)}
        for fqdn in candidates:
            parts = fqdn.split(".")
            if len(parts) == 5 and parts[2:] == ["svc", *domain.split(".")]:
                svc = services.get((parts[0], parts[1]))
                if svc is None:
                    continue
                ip = (svc.spec or {}).get("clusterIP")
                if ip and ip != "None":
                    return fqdn, ip
                pod = self._headless_backend(svc)
                if pod:
                    return fqdn, pod
            if len(parts) == 6 and parts[3:] == ["svc", *domain.split(".")]:
                # <hostname>.<service>.<namespace>.svc: one pod of a headless Service (a StatefulSet's web-0).
                ip = self._pod_by_hostname(parts[1], parts[2], parts[0])
                if ip:
                    return fqdn, ip
            if len(parts) == 5 and parts[2:] == ["pod", *domain.split(".")]:
                ip = parts[0].replace("-", ".")
                if _is_ip(ip):
                    return fqdn, ip
        return None

    def _headless_backend(self, svc: Service) -> str | None:
        from ..models import Endpoints

        ep = Endpoints.objects.filter(playground=self.pg, namespace=svc.namespace, name=svc.name).first()
        for subset in ((ep.spec or {}).get("subsets") or []) if ep else []:
            for addr in subset.get("addresses") or []:
                return addr.get("ip")
        return None

    def _pod_by_hostname(self, service: str, namespace: str, hostname: str) -> str | None:
        from ..models import Endpoints

        ep = Endpoints.objects.filter(playground=self.pg, namespace=namespace, name=service).first()
        for subset in ((ep.spec or {}).get("subsets") or []) if ep else []:
            for addr in (subset.get("addresses") or []) + (subset.get("notReadyAddresses") or []):
                if addr.get("hostname") == hostname:
                    return addr.get("ip")
        return None

    def http_get(self, host: str, port: int, path: str) -> Http:
        found = self.lookup(host)
        if found is None:
            return Http(error=f"curl: (6) Could not resolve host: {host}", code=6)
        ip = found[1]
        if ip == "127.0.0.1":
            ip = self.c.pod_ip
            if not ip:
                return Http(error=f"curl: (7) Failed to connect to {host} port {port} after 0 ms: "
                                  "Couldn't connect to server", code=7, address=found[1])
        resp = kube_proxy.curl(self.pg, f"{ip}:{port}", path, client=self.c.pod_ip or "10.244.0.0", node=self.c.node,
                               source=f"{self.c.namespace}/{self.c.pod}")
        if resp.error:
            code = int(resp.error.split("(", 1)[1].split(")", 1)[0]) if resp.error.startswith("curl: (") else 7
            return Http(error=resp.error.replace(f" {ip} port", f" {host} port"), code=code, address=ip)
        server = ""
        pod = Pod.objects.filter(playground=self.pg, name=resp.pod).first() if resp.pod else None
        if pod is not None:
            from .. import images

            for c in (pod.spec or {}).get("containers") or []:
                info = images.lookup(c.get("image") or "")
                if info and info.server:
                    server = info.server
        return Http(status=resp.status, body=resp.body, address=ip, server=server)


def now() -> dt.datetime:
    return clock.now()
