"""The page's buttons: kubectl's requests through the API router, kubectl's own success and error lines."""

from __future__ import annotations

import pytest

from cluster_core import actions, runtime
from cluster_core.api import views
from cluster_core.errors import AlreadyExists, Invalid, NotFound, cause
from cluster_core.models import Deployment, Pod, ReplicaSet, Service


def live_pods(pg, app: str) -> list[Pod]:
    return [p for p in Pod.objects.filter(playground=pg, namespace="default", deletion_timestamp__isnull=True)
            if (p.labels or {}).get("app") == app]


def running_hashes(pg, app: str) -> set[str]:
    return {p.labels.get("pod-template-hash") for p in live_pods(pg, app) if (p.status or {}).get("phase") == "Running"}


@pytest.fixture
def sent(monkeypatch):
    """Every Call the actions hand to the API router, in order."""
    calls = []
    real = views.route

    def spy(call):
        calls.append(call)
        return real(call)

    monkeypatch.setattr(views, "route", spy)
    return calls


# --- the seed's flow -------------------------------------------------------------------------------------------


def test_it_runs_the_seed_flow_end_to_end(cluster):
    pg = cluster
    r = actions.deploy(pg, "test1", "nginx")
    assert (r.ok, r.message, r.kubectl) == (True, "deployment.apps/test1 created",
                                            "kubectl create deployment test1 --image=nginx")
    assert r.object["metadata"]["name"] == "test1"
    runtime.settle(pg)
    (first,) = running_hashes(pg, "test1")

    r = actions.expose(pg, "test1", 80)
    assert (r.ok, r.message, r.kubectl) == (True, "service/test1 exposed",
                                            "kubectl expose deployment test1 --type=NodePort --port=80")
    node_port = r.object["spec"]["ports"][0]["nodePort"]
    assert 30000 <= node_port <= 32767
    runtime.settle(pg)
    c = actions.curl(pg, f"localhost:{node_port}")
    assert c.ok and "Welcome to nginx!" in c.body and c.object["pod"].startswith(f"test1-{first}-")

    r = actions.scale(pg, "test1", 3)
    assert (r.ok, r.message) == (True, "deployment.apps/test1 scaled")
    runtime.settle(pg)
    assert len(live_pods(pg, "test1")) == 3
    r = actions.scale(pg, "test1", 1)
    runtime.settle(pg)
    assert r.ok and len(live_pods(pg, "test1")) == 1

    r = actions.set_image(pg, "test1", "httpd")
    assert (r.ok, r.message, r.kubectl) == (True, "deployment.apps/test1 image updated",
                                            "kubectl set image deployment/test1 nginx=httpd")
    runtime.settle(pg)
    (second,) = running_hashes(pg, "test1")
    assert second != first
    assert "It works!" in actions.curl(pg, f"localhost:{node_port}").body

    r = actions.rollback(pg, "test1")
    assert (r.ok, r.message) == (True, "deployment.apps/test1 rolled back")
    runtime.settle(pg)
    assert running_hashes(pg, "test1") == {first}
    assert "Welcome to nginx!" in actions.curl(pg, f"localhost:{node_port}").body
    h = actions.history(pg, "test1")
    assert [x["revision"] for x in h.object["revisions"]] == [2, 3]
    assert h.message == "deployment.apps/test1 \nREVISION  CHANGE-CAUSE\n2         <none>\n3         <none>\n\n"

    r = actions.delete(pg, "deployment", "test1")
    assert (r.ok, r.message) == (True, 'deployment.apps "test1" deleted from default namespace')
    runtime.settle(pg)
    assert not Deployment.objects.filter(playground=pg, name="test1").exists()
    assert not ReplicaSet.objects.filter(playground=pg, namespace="default").exists()
    assert live_pods(pg, "test1") == []
    assert actions.delete(pg, "service", "test1").message == 'service "test1" deleted from default namespace'
    assert not Service.objects.filter(playground=pg, name="test1").exists()


def test_it_rolls_back_to_a_chosen_revision_and_skips_a_matching_one(cluster):
    pg = cluster
    actions.deploy(pg, "web", "nginx")
    runtime.settle(pg)
    actions.set_image(pg, "web", "httpd")
    runtime.settle(pg)
    r = actions.rollback(pg, "web", to_revision=2)
    assert r.ok and r.message == "deployment.apps/web skipped rollback (current template already matches revision 2)"
    r = actions.rollback(pg, "web", to_revision=1)
    assert r.ok and r.message == "deployment.apps/web rolled back"
    runtime.settle(pg)
    assert Deployment.objects.get(playground=pg, name="web").spec["template"]["spec"]["containers"][0]["image"] == "nginx"


# --- kubectl's requests ----------------------------------------------------------------------------------------


def test_it_sends_kubectls_requests_through_the_api_router(cluster, sent):
    pg = cluster
    actions.deploy(pg, "test1", "nginx")
    runtime.settle(pg)
    actions.expose(pg, "test1", 80)
    actions.scale(pg, "test1", 2)
    actions.set_image(pg, "test1", "httpd")
    runtime.settle(pg)
    actions.rollback(pg, "test1")
    actions.delete(pg, "deployment", "test1")
    writes = [(c.method, c.resource.plural, c.subresource, c.content_type, c.actor, actions.json.loads(c.body or b"null"),
               c.query) for c in sent if c.method != "GET"]
    create, expose, scale, set_image, undo, delete = writes
    assert create[:5] == ("POST", "deployments", "", "application/json", "dashboard: kubectl create")
    # What `kubectl create deployment test1 --image=nginx --dry-run=client -o json` prints (the body it sends).
    assert create[5] == {"kind": "Deployment", "apiVersion": "apps/v1",
                         "metadata": {"name": "test1", "labels": {"app": "test1"}},
                         "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "test1"}},
                                  "template": {"metadata": {"labels": {"app": "test1"}},
                                               "spec": {"containers": [{"name": "nginx", "image": "nginx",
                                                                        "resources": {}}]}},
                                  "strategy": {}},
                         "status": {}}
    assert create[6] == {"fieldManager": "kubectl-create", "fieldValidation": "Strict"}
    assert expose[5] == {"apiVersion": "v1", "kind": "Service", "metadata": {"labels": {"app": "test1"}, "name": "test1"},
                         "spec": {"ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
                                  "selector": {"app": "test1"}, "type": "NodePort"},
                         "status": {"loadBalancer": {}}}
    assert scale[:4] == ("PATCH", "deployments", "scale", "application/merge-patch+json")
    assert scale[5] == {"spec": {"replicas": 2}}
    assert set_image[3] == "application/strategic-merge-patch+json" and set_image[6] == {"fieldManager": "kubectl-set"}
    assert set_image[5] == {"spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "nginx"}],
                                                           "containers": [{"image": "httpd", "name": "nginx"}]}}}}
    assert undo[3] == "application/json-patch+json"
    template = undo[5][0]["value"]
    assert [op["path"] for op in undo[5]] == ["/spec/template", "/metadata/annotations"]
    assert template["metadata"]["labels"] == {"app": "test1"}  # pod-template-hash removed
    assert template["spec"]["containers"][0]["image"] == "nginx"
    assert undo[5][1]["value"]["deployment.kubernetes.io/revision"] == "2"
    assert delete[:2] == ("DELETE", "deployments") and delete[5] == {"propagationPolicy": "Background"}
    # rollout undo lists ReplicaSets by the deployment's selector, as kubectl does.
    assert any(c.method == "GET" and c.resource.plural == "replicasets" and c.query == {"labelSelector": "app=test1"}
               for c in sent)


def test_it_prints_nothing_when_set_image_changes_nothing(cluster, sent):
    actions.deploy(cluster, "test1", "nginx")
    before = len(sent)
    r = actions.set_image(cluster, "test1", "nginx")
    assert r.ok and r.message == ""
    assert all(c.method == "GET" for c in sent[before:])


# --- errors: kubectl's own text, never an exception -------------------------------------------------------------


def test_it_reports_an_existing_deployment_like_kubectl_create(cluster):
    actions.deploy(cluster, "test1", "nginx")
    r = actions.deploy(cluster, "test1", "nginx")
    assert not r.ok
    assert r.error == 'error: failed to create deployment: deployments.apps "test1" already exists'


def test_it_reports_a_bad_name_with_the_servers_validation_message(cluster):
    r = actions.deploy(cluster, "Bad_Name", "nginx")
    assert not r.ok
    assert r.error.startswith('error: failed to create deployment: Deployment.apps "Bad_Name" is invalid: '
                              'metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain')


def test_it_refuses_unknown_images_and_lists_the_known_ones(cluster):
    r = actions.deploy(cluster, "test1", "ngnix")
    assert not r.ok and '"ngnix"' in r.error and "nginx" in r.error and "httpd" in r.error
    assert not Deployment.objects.filter(playground=cluster, name="test1").exists()
    actions.deploy(cluster, "test1", "nginx")
    assert not actions.set_image(cluster, "test1", "nginx:doesnotexist-but-ok").error
    assert "Known images" in actions.set_image(cluster, "test1", "whatever/thing").error


def test_it_refuses_negative_absurd_and_non_numeric_replicas(cluster):
    actions.deploy(cluster, "test1", "nginx")
    assert actions.scale(cluster, "test1", -1).error == (
        "error: The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0")
    assert "more than this page allows" in actions.scale(cluster, "test1", 10**6).error
    assert "invalid syntax" in actions.scale(cluster, "test1", "three").error
    assert "more than this page allows" in actions.deploy(cluster, "big", "nginx", replicas=500).error
    r = actions.deploy(cluster, "neg", "nginx", replicas=-2)
    assert r.error == ('error: failed to create deployment: Deployment.apps "neg" is invalid: spec.replicas: '
                       "Invalid value: -2: must be greater than or equal to 0")


def test_it_reports_missing_objects_like_kubectl(cluster):
    assert actions.scale(cluster, "x", 2).error == 'Error from server (NotFound): deployments.apps "x" not found'
    assert actions.set_image(cluster, "x", "nginx").error == 'Error from server (NotFound): deployments.apps "x" not found'
    assert actions.rollback(cluster, "x").error == 'Error from server (NotFound): deployments.apps "x" not found'
    assert actions.expose(cluster, "x", 80).error == 'Error from server (NotFound): deployments.apps "x" not found'
    assert actions.delete(cluster, "pod", "x").error == 'Error from server (NotFound): pods "x" not found'
    assert actions.delete(cluster, "widget", "x").error == 'error: the server doesn\'t have a resource type "widget"'


def test_it_reports_rollout_history_errors_like_kubectl(cluster):
    actions.deploy(cluster, "test1", "nginx")
    runtime.settle(cluster)
    assert actions.rollback(cluster, "test1").error == 'error: no rollout history found for deployment "test1"'
    assert actions.rollback(cluster, "test1", 7).error == "error: unable to find specified revision 7 in history"
    assert actions.set_image(cluster, "test1", "httpd", container="web").error == (
        'error: unable to find container named "web"')


def test_it_reports_a_taken_service_and_a_bad_type(cluster):
    actions.deploy(cluster, "test1", "nginx")
    assert actions.expose(cluster, "test1", 80).ok
    assert actions.expose(cluster, "test1", 80).error == 'Error from server (AlreadyExists): services "test1" already exists'
    assert "cannot expose" in actions.expose(cluster, "test1", 80, type="Banana").error
    assert actions.expose(cluster, "test1", 0).error.startswith('The Service "test1" is invalid: spec.ports[0].port')


def test_it_reports_curl_failures_as_curl_does(cluster):
    r = actions.curl(cluster, "localhost:31999")
    assert not r.ok and r.error.startswith("curl: (7) Failed to connect to localhost port 31999")


# --- pure helpers ----------------------------------------------------------------------------------------------


def test_it_formats_api_errors_like_kubectl():
    assert actions.kubectl_error(NotFound.of("pods", "", "x")) == 'Error from server (NotFound): pods "x" not found'
    assert actions.kubectl_error(AlreadyExists.of("deployments", "apps", "a"), "failed to create deployment") == (
        'error: failed to create deployment: deployments.apps "a" already exists')
    one = Invalid("Deployment", "apps", "w", [cause("spec.replicas", "Invalid value: -1: must be greater than or "
                                                                     "equal to 0")])
    assert actions.kubectl_error(one) == ('The Deployment "w" is invalid: spec.replicas: Invalid value: -1: must be '
                                          "greater than or equal to 0")
    two = Invalid("Service", "", "s", [cause("a", "x"), cause("b", "y")])
    assert actions.kubectl_error(two) == 'The Service "s" is invalid: \n* a: x\n* b: y'


def test_it_names_the_container_after_the_image():
    body = actions.deployment_body("web", "registry.k8s.io/library/nginx:1.27@sha256:abc", 2)
    assert body["spec"]["template"]["spec"]["containers"] == [
        {"name": "nginx", "image": "registry.k8s.io/library/nginx:1.27@sha256:abc", "resources": {}}]
    assert body["spec"]["replicas"] == 2 and body["metadata"]["labels"] == {"app": "web"}


def test_it_picks_the_second_highest_revision():
    def rs(n):
        return {"metadata": {"name": f"r{n}", "annotations": {actions.REVISION: str(n)}}}

    sets = [rs(3), rs(1), {"metadata": {"name": "none"}}, rs(2)]
    assert actions.pick_revision(sets, 0, "d")["metadata"]["name"] == "r2"
    assert actions.pick_revision(sets, 1, "d")["metadata"]["name"] == "r1"
    with pytest.raises(actions.Failed):
        actions.pick_revision([rs(1)], 0, "d")
