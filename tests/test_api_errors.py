"""The API answers bad input with Kubernetes Status objects — the right code and reason, never a 500 or a hang —
and keeps every playground to itself."""

import json

import pytest
from asgiref.sync import async_to_sync
from django.test import Client

from cluster_core import bootstrap
from cluster_core.models import Deployment, Playground

pytestmark = pytest.mark.django_db(transaction=True)

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


@pytest.fixture
def two(fake_clock, quiet_nudges):
    return bootstrap.create_playground("default", tempo="instant"), bootstrap.create_playground("other", tempo="instant")


def client_for(pg: Playground) -> Client:
    return Client(headers={"Authorization": f"Bearer {pg.token}"})


def status_of(resp) -> dict:
    body = json.loads(resp.content)
    assert body["kind"] == "Status" and body["code"] == resp.status_code
    return body


def test_it_needs_the_playgrounds_own_token(two):
    default, other = two
    anonymous = Client().get("/clusters/default/api/v1/namespaces/default/pods")
    assert anonymous.status_code == 401 and status_of(anonymous)["reason"] == "Unauthorized"
    wrong = Client(headers={"Authorization": "Bearer nope"}).get("/clusters/default/api/v1/pods")
    assert wrong.status_code == 401
    crossed = client_for(other).get("/clusters/default/api/v1/namespaces/default/pods")
    body = status_of(crossed)
    assert crossed.status_code == 403 and body["reason"] == "Forbidden"
    assert "other" not in body["message"] and "default" not in body["message"]
    missing = client_for(other).get("/clusters/no-such-playground/api/v1/pods")
    assert missing.status_code == 403  # says nothing about whether it exists
    version = Client().get("/clusters/default/version")
    assert json.loads(version.content)["minor"] == "37"


def test_it_keeps_each_playgrounds_objects_apart(two):
    default, other = two
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "mine"}, "data": {"a": "b"}}
    created = client_for(default).post("/clusters/default/api/v1/namespaces/default/configmaps",
                                              json.dumps(body), content_type="application/json")
    assert created.status_code == 201
    theirs = client_for(other).get("/clusters/other/api/v1/namespaces/default/configmaps/mine")
    assert theirs.status_code == 404
    assert status_of(theirs)["message"] == 'configmaps "mine" not found'


@pytest.mark.parametrize(
    ("method", "path", "body", "content_type", "code", "reason"),
    [
        ("get", "/api/v1/namespaces/default/widgets", None, None, 404, "NotFound"),
        ("get", "/apis/apps/v1/namespaces/default/deployments/nope", None, None, 404, "NotFound"),
        ("post", "/apis/apps/v1/namespaces/default/deployments", b"{not json", "application/json", 400, "BadRequest"),
        ("post", "/apis/apps/v1/namespaces/default/deployments", b"k8s\x00\xff\xff", "application/vnd.kubernetes.protobuf",
         400, "BadRequest"),
        ("post", "/apis/apps/v1/namespaces/default/deployments", b"<xml/>", "application/xml", 415,
         "UnsupportedMediaType"),
        ("post", "/apis/apps/v1/namespaces/default/deployments", b"[1, 2]", "application/json", 400, "BadRequest"),
        ("post", "/api/v1/namespaces/default/configmaps",
         b'{"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "x", "labels": {"a": NaN}}}',
         "application/json", 400, "BadRequest"),
        ("post", "/api/v1/namespaces/default/configmaps",
         b"kind: ConfigMap\napiVersion: v1\nmetadata: {name: x}\ndata: {}\nextra: [1, .inf]\n",
         "application/yaml", 400, "BadRequest"),
        ("post", "/api/v1/namespaces/default/configmaps", b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
         "application/json", 400, "BadRequest"),
        ("post", "/api/v1/namespaces/default/configmaps", b"a: " + b"[" * 5000 + b"]" * 5000 + b"\n",
         "application/yaml", 400, "BadRequest"),
        ("post", "/apis/apps/v1/namespaces/default/deployments",
         json.dumps({"kind": "Deployment", "apiVersion": "apps/v1", "metadata": {"name": "x"},
                     "spec": {"replicas": "three"}}).encode(), "application/json", 422, "Invalid"),
        ("post", "/apis/apps/v1/namespaces/default/deployments",
         json.dumps({"kind": "Deployment", "apiVersion": "apps/v1", "metadata": {"name": "x"},
                     "spec": {"replicas": 1, "selector": {"matchLabels": {"a": "b"}},
                              "template": {"metadata": {"labels": {"a": "c"}},
                                           "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}).encode(),
         "application/json", 422, "Invalid"),
        ("post", "/apis/apps/v1/namespaces/default/deployments",
         json.dumps({"kind": "Service", "apiVersion": "v1", "metadata": {"name": "x"}}).encode(),
         "application/json", 400, "BadRequest"),
        ("patch", "/apis/apps/v1/namespaces/kube-system/deployments/coredns", b'[{"op": "explode"}]',
         "application/json-patch+json", 422, "Invalid"),
        ("patch", "/apis/apps/v1/namespaces/kube-system/deployments/coredns", b'{"spec": 1}',
         "text/plain", 415, "UnsupportedMediaType"),
        ("get", "/api/v1/namespaces/default/pods?labelSelector=a%20in%20(", None, None, 400, "BadRequest"),
        ("get", "/api/v1/namespaces/default/pods?watch=true&resourceVersion=abc", None, None, 400, "BadRequest"),
        ("delete", "/api/v1/namespaces/default", None, None, 403, "Forbidden"),
        ("post", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices", b"{}", "application/json", 405,
         "MethodNotAllowed"),
    ],
)
def test_it_answers_bad_requests_with_a_status(two, method, path, body, content_type, code, reason):
    default, _ = two
    client = client_for(default)
    kwargs = {"content_type": content_type} if content_type else {}
    args = (f"/clusters/default{path}",) + ((body,) if body is not None else ())
    resp = getattr(client, method)(*args, **kwargs)
    got = status_of(resp)
    assert (resp.status_code, got["reason"]) == (code, reason), got


def test_it_conflicts_on_a_stale_put(two):
    default, _ = two
    client = client_for(default)
    url = "/clusters/default/apis/apps/v1/namespaces/kube-system/deployments/coredns"
    current = json.loads(client.get(url).content)
    stale = json.loads(json.dumps(current))
    current["spec"]["replicas"] = 3
    assert (client.put(url, json.dumps(current), content_type="application/json")).status_code == 200
    stale["spec"]["replicas"] = 1
    resp = client.put(url, json.dumps(stale), content_type="application/json")
    assert resp.status_code == 409 and status_of(resp)["reason"] == "Conflict"
    assert (Deployment.objects.get(playground=default, name="coredns")).spec["replicas"] == 3


def test_it_answers_an_expired_watch_with_410(two):
    default, _ = two
    Playground.objects.filter(pk=default.pk).update(compacted_revision=10_000)
    resp = client_for(default).get("/clusters/default/api/v1/namespaces/default/pods?watch=true&resourceVersion=5")
    async def first(stream):
        async for chunk in stream:
            if chunk:  # the empty first chunk only sends the headers
                return chunk

    event = json.loads(async_to_sync(first)(resp.streaming_content))
    assert event["type"] == "ERROR" and event["object"]["code"] == 410 and event["object"]["reason"] == "Expired"


def test_it_lists_in_pages_with_continue(two):
    default, _ = two
    client = client_for(default)
    first = json.loads((client.get("/clusters/default/api/v1/pods?limit=5")).content)
    assert len(first["items"]) == 5 and first["metadata"]["continue"]
    rest = json.loads((client.get(f"/clusters/default/api/v1/pods?limit=500&continue={first['metadata']['continue']}")).content)
    names = [p["metadata"]["name"] for p in first["items"] + rest["items"]]
    everything = json.loads((client.get("/clusters/default/api/v1/pods", headers={"accept": TABLE})).content)
    assert names == [r["cells"][0] for r in everything["rows"]]
    assert len(names) == len(set(names))


def test_a_read_on_a_connection_the_database_dropped_runs_once_more_and_a_write_does_not(monkeypatch):
    from asgiref.sync import async_to_sync
    from django.db import OperationalError

    from cluster_core.api import views

    calls = []

    def once_dropped():
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("terminating connection due to administrator command")
        return "answered"

    monkeypatch.setattr(views, "_connections_usable", lambda: False)  # the connection it was given is dead
    assert async_to_sync(views.in_db_thread(once_dropped, again_if_dropped=True))() == "answered"
    assert len(calls) == 2
    calls.clear()
    with pytest.raises(OperationalError):
        async_to_sync(views.in_db_thread(once_dropped))()
    assert len(calls) == 1
    calls.clear()
    monkeypatch.setattr(views, "_connections_usable", lambda: True)  # an error on a live connection: no retry
    with pytest.raises(OperationalError):
        async_to_sync(views.in_db_thread(once_dropped, again_if_dropped=True))()
    assert len(calls) == 1
