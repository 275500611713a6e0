"""A lesson's checks: declarative conditions over the cluster's state, evaluated by pure functions.

A condition is a mapping; every key in it must hold (`any: [...]` and `not: {...}` combine them):

    deployment: {name: test1, image: nginx, replicas: 3, replicas_not: [1, 3], revision_at_least: 3,
                 exists: false}
    service:    {name: test1, type: NodePort, exists: false}
    pods:       {of: test1 | labels: {app: x}, namespace: default,            # which pods (live ones only,
                 phase: Running, image: httpd, waiting: ImagePullBackOff,     #  unless terminating: true)
                 unscheduled: true, not_on: k8s-node2, has_labels: {version: v1},
                 count: 3 | at_least: 1 | at_most: 2, nodes_at_least: 2, all: true}
    node:       {name: k8s-node2, ready: false, tainted: node.kubernetes.io/unreachable, powered_off: true}
    component:  {name: kube-scheduler, running: false}
    happened:   [deleted:web]               # facts the checker noticed in the change feed (see `checker`)
    in_order:   [deleted:web, added:web]    # both noticed, the second after the first

`observe(pg)` reads what the conditions look at, as they look (a query or two per look); `holds(condition, cluster)`
is pure over what it read.
"""

from __future__ import annotations

CONDITIONS = ("deployment", "service", "pods", "node", "component", "happened", "in_order", "any", "not")
_PARAMS = {
    "deployment": {"name", "image", "image_not", "replicas", "replicas_not", "revision_at_least", "exists"},
    "service": {"name", "type", "exists"},
    "pods": {"of", "labels", "namespace", "phase", "image", "waiting", "unscheduled", "not_on", "has_labels",
             "count", "at_least", "at_most", "nodes_at_least", "all", "terminating"},
    "node": {"name", "ready", "tainted", "powered_off"},
    "component": {"name", "running"},
}


def validate(cond, where: str) -> None:
    """Raise ValueError (a `LessonError`) for a condition the checker would not understand."""
    from .loader import LessonError

    if not isinstance(cond, dict) or not cond:
        raise LessonError(f"{where}: a condition is a non-empty mapping")
    for key, value in cond.items():
        if key not in CONDITIONS:
            raise LessonError(f"{where}: unknown condition {key!r} (known: {', '.join(CONDITIONS)})")
        if key == "any":
            if not isinstance(value, list) or not value:
                raise LessonError(f"{where}: any takes a list of conditions")
            for i, v in enumerate(value):
                validate(v, f"{where} any {i + 1}")
        elif key == "not":
            validate(value, f"{where} not")
        elif key in ("happened", "in_order"):
            if not isinstance(value, (str, list)):
                raise LessonError(f"{where}: {key} takes a fact name or a list of them")
        else:
            if not isinstance(value, dict):
                raise LessonError(f"{where}: {key} takes a mapping")
            extra = set(value) - _PARAMS[key]
            if extra:
                raise LessonError(f"{where}: {key} has no {', '.join(sorted(extra))}")


# ---------------------------------------------------------------------------------------------------------------
# The observed cluster


def _reads() -> dict:
    """The queries a look runs, compiled once (`rowreader.Prepared`)."""
    from ..models import Deployment, Node, Pod, Service
    from ..rowreader import Prepared

    return {
        "deployments": Prepared(lambda pg_id: Deployment.objects.filter(playground_id=pg_id, namespace="default")),
        "services": Prepared(lambda pg_id: Service.objects.filter(playground_id=pg_id, namespace="default")),
        "nodes": Prepared(lambda pg_id: Node.objects.filter(playground_id=pg_id)),
        "pods_in": Prepared(lambda pg_id, namespace: Pod.objects.filter(playground_id=pg_id, namespace=namespace)
                            .order_by("creation_timestamp", "id")),
        "pods": Prepared(lambda pg_id: Pod.objects.filter(playground_id=pg_id).order_by("creation_timestamp", "id")),
    }


_READS: dict = {}


def _read(what: str, *values) -> list:
    if not _READS:
        _READS.update(_reads())
    return _READS[what](*values)


class Cluster:
    """What the checks look at, read from a playground as they first look at it: a look whose pending steps ask
    only about a Deployment reads only the Deployments. Pods are read a namespace at a time."""

    def __init__(self, pg=None, facts: dict | None = None):
        self.pg = pg
        self.facts: dict[str, int] = dict(facts or {})
        self._read: dict[str, object] = {}

    def _once(self, what: str, read):
        if what not in self._read:
            self._read[what] = read() if self.pg is not None else ({} if what != "pods" else [])
        return self._read[what]

    @property
    def deployments(self) -> dict[str, dict]:
        """The default namespace's, by name."""
        return self._once("deployments", lambda: {d.name: d.to_k8s() for d in _read("deployments", self.pg.pk)})

    @property
    def services(self) -> dict[str, dict]:
        return self._once("services", lambda: {s.name: s.to_k8s() for s in _read("services", self.pg.pk)})

    @property
    def nodes(self) -> dict[str, dict]:
        """By name, with "poweredOff" beside the API object."""
        return self._once("nodes", lambda: {n.name: {**n.to_k8s(), "poweredOff": n.powered_off}
                                            for n in _read("nodes", self.pg.pk)})

    def pods_in(self, namespace: str) -> list[dict]:
        if "pods" in self._read:
            return [p for p in self._read["pods"] if _meta(p).get("namespace") == namespace]
        return self._once(f"pods:{namespace}", lambda: [p.to_k8s() for p in _read("pods_in", self.pg.pk, namespace)])

    @property
    def pods(self) -> list[dict]:
        """Every namespace's."""
        return self._once("pods", lambda: [p.to_k8s() for p in _read("pods", self.pg.pk)])


def observe(pg, facts: dict | None = None) -> Cluster:
    return Cluster(pg, facts)


# ---------------------------------------------------------------------------------------------------------------
# Small readers


def _meta(o: dict) -> dict:
    return o.get("metadata") or {}


def containers(o: dict) -> list[dict]:
    spec = o.get("spec") or {}
    if "template" in spec:
        spec = (spec.get("template") or {}).get("spec") or {}
    return [c for c in spec.get("containers") or [] if isinstance(c, dict)]


def image_matches(actual: str, wanted: str) -> bool:
    """`nginx` matches nginx, nginx:latest and docker.io/library/nginx:1.27."""
    name = actual.split("@", 1)[0].rsplit("/", 1)[-1]
    return actual == wanted or name == wanted or name.split(":", 1)[0] == wanted


def deployment_of(pod: dict) -> str:
    """The Deployment a pod belongs to: its controlling ReplicaSet's name without the pod-template-hash."""
    for ref in _meta(pod).get("ownerReferences") or []:
        if ref.get("controller") and ref.get("kind") == "ReplicaSet":
            return ref.get("name", "").rsplit("-", 1)[0]
    return ""


def waiting_reasons(pod: dict) -> set[str]:
    out = set()
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        w = (cs.get("state") or {}).get("waiting")
        if w and w.get("reason"):
            out.add(w["reason"])
    return out


def node_ready(node: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (node.get("status") or {}).get("conditions") or [])


def _facts(value) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


# ---------------------------------------------------------------------------------------------------------------
# Evaluation (pure)


def holds(cond: dict, c: Cluster) -> bool:
    return all(_one(key, value, c) for key, value in cond.items())


def _one(key: str, v, c: Cluster) -> bool:
    if key == "any":
        return any(holds(x, c) for x in v)
    if key == "not":
        return not holds(v, c)
    if key == "happened":
        return all(f in c.facts for f in _facts(v))
    if key == "in_order":
        names = _facts(v)
        if not all(f in c.facts for f in names):
            return False
        return all(c.facts[a] < c.facts[b] for a, b in zip(names, names[1:], strict=False))
    return {"deployment": _deployment, "service": _service, "pods": _pods, "node": _node,
            "component": _component}[key](v, c)


def _deployment(v: dict, c: Cluster) -> bool:
    d = c.deployments.get(v.get("name", ""))
    if v.get("exists", True) is False:
        return d is None
    if d is None or _meta(d).get("deletionTimestamp"):
        return False
    images = [x.get("image", "") for x in containers(d)]
    if "image" in v and not any(image_matches(i, v["image"]) for i in images):
        return False
    if "image_not" in v and any(image_matches(i, v["image_not"]) for i in images):
        return False
    replicas = (d.get("spec") or {}).get("replicas", 1)
    if "replicas" in v and replicas != v["replicas"]:
        return False
    if "replicas_not" in v and replicas in v["replicas_not"]:
        return False
    if "revision_at_least" in v:
        try:
            revision = int((_meta(d).get("annotations") or {}).get("deployment.kubernetes.io/revision", 0))
        except ValueError:
            revision = 0
        if revision < v["revision_at_least"]:
            return False
    return True


def _service(v: dict, c: Cluster) -> bool:
    s = c.services.get(v.get("name", ""))
    if v.get("exists", True) is False:
        return s is None
    if s is None:
        return False
    return "type" not in v or (s.get("spec") or {}).get("type", "ClusterIP") == v["type"]


def select_pods(v: dict, c: Cluster) -> list[dict]:
    namespace = v.get("namespace", "default")
    out = []
    for p in c.pods_in(namespace):
        m = _meta(p)
        if m.get("deletionTimestamp") and not v.get("terminating"):
            continue
        if "of" in v and deployment_of(p) != v["of"]:
            continue
        labels = m.get("labels") or {}
        if any(labels.get(k) != str(val) for k, val in (v.get("labels") or {}).items()):
            continue
        out.append(p)
    return out


def _pod_matches(p: dict, v: dict) -> bool:
    status, spec = p.get("status") or {}, p.get("spec") or {}
    if "phase" in v and (status.get("phase") != v["phase"] or (v["phase"] == "Running" and waiting_reasons(p))):
        return False
    if "image" in v and not all(image_matches(x.get("image", ""), v["image"]) for x in containers(p)):
        return False
    if "waiting" in v and v["waiting"] not in waiting_reasons(p):
        return False
    if "unscheduled" in v and bool(spec.get("nodeName")) == bool(v["unscheduled"]):
        return False
    if "not_on" in v and spec.get("nodeName") == v["not_on"]:
        return False
    labels = _meta(p).get("labels") or {}
    return all(labels.get(k) == str(val) for k, val in (v.get("has_labels") or {}).items())


def _pods(v: dict, c: Cluster) -> bool:
    chosen = select_pods(v, c)
    matching = [p for p in chosen if _pod_matches(p, v)]
    if v.get("all") and (not chosen or len(matching) != len(chosen)):
        return False
    n = len(matching)
    if "count" in v and n != v["count"]:
        return False
    if "at_most" in v and n > v["at_most"]:
        return False
    if n < v.get("at_least", 0 if ("count" in v or "at_most" in v) else 1):
        return False
    if "nodes_at_least" in v:
        nodes = {(p.get("spec") or {}).get("nodeName") for p in matching} - {None, ""}
        if len(nodes) < v["nodes_at_least"]:
            return False
    return True


def _node(v: dict, c: Cluster) -> bool:
    n = c.nodes.get(v.get("name", ""))
    if n is None:
        return False
    if "ready" in v and node_ready(n) != bool(v["ready"]):
        return False
    if "powered_off" in v and bool(n.get("poweredOff")) != bool(v["powered_off"]):
        return False
    if "tainted" in v and not any(t.get("key") == v["tainted"] for t in (n.get("spec") or {}).get("taints") or []):
        return False
    return True


def _component(v: dict, c: Cluster) -> bool:
    name = v.get("name", "")
    running = any((_meta(p).get("labels") or {}).get("component") == name and not _meta(p).get("deletionTimestamp")
                  for p in c.pods_in("kube-system"))
    return running == bool(v.get("running", True))
