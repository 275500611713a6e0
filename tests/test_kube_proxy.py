import pytest

from cluster_core import images, kube_proxy
from cluster_core.controllers import endpoints, kubelet, scheduler
from cluster_core.models import LogLine, Playground, Pod
from cluster_core.writes import do_create, do_update
from tests.builders import bare_playground

# ---------------------------------------------------------------------------------------------------------------
# Pure: reading what the user typed


def test_it_parses_targets_as_curl_does():
    assert kube_proxy.parse_target("localhost:30942") == ("localhost", 30942, "/")
    assert kube_proxy.parse_target("http://10.96.0.1/index.html") == ("10.96.0.1", None, "/index.html")
    assert kube_proxy.parse_target("test1.default", "/x") == ("test1.default", None, "/x")


def test_it_rejects_a_bad_port_with_curls_words(db):
    r = kube_proxy.curl(Playground(), "localhost:99999")
    assert r.error == "curl: (3) URL rejected: Port number was not a decimal number between 0 and 65535"
    assert kube_proxy.curl(Playground(), "").error == "curl: (3) URL rejected: No host part in the URL"


# ---------------------------------------------------------------------------------------------------------------
# Against a cluster with running pods


@pytest.fixture
def pg(db, fake_clock, quiet_nudges):
    return bare_playground("proxy", tempo="instant")


def run_pods(pg, app, image, names):
    for name in names:
        do_create(pg, {"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": name, "namespace": "default", "labels": {"app": app}},
                       "spec": {"containers": [{"name": image, "image": image}]}}, "test")
    scheduler.reconcile(pg, "")
    for node in kubelet.keys(pg):
        kubelet.reconcile(pg, node)
    endpoints.reconcile(pg, "")


def expose(pg, app, node_port):
    svc = do_create(pg, {"apiVersion": "v1", "kind": "Service",
                         "metadata": {"name": app, "namespace": "default"},
                         "spec": {"type": "NodePort", "selector": {"app": app},
                                  "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80,
                                             "nodePort": node_port}]}}, "kubectl")
    endpoints.reconcile(pg, "")
    return svc


def test_it_round_robins_a_node_port_over_two_pods(pg):
    run_pods(pg, "test1", "nginx", ["test1-857949f6d6-rwh4c", "test1-857949f6d6-sln25"])
    expose(pg, "test1", 30942)
    answers = [kube_proxy.curl(pg, "localhost:30942") for _ in range(4)]
    assert [a.status for a in answers] == [200] * 4
    assert answers[0].body == images.NGINX_PAGE
    pods = [a.pod for a in answers]
    assert pods[:2] == pods[2:] and set(pods) == {"test1-857949f6d6-rwh4c", "test1-857949f6d6-sln25"}
    # Where each pod runs depends on the scheduler's tie break (random, seeded with the pod's uid).
    placed = dict(Pod.objects.filter(playground=pg).values_list("name", "node_name"))
    assert [a.node for a in answers] == [placed[p] for p in pods]
    assert {a.service for a in answers} == {"test1"}


def test_it_writes_an_access_log_line_on_the_pod_that_answered(pg):
    run_pods(pg, "test1", "nginx", ["web"])
    svc = expose(pg, "test1", 30942)
    r = kube_proxy.curl(pg, svc.spec["clusterIP"], client="10.244.0.0")
    assert r.pod == "web"
    line = LogLine.objects.filter(pod_uid=Pod.objects.get(name="web").uid).last().text
    assert line.startswith('10.244.0.0 - - [26/Nov/2026:09:00:00 +0000] "GET / HTTP/1.1" 200 615')
    kube_proxy.curl(pg, "test1.default:80", path="/missing")
    line = LogLine.objects.filter(pod_uid=Pod.objects.get(name="web").uid).last().text
    assert '"GET /missing HTTP/1.1" 404' in line


def test_it_answers_as_the_pods_image_does(pg):
    run_pods(pg, "test1", "httpd", ["apache"])
    expose(pg, "test1", 30942)
    r = kube_proxy.curl(pg, "k8s-node2:30942")
    assert (r.status, r.body) == (200, "<html><body><h1>It works!</h1></body></html>\n")
    pod_ip = Pod.objects.get(name="apache").status["podIP"]
    assert kube_proxy.curl(pg, pod_ip).body == images.HTTPD_PAGE
    assert kube_proxy.curl(pg, "192.168.56.10:30942").pod == "apache"


def test_it_refuses_a_node_port_without_endpoints(pg):
    expose(pg, "test1", 30942)
    r = kube_proxy.curl(pg, "localhost:30942")
    assert (r.status, r.pod) == (0, None)
    assert r.error == "curl: (7) Failed to connect to localhost port 30942 after 0 ms: Couldn't connect to server"


def test_it_says_what_curl_says_for_unknown_targets(pg):
    assert kube_proxy.curl(pg, "nosuchhost").error == "curl: (6) Could not resolve host: nosuchhost"
    assert kube_proxy.curl(pg, "localhost:31000").error.startswith(
        "curl: (7) Failed to connect to localhost port 31000")
    assert kube_proxy.curl(pg, "10.1.2.3").error.startswith("curl: (28) Failed to connect to 10.1.2.3 port 80")


def test_it_refuses_a_port_nothing_listens_on(pg):
    run_pods(pg, "test1", "nginx", ["web"])
    svc = expose(pg, "test1", 30942)
    body = svc.to_k8s()
    body["spec"]["ports"][0]["targetPort"] = 8080
    do_update(pg, body, "kubectl")
    endpoints.reconcile(pg, "")
    assert kube_proxy.curl(pg, "localhost:30942").error.startswith("curl: (7) Failed to connect to localhost port")
