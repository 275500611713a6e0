"""What the page's buttons do: each one is a kubectl command, sent as the very request kubectl would send.

Every action builds kubectl's request body (same content, same patch type, same query) and runs it through
`api.views.route` — the path a real kubectl request takes after TLS and authentication — so the page, the
terminal and kubectl share one write path. The result carries kubectl's own success line or error text and the
equivalent command line, so the page can teach the command while it clicks the button.

Two differences from kubectl, both on purpose: the page refuses images outside `images.CATALOGUE` (a pod that can
only end in ErrImagePull teaches nothing from a button; the terminal and the real kubectl can still create one),
and `create deployment` sends its body as JSON where kubectl sends the same object as protobuf.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass

from . import images, labels, names
from .api.handlers import Call, Reply
from .api.resources import Resource, find
from .errors import ApiError
from .models import Playground

DEPLOYMENTS = find("apps", "v1", "deployments")
REPLICASETS = find("apps", "v1", "replicasets")
SERVICES = find("", "v1", "services")
PODS = find("", "v1", "pods")

# `delete(pg, kind, name)` accepts what a student would type after `kubectl delete`.
DELETABLE: dict[str, Resource] = {
    "deployment": DEPLOYMENTS, "deployments": DEPLOYMENTS, "deploy": DEPLOYMENTS, "deployments.apps": DEPLOYMENTS,
    "deployment.apps": DEPLOYMENTS,
    "replicaset": REPLICASETS, "replicasets": REPLICASETS, "rs": REPLICASETS, "replicasets.apps": REPLICASETS,
    "service": SERVICES, "services": SERVICES, "svc": SERVICES,
    "pod": PODS, "pods": PODS, "po": PODS,
}
SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer")
REVISION = "deployment.kubernetes.io/revision"
# Deployment annotations `rollout undo` keeps from the deployment rather than copying from the ReplicaSet
# (kubectl's polymorphichelpers/rollback.go `annotationsToSkip`).
ANNOTATIONS_TO_SKIP = (
    "kubectl.kubernetes.io/last-applied-configuration", REVISION, "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas", "deployment.kubernetes.io/max-replicas",
    "deprecated.deployment.rollback.to",
)
CHANGE_CAUSE = "kubernetes.io/change-cause"
# What the page lets one click ask for; the API still enforces the playground's own pod cap.
MAX_REPLICAS = 50
NAMESPACE = "default"


@dataclass
class ActionResult:
    ok: bool
    message: str = ""  # kubectl's own output on success
    kubectl: str = ""  # the equivalent command line
    object: dict | None = None
    error: str | None = None  # kubectl's own error text
    body: str | None = None  # what curl printed


class Failed(Exception):
    """A kubectl error line, raised inside an action and turned into `ActionResult(ok=False)`."""


# ---------------------------------------------------------------------------------------------------------------
# kubectl's error texts


def kubectl_error(err: ApiError, wrap: str = "") -> str:
    """The text kubectl prints for an API error (cmd/util/helpers.go `checkErr` / `StandardErrorMessage`).

    `wrap` is the prefix of commands that wrap the error before printing (`create deployment` does), which turns
    it into a plain error: `error: <wrap>: <server message>`.
    """
    status = err.status()
    if wrap:
        return f"error: {wrap}: {status['message']}"
    details = status.get("details") or {}
    if status.get("reason") == "Invalid":
        if not details:
            return f"The request is invalid: {status['message']}"
        head = f'The {details.get("kind", "")} "{details.get("name", "")}" is invalid'
        causes = [f"{c.get('field')}: {c.get('message')}" for c in details.get("causes") or []]
        if len(causes) == 1:
            return f"{head}: {causes[0]}"
        if causes:
            return f"{head}: \n" + "\n".join(f"* {c}" for c in causes)
        return head
    if status.get("reason") == "Unauthorized":
        return f"error: You must be logged in to the server ({status['message']})"
    if status.get("reason"):
        return f"Error from server ({status['reason']}): {status['message']}"
    return f"Error from server: {status['message']}"


# ---------------------------------------------------------------------------------------------------------------
# the API path


def call(pg: Playground, method: str, resource: Resource, name: str = "", *, subresource: str = "",
         body: object = None, content_type: str = "", query: dict | None = None, accept: str = "application/json",
         namespace: str = NAMESPACE, actor: str = "dashboard") -> Reply:
    """One request through the API's router, as if it had arrived over HTTPS. Raises `ApiError` like the API."""
    from .api.views import route

    raw = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    if body is not None and not content_type:
        content_type = "application/json"
    return route(Call(pg=pg, method=method, resource=resource, namespace=namespace if resource.namespaced else "",
                      name=name, subresource=subresource, query=query or {}, body=raw, content_type=content_type,
                      accept=accept, actor=actor))


def _actor(via: str, sub: str) -> str:
    return f"{via}: kubectl {sub}"


def _get(pg: Playground, resource: Resource, name: str) -> dict:
    return call(pg, "GET", resource, name).body


def _run(command: str, work, wrap: str = "") -> ActionResult:
    """Run an action's body; API errors and `Failed` become kubectl's error text, never an exception."""
    try:
        message, obj = work()
    except Failed as exc:
        return ActionResult(False, kubectl=command, error=str(exc))
    except ApiError as err:
        return ActionResult(False, kubectl=command, error=kubectl_error(err, wrap))
    return ActionResult(True, message, command, obj)


def _unknown_image(image: str) -> str | None:
    if images.lookup(image) is not None:
        return None
    known = ", ".join(images.known_names())
    return (f'error: image "{image}" is not in this playground\'s registry; a pod with it could only fail to pull. '
            f"Known images: {known}")


def _replicas(value) -> int:
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise Failed(f'error: invalid argument "{value}" for "--replicas" flag: strconv.ParseInt: parsing '
                     f'"{value}": invalid syntax') from None
    if isinstance(value, float) and value != n:
        raise Failed(f'error: invalid argument "{value}" for "--replicas" flag: must be a whole number')
    return n


def _page_replicas(n: int) -> None:
    if n > MAX_REPLICAS:
        raise Failed(f"error: --replicas={n} is more than this page allows at once ({MAX_REPLICAS})")


# ---------------------------------------------------------------------------------------------------------------
# the actions


def deployment_body(name: str, image: str, replicas: int = 1) -> dict:
    """`kubectl create deployment NAME --image=IMAGE [--replicas=N]` (create_deployment.go): the container is
    named after the image's last path element without tag or digest."""
    container = image.split("@", 1)[0].rsplit("/", 1)[-1].split(":", 1)[0]
    app = {"app": name}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": dict(app)},
        "spec": {"replicas": replicas, "selector": {"matchLabels": dict(app)},
                 "template": {"metadata": {"labels": dict(app)},
                              "spec": {"containers": [{"name": container, "image": image, "resources": {}}]}},
                 "strategy": {}},
        "status": {},
    }


def deploy(pg: Playground, name: str, image: str, replicas: int = 1, *, any_image: bool = False,
           via: str = "dashboard") -> ActionResult:
    command = f"kubectl create deployment {name} --image={image}" + (f" --replicas={replicas}" if replicas != 1 else "")

    def work():
        if not name:
            raise Failed("error: exactly one NAME is required, got 0")
        if not image:
            raise Failed("error: required flag(s) \"image\" not set")
        n = _replicas(replicas)
        if not any_image:
            _page_replicas(n)
            bad = _unknown_image(image)
            if bad:
                raise Failed(bad)
        reply = call(pg, "POST", DEPLOYMENTS, body=deployment_body(name, image, n),
                     query={"fieldManager": "kubectl-create", "fieldValidation": "Strict"},
                     actor=_actor(via, "create"))
        return f"deployment.apps/{name} created", reply.body

    return _run(command, work, wrap="failed to create deployment")


def service_body(deployment: dict, port: int, type: str, target_port: int | str | None) -> dict:
    """`kubectl expose deployment`: selector and labels come from the deployment (expose.go, service generator)."""
    selector = ((deployment.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    meta = deployment.get("metadata") or {}
    spec: dict = {"ports": [{"port": port, "protocol": "TCP",
                             "targetPort": target_port if target_port is not None else port}],
                  "selector": dict(selector)}
    if type:
        spec["type"] = type
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"labels": dict(meta.get("labels") or {}), "name": meta.get("name", "")},
            "spec": spec, "status": {"loadBalancer": {}}}


def expose(pg: Playground, name: str, port: int, type: str = "NodePort", target_port: int | str | None = None, *,
           via: str = "dashboard") -> ActionResult:
    command = (f"kubectl expose deployment {name}" + (f" --type={type}" if type else "") + f" --port={port}"
               + (f" --target-port={target_port}" if target_port is not None else ""))

    def work():
        if type and type not in SERVICE_TYPES:
            raise Failed(f'error: cannot expose a Service of type "{type}": use one of ClusterIP, NodePort, '
                         "LoadBalancer")
        deployment = _get(pg, DEPLOYMENTS, name)
        try:
            p = int(port)
        except (TypeError, ValueError):
            raise Failed(f'error: invalid argument "{port}" for "--port" flag: strconv.ParseInt: parsing '
                         f'"{port}": invalid syntax') from None
        tp = target_port
        if isinstance(tp, str) and tp.isdigit():
            tp = int(tp)
        reply = call(pg, "POST", SERVICES, body=service_body(deployment, p, type, tp),
                     query={"fieldManager": "kubectl-expose"}, actor=_actor(via, "expose"))
        return f"service/{name} exposed", reply.body

    return _run(command, work)


def scale(pg: Playground, name: str, replicas: int, *, via: str = "dashboard", page_limit: bool = True
          ) -> ActionResult:
    command = f"kubectl scale deployment {name} --replicas={replicas}"

    def work():
        n = _replicas(replicas)
        if n < 0:
            # kubectl refuses this before sending anything (scale.go Validate).
            raise Failed("error: The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0")
        if page_limit:
            _page_replicas(n)
        _get(pg, DEPLOYMENTS, name)
        call(pg, "PATCH", DEPLOYMENTS, name, subresource="scale", body={"spec": {"replicas": n}},
             content_type="application/merge-patch+json", actor=_actor(via, "scale"))
        return f"deployment.apps/{name} scaled", _get(pg, DEPLOYMENTS, name)

    return _run(command, work)


def image_patch(containers: list[dict], container: str, image: str) -> dict:
    """`kubectl set image`'s strategic merge patch: the changed container plus the list's order."""
    return {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": c.get("name")} for c in containers],
        "containers": [{"image": image, "name": container}],
    }}}}


def set_image(pg: Playground, name: str, image: str, container: str | None = None, *, any_image: bool = False,
              via: str = "dashboard") -> ActionResult:
    def work():
        if not any_image:
            bad = _unknown_image(image)
            if bad:
                raise Failed(bad)
        deployment = _get(pg, DEPLOYMENTS, name)
        containers = (((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
        target = container or (containers[0].get("name") if containers else "")
        current = next((c for c in containers if c.get("name") == target), None)
        if current is None:
            raise Failed(f'error: unable to find container named "{target}"')
        if current.get("image") == image:
            # kubectl computes an empty patch, sends nothing and prints nothing.
            return "", deployment
        reply = call(pg, "PATCH", DEPLOYMENTS, name, body=image_patch(containers, target, image),
                     content_type="application/strategic-merge-patch+json", query={"fieldManager": "kubectl-set"},
                     actor=_actor(via, "set image"))
        return f"deployment.apps/{name} image updated", reply.body

    shown = container or _first_container(pg, name) or "CONTAINER"
    return _run(f"kubectl set image deployment/{name} {shown}={image}", work)


def _first_container(pg: Playground, name: str) -> str:
    try:
        d = _get(pg, DEPLOYMENTS, name)
    except ApiError:
        return ""
    containers = (((d.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
    return containers[0].get("name", "") if containers else ""


def revision_of(rs: dict) -> int | None:
    try:
        return int(((rs.get("metadata") or {}).get("annotations") or {}).get(REVISION))
    except (TypeError, ValueError):
        return None


def owned_replicasets(pg: Playground, deployment: dict) -> list[dict]:
    """kubectl's `GetAllReplicaSets`: list by the deployment's selector, keep those it controls."""
    selector = labels.selector_string((deployment.get("spec") or {}).get("selector"))
    items = call(pg, "GET", REPLICASETS, query={"labelSelector": selector},
                 namespace=deployment["metadata"].get("namespace", NAMESPACE)).body["items"]
    uid = deployment["metadata"].get("uid")
    return [rs for rs in items
            if any(ref.get("controller") and ref.get("uid") == uid
                   for ref in (rs.get("metadata") or {}).get("ownerReferences") or [])]


def pick_revision(replicasets: list[dict], to_revision: int, deployment_name: str) -> dict:
    """rollback.go `deploymentRevision`: the given revision, or the second-highest one."""
    if to_revision < 0:
        raise Failed(f"error: unable to find specified revision {to_revision} in history")
    ranked = sorted(((revision_of(rs), rs) for rs in replicasets if revision_of(rs) is not None),
                    key=lambda pair: pair[0])
    if to_revision:
        for r, rs in ranked:
            if r == to_revision:
                return rs
        raise Failed(f"error: unable to find specified revision {to_revision} in history")
    if len(ranked) < 2:
        raise Failed(f'error: no rollout history found for deployment "{deployment_name}"')
    return ranked[-2][1]


def undo_patch(deployment: dict, rs: dict) -> list[dict]:
    """The JSON patch `rollout undo` sends: the ReplicaSet's template without its hash label, and annotations."""
    template = copy.deepcopy((rs.get("spec") or {}).get("template") or {})
    meta = template.setdefault("metadata", {})
    (meta.get("labels") or {}).pop("pod-template-hash", None)
    if meta.get("creationTimestamp") is None:
        meta.pop("creationTimestamp", None)
    current = (deployment.get("metadata") or {}).get("annotations") or {}
    annotations = {k: current[k] for k in ANNOTATIONS_TO_SKIP if k in current}
    for k, v in ((rs.get("metadata") or {}).get("annotations") or {}).items():
        if k not in ANNOTATIONS_TO_SKIP:
            annotations[k] = v
    return [{"op": "replace", "path": "/spec/template", "value": template},
            {"op": "replace", "path": "/metadata/annotations", "value": annotations}]


def rollback(pg: Playground, name: str, to_revision: int | None = None, *, via: str = "dashboard") -> ActionResult:
    command = f"kubectl rollout undo deployment {name}" + (f" --to-revision={to_revision}" if to_revision else "")

    def work():
        wanted = int(to_revision or 0)
        deployment = _get(pg, DEPLOYMENTS, name)
        if (deployment.get("spec") or {}).get("paused"):
            raise Failed("error: you cannot rollback a paused deployment; resume it first with 'kubectl rollout "
                         "resume' and try again")
        rs = pick_revision(owned_replicasets(pg, deployment), wanted, name)
        if names.templates_equal(rs["spec"].get("template") or {}, deployment["spec"].get("template") or {}):
            # kubectl reports the revision it was asked for, which is 0 without --to-revision.
            return (f"deployment.apps/{name} skipped rollback (current template already matches revision "
                    f"{wanted})", deployment)
        reply = call(pg, "PATCH", DEPLOYMENTS, name, body=undo_patch(deployment, rs),
                     content_type="application/json-patch+json", actor=_actor(via, "rollout undo"))
        return f"deployment.apps/{name} rolled back", reply.body

    return _run(command, work)


def delete(pg: Playground, kind: str, name: str, *, via: str = "dashboard") -> ActionResult:
    resource = DELETABLE.get((kind or "").lower())
    command = f"kubectl delete {kind} {name}"
    if resource is None:
        return ActionResult(False, kubectl=command, error=f'error: the server doesn\'t have a resource type "{kind}"')

    def work():
        reply = call(pg, "DELETE", resource, name, body={"propagationPolicy": "Background"},
                     actor=_actor(via, "delete"))
        singular = resource.kind.lower() + (f".{resource.group}" if resource.group else "")
        # kubectl 1.37 names the namespace in its success line.
        return f'{singular} "{name}" deleted from {NAMESPACE} namespace', reply.body

    return _run(command, work)


def curl(pg: Playground, target: str, path: str = "/", *, client: str = "10.244.0.0") -> ActionResult:
    """An HTTP GET through the simulated kube-proxy, as `curl` on the master node would make it."""
    from . import kube_proxy

    command = f"curl {target}{path if path != '/' else ''}"
    try:
        resp = kube_proxy.curl(pg, target, path=path, client=client)
    except ApiError as err:
        return ActionResult(False, kubectl=command, error=kubectl_error(err))
    if resp.error:
        return ActionResult(False, kubectl=command, error=resp.error,
                            object={"status": resp.status, "pod": resp.pod, "node": resp.node,
                                    "service": resp.service})
    return ActionResult(True, "", command, {"status": resp.status, "pod": resp.pod, "node": resp.node,
                                            "service": resp.service}, body=resp.body)


def history(pg: Playground, name: str) -> ActionResult:
    """`kubectl rollout history deployment NAME`; `object["revisions"]` lists them for the page."""

    def work():
        deployment = _get(pg, DEPLOYMENTS, name)
        revisions = []
        for rs in owned_replicasets(pg, deployment):
            r = revision_of(rs)
            if r is None:
                continue
            tmpl = (rs.get("spec") or {}).get("template") or {}
            revisions.append({
                "revision": r,
                "changeCause": ((rs["metadata"].get("annotations") or {}).get(CHANGE_CAUSE) or ""),
                "replicaSet": rs["metadata"]["name"],
                "podTemplateHash": ((tmpl.get("metadata") or {}).get("labels") or {}).get("pod-template-hash", ""),
                "images": [c.get("image") for c in (tmpl.get("spec") or {}).get("containers") or []],
            })
        revisions.sort(key=lambda r: r["revision"])
        return history_text(name, revisions), {"revisions": revisions}

    return _run(f"kubectl rollout history deployment {name}", work)


def history_text(name: str, revisions: list[dict]) -> str:
    """rollout_history.go + history.go: the name line, then a tabwriter table with padding 2."""
    if not revisions:
        return f"deployment.apps/{name} \nNo rollout history found.\n"
    width = max(len("REVISION"), *(len(str(r["revision"])) for r in revisions)) + 2
    lines = ["REVISION".ljust(width) + "CHANGE-CAUSE"]
    lines += [str(r["revision"]).ljust(width) + (r["changeCause"] or "<none>") for r in revisions]
    return f"deployment.apps/{name} \n" + "\n".join(lines) + "\n\n"


def label(pg: Playground, kind: str, name: str, pair: str, *, via: str = "dashboard") -> ActionResult:
    """`kubectl label KIND NAME key=value`: a JSON merge patch of metadata.labels (label.go)."""
    resource = DELETABLE.get((kind or "").lower())
    command = f"kubectl label {kind} {name} {pair}"
    if resource is None:
        return ActionResult(False, kubectl=command, error=f'error: the server doesn\'t have a resource type "{kind}"')

    def work():
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise Failed(f"error: at least one label update is required, got {pair!r}")
        reply = call(pg, "PATCH", resource, name, body={"metadata": {"labels": {key: value}}},
                     content_type="application/merge-patch+json", query={"fieldManager": "kubectl-label"},
                     actor=_actor(via, "label"))
        return f"{resource.kind.lower()}/{name} labeled", reply.body

    return _run(command, work)
