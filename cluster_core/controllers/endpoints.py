"""endpoints-controller: keeps each Service's Endpoints in step with its pods.

Key "" covers the whole playground. For every Service with a selector the desired Endpoints object of the same
name holds the matching pods that have an IP and are not terminating: Ready ones in `subsets[].addresses`, the
others in `notReadyAddresses` (all in `addresses` with `publishNotReadyAddresses`), each with `nodeName` and a
`targetRef` to the pod, and ports resolved from the Service's `targetPort` (a number, or a container port's
name). Pods that resolve to the same ports share a subset. An object is written only when it differs; Endpoints
whose Service is gone are deleted. Services without a selector — `kubernetes` among them — are not managed here.
"""

from __future__ import annotations

from ..models import Endpoints, Playground, Pod, Service
from ..writes import Batch

# What can give this loop work: a resync skips it while no commit of these came (`workers.run_loop`).
WATCHES = frozenset({"Service", "Pod", "Endpoints"})

ACTOR = "endpoints-controller"
TERMINAL = ("Succeeded", "Failed")


def keys(pg: Playground) -> list[str]:
    return [""]


def pod_ready(pod: Pod) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.status or {}).get("conditions") or [])


def selects(service: Service, pod: Pod) -> bool:
    selector = (service.spec or {}).get("selector") or {}
    labels = pod.labels or {}
    return pod.namespace == service.namespace and all(labels.get(k) == v for k, v in selector.items())


def target_port(svc_port: dict, pod: Pod) -> int | None:
    """The pod's port behind a Service port: a number as is, a name looked up among the container ports."""
    target = svc_port.get("targetPort", svc_port.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    protocol = svc_port.get("protocol", "TCP")
    for c in (pod.spec or {}).get("containers") or []:
        for p in c.get("ports") or []:
            if p.get("name") == target and p.get("protocol", "TCP") == protocol:
                return p.get("containerPort")
    return None


def _names_target_port(service: Service) -> bool:
    for sp in (service.spec or {}).get("ports") or []:
        target = sp.get("targetPort", sp.get("port"))
        if not isinstance(target, int) and not (isinstance(target, str) and target.isdigit()):
            return True
    return False


def _address(pod: Pod, service: Service | None = None) -> dict:
    addr = {"ip": pod.status["podIP"]}
    spec = getattr(pod, "spec", None) or {}
    # A pod that names this Service as its subdomain (a StatefulSet's pods and their headless Service) gets a DNS
    # name of its own: <hostname>.<service>.<namespace>.svc.
    if service is not None and spec.get("hostname") and spec.get("subdomain") == service.name:
        addr["hostname"] = spec["hostname"]
    if pod.node_name:
        addr["nodeName"] = pod.node_name
    addr["targetRef"] = {"kind": "Pod", "namespace": pod.namespace, "name": pod.name, "uid": pod.uid}
    return addr


def desired_subsets(service: Service, pods: list[Pod]) -> list[dict]:
    """The Endpoints subsets for a Service (pure): pods grouped by the ports they resolve to."""
    spec = service.spec or {}
    publish_all = bool(spec.get("publishNotReadyAddresses"))
    groups: dict[tuple, dict[str, list[dict]]] = {}
    for pod in pods:
        if pod.deletion_timestamp or pod.phase in TERMINAL or not (pod.status or {}).get("podIP"):
            continue
        if not selects(service, pod):
            continue
        ports = []
        for sp in spec.get("ports") or []:
            number = target_port(sp, pod)
            if number is not None:
                ports.append((sp.get("name") or "", number, sp.get("protocol", "TCP")))
        if spec.get("ports") and not ports:
            continue  # none of the Service's ports exists on this pod
        group = groups.setdefault(tuple(ports), {"addresses": [], "notReadyAddresses": []})
        group["addresses" if publish_all or pod_ready(pod) else "notReadyAddresses"].append(_address(pod, service))
    subsets = []
    for ports, group in sorted(groups.items()):
        subset = {k: sorted(v, key=lambda a: a["ip"]) for k, v in group.items() if v}
        if ports:
            subset["ports"] = [{**({"name": n} if n else {}), "port": p, "protocol": proto} for n, p, proto in ports]
        subsets.append(subset)
    return subsets


def _ips(body: dict, key: str) -> dict[str, str]:
    return {a["ip"]: (a.get("targetRef") or {}).get("name", "")
            for s in body.get("subsets") or [] for a in s.get(key) or []}


def describe_change(service: str, old: dict, new: dict) -> str:
    """What changed, in plain words: `added 10.244.1.3 (test1-…-zmll6) to service test1`."""
    before, after = _ips(old, "addresses"), _ips(new, "addresses")
    before_nr, after_nr = _ips(old, "notReadyAddresses"), _ips(new, "notReadyAddresses")
    parts = []
    added = [f"{ip} ({after[ip]})" for ip in after if ip not in before]
    removed = [f"{ip} ({before[ip]})" for ip in before if ip not in after and ip not in after_nr]
    unready = [f"{ip} ({after_nr[ip]})" for ip in after_nr if ip not in before_nr]
    gone = [f"{ip} ({before_nr[ip]})" for ip in before_nr if ip not in after_nr and ip not in after]
    if added:
        parts.append(f"added {', '.join(added)} to service {service}")
    if removed:
        parts.append(f"removed {', '.join(removed)} from service {service}")
    if unready:
        parts.append(f"listed {', '.join(unready)} as not ready in service {service}")
    if gone:
        parts.append(f"dropped not-ready {', '.join(gone)} from service {service}")
    return "; ".join(parts) or f"updated the ports of service {service}"


def reconcile(pg: Playground, key: str = "") -> int:
    services = {(s.namespace, s.name): s for s in Service.objects.filter(playground=pg)}
    existing = {(e.namespace, e.name): e for e in Endpoints.objects.filter(playground=pg)}
    managed = [s for s in services.values() if (s.spec or {}).get("selector")]
    pods = []
    if managed:
        namespaces = {s.namespace for s in managed}
        # Only the columns the desired state is made of; a pod's spec is read only when a Service names its
        # targetPort (the number is then looked up among the container ports).
        columns = ["namespace", "name", "uid", "labels", "node_name", "phase", "status", "deletion_timestamp"]
        # A headless Service's Endpoints name each pod that gives it as its subdomain (a StatefulSet's).
        if any(_names_target_port(s) or (s.spec or {}).get("clusterIP") == "None" for s in managed):
            columns.append("spec")
        pods = (Pod.objects.filter(playground=pg, namespace__in=namespaces, deletion_timestamp__isnull=True)
                .exclude(phase__in=TERMINAL).order_by("name").views(*columns))
    b = Batch(pg, ACTOR)
    for svc in sorted(managed, key=lambda s: (s.namespace, s.name)):
        subsets = desired_subsets(svc, pods)
        body = {"subsets": subsets} if subsets else {}
        labels = dict(svc.labels or {})
        ep = existing.get((svc.namespace, svc.name))
        if ep is None:
            ep = Endpoints(namespace=svc.namespace, name=svc.name, labels=labels, spec=body)
            change = describe_change(svc.name, {}, body) if subsets else "no ready pods yet"
            b.create(ep, f"endpoints-controller created endpoints {svc.name}: {change}", {"service": svc.name})
        elif ep.spec != body or ep.labels != labels:
            message = f"endpoints-controller {describe_change(svc.name, ep.spec or {}, body)}"
            ep.spec, ep.labels = body, labels
            b.update(ep, message, {"service": svc.name})
    for (ns, name), ep in sorted(existing.items()):
        # The apiserver owns the kubernetes Endpoints, whether or not its Service is there right now.
        if (ns, name) not in services and (ns, name) != ("default", "kubernetes"):
            b.delete(ep, f"endpoints-controller deleted endpoints {ns}/{name}: its service is gone")
    b.commit()
    return len(b)
