"""Small builders shared by the loop tests."""

from cluster_core import bootstrap, writes
from cluster_core.models import Namespace, Playground, Pod


def bare_playground(slug: str, tempo: str = "realtime"):
    """Namespaces and the seed's three nodes, nothing running: for a loop tested on its own."""
    pg = Playground.objects.create(slug=slug, tempo=tempo)
    b = writes.Batch(pg, "test")
    for ns in ("default", "kube-system"):
        b.create(Namespace(name=ns, status={"phase": "Active"}))
    for name, ip, cidr, cp in bootstrap.NODES:
        b.create(bootstrap.node_object(name, ip, cidr, cp))
    b.commit()
    return pg


def running_deployment(pg, name: str, namespace: str = "default", replicas: int = 2) -> None:
    """A Deployment whose ReplicaSet made its pods, which are bound and Running: the kubelet's part done by hand."""
    from cluster_core.controllers import deployment, replicaset

    writes.do_create(pg, {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}},
    }, "kubectl")
    deployment.reconcile(pg, f"{namespace}/{name}")
    for key in replicaset.keys(pg):
        replicaset.reconcile(pg, key)
    b = writes.Batch(pg, "kubelet")
    for pod in Pod.objects.filter(playground=pg):
        pod.spec = {**pod.spec, "nodeName": "k8s-node1"}
        pod.status = {"phase": "Running"}
        b.update(pod)
    b.commit()
