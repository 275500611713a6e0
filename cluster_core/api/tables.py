"""Server-side printing: the `meta.k8s.io/v1` Table that `kubectl get` renders.

Contract (pure functions, no DB; objects are plain Kubernetes JSON dicts as the apiserver serves them):

* ``human_duration(seconds)`` — Go's ``duration.HumanDuration``: ``45s``, ``3m20s``, ``12m``, ``5h30m``, ``2d3h``,
  ``400d``, ``3y``; ``0s`` up to 2 s in the future (clock skew), ``<invalid>`` beyond.
* ``column_definitions(kind)`` and ``row_cells(kind, obj, now)`` — kubectl's server-side column sets (the ones
  of kubernetes' internal printers). The server always sends the wide set; kubectl drops ``priority >= 1``
  columns unless ``-o wide``. Kinds without a printer get the apiserver default: Name + Created At.
  ``kind`` "Event" prints both core/v1 and events.k8s.io/v1 events (the latter are told apart by their fields).
* ``build_table(kind, objects, now, include_object=..., resource_version=..., with_columns=..., continue_token=...)``
  — the Table document. Each row carries ``object``: PartialObjectMetadata (``Metadata``, the default; kubectl
  takes the NAMESPACE column of ``-A`` and ``--show-labels`` from it), the full object (``Object``, used by
  ``--sort-by``) or nothing (``None``). ``with_columns=False`` sends ``columnDefinitions: []`` as the real server
  does for every watch event after the first. Every row has exactly as many cells as there are columns;
  a short row would make kubectl silently shift columns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

# --- durations and timestamps ----------------------------------------------------------------------------


def human_duration(seconds: float) -> str:
    """Go `k8s.io/apimachinery/pkg/util/duration.HumanDuration` for a duration given in seconds."""
    whole = int(seconds)  # truncates toward zero, like Go's int(d.Seconds())
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        # Up to two seconds in the future is clock skew between machines: call it now.
        return "0s"
    if whole < 120:
        return f"{whole}s"
    minutes = whole // 60
    if minutes < 10:
        s = whole % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 3 * 60:
        return f"{minutes}m"
    hours = whole // 3600
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if hours < 24 * 8:
        h = hours % 24
        return f"{days}d" if h == 0 else f"{days}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{days}d"
    years = days // 365
    if hours < 24 * 365 * 8:
        dy = days % 365
        return f"{years}y" if dy == 0 else f"{years}y{dy}d"
    return f"{years}y"


def parse_time(value: str | None) -> dt.datetime | None:
    """RFC 3339 (`2026-11-26T15:54:26Z`, also with microseconds) to an aware datetime; None if absent."""
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _aware(now: dt.datetime) -> dt.datetime:
    return now if now.tzinfo else now.replace(tzinfo=dt.UTC)


def since(timestamp: str | None, now: dt.datetime) -> str:
    """Age text for a timestamp; `<unknown>` when it is unset (as the Go printers say)."""
    when = parse_time(timestamp)
    if when is None:
        return "<unknown>"
    return human_duration((_aware(now) - when).total_seconds())


# --- columns ---------------------------------------------------------------------------------------------

_NAME_DOC = (
    "Name must be unique within a namespace. Is required when creating resources, although some resources "
    "may allow a client to request the generation of an appropriate name automatically. Name is primarily "
    "intended for creation idempotence and configuration definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
)
_AGE_DOC = (
    "CreationTimestamp is a timestamp representing the server time when this object was created. "
    "It is represented in RFC3339 form and is in UTC. Populated by the system. Read-only."
)


def _col(name: str, description: str, type: str = "string", priority: int = 0, format: str = "") -> dict:
    return {"name": name, "type": type, "format": format, "description": description, "priority": priority}


def _name_col(priority: int = 0) -> dict:
    return _col("Name", _NAME_DOC, priority=priority, format="name")


def _age_col() -> dict:
    return _col("Age", _AGE_DOC)


_CONTAINERS = _col("Containers", "Names of each container in the template.", priority=1)
_IMAGES = _col("Images", "Images referenced by each container in the template.", priority=1)

_COLUMNS: dict[str, list[dict]] = {
    "Pod": [
        _name_col(),
        _col("Ready", "The aggregate readiness state of this pod for accepting traffic."),
        _col("Status", "The aggregate status of the containers in this pod."),
        _col("Restarts", "The number of times the containers in this pod have been restarted and when the "
             "last container in this pod has restarted."),
        _age_col(),
        _col("IP", "IP address allocated to the pod.", priority=1),
        _col("Node", "The node the pod is bound to.", priority=1),
        _col("Nominated Node", "The node the scheduler nominated for this pod after preemption.", priority=1),
        _col("Readiness Gates", "Pod readiness gates that are true, of all declared.", priority=1),
    ],
    "Deployment": [
        _name_col(),
        _col("Ready", "Number of the pod with ready state"),
        _col("Up-to-date", "Total number of non-terminated pods targeted by this deployment that have the "
             "desired template spec."),
        _col("Available", "Total number of available pods (ready for at least minReadySeconds) targeted by "
             "this deployment."),
        _age_col(),
        _CONTAINERS,
        _IMAGES,
        _col("Selector", "Label selector for pods.", priority=1),
    ],
    "ReplicaSet": [
        _name_col(),
        _col("Desired", "Replicas is the number of desired replicas.", type="integer"),
        _col("Current", "Replicas is the most recently observed number of replicas.", type="integer"),
        _col("Ready", "The number of ready replicas for this replica set.", type="integer"),
        _age_col(),
        _CONTAINERS,
        _IMAGES,
        _col("Selector", "Selector is a label query over pods that should match the replica count.", priority=1),
    ],
    "DaemonSet": [
        _name_col(),
        _col("Desired", "The total number of nodes that should be running the daemon pod (including nodes correctly "
             "running the daemon pod). More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/",
             type="integer"),
        _col("Current", "The number of nodes that are running at least 1 daemon pod and are supposed to run the "
             "daemon pod. More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/",
             type="integer"),
        _col("Ready", "numberReady is the number of nodes that should be running the daemon pod and have one or "
             "more of the daemon pod running with a Ready Condition.", type="integer"),
        _col("Up-to-date", "The total number of nodes that are running updated daemon pod", type="integer"),
        _col("Available", "The number of nodes that should be running the daemon pod and have one or more of the "
             "daemon pod running and available (ready for at least spec.minReadySeconds)", type="integer"),
        _col("Node Selector", "NodeSelector is a selector which must be true for the pod to fit on a node. Selector "
             "which must match a node's labels for the pod to be scheduled on that node. More info: "
             "https://kubernetes.io/docs/concepts/configuration/assign-pod-node/"),
        _age_col(),
        _CONTAINERS,
        _IMAGES,
        _col("Selector", "A label query over pods that are managed by the daemon set. Must match in order to be "
             "controlled. It must match the pod template's labels. More info: "
             "https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
             priority=1),
    ],
    "Service": [
        _name_col(),
        _col("Type", "type determines how the Service is exposed."),
        _col("Cluster-IP", "clusterIP is the IP address of the service."),
        _col("External-IP", "externalIPs is a list of IP addresses for which nodes in the cluster will also "
             "accept traffic for this service."),
        _col("Port(s)", "The list of ports that are exposed by this service."),
        _age_col(),
        _col("Selector", "Route service traffic to pods with label keys and values matching this selector.",
             priority=1),
    ],
    "Node": [
        _name_col(),
        _col("Status", "The status of the node"),
        _col("Roles", "The roles of the node"),
        _age_col(),
        _col("Version", "Kubelet Version reported by the node."),
        _col("Internal-IP", "List of addresses reachable to the node.", priority=1),
        _col("External-IP", "List of addresses reachable to the node.", priority=1),
        _col("OS-Image", "OS Image reported by the node from /etc/os-release.", priority=1),
        _col("Kernel-Version", "Kernel Version reported by the node from 'uname -r'.", priority=1),
        _col("Container-Runtime", "ContainerRuntime Version reported by the node through runtime remote API.",
             priority=1),
    ],
    "Namespace": [_name_col(), _col("Status", "The status of the namespace"), _age_col()],
    "Event": [
        _col("Last Seen", "The time at which the most recent occurrence of this event was recorded."),
        _col("Type", "Type of this event (Normal, Warning)."),
        _col("Reason", "This should be a short, machine understandable string that gives the reason for the "
             "transition into the object's current status."),
        _col("Object", "The object that this event is about."),
        _col("Subobject", "The field of the involved object the event is about (e.g. a container).", priority=1),
        _col("Source", "The component reporting this event.", priority=1),
        _col("Message", "A human-readable description of the status of this operation."),
        _col("First Seen", "The time at which the event was first recorded.", priority=1),
        _col("Count", "The number of times this event has occurred.", priority=1),
        _name_col(priority=1),
    ],
    "Endpoints": [_name_col(), _col("Endpoints", "The set of all endpoints is the union of all subsets."),
                  _age_col()],
    "EndpointSlice": [
        _name_col(),
        _col("AddressType", "The type of address carried by this EndpointSlice."),
        _col("Ports", "The network ports exposed by each endpoint in this slice."),
        _col("Endpoints", "A list of unique endpoints in this slice."),
        _age_col(),
    ],
    "ConfigMap": [_name_col(), _col("Data", "Data contains the configuration data."), _age_col()],
    "Secret": [
        _name_col(),
        _col("Type", "The type of the secret"),
        _col("Data", "The number of entries in data", type="integer"),
        _age_col(),
    ],
    "ServiceAccount": [
        _name_col(),
        _col("Secrets", "Secrets is a list of the secrets in the same namespace that pods running using this "
             "ServiceAccount are allowed to use.", type="integer"),
        _age_col(),
    ],
    "ReplicationController": [
        _name_col(),
        _col("Desired", "Replicas is the number of desired replicas.", type="integer"),
        _col("Current", "Replicas is the most recently observed number of replicas.", type="integer"),
        _col("Ready", "The number of ready replicas for this replication controller.", type="integer"),
        _age_col(),
        _CONTAINERS,
        _IMAGES,
        _col("Selector", "Selector is a label query over pods that should match the Replicas count.", priority=1),
    ],
    "StatefulSet": [
        _name_col(),
        _col("Ready", "Number of the pod with ready state"),
        _age_col(),
        _CONTAINERS,
        _IMAGES,
    ],
    "Job": [
        _name_col(),
        _col("Status", "Status of the job."),
        _col("Completions", "The completion status of the job"),
        _col("Duration", "Time required to complete the job."),
        _age_col(),
        _CONTAINERS,
        _IMAGES,
        _col("Selector", "A label query over pods that should match the pod count.", priority=1),
    ],
    "CronJob": [
        _name_col(),
        _col("Schedule", "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron."),
        _col("Timezone", "The time zone name for the given schedule."),
        _col("Suspend", "This flag tells the controller to suspend subsequent executions.", type="boolean"),
        _col("Active", "A list of pointers to currently running jobs.", type="integer"),
        _col("Last Schedule", "Information when was the last time the job was successfully scheduled."),
        _age_col(),
        _CONTAINERS,
        _IMAGES,
        _col("Selector", "A label query over pods that should match the pod count.", priority=1),
    ],
    "Role": [_name_col(), _col("Created At", _AGE_DOC, type="date")],
    "ClusterRole": [_name_col(), _col("Created At", _AGE_DOC, type="date")],
    "RoleBinding": [
        _name_col(),
        _col("Role", "RoleRef references the Role or ClusterRole this binding grants."),
        _age_col(),
        _col("Users", "Users in the roleBinding", priority=1),
        _col("Groups", "Groups in the roleBinding", priority=1),
        _col("ServiceAccounts", "ServiceAccounts in the roleBinding", priority=1),
    ],
    "ClusterRoleBinding": [
        _name_col(),
        _col("Role", "RoleRef references the ClusterRole this binding grants."),
        _age_col(),
        _col("Users", "Users in the clusterRoleBinding", priority=1),
        _col("Groups", "Groups in the clusterRoleBinding", priority=1),
        _col("ServiceAccounts", "ServiceAccounts in the clusterRoleBinding", priority=1),
    ],
    "Lease": [_name_col(), _col("Holder", "The holder of the lease."), _age_col()],
}

# What the apiserver's default table convertor serves for kinds without a printer.
_DEFAULT_COLUMNS = [
    _name_col(),
    _col("Created At", _AGE_DOC, type="date"),
]


def column_definitions(kind: str) -> list[dict]:
    """Column definitions for a kind (copies, so callers may mutate them)."""
    return [dict(c) for c in _COLUMNS.get(kind, _DEFAULT_COLUMNS)]


# --- shared formatting -----------------------------------------------------------------------------------


def _meta(obj: dict) -> dict:
    return obj.get("metadata") or {}


def _age(obj: dict, now: dt.datetime) -> str:
    return since(_meta(obj).get("creationTimestamp"), now)


def format_labels(labels: dict | None) -> str:
    """`k=v,k2=v2` sorted by key, `<none>` when empty (Go labels.FormatLabels)."""
    if not labels:
        return "<none>"
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


def selector_string(selector: dict | None) -> str:
    """A LabelSelector in kubectl's string form: requirements sorted by key, `app=x,tier in (a,b),!gone`."""
    if not selector:
        return ""
    reqs: list[tuple[str, str]] = []
    for key, value in (selector.get("matchLabels") or {}).items():
        reqs.append((key, f"{key}={value}"))
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key", ""), expr.get("operator", ""), sorted(expr.get("values") or [])
        text = {
            "In": f"{key} in ({','.join(values)})",
            "NotIn": f"{key} notin ({','.join(values)})",
            "Exists": key,
            "DoesNotExist": f"!{key}",
        }.get(op, key)
        reqs.append((key, text))
    return ",".join(text for _, text in sorted(reqs, key=lambda r: r[0]))


def _containers_and_images(template_spec: dict | None) -> tuple[str, str]:
    containers = (template_spec or {}).get("containers") or []
    return ",".join(c.get("name", "") for c in containers), ",".join(c.get("image", "") for c in containers)


def _template_spec(obj: dict) -> dict:
    return ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}


def _join_host_port(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _list_with_more(items: list[str], total: int, limit: int = 3, empty: str = "<unset>") -> str:
    text = ",".join(items[:limit])
    if total > limit:
        return f"{text} + {total - limit} more..."
    return text or empty


# --- printers (one per kind; cells in column order, wide cells included) ---------------------------------


def _pod_cells(pod: dict, now: dt.datetime) -> list:
    meta, spec, status = _meta(pod), pod.get("spec") or {}, pod.get("status") or {}
    phase = status.get("phase") or ""
    reason = status.get("reason") or phase
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    init_specs = {c.get("name"): c for c in spec.get("initContainers") or []}

    def restartable(name: str | None) -> bool:
        # Sidecars are init containers with restartPolicy Always; they count as regular containers.
        return (init_specs.get(name) or {}).get("restartPolicy") == "Always"

    total = len(spec.get("containers") or []) + sum(1 for n in init_specs if restartable(n))
    ready = 0
    restarts = 0
    sidecar_restarts = 0
    last_restart: dt.datetime | None = None
    last_sidecar_restart: dt.datetime | None = None

    def finished_at(cs: dict) -> dt.datetime | None:
        return parse_time(((cs.get("lastState") or {}).get("terminated") or {}).get("finishedAt"))

    def later(a: dt.datetime | None, b: dt.datetime | None) -> dt.datetime | None:
        return b if a is None or (b is not None and b > a) else a

    initializing = False
    init_count = len(spec.get("initContainers") or [])
    for i, cs in enumerate(status.get("initContainerStatuses") or []):
        name, state = cs.get("name"), cs.get("state") or {}
        restarts += int(cs.get("restartCount") or 0)
        last_restart = later(last_restart, finished_at(cs))
        if restartable(name):
            sidecar_restarts += int(cs.get("restartCount") or 0)
            last_sidecar_restart = later(last_sidecar_restart, finished_at(cs))
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if terminated is not None and int(terminated.get("exitCode") or 0) == 0:
            continue
        if restartable(name) and cs.get("started"):
            if cs.get("ready"):
                ready += 1
            continue
        if terminated is not None:
            if terminated.get("reason"):
                reason = "Init:" + terminated["reason"]
            elif terminated.get("signal"):
                reason = f"Init:Signal:{terminated['signal']}"
            else:
                reason = f"Init:ExitCode:{terminated.get('exitCode', 0)}"
        elif waiting and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{init_count}"
        initializing = True
        break

    initialized = any(
        c.get("type") == "Initialized" and c.get("status") == "True" for c in status.get("conditions") or []
    )
    if not initializing or initialized:
        restarts, last_restart = sidecar_restarts, last_sidecar_restart
        has_running = False
        # Walk backwards so the first container's state wins, as kubectl users know it.
        for cs in reversed(status.get("containerStatuses") or []):
            state = cs.get("state") or {}
            restarts += int(cs.get("restartCount") or 0)
            last_restart = later(last_restart, finished_at(cs))
            waiting, terminated = state.get("waiting"), state.get("terminated")
            if waiting and waiting.get("reason"):
                reason = waiting["reason"]
            elif terminated and terminated.get("reason"):
                reason = terminated["reason"]
            elif terminated is not None:
                if terminated.get("signal"):
                    reason = f"Signal:{terminated['signal']}"
                else:
                    reason = f"ExitCode:{terminated.get('exitCode', 0)}"
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            pod_ready = any(
                c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or []
            )
            reason = "Running" if pod_ready else "NotReady"

    if meta.get("deletionTimestamp") and status.get("reason") == "NodeLost":
        reason = "Unknown"
    elif meta.get("deletionTimestamp") and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"

    restarts_text = str(restarts)
    if restarts and last_restart is not None:
        restarts_text = f"{restarts} ({human_duration((_aware(now) - last_restart).total_seconds())} ago)"

    # Real servers fill both podIP and podIPs; accept a simulated pod that only sets podIP.
    pod_ips = status.get("podIPs") or []
    pod_ip = (pod_ips[0].get("ip") if pod_ips else status.get("podIP")) or "<none>"
    gates = spec.get("readinessGates") or []
    gates_text = "<none>"
    if gates:
        conds = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
        true_count = sum(1 for g in gates if conds.get(g.get("conditionType")) == "True")
        gates_text = f"{true_count}/{len(gates)}"
    return [
        meta.get("name", ""),
        f"{ready}/{total}",
        reason,
        restarts_text,
        _age(pod, now),
        pod_ip,
        spec.get("nodeName") or "<none>",
        status.get("nominatedNodeName") or "<none>",
        gates_text,
    ]


def _deployment_cells(obj: dict, now: dt.datetime) -> list:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers_and_images(_template_spec(obj))
    return [
        _meta(obj).get("name", ""),
        f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 0)}",
        int(status.get("updatedReplicas", 0)),
        int(status.get("availableReplicas", 0)),
        _age(obj, now),
        names,
        images,
        selector_string(spec.get("selector")),
    ]


def _replicaset_cells(obj: dict, now: dt.datetime) -> list:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers_and_images(_template_spec(obj))
    return [
        _meta(obj).get("name", ""),
        int(spec.get("replicas", 0)),
        int(status.get("replicas", 0)),
        int(status.get("readyReplicas", 0)),
        _age(obj, now),
        names,
        images,
        selector_string(spec.get("selector")) or "<none>",
    ]


def _daemonset_cells(obj: dict, now: dt.datetime) -> list:
    status = obj.get("status") or {}
    names, images = _containers_and_images(_template_spec(obj))
    return [
        _meta(obj).get("name", ""),
        int(status.get("desiredNumberScheduled", 0)),
        int(status.get("currentNumberScheduled", 0)),
        int(status.get("numberReady", 0)),
        int(status.get("updatedNumberScheduled", 0)),
        int(status.get("numberAvailable", 0)),
        format_labels(_template_spec(obj).get("nodeSelector")),
        _age(obj, now),
        names,
        images,
        selector_string((obj.get("spec") or {}).get("selector")) or "<none>",
    ]


def _service_external_ip(spec: dict, status: dict) -> str:
    svc_type = spec.get("type") or "ClusterIP"
    external = spec.get("externalIPs") or []
    if svc_type in ("ClusterIP", "NodePort"):
        return ",".join(external) if external else "<none>"
    if svc_type == "LoadBalancer":
        ingress = (status.get("loadBalancer") or {}).get("ingress") or []
        lb = sorted({i.get("ip") or i.get("hostname") for i in ingress if i.get("ip") or i.get("hostname")})
        lb_text = ",".join(lb)
        if len(lb_text) > 16:  # the narrow column is clipped to 16 bytes
            lb_text = lb_text[:13] + "..."
        if external:
            return ",".join(([lb_text] if lb_text else []) + external)
        return lb_text or "<pending>"
    if svc_type == "ExternalName":
        return spec.get("externalName", "")
    return "<unknown>"


def _service_cells(obj: dict, now: dt.datetime) -> list:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    cluster_ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    ports = []
    for p in spec.get("ports") or []:
        proto = p.get("protocol", "TCP")
        node_port = p.get("nodePort")
        ports.append(f"{p.get('port')}:{node_port}/{proto}" if node_port else f"{p.get('port')}/{proto}")
    return [
        _meta(obj).get("name", ""),
        spec.get("type") or "ClusterIP",
        cluster_ips[0] if cluster_ips else "<none>",
        _service_external_ip(spec, status),
        ",".join(ports) or "<none>",
        _age(obj, now),
        format_labels(spec.get("selector")),
    ]


def _node_cells(obj: dict, now: dt.datetime) -> list:
    meta, spec, status = _meta(obj), obj.get("spec") or {}, obj.get("status") or {}
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    states = ["Unknown"] if ready is None else ["Ready" if ready.get("status") == "True" else "NotReady"]
    if spec.get("unschedulable"):
        states.append("SchedulingDisabled")
    roles = set()
    for key, value in (meta.get("labels") or {}).items():
        if key.startswith("node-role.kubernetes.io/") and key[len("node-role.kubernetes.io/"):]:
            roles.add(key[len("node-role.kubernetes.io/"):])
        elif key == "kubernetes.io/role" and value:
            roles.add(value)
    addresses = status.get("addresses") or []

    def address(kind: str) -> str:
        return next((a.get("address") for a in addresses if a.get("type") == kind), None) or "<none>"

    info = status.get("nodeInfo") or {}
    return [
        meta.get("name", ""),
        ",".join(states),
        ",".join(sorted(roles)) or "<none>",
        _age(obj, now),
        info.get("kubeletVersion", ""),
        address("InternalIP"),
        address("ExternalIP"),
        info.get("osImage") or "<unknown>",
        info.get("kernelVersion") or "<unknown>",
        info.get("containerRuntimeVersion") or "<unknown>",
    ]


def _namespace_cells(obj: dict, now: dt.datetime) -> list:
    return [_meta(obj).get("name", ""), (obj.get("status") or {}).get("phase", ""), _age(obj, now)]


def _core_event(obj: dict) -> dict:
    """events.k8s.io/v1 fields mapped onto core/v1 ones; the apiserver prints both through one printer."""
    if not (obj.get("apiVersion", "").startswith("events.k8s.io/") or "regarding" in obj or "note" in obj):
        return obj
    return {
        "metadata": obj.get("metadata") or {},
        "involvedObject": obj.get("regarding") or {},
        "reason": obj.get("reason", ""),
        "message": obj.get("note", ""),
        "type": obj.get("type", ""),
        "source": obj.get("deprecatedSource") or {},
        "firstTimestamp": obj.get("deprecatedFirstTimestamp"),
        "lastTimestamp": obj.get("deprecatedLastTimestamp"),
        "count": obj.get("deprecatedCount", 0),
        "eventTime": obj.get("eventTime"),
        "series": obj.get("series"),
        "reportingComponent": obj.get("reportingController", ""),
        "reportingInstance": obj.get("reportingInstance", ""),
    }


def _event_cells(obj: dict, now: dt.datetime) -> list:
    ev = _core_event(obj)
    first = since(ev.get("firstTimestamp"), now) if ev.get("firstTimestamp") else since(ev.get("eventTime"), now)
    last = since(ev.get("lastTimestamp"), now) if ev.get("lastTimestamp") else first
    count = int(ev.get("count") or 0)
    series = ev.get("series")
    if series:
        last = since(series.get("lastObservedTime"), now)
        count = int(series.get("count") or 0)
    elif count == 0:
        count = 1  # singleton events of the new API carry no count
    involved = ev.get("involvedObject") or {}
    kind = (involved.get("kind") or "").lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    source = ev.get("source") or {}
    component = source.get("component") or ev.get("reportingComponent") or ""
    instance = source.get("host") or ev.get("reportingInstance") or ""
    return [
        last,
        ev.get("type", ""),
        ev.get("reason", ""),
        target,
        involved.get("fieldPath", ""),
        f"{component}, {instance}" if instance else component,
        (ev.get("message") or "").strip(),
        first,
        count,
        _meta(ev).get("name", ""),
    ]


def _endpoints_cells(obj: dict, now: dt.datetime) -> list:
    subsets = obj.get("subsets") or []
    if not subsets:
        text = "<none>"
    else:
        shown: list[str] = []
        total = 0
        for ss in subsets:
            addresses = [a.get("ip", "") for a in ss.get("addresses") or []]
            ports = ss.get("ports") or []
            if not ports:  # headless services may have no ports
                total += len(addresses)
                shown.extend(addresses)
                continue
            for port in ports:
                total += len(addresses)
                shown.extend(_join_host_port(ip, port.get("port", 0)) for ip in addresses)
        text = ",".join(shown[:3])
        if total > 3:
            text = f"{text} + {total - 3} more..."
    return [_meta(obj).get("name", ""), text, _age(obj, now)]


def _endpointslice_cells(obj: dict, now: dt.datetime) -> list:
    ports = []
    for p in obj.get("ports") or []:
        if p.get("port") is not None:
            ports.append(str(p["port"]))
        elif p.get("name") is not None:
            ports.append(p["name"])
        else:
            ports.append("*")
    addresses = [a for ep in obj.get("endpoints") or [] for a in ep.get("addresses") or []]
    return [
        _meta(obj).get("name", ""),
        obj.get("addressType", ""),
        _list_with_more(ports, len(ports)),
        _list_with_more(addresses, len(addresses)),
        _age(obj, now),
    ]


def _configmap_cells(obj: dict, now: dt.datetime) -> list:
    count = len(obj.get("data") or {}) + len(obj.get("binaryData") or {})
    return [_meta(obj).get("name", ""), count, _age(obj, now)]


def _lease_cells(obj: dict, now: dt.datetime) -> list:
    return [_meta(obj).get("name", ""), (obj.get("spec") or {}).get("holderIdentity") or "<unset>", _age(obj, now)]


def _secret_cells(obj: dict, now: dt.datetime) -> list:
    return [_meta(obj).get("name", ""), obj.get("type") or "", len(obj.get("data") or {}), _age(obj, now)]


def _serviceaccount_cells(obj: dict, now: dt.datetime) -> list:
    return [_meta(obj).get("name", ""), len(obj.get("secrets") or []), _age(obj, now)]


def _replicationcontroller_cells(obj: dict, now: dt.datetime) -> list:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers_and_images(_template_spec(obj))
    return [
        _meta(obj).get("name", ""),
        int(spec.get("replicas", 0)),
        int(status.get("replicas", 0)),
        int(status.get("readyReplicas", 0)),
        _age(obj, now),
        names,
        images,
        format_labels(spec.get("selector")),
    ]


def _statefulset_cells(obj: dict, now: dt.datetime) -> list:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers_and_images(_template_spec(obj))
    return [_meta(obj).get("name", ""), f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}",
            _age(obj, now), names, images]


def _has_condition(status: dict, kind: str) -> bool:
    return any(c.get("type") == kind and c.get("status") == "True" for c in status.get("conditions") or [])


def _job_cells(obj: dict, now: dt.datetime) -> list:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    succeeded = int(status.get("succeeded", 0))
    if spec.get("completions") is not None:
        completions = f"{succeeded}/{spec['completions']}"
    elif int(spec.get("parallelism") or 1) > 1:
        completions = f"{succeeded}/1 of {spec['parallelism']}"
    else:
        completions = f"{succeeded}/1"
    for kind in ("Complete", "Failed"):
        if _has_condition(status, kind):
            state = kind
            break
    else:
        if _meta(obj).get("deletionTimestamp"):
            state = "Terminating"
        elif _has_condition(status, "FailureTarget"):
            state = "FailureTarget"
        elif _has_condition(status, "SuccessCriteriaMet"):
            state = "SuccessCriteriaMet"
        elif spec.get("suspend"):
            state = "Suspended"
        else:
            state = "Running"
    start, end = parse_time(status.get("startTime")), parse_time(status.get("completionTime"))
    if start is None:
        duration = ""
    else:
        duration = human_duration(((end or _aware(now)) - start).total_seconds())
    names, images = _containers_and_images(_template_spec(obj))
    return [_meta(obj).get("name", ""), state, completions, duration, _age(obj, now), names, images,
            selector_string(spec.get("selector")) or "<none>"]


def _cronjob_cells(obj: dict, now: dt.datetime) -> list:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    job_spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    names, images = _containers_and_images(((job_spec.get("template") or {}).get("spec")) or {})
    suspend = spec.get("suspend")
    last = status.get("lastScheduleTime")
    return [
        _meta(obj).get("name", ""),
        spec.get("schedule", ""),
        spec.get("timeZone") or "<none>",
        "<unset>" if suspend is None else ("True" if suspend else "False"),
        len(status.get("active") or []),
        since(last, now) if last else "<none>",
        _age(obj, now),
        names,
        images,
        selector_string(job_spec.get("selector")) or "<none>",
    ]


def _binding_cells(obj: dict, now: dt.datetime) -> list:
    ref = obj.get("roleRef") or {}
    users, groups, accounts = [], [], []
    for s in obj.get("subjects") or []:
        if s.get("kind") == "User":
            users.append(s.get("name", ""))
        elif s.get("kind") == "Group":
            groups.append(s.get("name", ""))
        elif s.get("kind") == "ServiceAccount":
            accounts.append(f"{s.get('namespace', '')}/{s.get('name', '')}")
    return [_meta(obj).get("name", ""), f"{ref.get('kind', '')}/{ref.get('name', '')}", _age(obj, now),
            ", ".join(users), ", ".join(groups), ", ".join(accounts)]


def _default_cells(obj: dict, now: dt.datetime) -> list:
    created = parse_time(_meta(obj).get("creationTimestamp"))
    stamp = created.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if created else "0001-01-01T00:00:00Z"
    return [_meta(obj).get("name", ""), stamp]


_PRINTERS: dict[str, Callable[[dict, dt.datetime], list]] = {
    "Pod": _pod_cells,
    "Deployment": _deployment_cells,
    "ReplicaSet": _replicaset_cells,
    "DaemonSet": _daemonset_cells,
    "Service": _service_cells,
    "Node": _node_cells,
    "Namespace": _namespace_cells,
    "Event": _event_cells,
    "Endpoints": _endpoints_cells,
    "EndpointSlice": _endpointslice_cells,
    "ConfigMap": _configmap_cells,
    "Lease": _lease_cells,
    "Secret": _secret_cells,
    "ServiceAccount": _serviceaccount_cells,
    "ReplicationController": _replicationcontroller_cells,
    "StatefulSet": _statefulset_cells,
    "Job": _job_cells,
    "CronJob": _cronjob_cells,
    "RoleBinding": _binding_cells,
    "ClusterRoleBinding": _binding_cells,
}


def row_cells(kind: str, obj: dict, now: dt.datetime) -> list:
    """The cells of one object's row, in `column_definitions(kind)` order (wide cells included)."""
    return _PRINTERS.get(kind, _default_cells)(obj, now)


# --- the Table -------------------------------------------------------------------------------------------


def partial_object_metadata(obj: dict) -> dict:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": dict(_meta(obj))}


def _row_conditions(kind: str, obj: dict) -> list[dict] | None:
    # The real server flags finished pods on the row; clients can tell them apart without the object.
    if kind != "Pod":
        return None
    phase = (obj.get("status") or {}).get("phase")
    if phase == "Succeeded":
        message = "The pod has completed successfully."
    elif phase == "Failed":
        message = "The pod failed."
    else:
        return None
    return [{"type": "Completed", "status": "True", "reason": phase, "message": message}]


def build_table(
    kind: str,
    objects: Iterable[dict],
    now: dt.datetime,
    include_object: str = "Metadata",
    resource_version: str = "",
    with_columns: bool = True,
    continue_token: str = "",
) -> dict:
    """A `meta.k8s.io/v1` Table of `objects` (all of one kind), ages computed against `now`."""
    columns = column_definitions(kind)
    rows = []
    for obj in objects:
        cells = row_cells(kind, obj, now)
        if len(cells) != len(columns):  # a short row would silently shift kubectl's columns
            raise ValueError(f"{kind} printer produced {len(cells)} cells for {len(columns)} columns")
        row: dict = {"cells": cells}
        conditions = _row_conditions(kind, obj)
        if conditions:
            row["conditions"] = conditions
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = partial_object_metadata(obj)
        rows.append(row)
    metadata: dict = {"resourceVersion": resource_version}
    if continue_token:
        metadata["continue"] = continue_token
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": columns if with_columns else [],
        "rows": rows,
    }
