"""ClusterIP (10.96.0.0/12) and NodePort (30000-32767) allocation, as the apiserver's registry does on create."""

from __future__ import annotations

import ipaddress
import random

from .errors import Invalid, cause
from .models import KubeObject, Playground, Service

SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/12")
NODE_PORT_RANGE = range(30000, 32768)
_rng = random.Random()


def _used(pg: Playground):
    ips, ports = set(), set()
    for spec in Service.objects.filter(playground=pg).values_list("spec", flat=True):
        if spec.get("clusterIP") and spec["clusterIP"] != "None":
            ips.add(spec["clusterIP"])
        for p in spec.get("ports") or []:
            if p.get("nodePort"):
                ports.add(p["nodePort"])
    return ips, ports


def allocate_service(pg: Playground, obj: KubeObject, dry_run: bool = False) -> None:
    spec = obj.spec
    ips, ports = _used(pg)
    causes = []
    want = spec.get("clusterIP")
    if spec.get("type") == "ExternalName":
        pass
    elif want and want != "None":
        try:
            ok = ipaddress.ip_address(want) in SERVICE_CIDR
        except ValueError:
            ok = False
        if not ok:
            causes.append(cause("spec.clusterIPs", f'Invalid value: ["{want}"]: failed to allocate IP {want}: the '
                                                   f"provided IP ({want}) is not in the valid range. The range of "
                                                   f"valid IPs is {SERVICE_CIDR}"))
        elif want in ips:
            causes.append(cause("spec.clusterIPs", f'Invalid value: ["{want}"]: failed to allocate IP {want}: '
                                                   "provided IP is already allocated"))
    elif want != "None":
        while True:
            # The upper part of the range, as the apiserver prefers for dynamic allocation.
            ip = str(SERVICE_CIDR[_rng.randrange(16, SERVICE_CIDR.num_addresses - 1)])
            if ip not in ips:
                break
        spec["clusterIP"] = ip
    if spec.get("clusterIP"):
        spec["clusterIPs"] = [spec["clusterIP"]]
    if spec.get("type") in ("NodePort", "LoadBalancer"):
        for i, p in enumerate(spec.get("ports") or []):
            np = p.get("nodePort")
            if np:
                if np not in NODE_PORT_RANGE:
                    causes.append(cause(f"spec.ports[{i}].nodePort", f"Invalid value: {np}: provided port is not in "
                                                                    "the valid range. The range of valid ports is "
                                                                    "30000-32767"))
                elif np in ports:
                    causes.append(cause(f"spec.ports[{i}].nodePort",
                                        f"Invalid value: {np}: provided port is already allocated"))
                ports.add(np)
                continue
            free = [n for n in NODE_PORT_RANGE if n not in ports]
            p["nodePort"] = _rng.choice(free)
            ports.add(p["nodePort"])
    if causes:
        raise Invalid("Service", "", obj.name, causes)


def keep_allocations(pg: Playground, current_spec: dict, obj: KubeObject) -> None:
    """An update keeps the allocated ClusterIP and node ports unless it names others."""
    spec = obj.spec
    if not spec.get("clusterIP") and current_spec.get("clusterIP"):
        spec["clusterIP"] = current_spec["clusterIP"]
        spec["clusterIPs"] = current_spec.get("clusterIPs", [current_spec["clusterIP"]])
    old_ports = {(p.get("port"), p.get("protocol", "TCP")): p.get("nodePort") for p in current_spec.get("ports") or []}
    if spec.get("type") in ("NodePort", "LoadBalancer"):
        for p in spec.get("ports") or []:
            if not p.get("nodePort") and old_ports.get((p.get("port"), p.get("protocol", "TCP"))):
                p["nodePort"] = old_ports[(p.get("port"), p.get("protocol", "TCP"))]
        if any(not p.get("nodePort") for p in spec.get("ports") or []):
            taken_by_others = Service.objects.filter(playground=pg).exclude(name=obj.name, namespace=obj.namespace)
            used = {q.get("nodePort") for s in taken_by_others.values_list("spec", flat=True) for q in s.get("ports") or []}
            for p in spec.get("ports") or []:
                if not p.get("nodePort"):
                    p["nodePort"] = _rng.choice([n for n in NODE_PORT_RANGE if n not in used])
                    used.add(p["nodePort"])
    else:
        for p in spec.get("ports") or []:
            p.pop("nodePort", None)
