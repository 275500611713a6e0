"""kube-proxy and the simulated containers behind it: what `curl` gets back from the cluster.

`curl(pg, target, path, client)` takes what a user types after `curl` on a node — `localhost:<nodePort>`,
`<node IP or name>:<nodePort>`, `<clusterIP>[:port]`, `<service>[.<namespace>][:port]`, `<podIP>[:port]` —
resolves it to a Service port (or straight to a pod), picks a ready endpoint round robin (`Service.rr_next`,
advanced with a conditional UPDATE: it is kube-proxy's own state, not an API write), and answers as the chosen
pod's image would. The traces a request leaves — the image's access-log line on the pod that answered and, through
a Service, kube-proxy's `Forwarded` Event (`traffic`) — are written in one commit. Anything curl would fail on
comes back as a `Response` with curl's own error text; user input never raises.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from dataclasses import dataclass

from . import clock, images
from .models import Endpoints, LogLine, Node, Playground, Pod, Service

AGENT = "curl/8.5.0"
ROUND_ROBIN_TRIES = 5


@dataclass(frozen=True)
class Response:
    status: int
    body: str
    pod: str | None = None
    node: str | None = None
    service: str | None = None
    error: str | None = None
    # Through a Service: the node whose kube-proxy forwarded the request, and the address that was dialled.
    via: str | None = None
    dialled: str | None = None
    namespace: str | None = None
    pod_ip: str | None = None
    # The access-log line the answering container appends, written with the request's other traces.
    log: LogLine | None = dataclasses.field(default=None, compare=False, repr=False)


def refused(host: str, port: int) -> Response:
    return Response(0, "", error=f"curl: (7) Failed to connect to {host} port {port} after 0 ms: "
                                 "Couldn't connect to server")


def unresolved(host: str) -> Response:
    return Response(0, "", error=f"curl: (6) Could not resolve host: {host}")


def timed_out(host: str, port: int) -> Response:
    # Nothing answers an address no one owns: the SYN is dropped and curl gives up after the kernel's retries.
    return Response(0, "", error=f"curl: (28) Failed to connect to {host} port {port} after 133996 ms: "
                                 "Couldn't connect to server")


def bad_url(reason: str) -> Response:
    return Response(0, "", error=f"curl: (3) URL rejected: {reason}")


_TARGET = re.compile(r"^(?:https?://)?(?P<host>[^/:]*)(?::(?P<port>[^/]*))?(?P<path>/.*)?$")


def parse_target(target: str, path: str = "/") -> tuple[str, int | None, str]:
    """`http://localhost:30942/index.html` → ("localhost", 30942, "/index.html"). Raises ValueError."""
    m = _TARGET.match((target or "").strip())
    if not m or not m["host"]:
        raise ValueError("No host part in the URL")
    port = None
    if m["port"] is not None:
        if not m["port"].isdigit() or not 0 < int(m["port"]) < 65536:
            raise ValueError("Port number was not a decimal number between 0 and 65535")
        port = int(m["port"])
    return m["host"].lower(), port, m["path"] or path or "/"


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def curl(pg: Playground, target: str, path: str = "/", client: str = "10.244.0.0", node: str = "",
         source: str = "") -> Response:
    """`node` and `source` (`namespace/pod`): the node and the container's pod a request is sent from; none for a
    user's curl, which runs on the master."""
    from . import traffic

    try:
        host, port, path = parse_target(target, path)
    except ValueError as exc:
        return bad_url(str(exc))
    resp = _resolve(pg, host, port, path, client, node)
    traffic.record(pg, resp, path, source)
    return resp


def _resolve(pg: Playground, host: str, port: int | None, path: str, client: str, from_node: str) -> Response:
    services = list(Service.objects.filter(playground=pg))
    node_hosts = {"localhost", "127.0.0.1"}
    nodes = list(Node.objects.filter(playground=pg).order_by("name"))
    for node in nodes:
        node_hosts.add(node.name)
        node_hosts.update(_addresses(node))
    # curl runs on the master (or a container on its node): that node's kube-proxy takes what is dialled there
    # (localhost, a ClusterIP, a name); a NodePort dialled on another node's address is that node's kube-proxy's.
    via = next((n.name for n in nodes if n.name == from_node), None) or (_master(nodes) if nodes else None)
    if host in node_hosts:
        # Every node's kube-proxy opens every NodePort, so the node the user is on does not matter.
        port = port or 80
        via = next((n.name for n in nodes if host == n.name or host in _addresses(n)), via)
        for svc in services:
            for sp in (svc.spec or {}).get("ports") or []:
                if sp.get("nodePort") == port and sp.get("protocol", "TCP") == "TCP":
                    return _via_service(pg, svc, sp, host, port, path, client, via)
        return refused(host, port)
    port = port or 80
    for svc in services:
        if host in ((svc.spec or {}).get("clusterIPs") or [(svc.spec or {}).get("clusterIP")]):
            return _via_port(pg, svc, host, port, path, client, via)
    named = _service_by_name(services, host)
    if named is not None:
        return _via_port(pg, named, host, port, path, client, via)
    if _is_ip(host):
        pod = Pod.objects.filter(playground=pg, status__podIP=host, deletion_timestamp__isnull=True).first()
        if pod is None:
            return timed_out(host, port)
        return _answer(pg, pod, port, host, path, client, service=None)
    return unresolved(host)


def _addresses(node: Node) -> list[str]:
    return [a.get("address") for a in (node.status or {}).get("addresses") or []]


def _master(nodes: list[Node]) -> str:
    masters = [n.name for n in nodes if "node-role.kubernetes.io/control-plane" in (n.labels or {})]
    return (masters or [nodes[0].name])[0]


def _service_by_name(services: list[Service], host: str) -> Service | None:
    """`test1`, `test1.default`, `test1.default.svc`, `test1.default.svc.cluster.local`."""
    parts = host.split(".")
    if len(parts) > 2 and parts[2:] not in (["svc"], ["svc", "cluster", "local"]):
        return None
    name, namespace = parts[0], parts[1] if len(parts) > 1 else "default"
    return next((s for s in services if s.name == name and s.namespace == namespace), None)


def _via_port(pg: Playground, svc: Service, host: str, port: int, path: str, client: str,
              via: str | None = None) -> Response:
    for sp in (svc.spec or {}).get("ports") or []:
        if sp.get("port") == port and sp.get("protocol", "TCP") == "TCP":
            return _via_service(pg, svc, sp, host, port, path, client, via)
    return refused(host, port)


def _backends(pg: Playground, svc: Service, svc_port: dict) -> list[tuple[dict, int]]:
    ep = Endpoints.objects.filter(playground=pg, namespace=svc.namespace, name=svc.name).first()
    out = []
    for subset in ((ep.spec or {}).get("subsets") or []) if ep else []:
        for p in subset.get("ports") or []:
            if (p.get("name") or "") == (svc_port.get("name") or "") and p.get("protocol", "TCP") == "TCP":
                out += [(addr, p["port"]) for addr in subset.get("addresses") or []]
    return out


def next_backend(svc: Service, n: int) -> int:
    """Take the next round-robin slot; re-checking the old value in the UPDATE keeps concurrent curls apart."""
    current = svc.rr_next
    for _ in range(ROUND_ROBIN_TRIES):
        index = current % n
        if Service.objects.filter(pk=svc.pk, rr_next=current).update(rr_next=(index + 1) % n):
            return index
        current = Service.objects.filter(pk=svc.pk).values_list("rr_next", flat=True).first() or 0
    return current % n


def _via_service(pg: Playground, svc: Service, svc_port: dict, host: str, port: int, path: str,
                 client: str, via: str | None = None) -> Response:
    backends = _backends(pg, svc, svc_port)
    if not backends:
        # No endpoints: kube-proxy installs a REJECT rule, so the connection is refused at once.
        return refused(host, port)
    addr, target = backends[next_backend(svc, len(backends))]
    uid = (addr.get("targetRef") or {}).get("uid")
    pod = Pod.objects.filter(playground=pg, uid=uid).first() if uid else None
    if pod is None:
        if target == 6443:
            # The kubernetes Service leads to the apiserver itself, which only speaks TLS.
            return Response(400, "Client sent an HTTP request to an HTTPS server.\n", node=addr.get("nodeName"),
                            service=svc.name)
        return refused(host, port)
    answer = _answer(pg, pod, target, host, path, client, service=svc.name, shown_port=port)
    if answer.pod is None:
        return answer
    return dataclasses.replace(answer, via=via, dialled=f"{host}:{port}", namespace=svc.namespace,
                               pod_ip=(pod.status or {}).get("podIP"))


def not_found_page(image: images.Image) -> str:
    if image.server.startswith("nginx"):
        return ("<html>\n<head><title>404 Not Found</title></head>\n<body>\n<center><h1>404 Not Found</h1></center>\n"
                f"<hr><center>{image.server}</center>\n</body>\n</html>\n")
    return ('<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n<title>404 Not Found</title>\n'
            "</head><body>\n<h1>Not Found</h1>\n<p>The requested URL was not found on this server.</p>\n</body></html>\n")


def _answer(pg: Playground, pod: Pod, port: int, host: str, path: str, client: str, service: str | None,
            shown_port: int | None = None) -> Response:
    """The pod's container listening on `port` answers the request, if there is one."""
    shown_port = shown_port or port
    if pod.phase != "Running":
        return refused(host, shown_port)
    for c in (pod.spec or {}).get("containers") or []:
        image = images.lookup(c.get("image") or "")
        if image is None or image.port != port:
            continue
        if not image.body:
            return Response(0, "", pod.name, pod.node_name, service, "curl: (52) Empty reply from server")
        status, body = (200, image.page(pod.name)) if path in ("/", "/index.html") else (404, not_found_page(image))
        return Response(status, body, pod.name, pod.node_name, service,
                        log=_access_log(pg, pod, c["name"], image, client, path, status, body))
    return refused(host, shown_port)


# The longest request path an access-log line shows (a web server's request line is bounded too).
MAX_LOGGED_PATH = 2048


def log_escape(text: str) -> str:
    """A request path as nginx writes it into its access log: `"`, `\\`, control characters and anything beyond
    ASCII as \\xHH of their UTF-8 bytes. A line break in a path can never start a forged line of the log."""
    out = []
    for byte in text[:MAX_LOGGED_PATH].encode("utf-8", "replace"):
        ch = chr(byte)
        out.append(f"\\x{byte:02X}" if byte < 0x20 or byte >= 0x7F or ch in '"\\' else ch)
    return "".join(out)


def _access_log(pg: Playground, pod: Pod, container: str, image: images.Image, client: str, path: str,
                status: int, body: str) -> LogLine | None:
    if not image.access_log:
        return None
    now = clock.now()
    line = image.access_log.format(client=client, clf=now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                                   path=log_escape(path), agent=AGENT)
    if status != 200:
        # The catalogue's format spells out a successful reply; a miss logs its own status and size.
        line = re.sub(r'" 200 \d+', f'" {status} {len(body)}', line, count=1)
    return LogLine(playground=pg, pod_uid=pod.uid, container=container, at=now, text=line)
