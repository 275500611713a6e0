"""Hostile input gets a fast 4xx Status, as the real apiserver answers it: YAML alias bombs, deep nesting, unknown
fields, oversize bodies and annotations, bad query parameters, forged continue tokens, watches from the future."""

import json

import pytest
from asgiref.sync import async_to_sync
from django.test import Client

from cluster_core import bootstrap
from cluster_core.models import Change, ConfigMap, Deployment, Playground
from playground import story
from tests import hostile

pytestmark = pytest.mark.django_db(transaction=True)

DEPLOYMENTS = "/clusters/default/apis/apps/v1/namespaces/default/deployments"
CONFIGMAPS = "/clusters/default/api/v1/namespaces/default/configmaps"


@pytest.fixture
def pg(fake_clock, quiet_nudges):
    return bootstrap.create_playground("default", tempo="instant")


def client_for(pg: Playground, **headers) -> Client:
    return Client(headers={"Authorization": f"Bearer {pg.token}", **headers})


def status_of(resp) -> dict:
    body = json.loads(resp.content)
    assert body["kind"] == "Status" and body["code"] == resp.status_code
    return body


def deployment(name: str = "web", container: dict | None = None) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [container or {"name": "c", "image": "nginx"}]}}}}


@pytest.mark.parametrize("case", hostile.cases(), ids=lambda c: c["label"])
def test_it_answers_each_hostile_body_of_the_corpus(pg, case):
    client = client_for(pg)
    resp = client.generic(case["method"], f"/clusters/default{case['path']}", case["body"],
                          content_type=case["content_type"])
    assert resp.status_code == case["code"], resp.content[:500]
    if resp.status_code >= 400:
        status_of(resp)


def test_it_refuses_a_yaml_alias_bomb_as_excessive_aliasing(pg):
    resp = client_for(pg).post(CONFIGMAPS, (hostile.HERE / "alias-bomb.yaml").read_bytes(),
                               content_type="application/yaml")
    assert resp.status_code == 400 and "excessive aliasing" in status_of(resp)["message"]


def test_it_accepts_yaml_aliases_that_repeat_a_little(pg):
    body = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aliased\n  labels: &l {app: web}\n"
            "  annotations: *l\n")
    resp = client_for(pg).post(CONFIGMAPS, body, content_type="application/yaml")
    assert resp.status_code == 201
    stored = ConfigMap.objects.get(playground=pg, name="aliased")
    assert stored.labels == {"app": "web"} and stored.annotations == {"app": "web"}


def test_it_drops_an_unknown_field_with_a_warning(pg):
    body = deployment(container={"name": "c", "image": "nginx", "bogus": {"a": [1, 2, 3]}})
    resp = client_for(pg).post(DEPLOYMENTS, json.dumps(body), content_type="application/json")
    assert resp.status_code == 201
    assert resp["Warning"] == '299 - "unknown field \\"spec.template.spec.containers[0].bogus\\""'
    stored = Deployment.objects.get(playground=pg, name="web")
    assert "bogus" not in stored.spec["template"]["spec"]["containers"][0]
    assert "bogus" not in json.loads(resp.content)["spec"]["template"]["spec"]["containers"][0]


def test_it_drops_an_unknown_field_silently_under_ignore(pg):
    body = deployment(container={"name": "c", "image": "nginx", "bogus": 1})
    resp = client_for(pg).post(f"{DEPLOYMENTS}?fieldValidation=Ignore", json.dumps(body),
                               content_type="application/json")
    assert resp.status_code == 201 and "Warning" not in resp
    assert "bogus" not in Deployment.objects.get(playground=pg, name="web").spec["template"]["spec"]["containers"][0]


def test_it_refuses_an_unknown_field_under_strict(pg):
    body = deployment(container={"name": "c", "image": "nginx", "bogus": 1})
    resp = client_for(pg).post(f"{DEPLOYMENTS}?fieldValidation=Strict", json.dumps(body),
                               content_type="application/json")
    assert resp.status_code == 400
    assert 'strict decoding error: unknown field "spec.template.spec.containers[0].bogus"' in status_of(resp)["message"]
    assert not Deployment.objects.filter(playground=pg, name="web").exists()


def test_it_drops_an_unknown_field_a_patch_adds(pg):
    client = client_for(pg)
    client.post(DEPLOYMENTS, json.dumps(deployment()), content_type="application/json")
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "c", "bogus": "x" * 1000}]}}}}
    resp = client.patch(f"{DEPLOYMENTS}/web", json.dumps(patch), content_type="application/strategic-merge-patch+json")
    assert resp.status_code == 200 and "unknown field" in resp["Warning"]
    assert "bogus" not in Deployment.objects.get(playground=pg, name="web").spec["template"]["spec"]["containers"][0]


def test_it_refuses_a_body_nested_deeper_than_the_limit(pg):
    body = deployment()
    body["spec"]["template"]["spec"]["bogus"] = json.loads("[" * 100 + "]" * 100)
    resp = client_for(pg).post(DEPLOYMENTS, json.dumps(body), content_type="application/json")
    assert resp.status_code == 400 and "nested too deeply" in status_of(resp)["message"]
    assert not Deployment.objects.filter(playground=pg, name="web").exists()


def test_it_refuses_a_json_patch_that_nests_the_object_too_deeply(pg):
    client = client_for(pg)
    client.post(DEPLOYMENTS, json.dumps(deployment()), content_type="application/json")
    ops = [{"op": "add", "path": "/spec/template/spec/containers/0/bogus", "value": json.loads("[" * 60 + "]" * 60)}]
    resp = client.patch(f"{DEPLOYMENTS}/web", json.dumps(ops), content_type="application/json-patch+json")
    assert resp.status_code == 400 and "nested too deeply" in status_of(resp)["message"]


def test_it_keeps_label_and_annotate_working_after_a_deep_body_was_refused(pg):
    client = client_for(pg)
    deep = deployment()
    deep["spec"]["template"]["spec"]["bogus"] = json.loads("[" * 900 + "]" * 900)
    assert client.post(DEPLOYMENTS, json.dumps(deep), content_type="application/json").status_code == 400
    client.post(DEPLOYMENTS, json.dumps(deployment()), content_type="application/json")
    patch = {"metadata": {"labels": {"tier": "front"}, "annotations": {"note": "x"}}}
    resp = client.patch(f"{DEPLOYMENTS}/web", json.dumps(patch), content_type="application/merge-patch+json")
    assert resp.status_code == 200 and json.loads(resp.content)["metadata"]["labels"]["tier"] == "front"


def test_it_answers_413_for_a_body_over_the_limit(pg):
    body = b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"data":{"a":"' + b"x" * (4 << 20) + b'"}}'
    resp = client_for(pg).post(CONFIGMAPS, body, content_type="application/json")
    assert resp.status_code == 413
    assert status_of(resp)["reason"] == "RequestEntityTooLarge"


def test_it_answers_400_for_a_limit_that_is_not_a_number(pg):
    resp = client_for(pg).get("/clusters/default/api/v1/pods?limit=abc")
    assert resp.status_code == 400
    assert status_of(resp)["message"] == 'strconv.ParseInt: parsing "abc": invalid syntax'


def test_it_answers_a_whole_object_replace_patch_without_an_internal_error(pg):
    client = client_for(pg)
    client.post(DEPLOYMENTS, json.dumps(deployment()), content_type="application/json")
    resp = client.patch(f"{DEPLOYMENTS}/web", '{"$patch":"replace"}',
                        content_type="application/strategic-merge-patch+json")
    assert resp.status_code == 422 and status_of(resp)["reason"] == "Invalid"


def test_it_refuses_annotations_over_256_kib_in_total(pg):
    body = {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "notes", "annotations": {f"k{i}": "x" * 70_000 for i in range(4)}}}
    resp = client_for(pg).post(CONFIGMAPS, json.dumps(body), content_type="application/json")
    assert resp.status_code == 422
    assert "metadata.annotations: Too long: must have at most 262144 bytes" in status_of(resp)["message"]


def test_it_refuses_a_container_port_name_that_is_not_an_iana_service_name(pg):
    body = deployment(container={"name": "c", "image": "nginx", "ports": [{"containerPort": 80, "name": "Web_1"}]})
    resp = client_for(pg).post(DEPLOYMENTS, json.dumps(body), content_type="application/json")
    assert resp.status_code == 422
    message = status_of(resp)["message"]
    assert ('spec.template.spec.containers[0].ports[0].name: Invalid value: "Web_1": must contain only '
            "alpha-numeric characters (a-z, 0-9), and hyphens (-)") in message


def test_it_refuses_a_service_port_name_that_is_not_a_dns_label(pg):
    body = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
            "spec": {"type": "ClusterIP", "selector": {"app": "web"}, "ports": [{"port": 80, "name": "HTTP!"}]}}
    resp = client_for(pg).post("/clusters/default/api/v1/namespaces/default/services", json.dumps(body),
                               content_type="application/json")
    assert resp.status_code == 422 and 'spec.ports[0].name: Invalid value: "HTTP!"' in status_of(resp)["message"]


def test_it_refuses_a_field_selector_on_an_unsupported_field(pg):
    resp = client_for(pg).get("/clusters/default/api/v1/pods?fieldSelector=spec.bogus%3Dx")
    assert resp.status_code == 400
    assert status_of(resp)["message"] == "field label not supported: spec.bogus"


def test_it_keeps_the_field_selectors_kubectl_describe_sends(pg):
    resp = client_for(pg).get("/clusters/default/api/v1/pods?fieldSelector=spec.nodeName%3Dk8s-node1,"
                              "status.phase!%3DFailed")
    assert resp.status_code == 200 and json.loads(resp.content)["items"]


def test_it_refuses_a_forged_continue_token(pg):
    import base64

    client = client_for(pg)
    first = json.loads(client.get("/clusters/default/api/v1/pods?limit=2").content)
    forged = base64.urlsafe_b64encode(json.dumps({"ns": "", "name": "", "rv": 999_999_999}).encode()).decode()
    resp = client.get(f"/clusters/default/api/v1/pods?limit=2&continue={forged}")
    assert resp.status_code == 400 and "continue key is not valid" in status_of(resp)["message"]
    follow = client.get(f"/clusters/default/api/v1/pods?limit=2&continue={first['metadata']['continue']}")
    assert follow.status_code == 200
    assert json.loads(follow.content)["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]


def test_it_times_out_a_watch_from_a_future_resource_version(pg):
    current = Playground.objects.get(pk=pg.pk).revision
    resp = client_for(pg).get(f"/clusters/default/api/v1/pods?watch=true&resourceVersion={current + 1000}")
    status = status_of(resp)
    assert (resp.status_code, status["reason"]) == (504, "Timeout")
    assert status["details"]["causes"] == [{"reason": "ResourceVersionTooLarge",
                                            "message": "Too large resource version"}]
    assert status["message"] == f"Timeout: Too large resource version: {current + 1000}, current: {current}"


def test_it_marks_a_write_whose_headers_name_a_cluster_component_as_a_clients(pg):
    client = client_for(pg, **{"Kubectl-Command": "deployment-controller",
                               "User-Agent": "kube-controller-manager/v1.37 (linux/amd64)"})
    client.post(CONFIGMAPS, json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}),
                content_type="application/json")
    actor = Change.objects.get(playground=pg, kind="ConfigMap", name="c").actor
    assert actor == "client kube-controller-manager" and story.is_client(actor)


def test_it_keeps_the_kubectl_command_as_the_actor(pg):
    client = client_for(pg, **{"Kubectl-Command": "kubectl create", "User-Agent": "kubectl/v1.37.0"})
    client.post(CONFIGMAPS, json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}),
                content_type="application/json")
    assert Change.objects.get(playground=pg, kind="ConfigMap", name="c").actor == "kubectl create"


def test_it_keeps_a_line_break_in_a_header_out_of_the_actor(pg):
    client = client_for(pg, **{"User-Agent": "evil\nkube-scheduler bound everything/1.0"})
    client.post(CONFIGMAPS, json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}),
                content_type="application/json")
    actor = Change.objects.get(playground=pg, kind="ConfigMap", name="c").actor
    assert "\n" not in actor and actor.startswith("client ")


def test_it_reads_a_watch_from_the_current_resource_version(pg):
    current = Playground.objects.get(pk=pg.pk).revision
    resp = client_for(pg).get(f"/clusters/default/api/v1/pods?watch=true&resourceVersion={current}&timeoutSeconds=1")
    assert resp.status_code == 200

    async def drain(stream):
        return [chunk async for chunk in stream]

    assert b"".join(async_to_sync(drain)(resp.streaming_content)) == b""  # no event, no error: it just ends
