"""Property-based fuzzing of the API's write paths and query parameters (Hypothesis): whatever a client sends,
the answer is a Kubernetes Status or an object — never a 5xx — and comes within the per-case deadline.

The examples run in-process through Django's test client against one playground per test; the counts are set so
the whole file stays around a minute on a small machine (`--hypothesis-show-statistics` prints them)."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cluster_core import bootstrap

pytestmark = pytest.mark.django_db(transaction=True)



def fuzz(examples: int):
    """Each case within a 2 s deadline (a hang or a slow path fails the case); no example database on disk."""
    return settings(max_examples=examples, deadline=timedelta(seconds=2), suppress_health_check=list(HealthCheck),
                    database=None)

COLLECTIONS = [
    "/api/v1/namespaces/default/configmaps",
    "/api/v1/namespaces/default/pods",
    "/api/v1/namespaces/default/services",
    "/apis/apps/v1/namespaces/default/deployments",
    "/apis/apps/v1/namespaces/default/replicasets",
    "/api/v1/namespaces",
    "/api/v1/nodes",
]
CONTENT_TYPES = ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf",
                 "application/merge-patch+json", "application/strategic-merge-patch+json",
                 "application/json-patch+json", "application/apply-patch+yaml", "text/plain", ""]
PATCH_TYPES = ["application/merge-patch+json", "application/strategic-merge-patch+json",
               "application/json-patch+json", "application/apply-patch+yaml"]

text = st.text(st.characters(codec="utf-8"), max_size=40) | st.sampled_from(
    ["", "web", "kube-system", "default", "$patch", "replace", "delete", "spec", "metadata", "0", "-1", "null",
     "\u0000", "\ud7ff\ue000", "a" * 300, "../..", "%2F", "名前", "x\ny"])
scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False,
                                                                              allow_infinity=False) | text
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(text, inner,
                                                                                                max_size=5),
                           max_leaves=30)


def deployment(name: str = "web") -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx",
                                                           "ports": [{"containerPort": 80, "name": "http"}]}]}}}}


def paths_of(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from paths_of(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from paths_of(v, (*prefix, i))


def with_value_at(doc: dict, path: tuple, value) -> dict:
    doc = json.loads(json.dumps(doc))
    if not path:
        return value
    cur = doc
    for step in path[:-1]:
        cur = cur[step]
    cur[path[-1]] = value
    return doc


DEPLOYMENT_PATHS = list(paths_of(deployment()))


@pytest.fixture
def client(fake_clock, quiet_nudges):
    pg = bootstrap.create_playground("default", tempo="instant")
    return Client(headers={"Authorization": f"Bearer {pg.token}"})


def assert_answered(resp) -> None:
    assert resp.status_code < 500, resp.content[:400]
    if resp.status_code >= 400 and resp.get("Content-Type", "").startswith("application/json"):
        body = json.loads(resp.content)
        assert body["kind"] == "Status" and body["code"] == resp.status_code


@fuzz(500)
@given(collection=st.sampled_from(COLLECTIONS), body=json_values, strict=st.booleans())
def test_it_answers_any_json_body_posted_without_a_server_error(client, collection, body, strict):
    query = "?fieldValidation=Strict" if strict else ""
    resp = client.post(f"/clusters/default{collection}{query}", json.dumps(body), content_type="application/json")
    assert_answered(resp)


@fuzz(600)
@given(path=st.sampled_from(DEPLOYMENT_PATHS), value=json_values, name=st.from_regex(r"[a-z][a-z0-9]{0,6}",
                                                                                         fullmatch=True))
def test_it_answers_a_deployment_with_any_field_changed_without_a_server_error(client, path, value, name):
    body = with_value_at(deployment(name), path, value)
    resp = client.post("/clusters/default/apis/apps/v1/namespaces/default/deployments", json.dumps(body),
                       content_type="application/json")
    assert_answered(resp)
    if resp.status_code == 201:
        resp = client.put(f"/clusters/default/apis/apps/v1/namespaces/default/deployments/{name}",
                          json.dumps(with_value_at(json.loads(resp.content), path, value)),
                          content_type="application/json")
        assert_answered(resp)


json_patch_ops = st.lists(st.fixed_dictionaries(
    {"op": st.sampled_from(["add", "remove", "replace", "move", "copy", "test", "bogus"]),
     "path": st.sampled_from(["/spec/replicas", "/spec/template/spec/containers/0/image", "/metadata/labels/x",
                              "/spec/template/spec/containers/-", "/spec", "/", "", "/metadata/annotations",
                              "/spec/template/spec/containers/0", "/a~1b/~0", "/spec/template/spec/containers/99"])},
    optional={"value": json_values, "from": st.sampled_from(["/spec", "/metadata", "/spec/template", "/nope"])}),
    max_size=6)


@fuzz(500)
@given(content_type=st.sampled_from(PATCH_TYPES), patch=json_values | json_patch_ops)
def test_it_answers_any_patch_without_a_server_error(client, content_type, patch):
    resp = client.patch("/clusters/default/apis/apps/v1/namespaces/kube-system/deployments/coredns", json.dumps(patch),
                        content_type=content_type)
    assert_answered(resp)


@fuzz(600)
@given(content_type=st.sampled_from(CONTENT_TYPES), raw=st.binary(max_size=300) | st.text(max_size=300).map(
    str.encode), collection=st.sampled_from(COLLECTIONS))
def test_it_answers_any_bytes_in_any_content_type_without_a_server_error(client, content_type, raw, collection):
    resp = client.generic("POST", f"/clusters/default{collection}", raw, content_type=content_type)
    assert_answered(resp)


query_values = text | st.integers(-(2**65), 2**65).map(str) | st.sampled_from(
    ["true", "false", "1", "0", "abc", "", "spec.nodeName=k8s-node1", "status.phase!=Running", "a in (b)",
     "!a", "a,b=c", "metadata.name==x", "eyJucyI6IiIsIm5hbWUiOiIiLCJydiI6MX0=", "All", "Strict", "Table"])


@fuzz(700)
@given(collection=st.sampled_from(COLLECTIONS + ["/api/v1/pods", "/api/v1/events", "/apis/apps/v1/deployments"]),
       params=st.dictionaries(st.sampled_from(["limit", "continue", "fieldSelector", "labelSelector",
                                               "resourceVersion", "resourceVersionMatch", "timeoutSeconds",
                                               "includeObject", "fieldValidation", "dryRun", "pretty"]),
                              query_values, max_size=4),
       table=st.booleans())
def test_it_answers_any_list_query_without_a_server_error(client, collection, params, table):
    headers = {"accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"} if table else {}
    resp = client.get(f"/clusters/default{collection}", params, headers=headers)
    assert_answered(resp)


@fuzz(400)
@given(segments=st.lists(text.filter(lambda s: "/" not in s and "?" not in s and "#" not in s), min_size=1,
                         max_size=6),
       method=st.sampled_from(["GET", "DELETE", "PUT", "POST", "PATCH"]))
def test_it_answers_any_path_under_the_api_without_a_server_error(client, segments, method):
    from urllib.parse import quote

    path = "/clusters/default/" + "/".join(quote(s, safe="") for s in segments)
    resp = client.generic(method, path, b"{}", content_type="application/json")
    assert_answered(resp)
