"""The change feed told as a story: step texts, token paths, "why?" chains and the page's compact rows.

Pure functions over Change-like dicts (`revision`, `type`, `kind`, `namespace`, `name`, `object`, `actor`,
`message`, `detail`) and Kubernetes JSON objects; no database. Every word a student reads goes through gettext,
so the same Change row reads in English or Chinese. The words come from the row itself (who wrote what), the
scheduler's decision in `detail`, and the kubelet's stage names in `detail["stages"]` — nothing is canned.
"""

from __future__ import annotations

import math

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from cluster_core import clock
from cluster_core.api import tables

# Component boxes on the page; a token travels along a path of these.
CLIENT, APISERVER, ETCD = "client", "apiserver", "etcd"
SCHEDULER, CONTROLLERS = "scheduler", "controller-manager"

# Loops that live inside kube-controller-manager, and what each is called in a sentence.
CONTROLLER_NAMES = {
    "deployment-controller": gettext_noop("deployment controller"),
    "replicaset-controller": gettext_noop("replicaset controller"),
    "daemonset-controller": gettext_noop("daemonset controller"),
    "endpoints-controller": gettext_noop("endpoints controller"),
    "garbage-collector": gettext_noop("garbage collector"),
    "namespace-controller": gettext_noop("namespace controller"),
    "serviceaccount-controller": gettext_noop("serviceaccount controller"),
    "job-controller": gettext_noop("job controller"),
    "cronjob-controller": gettext_noop("cronjob controller"),
    "statefulset-controller": gettext_noop("statefulset controller"),
    "node-lifecycle-controller": gettext_noop("node lifecycle controller"),
}

# Where Kubernetes keeps each kind in etcd (the real key layout).
ETCD_PREFIX = {
    "Pod": "pods", "Deployment": "deployments", "ReplicaSet": "replicasets", "DaemonSet": "daemonsets",
    "Service": "services/specs",
    "Endpoints": "services/endpoints", "Event": "events", "Node": "minions", "Namespace": "namespaces",
    "ConfigMap": "configmaps", "Secret": "secrets", "ServiceAccount": "serviceaccounts", "Job": "jobs",
    "CronJob": "cronjobs", "StatefulSet": "statefulsets", "ReplicationController": "controllers",
    "Role": "roles", "RoleBinding": "rolebindings", "ClusterRole": "clusterroles",
    "ClusterRoleBinding": "clusterrolebindings",
}

# The kubelet's stage names (cluster_core/controllers/kubelet_stages.py) in plain words.
KUBELET_STAGES = {
    "accept": gettext_noop("accepted Pod %(pod)s and is pulling image %(image)s"),
    "pulled": gettext_noop("pulled image %(image)s and started the container of Pod %(pod)s"),
    "ready": gettext_noop("reports Pod %(pod)s Running at %(ip)s"),
    "stop": gettext_noop("is stopping the containers of Pod %(pod)s"),
    "remove": gettext_noop("removed Pod %(pod)s: its containers have stopped"),
    "discard": gettext_noop("removed Pod %(pod)s before its containers started"),
    "pull-failed": gettext_noop("could not pull image %(image)s for Pod %(pod)s (ErrImagePull)"),
    "back-off": gettext_noop("backs off pulling image %(image)s for Pod %(pod)s (ImagePullBackOff)"),
    "retry-pull": gettext_noop("tried again to pull image %(image)s for Pod %(pod)s: still not found"),
    "exit": gettext_noop("saw a container of Pod %(pod)s exit"),
}


def etcd_key(kind: str, namespace: str, name: str) -> str:
    prefix = ETCD_PREFIX.get(kind, kind.lower() + "s")
    return f"/registry/{prefix}/{namespace}/{name}" if namespace else f"/registry/{prefix}/{name}"


def kubelet_box(node: str) -> str:
    return f"kubelet@{node}"


def proxy_box(node: str) -> str:
    return f"kube-proxy@{node}"


def is_client(actor: str) -> bool:
    """Anything that is not a cluster component is a client of the apiserver (kubectl, the page, kubeadm)."""
    return not (actor in CONTROLLER_NAMES or actor == "kube-scheduler" or actor.startswith("kubelet"))


def node_of_actor(actor: str) -> str:
    return actor.split("/", 1)[1] if actor.startswith("kubelet/") else ""


# ---------------------------------------------------------------------------------------------------------------
# Small readers of Kubernetes JSON


def _meta(obj: dict) -> dict:
    return (obj or {}).get("metadata") or {}


def _spec(obj: dict) -> dict:
    return (obj or {}).get("spec") or {}


def _status(obj: dict) -> dict:
    return (obj or {}).get("status") or {}


def owner_of(obj: dict) -> dict:
    refs = [r for r in _meta(obj).get("ownerReferences") or [] if r.get("controller")]
    return refs[0] if refs else {}


def images_of(obj: dict) -> str:
    """The images of a Pod, or of the pod template of a Deployment / ReplicaSet."""
    spec = _spec(obj)
    if "template" in spec:
        spec = (spec.get("template") or {}).get("spec") or {}
    return ",".join(c.get("image", "") for c in spec.get("containers") or [])


def pod_status(obj: dict) -> str:
    """The STATUS column of `kubectl get pods`: Terminating, a waiting reason, or the phase."""
    if _meta(obj).get("deletionTimestamp"):
        return "Terminating"
    for cs in _status(obj).get("containerStatuses") or []:
        waiting = (cs.get("state") or {}).get("waiting")
        if waiting and waiting.get("reason"):
            return waiting["reason"]
    return _status(obj).get("phase") or "Pending"


def pod_ready(obj: dict) -> str:
    statuses = _status(obj).get("containerStatuses") or []
    total = len(_spec(obj).get("containers") or []) or len(statuses)
    return f"{sum(1 for cs in statuses if cs.get('ready'))}/{total}"


def resolve_budget(value, replicas: int, round_up: bool) -> int:
    """maxSurge / maxUnavailable as a number of pods: percentages round up for surge, down for unavailable."""
    if value is None:
        value = "25%"
    if isinstance(value, str) and value.endswith("%"):
        exact = int(value[:-1] or 0) * replicas / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(value)


def service_ports(spec: dict) -> str:
    parts = []
    for p in spec.get("ports") or []:
        text = str(p.get("port", ""))
        if p.get("nodePort"):
            text += f":{p['nodePort']}"
        parts.append(f"{text}/{p.get('protocol', 'TCP')}")
    return ",".join(parts) or "<none>"


def row(kind: str, obj: dict) -> dict:
    """The compact shape the page draws an object from (tables, chips, etcd keys, rollouts)."""
    meta, spec, status = _meta(obj), _spec(obj), _status(obj)
    out = {
        "kind": kind,
        "ns": meta.get("namespace", ""),
        "name": meta.get("name", ""),
        "rv": int(meta.get("resourceVersion") or 0),
        "created": meta.get("creationTimestamp"),
        "owner": owner_of(obj).get("name", ""),
    }
    if kind == "Pod":
        out.update(node=spec.get("nodeName", ""), status=pod_status(obj), ready=pod_ready(obj),
                   ip=status.get("podIP", ""), image=images_of(obj), labels=meta.get("labels") or {},
                   restarts=sum(cs.get("restartCount", 0) for cs in status.get("containerStatuses") or []),
                   system=bool(spec.get("hostNetwork")) or meta.get("namespace") == "kube-system")
    elif kind == "Deployment":
        replicas = int(spec.get("replicas", 1) or 0)
        rolling = (spec.get("strategy") or {}).get("rollingUpdate") or {}
        out.update(replicas=replicas, ready=status.get("readyReplicas", 0), updated=status.get("updatedReplicas", 0),
                   available=status.get("availableReplicas", 0), image=images_of(obj),
                   surge=resolve_budget(rolling.get("maxSurge"), replicas, True),
                   unavailable=resolve_budget(rolling.get("maxUnavailable"), replicas, False),
                   revision=(meta.get("annotations") or {}).get("deployment.kubernetes.io/revision", ""))
    elif kind == "ReplicaSet":
        out.update(desired=int(spec.get("replicas", 0) or 0), current=status.get("replicas", 0),
                   ready=status.get("readyReplicas", 0), image=images_of(obj),
                   revision=(meta.get("annotations") or {}).get("deployment.kubernetes.io/revision", ""))
    elif kind == "Service":
        out.update(type=spec.get("type", "ClusterIP"), clusterIP=spec.get("clusterIP", ""),
                   ports=service_ports(spec), selector=spec.get("selector") or {},
                   nodePorts=[p["nodePort"] for p in spec.get("ports") or [] if p.get("nodePort")])
    elif kind == "Endpoints":
        ready, not_ready = [], []
        for subset in obj.get("subsets") or []:
            ready += [a.get("ip") for a in subset.get("addresses") or []]
            not_ready += [a.get("ip") for a in subset.get("notReadyAddresses") or []]
        out.update(ips=ready, notReady=not_ready)
    elif kind == "Node":
        addresses = {a.get("type"): a.get("address") for a in status.get("addresses") or []}
        ready = [c for c in status.get("conditions") or [] if c.get("type") == "Ready"]
        labels = meta.get("labels") or {}
        out.update(ip=addresses.get("InternalIP", ""), cidr=spec.get("podCIDR", ""),
                   ready=bool(ready and ready[0].get("status") == "True"),
                   master="node-role.kubernetes.io/control-plane" in labels)
    elif kind == "Event":
        involved = obj.get("involvedObject") or {}
        out.update(type=obj.get("type", ""), reason=obj.get("reason", ""), message=obj.get("message", ""),
                   object=f"{involved.get('kind', '').lower()}/{involved.get('name', '')}",
                   last=obj.get("lastTimestamp") or meta.get("creationTimestamp"))
    if kind in TABLE_KINDS:
        out["cells"] = table_cells(kind, obj)
    return out


# The page's `kubectl get` tables: the kinds it shows, and which are `-o wide`.
TABLE_KINDS = {"Deployment": False, "ReplicaSet": False, "Pod": True, "Service": False, "Event": False}


def table_cells(kind: str, obj: dict) -> list:
    """The object's row of the Table the API serves kubectl (and the terminal prints): the columns kubectl shows
    (priority 0, or all with `-o wide`), the age cells left empty for the page to age."""
    wide = TABLE_KINDS[kind]
    columns = tables.column_definitions(kind)
    return ["" if col["name"] in ("Age", "Last Seen") else cell
            for cell, col in zip(tables.row_cells(kind, obj, clock.now()), columns, strict=True)
            if wide or col.get("priority", 0) == 0]


# ---------------------------------------------------------------------------------------------------------------
# Step texts


def _who(actor: str) -> str:
    """The component in a sentence: "kube-controller-manager (deployment controller)", "kubelet on k8s-node1"."""
    if actor in CONTROLLER_NAMES:
        return _("kube-controller-manager (%(loop)s)") % {"loop": _(CONTROLLER_NAMES[actor])}
    if actor.startswith("kubelet/"):
        return _("kubelet on %(node)s") % {"node": node_of_actor(actor)}
    return actor


def scheduling_reason(detail: dict) -> str:
    """Why the scheduler chose its node, from its recorded filters and scores."""
    scores = detail.get("scores") or {}
    chosen = detail.get("chosen")
    if not chosen or chosen not in scores:
        return ""
    mine = scores[chosen]
    others = [r for n, r in scores.items() if n != chosen]
    if not others:
        because = _("the only node that fits")
    elif all(r.get("total") == mine.get("total") for r in others):
        because = _("tied with the others, picked at random (seeded with the pod's uid)")
    elif all(r.get("spread", 0) < mine.get("spread", 0) for r in others):
        because = _("fewest pods of the same owner")
    else:
        because = _("most free CPU and memory")
    rejected = [_("%(node)s rejected: %(reason)s") % {"node": n, "reason": plain_filter(r)}
                for n, r in sorted((detail.get("filtered") or {}).items())]
    return "; ".join([because, *rejected])


def plain_filter(reason: str) -> str:
    """A scheduler filter reason said of one node, translated when it is one we know."""
    if "untolerated taint" in reason:
        key = reason.split("{", 1)[-1].split(":", 1)[0]
        return _("untolerated taint %(key)s") % {"key": key}
    if "Insufficient" in reason:
        return _("not enough %(resource)s") % {"resource": reason.split("Insufficient", 1)[1].strip()}
    if "not ready" in reason or "unschedulable" in reason:
        return _("the node is not ready or is cordoned")
    return reason.replace("node(s) had ", "").replace("node(s) ", "")


# Where a client's write came from, as the page's actions mark it ("dashboard: kubectl scale").
CLIENT_PREFIXES = {"dashboard": gettext_noop("dashboard"), "terminal": gettext_noop("terminal")}


def client_name(actor: str) -> str:
    """The client in a sentence, its prefix in the reader's language: "dashboard: kubectl scale" → "页面: …"."""
    head, sep, rest = actor.partition(": ")
    if sep and head in CLIENT_PREFIXES:
        return f"{_(CLIENT_PREFIXES[head])}: {rest}"
    return actor


def _client_step(c: dict) -> str:
    kind, name, obj = c["kind"], c["name"], c.get("object") or {}
    values = {"actor": client_name(c["actor"]), "kind": kind, "name": name, "rev": c["revision"]}
    if c["type"] == "DELETED" or _meta(obj).get("deletionTimestamp"):
        return _("%(actor)s asked kube-apiserver to delete %(kind)s %(name)s; etcd stored it at revision "
                 "%(rev)s") % values
    what = ""
    if kind == "Deployment":
        what = _("%(replicas)s replicas of %(image)s") % {"replicas": _spec(obj).get("replicas", 1),
                                                          "image": images_of(obj)}
    elif kind == "Service":
        what = service_ports(_spec(obj))
    values["what"] = f" ({what})" if what else ""
    if c["type"] == "ADDED":
        return _("%(actor)s asked kube-apiserver to create %(kind)s %(name)s%(what)s; etcd stored it at "
                 "revision %(rev)s") % values
    return _("%(actor)s asked kube-apiserver to change %(kind)s %(name)s%(what)s; etcd stored it at "
             "revision %(rev)s") % values


# Controllers whose pods belong to an owner other than a ReplicaSet, and the kinds they look after.
WORKLOAD_CONTROLLERS = ("job-controller", "cronjob-controller", "statefulset-controller", "serviceaccount-controller")


def _workload_step(c: dict) -> str | None:
    """Steps of the Job, CronJob, StatefulSet, ReplicationController and ServiceAccount controllers."""
    kind, name, obj, actor = c["kind"], c["name"], c.get("object") or {}, c["actor"]
    owner = owner_of(obj)
    values = {"who": _who(actor), "name": name, "owner": owner.get("name", ""), "owner_kind": owner.get("kind", ""),
              "kind": kind, "namespace": _meta(obj).get("namespace", "")}
    deleting = c["type"] == "DELETED" or bool(_meta(obj).get("deletionTimestamp"))
    if kind in ("Pod", "Job") and values["owner_kind"] in ("Job", "StatefulSet", "ReplicationController", "CronJob"):
        if deleting:
            return _("%(who)s deleted %(kind)s %(name)s of %(owner_kind)s %(owner)s") % values
        if c["type"] == "ADDED":
            return _("%(who)s created %(kind)s %(name)s for %(owner_kind)s %(owner)s") % values
    if kind in ("StatefulSet", "ReplicationController"):
        st = _status(obj)
        values.update(ready=st.get("readyReplicas", 0), total=st.get("replicas", 0))
        return _("%(who)s updated the status of %(kind)s %(name)s: %(ready)s of %(total)s pods ready") % values
    if kind == "Job":
        st, spec = _status(obj), _spec(obj)
        values.update(succeeded=st.get("succeeded", 0), completions=spec.get("completions") or 1)
        return _("%(who)s updated the status of Job %(name)s: %(succeeded)s of %(completions)s pods "
                 "succeeded") % values
    if kind == "ServiceAccount" and c["type"] == "ADDED":
        return _("%(who)s created ServiceAccount %(name)s in namespace %(namespace)s") % values
    return None


def _controller_step(c: dict) -> str:
    kind, name, obj, actor = c["kind"], c["name"], c.get("object") or {}, c["actor"]
    values = {"who": _who(actor), "name": name, "owner": owner_of(obj).get("name", "")}
    deleting = c["type"] == "DELETED" or bool(_meta(obj).get("deletionTimestamp"))
    if actor == "garbage-collector":
        return _("%(who)s deleted %(kind)s %(name)s: its owner is gone") % {**values, "kind": kind}
    if actor in WORKLOAD_CONTROLLERS or owner_of(obj).get("kind") == "ReplicationController" or kind in (
            "StatefulSet", "ReplicationController", "Job"):
        told = _workload_step(c)
        if told:
            return told
    if kind == "ReplicaSet" and actor == "deployment-controller":
        values["replicas"] = _spec(obj).get("replicas", 0)
        if c["type"] == "ADDED":
            return _("%(who)s created ReplicaSet %(name)s for Deployment %(owner)s with %(replicas)s "
                     "replicas") % values
        return _("%(who)s scaled ReplicaSet %(name)s to %(replicas)s") % values
    if kind == "Pod" and actor == "daemonset-controller":
        if deleting:
            return _("%(who)s deleted Pod %(name)s of DaemonSet %(owner)s") % values
        values["node"] = (c.get("detail") or {}).get("node", "")
        return _("%(who)s created Pod %(name)s for DaemonSet %(owner)s, aimed at node %(node)s; the scheduler "
                 "binds it there") % values
    if kind == "DaemonSet":
        st = _status(obj)
        values.update(ready=st.get("numberReady", 0), total=st.get("desiredNumberScheduled", 0))
        return _("%(who)s updated the status of DaemonSet %(name)s: %(ready)s of %(total)s nodes run a ready "
                 "pod") % values
    if kind == "Pod" and deleting:
        return _("%(who)s deleted Pod %(name)s of ReplicaSet %(owner)s") % values
    if kind == "Pod" and c["type"] == "ADDED":
        return _("%(who)s created Pod %(name)s for ReplicaSet %(owner)s; it is Pending, with no node yet") % values
    if kind in ("Deployment", "ReplicaSet"):
        st = _status(obj)
        values.update(kind=kind, ready=st.get("readyReplicas", 0), total=st.get("replicas", 0))
        return _("%(who)s updated the status of %(kind)s %(name)s: %(ready)s of %(total)s pods ready") % values
    if kind == "Endpoints":
        ips = row("Endpoints", obj)["ips"]
        values["ips"] = ", ".join(ips) if ips else _("none")
        return _("%(who)s set the endpoints of Service %(name)s to %(ips)s; kube-proxy on every node "
                 "follows") % values
    return f"{_who(actor)}: {c.get('message', '')}"


def _kubelet_step(c: dict) -> str:
    obj = c.get("object") or {}
    values = {"pod": c["name"], "image": images_of(obj), "ip": _status(obj).get("podIP", "")}
    parts = [_(KUBELET_STAGES[s]) % values for s in (c.get("detail") or {}).get("stages") or []
             if s in KUBELET_STAGES]
    if not parts:
        return f"{_who(c['actor'])}: {c.get('message', '')}"
    return _("%(who)s %(what)s") % {"who": _who(c["actor"]), "what": _(", then ").join(parts)}


def _scheduler_step(c: dict) -> str:
    obj = c.get("object") or {}
    node = _spec(obj).get("nodeName")
    if node:
        why = scheduling_reason(c.get("detail") or {})
        text = _("kube-scheduler bound Pod %(pod)s to %(node)s") % {"pod": c["name"], "node": node}
        return f"{text}: {why}" if why else text
    return _("kube-scheduler could not place Pod %(pod)s: %(message)s") % {
        "pod": c["name"], "message": c.get("message", "").split(": ", 1)[-1]}


def traffic(c: dict) -> dict:
    """kube-proxy's record of a request it forwarded (cluster_core/traffic.py), or {}."""
    return (c.get("detail") or {}).get("traffic") or {} if c["kind"] == "Event" else {}


def pod_box(namespace: str, name: str) -> str:
    return f"pod:{namespace}/{name}"


def skipped(c: dict) -> bool:
    """Rows the story leaves out: Events (they repeat a step in other words) and node heartbeats. kube-proxy's
    record of a forwarded request is a step of its own: nothing else tells it."""
    if c["kind"] == "Event":
        return not traffic(c)
    return c["kind"] == "Node" and c["type"] == "MODIFIED" and c["actor"].startswith("kubelet")


def _traffic_step(t: dict) -> str:
    return _("kube-proxy on %(via)s took the request to %(dialled)s%(path)s and forwarded it, round robin over the "
             "Service's endpoints, to Pod %(pod)s (%(ip)s) on %(node)s, which answered %(status)s") % {
        "via": t.get("via", ""), "dialled": t.get("dialled", ""), "path": t.get("path", "/"), "pod": t.get("pod", ""),
        "ip": t.get("podIP", ""), "node": t.get("node", ""), "status": t.get("status", "")}


def step_text(c: dict) -> str:
    actor = c["actor"]
    if traffic(c):
        return _traffic_step(traffic(c))
    if actor == "kube-scheduler" and c["kind"] == "Pod":
        return _scheduler_step(c)
    if actor.startswith("kubelet/") and c["kind"] == "Pod":
        return _kubelet_step(c)
    if actor in CONTROLLER_NAMES:
        return _controller_step(c)
    if is_client(actor):
        return _client_step(c)
    return f"{_who(actor)}: {c.get('message', '')}"


def path(c: dict, nodes: list[str] | None = None) -> list[str]:
    """The boxes a change's token travels through: writer → apiserver → etcd, then to whoever watches next."""
    actor, obj = c["actor"], c.get("object") or {}
    t = traffic(c)
    if t:
        # The request and its answer: client (or the pod that sent it) → the node's kube-proxy → the chosen pod,
        # and back.
        proxy, pod = proxy_box(t.get("via", "")), pod_box(c["namespace"], t.get("pod", ""))
        sender = pod_box(*t["from"].split("/", 1)) if "/" in t.get("from", "") else CLIENT
        return [sender, proxy, pod, proxy, sender]
    if actor == "kube-scheduler":
        start = SCHEDULER
    elif actor.startswith("kubelet/"):
        start = kubelet_box(node_of_actor(actor))
    elif actor in CONTROLLER_NAMES:
        start = CONTROLLERS
    else:
        start = CLIENT
    hops = [start, APISERVER, ETCD]
    if start != CLIENT and watched(c):
        # The component learnt of what it acts on through its watch on the apiserver (the seed's flow figure).
        hops = [APISERVER, *hops]
    node = _spec(obj).get("nodeName", "")
    if c["kind"] == "Pod" and not actor.startswith("kubelet/") and node:
        # The binding or the deletion reaches the node's kubelet through its watch.
        hops += [APISERVER, kubelet_box(node)]
    elif c["kind"] == "Endpoints":
        # "kube-proxy@*": every node's kube-proxy, when the caller does not list the nodes.
        hops += [APISERVER, *(proxy_box(n) for n in nodes or ["*"])]
    return hops


# Kubelet stages started by what the kubelet's watch delivered (a bound pod, a deletion), not by its own timers.
WATCHED_STAGES = {"accept", "stop", "discard"}


def watched(c: dict) -> bool:
    """Whether a component's write answers a change it was told of by its watch: every controller's and the
    scheduler's; the kubelet's when it takes a newly bound pod or a deletion (a pull finishing is its own timer)."""
    if c["actor"].startswith("kubelet/"):
        return bool(WATCHED_STAGES & set((c.get("detail") or {}).get("stages") or []))
    return True


def step(c: dict, nodes: list[str] | None = None) -> dict | None:
    """One numbered step of the page's story for one Change, or None for rows the story leaves out."""
    if skipped(c):
        return None
    return {"text": step_text(c), "path": path(c, nodes), "actor": c["actor"]}


# ---------------------------------------------------------------------------------------------------------------
# "Why?" chains


def is_cause(c: dict) -> bool:
    """A write that made something happen, not a controller reporting status about its own object."""
    if c["kind"] == "Deployment" and c["actor"] == "deployment-controller":
        return False
    if c["kind"] == "ReplicaSet" and c["actor"] == "replicaset-controller":
        return False
    if c["kind"] == "DaemonSet" and c["actor"] == "daemonset-controller":
        return False
    if OWN_STATUS_WRITERS.get(c["kind"]) == c["actor"]:
        return False
    return c["kind"] != "Event"


# The controllers that only report status (or their next due time) on the objects they look after.
OWN_STATUS_WRITERS = {"Job": "job-controller", "CronJob": "cronjob-controller", "StatefulSet": "statefulset-controller",
                      "ReplicationController": "replicaset-controller"}


def cause_before(owner_changes: list[dict], revision: int) -> dict | None:
    """The owner's last causing write before `revision` (the scale or template change that led to the child)."""
    earlier = [c for c in owner_changes if c["revision"] < revision and is_cause(c)]
    return max(earlier, key=lambda c: c["revision"]) if earlier else None


# The scheduler's scores in words, and their weights in the default profile (cluster_core/controllers/scheduler.py;
# decisions recorded before the weights were kept in the feed use these).
SCORE_COLUMNS = {"least_allocated": gettext_noop("Free CPU and memory"),
                 "spread": gettext_noop("Fewest pods of the same owner")}
SCORE_WEIGHTS = {"least_allocated": 1, "spread": 2}


def why_chain(changes: list[dict]) -> list[dict]:
    """The changes that made an object, oldest first, each as a line with its scheduling decision if any."""
    lines = []
    for c in sorted(changes, key=lambda c: c["revision"]):
        if skipped(c) or not is_cause(c):
            continue
        line = {"revision": c["revision"], "actor": c["actor"], "text": step_text(c), "filtered": [], "scores": []}
        detail = c.get("detail") or {}
        if c["actor"] == "kube-scheduler" and detail.get("scores") is not None:
            line["filtered"] = [{"node": n, "reason": plain_filter(r)}
                                for n, r in sorted((detail.get("filtered") or {}).items())]
            weights = detail.get("weights") or SCORE_WEIGHTS
            line["weights"] = [{"name": _(SCORE_COLUMNS.get(k, k)), "weight": w} for k, w in weights.items()]
            line["scores"] = [{"node": n, "chosen": n == detail.get("chosen"), "total": s.get("total", 0),
                               "cells": [{"score": s.get(k, 0), "weight": w, "weighted": s.get(k, 0) * w}
                                         for k, w in weights.items()]}
                              for n, s in sorted(detail["scores"].items())]
            line["tied"] = detail.get("tied") or []
        lines.append(line)
    return lines


# ---------------------------------------------------------------------------------------------------------------
# The live feed's entries (playground/consumers.py): fields shared with the entry before are left out

CARRIED = ("kind", "ns", "actor", "at", "path")
DEFAULT_TYPE = "MODIFIED"  # `type` is left out when it is MODIFIED, the most frequent


def carry(items: list[dict]) -> list[dict]:
    """Leave out the fields an entry shares with the one before it (the page carries them forward)."""
    out, before = [], {}
    for item in items:
        out.append({k: v for k, v in item.items()
                    if not (k in CARRIED and before.get(k) == v) and not (k == "type" and v == DEFAULT_TYPE)})
        before = {**before, **{k: item[k] for k in CARRIED if k in item}}
    return out


def uncarry(items: list[dict]) -> list[dict]:
    """The inverse of `carry`: every entry with its own fields."""
    out, before = [], {}
    for item in items:
        full = {"type": DEFAULT_TYPE, **{k: v for k, v in before.items() if k != "path" or "step" in item}, **item}
        before = {**before, **{k: full[k] for k in CARRIED if k in full}}
        out.append(full)
    return out
