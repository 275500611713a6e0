"""The page and its action fragments: every POST answers with the kubectl line, errors are readable, never a 500."""

import pytest
from django.test import Client

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def client():
    return Client()


def post(client, action, **data):
    return client.post(f"/p/default/{action}", data, **HX)


def test_it_links_the_root_to_the_default_playground(cluster, client):
    html = client.get("/").content.decode()
    assert 'href="/p/default/"' in html


def test_it_renders_the_page_in_english(cluster, client):
    html = client.get("/p/default/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "kube-apiserver" in html and "kube-scheduler" in html and "k8s-node1" in html
    assert ">Deploy</button>" in html and "What Kubernetes is doing" in html


def test_it_renders_the_page_in_chinese_from_accept_language(cluster, client):
    html = client.get("/p/default/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()
    assert '<html lang="zh-hans">' in html
    # Chinese has no plural: the Service's endpoints are counted with the same noun as one.
    assert '"endpoints": "%s \\u4e2a endpoint"' in html and '"endpoint": "1 \\u4e2a endpoint"' in html
    assert ">部署</button>" in html and "Kubernetes 正在做什么" in html


def test_it_deploys_and_shows_the_kubectl_line(cluster, client):
    response = post(client, "deploy", name="test1", image="nginx", replicas="1")
    html = response.content.decode()
    assert response.status_code == 200
    assert "kubectl create deployment test1 --image=nginx" in html
    assert "deployment.apps/test1 created" in html


def test_it_runs_each_action_and_returns_its_fragment(cluster, client):
    from cluster_core import runtime

    post(client, "deploy", name="test1", image="nginx", replicas="1")
    runtime.settle(cluster)
    expected = [
        ("expose", {"name": "test1", "port": "80", "type": "NodePort"}, "kubectl expose deployment test1",
         "service/test1 exposed"),
        ("scale", {"name": "test1", "replicas": "3"}, "kubectl scale deployment test1 --replicas=3",
         "deployment.apps/test1 scaled"),
        ("set-image", {"name": "test1", "image": "httpd"}, "kubectl set image", "image updated"),
        ("rollback", {"name": "test1"}, "kubectl rollout undo deployment test1", "rolled back"),
        ("curl", {"target": "test1", "path": "/"}, "curl test1", "Welcome to nginx!"),
        ("delete", {"kind": "service", "name": "test1"}, "kubectl delete service test1", "deleted"),
    ]
    for action, data, line, success in expected:
        response = post(client, action, **data)
        html = response.content.decode()
        assert response.status_code == 200, (action, html)
        assert line in html, (action, html)
        assert success in html, (action, html)
        runtime.settle(cluster)


def test_it_answers_bad_input_with_a_readable_422_fragment(cluster, client):
    cases = [
        ("scale", {"name": "test1", "replicas": "many"}, "Replicas must be a whole number"),
        ("expose", {"name": "test1", "port": "0"}, "Port must be at least 1"),
        ("scale", {"name": "nope", "replicas": "2"}, 'deployments.apps &quot;nope&quot; not found'),
        ("deploy", {"name": "Bad_Name", "image": "nginx"}, "Bad_Name"),
        ("curl", {"target": ""}, "Name a Service"),
        ("rollback", {"name": "test1", "revision": "x"}, "Revision must be a whole number"),
    ]
    for action, data, text in cases:
        response = post(client, action, **data)
        assert response.status_code == 422, (action, response.content)
        assert text in response.content.decode(), (action, response.content.decode())


def test_it_translates_a_readable_error(cluster, client):
    client.cookies["django_language"] = "zh-hans"
    response = post(client, "scale", name="test1", replicas="x")
    assert "副本数 必须是整数" in response.content.decode()


def test_it_sets_the_tempo_and_single_steps_the_loops(cluster, client):
    from cluster_core.models import Deployment, Playground, ReplicaSet

    response = client.post("/p/default/tempo", {"tempo": "classroom"}, **HX)
    assert response.status_code == 200 and 'value="classroom" aria-pressed="true"' in response.content.decode()
    client.post("/p/default/tempo", {"tempo": "pause"}, **HX)
    pg = Playground.objects.get(slug="default")
    assert (pg.tempo, pg.paused) == ("classroom", True)
    post(client, "deploy", name="test1", image="nginx")
    assert Deployment.objects.filter(name="test1").exists()
    assert not ReplicaSet.objects.filter(name__startswith="test1-").exists()
    client.post("/p/default/tempo", {"tempo": "step"}, **HX)
    assert ReplicaSet.objects.filter(name__startswith="test1-").exists()


def test_it_explains_why_a_pod_exists(cluster, client):
    from cluster_core import runtime
    from cluster_core.models import Pod

    post(client, "deploy", name="test1", image="nginx")
    runtime.settle(cluster)
    pod = Pod.objects.get(name__startswith="test1-")
    html = client.get(f"/p/default/why/Pod/default/{pod.name}").content.decode()
    assert "asked kube-apiserver to create Deployment test1" in html
    assert "created ReplicaSet" in html
    assert f"kube-scheduler bound Pod {pod.name} to {pod.node_name}" in html
    assert "k8s-master" in html and "untolerated taint" in html  # the filter that rejected the master
    assert "Running at" in html


def test_it_explains_why_a_replicaset_exists(cluster, client):
    from cluster_core import runtime
    from cluster_core.models import ReplicaSet

    post(client, "deploy", name="test1", image="nginx", replicas="2")
    runtime.settle(cluster)
    rs = ReplicaSet.objects.get(name__startswith="test1-")
    html = client.get(f"/p/default/why/ReplicaSet/default/{rs.name}").content.decode()
    assert f"Why does ReplicaSet {rs.name} exist?" in html
    own = html.index(f"kube-controller-manager (deployment controller) created ReplicaSet {rs.name} for "
                     "Deployment test1 with 2 replicas")
    cause = html.index("asked kube-apiserver to create Deployment test1 (2 replicas of nginx)")
    assert cause < own  # the owner's write first, then the write that made it
    assert "kube-scheduler" not in html  # a ReplicaSet's chain stops at what made it, not its pods


def test_it_explains_why_a_service_exists_and_what_it_selects(cluster, client):
    from cluster_core import runtime
    from cluster_core.models import Endpoints, Service

    post(client, "deploy", name="test1", image="nginx", replicas="2")
    runtime.settle(cluster)
    post(client, "expose", name="test1", port="80", type="NodePort")
    runtime.settle(cluster)
    node_port = Service.objects.get(name="test1").spec["ports"][0]["nodePort"]
    ips = sorted(a["ip"] for s in Endpoints.objects.get(name="test1").spec["subsets"] for a in s["addresses"])
    html = client.get("/p/default/why/Service/default/test1").content.decode()
    created = html.index(f"asked kube-apiserver to create Service test1 (80:{node_port}/TCP)")
    endpoints = html.index(f"kube-controller-manager (endpoints controller) set the endpoints of Service test1 to "
                           f"{', '.join(ips)}; kube-proxy on every node follows")
    assert created < endpoints
    assert "app=test1" in html  # the selector the endpoints follow


def test_it_runs_a_terminal_line(cluster, client):
    response = client.post("/p/default/terminal", {"line": "kubectl get nodes"}, **HX)
    html = response.content.decode()
    assert response.status_code == 200 and "k8s-node1" in html and "Ready" in html


def test_it_answers_a_terminal_crash_with_a_readable_line(cluster, client, monkeypatch):
    from cluster_core import actions

    def crash(*args, **kwargs):
        raise RuntimeError("a defect")

    monkeypatch.setattr(actions, "call", crash)
    response = client.post("/p/default/terminal", {"line": "kubectl get pods"}, **HX)
    assert response.status_code == 200
    assert "kubeplay: that command failed inside the playground; the cluster is unchanged" in response.content.decode()


def test_it_downloads_a_kubeconfig_for_the_configured_public_host(cluster, client, tmp_path, settings):
    settings.DATA_DIR = tmp_path
    settings.KUBEPLAY_PUBLIC_HOST = "classroom.local"
    settings.ALLOWED_HOSTS = ["classroom.local", "evil.example"]
    response = client.get("/p/default/kubeconfig", HTTP_HOST="evil.example:8000")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    # The server URL comes from configuration, never from the request's Host header.
    assert "server: https://classroom.local:6443/clusters/default" in response.content.decode()


def test_it_refuses_a_page_post_without_the_csrf_token(cluster):
    strict = Client(enforce_csrf_checks=True)
    refused = strict.post("/p/default/deploy", {"name": "x", "image": "nginx", "replicas": "1"}, **HX)
    assert refused.status_code == 403
    page = strict.get("/p/default/")
    token = page.cookies["csrftoken"].value
    accepted = strict.post("/p/default/deploy", {"name": "x", "image": "nginx", "replicas": "1"},
                           HTTP_X_CSRFTOKEN=token, **HX)
    assert accepted.status_code == 200 and "deployment.apps/x created" in accepted.content.decode()


@pytest.mark.django_db(transaction=True)
def test_it_leaves_the_bearer_token_api_outside_csrf(cluster):
    # transaction=True: the API reads from its own thread's connection, which sees only committed rows.
    strict = Client(enforce_csrf_checks=True, headers={"Authorization": f"Bearer {cluster.token}"})
    body = '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}'
    created = strict.post("/clusters/default/api/v1/namespaces/default/configmaps", body,
                          content_type="application/json")
    assert created.status_code == 201


def test_it_lists_the_deployments_revisions_for_rollback(cluster, client):
    from cluster_core import runtime

    post(client, "deploy", name="test1", image="nginx", replicas="1")
    runtime.settle(cluster)
    post(client, "set-image", name="test1", image="httpd")
    runtime.settle(cluster)
    html = client.get("/p/default/revisions", {"name": "test1", "revision": "1"}, **HX).content.decode()
    assert '<option value="">previous</option>' in html
    assert '<option value="1" selected>1 · nginx · test1-' in html
    assert '<option value="2">2 · httpd · test1-' in html and "(current)" in html
    page = client.get("/p/default/").content.decode()
    assert 'id="rollback-revision"' in page and '<option value="2">2 · httpd' in page
    response = post(client, "rollback", name="test1", revision="1")
    assert "kubectl rollout undo deployment test1 --to-revision=1" in response.content.decode()


def test_it_offers_only_previous_for_an_unknown_deployment(cluster, client):
    html = client.get("/p/default/revisions", {"name": "nope"}, **HX).content.decode()
    assert html.count("<option") == 1


def test_it_explains_a_cronjobs_pod_up_to_the_cronjob(cluster, client):
    from cluster_core import runtime, writes
    from cluster_core.models import Pod

    writes.do_create(cluster, {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "cj"},
                               "spec": {"schedule": "*/1 * * * *", "jobTemplate": {"spec": {"template": {"spec": {
                                   "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}}}},
                     "kubectl create cronjob")
    runtime.settle(cluster, horizon=70)
    pod = Pod.objects.get(name__startswith="cj-")
    job = pod.owner_references[0]["name"]
    html = client.get(f"/p/default/why/Pod/default/{pod.name}").content.decode()
    assert f"created Pod {pod.name} for Job {job}" in html
    assert f"created Job {job} for CronJob cj" in html
    assert "kubectl create cronjob" in html
    job_page = client.get(f"/p/default/why/Job/default/{job}").content.decode()
    assert f"Why does Job {job} exist?" in job_page and "for CronJob cj" in job_page
