"""kube-proxy's record of a request it forwarded: an Event on the Service, written through the write path.

The page draws a request's way (client → the node's kube-proxy → the chosen pod → back) from this Event in the
change feed, so what it shows is what kube-proxy did: the round robin over the endpoints is the pods named here.
"""

from __future__ import annotations

from . import events
from .kube_proxy import Response
from .models import Playground, Service
from .writes import Batch


def record(pg: Playground, resp: Response, path: str = "/") -> None:
    """An Event `Forwarded` for a request that went through a Service to a pod (nothing when it did not)."""
    if not (resp.via and resp.pod and resp.service):
        return
    svc = Service.objects.filter(playground=pg, namespace=resp.namespace or "default", name=resp.service).first()
    if svc is None:
        return
    outcome = str(resp.status) if not resp.error else resp.error
    message = (f"Forwarded GET {path} to {resp.dialled} to pod {resp.pod} ({resp.pod_ip}) on {resp.node}: "
               f"{outcome}")
    component = "kube-proxy"
    batch = Batch(pg, f"{component}/{resp.via}")
    batch.create(events.new(svc, "Forwarded", message, component, host=resp.via), message, {"traffic": {
        "via": resp.via, "dialled": resp.dialled, "path": path, "service": resp.service, "pod": resp.pod,
        "podIP": resp.pod_ip, "node": resp.node, "status": resp.status, "error": resp.error or ""}})
    batch.commit()
