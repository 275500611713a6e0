"""A new playground boots the seed's cluster: one master, two workers, the control plane running in pods."""

from __future__ import annotations

import ipaddress

from django.db import transaction

from . import clock, names, rbac_defaults
from .models import Endpoints, Namespace, Node, Playground, Pod, Service
from .writes import Batch, do_create

ACTOR = "kubeadm"
VERSION = "v1.37.1"
NODES = [
    ("k8s-master", "192.168.56.10", "10.244.0.0/24", True),
    ("k8s-node1", "192.168.56.11", "10.244.1.0/24", False),
    ("k8s-node2", "192.168.56.12", "10.244.2.0/24", False),
]
CONTROL_PLANE_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


def node_conditions(now: str) -> list[dict]:
    """A healthy node's conditions, as its kubelet posts them."""

    def cond(type_, status, reason, message):
        return {"type": type_, "status": status, "lastHeartbeatTime": now, "lastTransitionTime": now,
                "reason": reason, "message": message}

    return [
        cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
        cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        cond("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
    ]


def node_object(name: str, ip: str, cidr: str, control_plane: bool = False, cpu: str = "2",
                memory: str = "4026512Ki") -> Node:
    now = clock.rfc3339(clock.now())
    labels = {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
    }
    if control_plane:
        labels["node-role.kubernetes.io/control-plane"] = ""
    spec = {"podCIDR": cidr, "podCIDRs": [cidr]}
    if control_plane:
        spec["taints"] = [dict(CONTROL_PLANE_TAINT)]
    capacity = {"cpu": cpu, "memory": memory, "pods": "110", "ephemeral-storage": "17394Mi"}

    status = {
        "capacity": capacity,
        "allocatable": dict(capacity),
        "conditions": node_conditions(now),
        "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": {
            "machineID": names.safe_encode(name) * 2,
            "systemUUID": names.safe_encode(name),
            "bootID": names.safe_encode(name[::-1]),
            "kernelVersion": "3.10.0-1160.el7.x86_64",
            "osImage": "CentOS Linux 7 (Core)",
            "containerRuntimeVersion": "containerd://1.7.24",
            "kubeletVersion": VERSION,
            "kubeProxyVersion": VERSION,
            "operatingSystem": "linux",
            "architecture": "amd64",
        },
        "images": [],
    }
    return Node(name=name, labels=labels, spec=spec, status=status)


def _running_pod(name: str, namespace: str, node: Node, image: str, labels: dict, host_ip: str,
                 pod_ip: str, owner: dict | None = None, priority_class: str = "system-node-critical") -> Pod:
    now = clock.rfc3339(clock.now())
    cname = name.split("-")[0] if not name.startswith("kube-") else "-".join(name.split("-")[:2])
    spec = {
        "nodeName": node.name,
        "hostNetwork": True,
        "priorityClassName": priority_class,
        "tolerations": [{"operator": "Exists", "effect": "NoSchedule"}, {"operator": "Exists", "effect": "NoExecute"}],
        "containers": [{"name": cname, "image": image, "resources": {"requests": {"cpu": "100m"}}}],
    }
    from .defaults import pod_spec

    pod_spec(spec)
    status = {
        "phase": "Running",
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "podIP": pod_ip,
        "podIPs": [{"ip": pod_ip}],
        "startTime": now,
        "qosClass": "Burstable",
        "conditions": [
            {"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": now}
            for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")
        ],
        "containerStatuses": [
            {
                "name": cname,
                "image": image,
                "imageID": f"{image.split(':')[0]}@sha256:{names.safe_encode(image) * 4}"[:120],
                "containerID": f"containerd://{names.safe_encode(name + 'c') * 3}",
                "ready": True,
                "started": True,
                "restartCount": 0,
                "state": {"running": {"startedAt": now}},
                "lastState": {},
            }
        ],
    }
    return Pod(name=name, namespace=namespace, labels=labels, spec=spec, status=status,
               owner_references=[owner] if owner else [])


STATIC_PODS = {
    "etcd": "registry.k8s.io/etcd:3.5.21-0",
    "kube-apiserver": f"registry.k8s.io/kube-apiserver:{VERSION}",
    "kube-controller-manager": f"registry.k8s.io/kube-controller-manager:{VERSION}",
    "kube-scheduler": f"registry.k8s.io/kube-scheduler:{VERSION}",
}


def static_pod(component: str, master: Node) -> Pod:
    """The mirror pod of a control-plane component's manifest in /etc/kubernetes/manifests on the master."""
    ip = next((a["address"] for a in (master.status or {}).get("addresses") or [] if a.get("type") == "InternalIP"),
              NODES[0][1])
    owner = {"apiVersion": "v1", "kind": "Node", "name": master.name, "uid": master.uid, "controller": True}
    return _running_pod(f"{component}-{master.name}", "kube-system", master, STATIC_PODS[component],
                        {"component": component, "tier": "control-plane"}, ip, ip, owner)


def create_playground(slug: str, tempo: str = "realtime") -> Playground:
    """Create a playground and boot the seed's cluster in it; the coredns Deployment converges at once."""
    from . import nudge

    with nudge.capture() as seeded, transaction.atomic():
        # Paused while it boots: the ticker and the workers leave it alone until it is up (see `converge`).
        pg = Playground.objects.create(slug=slug, tempo="instant", paused=True)
        seed(pg)
    return converge(pg, tempo, set(seeded))


def converge(pg: Playground, tempo: str, seeded: set[tuple[str, str]] | None = None,
             paused: bool = False) -> Playground:
    """Run the loops at tempo instant until the seed's cluster is up (every system pod Running), then set `tempo`
    (and `paused`). The playground is paused meanwhile, so the workers and the ticker leave it to this call, which
    runs the loops itself (a pause stops the workers, not `settle`): from what the seed's writes nudged (`seeded`),
    as the workers would, without a first or a last full look (the ticker's first resync of a playground it has
    not seen yet is that look)."""
    from . import nudge, runtime

    with nudge.quiet_loops():
        if seeded is None:
            runtime.settle(pg)
        else:
            runtime.settle(pg, targets=seeded, confirm=False)
    Playground.objects.filter(pk=pg.pk).update(tempo=tempo, paused=paused)
    pg.refresh_from_db()
    return pg


def seed(pg: Playground) -> None:
    """Write the seed's cluster into an empty playground (in the caller's transaction)."""
    b = Batch(pg, ACTOR)
    for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
        b.create(Namespace(name=ns, labels={"kubernetes.io/metadata.name": ns}, spec={"finalizers": ["kubernetes"]},
                           status={"phase": "Active"}), f"kubeadm created namespace {ns}")
    nodes = []
    for name, ip, cidr, cp in NODES:
        node = node_object(name, ip, cidr, cp)
        nodes.append(node)
        b.create(node, f"kubelet on {name} registered node {name}")
    b.commit()
    master = nodes[0]
    mip = NODES[0][1]
    b = Batch(pg, ACTOR)
    for comp in STATIC_PODS:
        b.create(static_pod(comp, master), f"kubelet on {master.name} started static pod {comp}")
    b.create(Service(namespace="default", name="kubernetes", labels={"component": "apiserver", "provider": "kubernetes"},
                     spec={"clusterIP": "10.96.0.1", "clusterIPs": ["10.96.0.1"], "type": "ClusterIP",
                           "sessionAffinity": "None", "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                           "internalTrafficPolicy": "Cluster",
                           "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]},
                     status={"loadBalancer": {}}), "kube-apiserver published the kubernetes service")
    b.create(Endpoints(namespace="default", name="kubernetes", labels={"endpointslice.kubernetes.io/skip-mirror": "true"},
                       spec={"subsets": [{"addresses": [{"ip": mip}],
                                          "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]}]}),
             "kube-apiserver published its own endpoint")
    b.commit()
    do_create(pg, {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "kube-dns", "namespace": "kube-system",
                     "labels": {"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true",
                                "kubernetes.io/name": "CoreDNS"}},
        "spec": {"clusterIP": "10.96.0.10", "selector": {"k8s-app": "kube-dns"},
                 "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                           {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                           {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153}]},
    }, ACTOR)
    for name in rbac_defaults.CLUSTER_ROLES:
        do_create(pg, rbac_defaults.cluster_role(name), "kube-apiserver")
    for name in rbac_defaults.CLUSTER_ROLE_BINDINGS:
        do_create(pg, rbac_defaults.cluster_role_binding(name), "kube-apiserver")
    do_create(pg, kube_proxy_daemonset(), ACTOR)
    do_create(pg, flannel_daemonset(), ACTOR)
    do_create(pg, coredns_deployment(), ACTOR)


# Node agents run everywhere, the tainted master and a cordoned node included.
NODE_AGENT_TOLERATIONS = [{"operator": "Exists", "effect": "NoSchedule"}, {"operator": "Exists", "effect": "NoExecute"}]


def _node_agent(name: str, labels: dict, container: dict, node_selector: dict | None = None) -> dict:
    spec = {
        "hostNetwork": True,
        "priorityClassName": "system-node-critical",
        "tolerations": [dict(t) for t in NODE_AGENT_TOLERATIONS],
        "containers": [container],
    }
    if node_selector:
        spec["nodeSelector"] = node_selector
    return {
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": name, "namespace": "kube-system", "labels": dict(labels)},
        "spec": {
            "selector": {"matchLabels": dict(labels)},
            "template": {"metadata": {"labels": dict(labels)}, "spec": spec},
        },
    }


def kube_proxy_daemonset() -> dict:
    return _node_agent("kube-proxy", {"k8s-app": "kube-proxy"}, {
        "name": "kube-proxy", "image": f"registry.k8s.io/kube-proxy:{VERSION}",
        "command": ["/usr/local/bin/kube-proxy", "--config=/var/lib/kube-proxy/config.conf",
                    "--hostname-override=$(NODE_NAME)"],
        "env": [{"name": "NODE_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.nodeName"}}}],
        "securityContext": {"privileged": True},
        "resources": {"requests": {"cpu": "100m"}},
    }, node_selector={"kubernetes.io/os": "linux"})


def flannel_daemonset() -> dict:
    return _node_agent("kube-flannel-ds", {"app": "flannel", "k8s-app": "flannel"}, {
        "name": "kube-flannel", "image": "docker.io/flannel/flannel:v0.26.4",
        "command": ["/opt/bin/flanneld"], "args": ["--ip-masq", "--kube-subnet-mgr"],
        "securityContext": {"privileged": False, "capabilities": {"add": ["NET_ADMIN", "NET_RAW"]}},
        "resources": {"requests": {"cpu": "100m"}},
    })


def coredns_deployment() -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "coredns", "namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"k8s-app": "kube-dns"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": "25%"}},
            "template": {
                "metadata": {"labels": {"k8s-app": "kube-dns"}},
                "spec": {
                    "priorityClassName": "system-cluster-critical",
                    "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"},
                                    {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}],
                    "containers": [{
                        "name": "coredns", "image": "registry.k8s.io/coredns/coredns:v1.12.0",
                        "args": ["-conf", "/etc/coredns/Corefile"],
                        "ports": [{"name": "dns", "containerPort": 53, "protocol": "UDP"},
                                  {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
                                  {"name": "metrics", "containerPort": 9153, "protocol": "TCP"}],
                        "resources": {"limits": {"memory": "170Mi"}, "requests": {"cpu": "100m", "memory": "70Mi"}},
                    }],
                },
            },
        },
    }


def pod_cidr_hosts(cidr: str):
    """Pod IPs a node hands out: flannel keeps .0 and .1 (cni0) for itself."""
    net = ipaddress.ip_network(cidr)
    for i, ip in enumerate(net.hosts()):
        if i == 0:
            continue
        yield str(ip)


def get_or_create_default() -> Playground:
    pg = Playground.objects.filter(slug="default").first()
    return pg or create_playground("default")
