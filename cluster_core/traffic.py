"""The traces a request leaves in the cluster, written in one commit: the answering container's access-log line and,
for a request kube-proxy forwarded, an Event on the Service, written through the write path.

The page draws a request's way (client → the node's kube-proxy → the chosen pod → back) from this Event in the
change feed, so what it shows is what kube-proxy did: the round robin over the endpoints is the pods named here.
"""

from __future__ import annotations

from django.db import transaction

from . import events, nudge
from .kube_proxy import Response
from .models import LogLine, Playground, Service
from .writes import Batch


def record(pg: Playground, resp: Response, path: str = "/", source: str = "") -> None:
    """The access-log line of the container that answered, and an Event `Forwarded` for a request that went
    through a Service to a pod (nothing of either when there was none). `source`: the `namespace/pod` the
    request came from, when a container sent it."""
    batch = Batch(pg, f"kube-proxy/{resp.via}")
    if resp.log is not None:
        batch.add_rows(LogLine, [resp.log])
    forwarded(batch, resp, path, source)
    batch.commit()
    if resp.log is not None:
        # The access-log line is the trace a request leaves in the cluster: a lesson may be waiting for it (once
        # it is committed: outside a transaction, this runs at once).
        transaction.on_commit(lambda: nudge.send_targets(pg.pk, {(nudge.LESSONS, "*")}))


def forwarded(batch: Batch, resp: Response, path: str, source: str = "") -> None:
    pg = batch.playground
    if not (resp.via and resp.pod and resp.service):
        return
    svc = Service.objects.filter(playground=pg, namespace=resp.namespace or "default", name=resp.service).first()
    if svc is None:
        return
    outcome = str(resp.status) if not resp.error else resp.error
    message = (f"Forwarded GET {path} to {resp.dialled} to pod {resp.pod} ({resp.pod_ip}) on {resp.node}: "
               f"{outcome}")
    batch.create(events.new(svc, "Forwarded", message, "kube-proxy", host=resp.via), message, {"traffic": {
        "via": resp.via, "dialled": resp.dialled, "path": path, "service": resp.service, "pod": resp.pod,
        "podIP": resp.pod_ip, "node": resp.node, "status": resp.status, "error": resp.error or "",
        **({"from": source} if source else {})}})
