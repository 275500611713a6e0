"""The page's failure buttons: things that go wrong with machines and control-plane components, as real state.

- `power_off(pg, node)` / `power_on(pg, node)`: the node's machine stops (its kubelet posts nothing and syncs
  nothing) or starts again. What the cluster makes of it is the node lifecycle controller's work: NotReady after
  its grace period, the unreachable taints, evictions, and the taints gone when the kubelet posts Ready again.
- `stop_component(pg, name)` / `start_component(pg, name)`: a control-plane component's manifest is moved out of
  `/etc/kubernetes/manifests` (the kubelet stops the static pod, its mirror pod goes) or back in. A component
  without its pod runs no loop (`runtime.COMPONENT_OF`), so `kubectl get pods -n kube-system` tells the truth.

Each returns an `actions.ActionResult` with the command a student would type for it (the seed's nodes are
VirtualBox machines on 192.168.56.0/24), for the page to show; `shell(pg, words)` accepts those same lines in the
page's terminal.
"""

from __future__ import annotations

from django.db import transaction

from . import bootstrap, nudge
from .actions import ActionResult
from .errors import ApiError
from .models import Node, Playground, Pod
from .writes import Batch

COMPONENTS = ("kube-scheduler", "kube-controller-manager")
MANIFESTS = "/etc/kubernetes/manifests"


def _node(pg: Playground, name: str) -> Node | None:
    return Node.objects.filter(playground=pg, name=name).first()


def _master(pg: Playground) -> Node | None:
    for node in Node.objects.filter(playground=pg).order_by("name"):
        if "node-role.kubernetes.io/control-plane" in (node.labels or {}):
            return node
    return None


def power_off(pg: Playground, name: str) -> ActionResult:
    command = f"ssh {name} poweroff"
    node = _node(pg, name)
    if node is None:
        return ActionResult(False, kubectl=command, error=f'Error from server (NotFound): nodes "{name}" not found')
    if "node-role.kubernetes.io/control-plane" in (node.labels or {}):
        return ActionResult(False, kubectl=command,
                            error="error: this playground keeps its master running (the API lives there)")
    Node.objects.filter(pk=node.pk).update(powered_off=True, lifecycle_due=None)
    transaction.on_commit(lambda: nudge.send_targets(pg.pk, {(nudge.NODE_LIFECYCLE, name), (nudge.LESSONS, "*")}))
    return ActionResult(True, f"{name} is powered off: its kubelet no longer posts node status", command)


def power_on(pg: Playground, name: str) -> ActionResult:
    command = f"VBoxManage startvm {name} --type headless"
    node = _node(pg, name)
    if node is None:
        return ActionResult(False, kubectl=command, error=f'Error from server (NotFound): nodes "{name}" not found')
    Node.objects.filter(pk=node.pk).update(powered_off=False, lifecycle_due=None)
    transaction.on_commit(lambda: nudge.send_targets(pg.pk, {(nudge.KUBELET, name), (nudge.NODE_LIFECYCLE, name),
                                                             (nudge.LESSONS, "*")}))
    return ActionResult(True, f"{name} is booting: its kubelet posts node status again", command)


def stop_component(pg: Playground, component: str) -> ActionResult:
    command = f"mv {MANIFESTS}/{component}.yaml /tmp/"
    master = _master(pg)
    if component not in COMPONENTS or master is None:
        return ActionResult(False, kubectl=command, error=f"error: {component} cannot be stopped here")
    pod = Pod.objects.filter(playground=pg, namespace="kube-system", name=f"{component}-{master.name}").first()
    if pod is None:
        return ActionResult(True, f"{component} is already stopped", command)
    b = Batch(pg, f"kubelet/{master.name}")
    b.delete(pod, f"kubelet on {master.name} stopped static pod {component}: its manifest left {MANIFESTS}")
    try:
        b.commit()
    except ApiError as err:
        return ActionResult(False, kubectl=command, error=str(err))
    return ActionResult(True, f"{component} stopped", command)


def start_component(pg: Playground, component: str) -> ActionResult:
    command = f"mv /tmp/{component}.yaml {MANIFESTS}/"
    master = _master(pg)
    if component not in COMPONENTS or master is None:
        return ActionResult(False, kubectl=command, error=f"error: {component} cannot be started here")
    if Pod.objects.filter(playground=pg, namespace="kube-system", name=f"{component}-{master.name}").exists():
        return ActionResult(True, f"{component} is already running", command)
    b = Batch(pg, f"kubelet/{master.name}")
    b.create(bootstrap.static_pod(component, master),
             f"kubelet on {master.name} started static pod {component}: its manifest is back in {MANIFESTS}")
    try:
        b.commit()
    except ApiError as err:
        return ActionResult(False, kubectl=command, error=str(err))
    return ActionResult(True, f"{component} started", command)


def state(pg: Playground) -> dict:
    """What the failure panel shows: each worker's power, each component running or not."""
    from .runtime import component_running

    nodes = [(n.name, not n.powered_off) for n in Node.objects.filter(playground=pg).order_by("name")
             if "node-role.kubernetes.io/control-plane" not in (n.labels or {})]
    return {"nodes": nodes, "components": [(c, component_running(pg, c)) for c in COMPONENTS]}


def shell(pg: Playground, words: list[str]) -> ActionResult | None:
    """The failure commands as typed in a shell; None for any other line.

    `ssh NODE poweroff` · `VBoxManage controlvm NODE poweroff` · `VBoxManage startvm NODE [--type headless]` ·
    `mv /etc/kubernetes/manifests/COMPONENT.yaml /tmp/` · `mv /tmp/COMPONENT.yaml /etc/kubernetes/manifests/`
    """
    if len(words) == 3 and words[0] == "ssh" and words[2] in ("poweroff", "shutdown", "halt"):
        return power_off(pg, words[1])
    if words[:2] == ["VBoxManage", "controlvm"] and len(words) == 4 and words[3] == "poweroff":
        return power_off(pg, words[2])
    if words[:2] == ["VBoxManage", "startvm"] and len(words) >= 3:
        return power_on(pg, words[2])
    if len(words) == 3 and words[0] == "mv":
        source, target = words[1].rstrip("/"), words[2].rstrip("/")
        for component in COMPONENTS:
            manifest = f"{MANIFESTS}/{component}.yaml"
            if source == manifest and target in ("/tmp", f"/tmp/{component}.yaml"):
                return stop_component(pg, component)
            if source == f"/tmp/{component}.yaml" and target in (MANIFESTS, manifest):
                return start_component(pg, component)
    return None
