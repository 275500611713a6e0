"""Answers shaped like the real apiserver's: what DELETE returns per resource, the zero status a new object
carries, the bytes of an error `Status`, and a 404 `Status` for what is not served."""

import json

import pytest
from django.test import Client

from cluster_core import bootstrap
from cluster_core.errors import NotFound

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def pg(fake_clock, quiet_nudges):
    return bootstrap.create_playground("default", tempo="instant")


def client_for(pg) -> Client:
    return Client(headers={"Authorization": f"Bearer {pg.token}"})


def post(pg, path: str, body: dict):
    return client_for(pg).post(f"/clusters/default{path}", json.dumps(body), content_type="application/json")


SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
           "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}


def test_it_answers_a_service_delete_with_the_deleted_service(pg):
    assert post(pg, "/api/v1/namespaces/default/services", SERVICE).status_code == 201
    resp = client_for(pg).delete("/clusters/default/api/v1/namespaces/default/services/web")
    body = json.loads(resp.content)
    assert resp.status_code == 200 and body["kind"] == "Service" and body["metadata"]["name"] == "web"


def test_it_answers_a_configmap_delete_with_a_success_status_without_an_empty_group(pg):
    post(pg, "/api/v1/namespaces/default/configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                                                       "metadata": {"name": "cfg"}, "data": {"a": "b"}})
    resp = client_for(pg).delete("/clusters/default/api/v1/namespaces/default/configmaps/cfg")
    body = json.loads(resp.content)
    assert body["kind"] == "Status" and body["status"] == "Success"
    assert list(body["details"]) == ["name", "kind", "uid"] and body["details"]["kind"] == "configmaps"


def test_it_creates_a_daemonset_with_its_four_counters_at_zero(pg):
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
          "spec": {"selector": {"matchLabels": {"app": "agent"}},
                   "template": {"metadata": {"labels": {"app": "agent"}},
                                "spec": {"containers": [{"name": "a", "image": "busybox"}]}}}}
    resp = post(pg, "/apis/apps/v1/namespaces/default/daemonsets", ds)
    assert json.loads(resp.content)["status"] == {"currentNumberScheduled": 0, "numberMisscheduled": 0,
                                                  "desiredNumberScheduled": 0, "numberReady": 0}


def test_it_answers_not_found_with_the_apiservers_bytes(pg):
    resp = client_for(pg).get("/clusters/default/api/v1/namespaces/default/pods/nope")
    assert resp.status_code == 404
    assert resp.content == (b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
                            b'"message":"pods \\"nope\\" not found","reason":"NotFound",'
                            b'"details":{"name":"nope","kind":"pods"},"code":404}\n')


def test_it_keeps_a_groups_name_in_the_details():
    status = NotFound.of("deployments", "apps", "web").status()
    assert list(status) == ["kind", "apiVersion", "metadata", "status", "message", "reason", "details", "code"]
    assert status["details"] == {"name": "web", "group": "apps", "kind": "deployments"}


@pytest.mark.parametrize("path", ["/apis/nothing.example.com/v1/widgets", "/api/v1/namespaces/default/widgets",
                                  "/apis/nothing.example.com", "/logs"])
def test_it_answers_paths_it_does_not_serve_with_a_not_found_status(pg, path):
    resp = client_for(pg).get(f"/clusters/default{path}")
    assert resp.status_code == 404
    assert resp.content == (b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
                            b'"message":"the server could not find the requested resource","reason":"NotFound",'
                            b'"details":{},"code":404}\n')
