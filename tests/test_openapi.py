"""OpenAPI v3 documents: shape checks, and the real kubectl reading them through `kubectl explain`."""

import copy
import json
import os
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from cluster_core.api import openapi, schemas
from cluster_core.api.patch import strategic_merge_patch

KUBECTL = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which("kubectl")


def gv_doc(gv_path):
    body, _ = openapi.group_version_document(gv_path)
    return json.loads(body)


def test_it_lists_every_served_group_version_in_the_index_with_the_prefix():
    index = openapi.index_document(prefix="/clusters/demo")
    assert set(index["paths"]) == {
        "api/v1",
        "apis/apps/v1",
        "apis/discovery.k8s.io/v1",
        "apis/events.k8s.io/v1",
        "apis/autoscaling/v1",
        "apis/batch/v1",
        "apis/rbac.authorization.k8s.io/v1",
        "apis/authorization.k8s.io/v1",
    }
    url = index["paths"]["apis/apps/v1"]["serverRelativeURL"]
    _, etag = openapi.group_version_document("apis/apps/v1")
    assert url == f"/clusters/demo/openapi/v3/apis/apps/v1?hash={etag.strip(chr(34))}"
    assert openapi.index_document()["paths"]["api/v1"]["serverRelativeURL"].startswith(
        "/openapi/v3/api/v1?hash="
    )


def test_it_serves_cached_bytes_with_a_stable_etag():
    first = openapi.group_version_document("/apis/apps/v1")
    second = openapi.group_version_document("apis/apps/v1")
    assert first[0] is second[0]
    assert first[1] == second[1] and first[1].startswith('"') and len(first[1]) == 130
    assert openapi.group_version_document("apis/networking.k8s.io/v1") is None  # a group this cluster does not serve


def test_it_keeps_upstream_component_names_extensions_and_ref_structure():
    components = gv_doc("apis/apps/v1")["components"]["schemas"]
    deployment = components["io.k8s.api.apps.v1.Deployment"]
    assert deployment["x-kubernetes-group-version-kind"] == [
        {"group": "apps", "kind": "Deployment", "version": "v1"}
    ]
    assert deployment["properties"]["spec"]["allOf"] == [
        {"$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec"}
    ]
    assert deployment["properties"]["kind"] == {
        "description": deployment["properties"]["kind"]["description"],
        "type": "string",
    }
    replicas = components["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["replicas"]
    assert replicas["type"] == "integer" and replicas["format"] == "int32"
    assert replicas["description"].startswith("Number of desired pods.")
    containers = components["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert containers["x-kubernetes-patch-strategy"] == "merge"
    assert containers["items"] == {"$ref": "#/components/schemas/io.k8s.api.core.v1.Container"}
    # Every $ref resolves inside the same document.
    refs = set(_refs(gv_doc("apis/apps/v1")))
    assert {r.removeprefix("#/components/schemas/") for r in refs} <= set(components)
    assert "io.k8s.api.autoscaling.v1.Scale" in components


def test_it_describes_patch_with_fieldvalidation_and_the_four_patch_types():
    doc = gv_doc("apis/apps/v1")
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {
        "group": "apps",
        "version": "v1",
        "kind": "Deployment",
    }
    assert any(p["name"] == "fieldValidation" and p["in"] == "query" for p in patch["parameters"])
    assert set(patch["requestBody"]["content"]) == {
        "application/strategic-merge-patch+json",
        "application/merge-patch+json",
        "application/json-patch+json",
        "application/apply-patch+yaml",
    }
    scale = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]["patch"]
    assert scale["x-kubernetes-group-version-kind"] == {
        "group": "autoscaling",
        "version": "v1",
        "kind": "Scale",
    }


def test_it_describes_every_resource_we_serve():
    core = gv_doc("api/v1")["paths"]
    for plural in ("pods", "services", "endpoints", "events", "configmaps"):
        assert f"/api/v1/namespaces/{{namespace}}/{plural}/{{name}}" in core
    assert "/api/v1/nodes/{name}" in core and "/api/v1/namespaces/{name}" in core
    assert (
        "/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices/{name}"
        in gv_doc("apis/discovery.k8s.io/v1")["paths"]
    )
    events = gv_doc("apis/events.k8s.io/v1")
    assert "/apis/events.k8s.io/v1/namespaces/{namespace}/events/{name}" in events["paths"]
    assert "io.k8s.api.events.v1.Event" in events["components"]["schemas"]
    autoscaling = gv_doc("apis/autoscaling/v1")
    assert autoscaling["paths"] == {}
    assert "io.k8s.api.autoscaling.v1.Scale" in autoscaling["components"]["schemas"]


def test_it_builds_components_from_the_shipped_schemas():
    # Same descriptions as the package's schema: nothing is hand-written.
    component = gv_doc("api/v1")["components"]["schemas"]["io.k8s.api.core.v1.Container"]
    shipped = schemas.definition("io.k8s.api.core.v1.Container")
    assert component["description"] == shipped["description"]
    assert set(component["properties"]) == set(shipped["properties"])


def _refs(node):
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


# --- the real kubectl against a tiny server ------------------------------------------------------------------

LEGACY_DISCOVERY = {
    "/api": {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []},
    "/apis": {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [
            {
                "name": "apps",
                "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
                "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"},
            }
        ],
    },
    "/api/v1": {
        "kind": "APIResourceList",
        "groupVersion": "v1",
        "resources": [
            {
                "name": "pods",
                "singularName": "pod",
                "namespaced": True,
                "kind": "Pod",
                "verbs": ["get", "list"],
                "shortNames": ["po"],
            },
        ],
    },
    "/apis/apps/v1": {
        "kind": "APIResourceList",
        "groupVersion": "apps/v1",
        "resources": [
            {
                "name": "deployments",
                "singularName": "deployment",
                "namespaced": True,
                "kind": "Deployment",
                "verbs": ["create", "get", "list", "patch"],
                "shortNames": ["deploy"],
            },
        ],
    },
}


class OpenAPIHandler(BaseHTTPRequestHandler):
    writes: list = []  # (method, path with query, body) of every write request, for assertions
    objects: dict = {}  # path -> object answered to GET (kubectl apply reads the live object)

    def do_POST(self):  # noqa: N802 (http.server naming)
        self._record("POST")
        self._not_found()

    def do_PATCH(self):  # noqa: N802
        self._record("PATCH")
        path = urlsplit(self.path).path
        if path in self.objects:
            self._send(200, json.dumps(self.objects[path]).encode())
        else:
            self._not_found()

    def _record(self, method):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.writes.append((method, self.path, self.headers.get("Content-Type"), body.decode()))

    def do_GET(self):  # noqa: N802
        path = urlsplit(self.path).path
        if path in self.objects:
            self._send(200, json.dumps(self.objects[path]).encode())
        elif path == "/openapi/v3":
            self._send(200, json.dumps(openapi.index_document()).encode(), {"Cache-Control": "no-cache"})
        elif path.startswith("/openapi/v3/") and (
            doc := openapi.group_version_document(path.removeprefix("/openapi/v3/"))
        ):
            body, etag = doc
            self._send(200, body, {"ETag": etag, "Cache-Control": "public, immutable"})
        elif path in LEGACY_DISCOVERY:
            self._send(200, json.dumps(LEGACY_DISCOVERY[path]).encode())
        else:
            self._not_found()

    def _not_found(self):
        status = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": "the server could not find the requested resource",
            "reason": "NotFound",
            "details": {},
            "code": 404,
        }
        self._send(404, json.dumps(status).encode())

    def _send(self, code, body, headers=None):
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def kubectl(tmp_path):
    if KUBECTL is None:
        pytest.skip("kubectl binary not found next to the Python interpreter or on PATH")
    OpenAPIHandler.writes = []
    OpenAPIHandler.objects = {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), OpenAPIHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    (tmp_path / "home").mkdir()
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path / "home"), "KUBECONFIG": str(kubeconfig)}

    def run(*args, stdin=None):
        return subprocess.run(
            [KUBECTL, f"--server=http://127.0.0.1:{server.server_port}", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            input=stdin,
        )

    yield run
    server.shutdown()
    server.server_close()


@pytest.mark.kubectl
def test_it_lets_kubectl_explain_a_deployment_field(kubectl):
    result = kubectl("explain", "deployment.spec.replicas")
    assert result.returncode == 0, result.stderr
    assert "GROUP:      apps" in result.stdout and "KIND:       Deployment" in result.stdout
    assert "replicas <integer>" in result.stdout
    assert "Number of desired pods." in result.stdout


@pytest.mark.kubectl
def test_it_lets_kubectl_explain_pod_containers(kubectl):
    result = kubectl("explain", "pods.spec.containers")
    assert result.returncode == 0, result.stderr
    assert "containers <[]Container>" in result.stdout
    assert "List of containers belonging to the pod." in result.stdout
    assert "  image\t<string>" in result.stdout


@pytest.mark.kubectl
def test_it_makes_kubectl_trust_server_side_field_validation(kubectl):
    # kubectl probes the patch operation of the GV document; when it finds fieldValidation there it skips its
    # own schema validation and asks the server for Strict checking instead.
    manifest = json.dumps(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "selector": {"matchLabels": {"app": "web"}},
                "unknownField": 1,
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "nginx", "image": "nginx"}]},
                },
            },
        }
    )
    result = kubectl("create", "-f", "-", stdin=manifest)
    assert "unknown field" not in result.stderr  # no client-side rejection
    [(method, url, _, _)] = OpenAPIHandler.writes
    assert (method, url) == (
        "POST",
        "/apis/apps/v1/namespaces/default/deployments?fieldManager=kubectl-create&fieldValidation=Strict",
    )


@pytest.mark.kubectl
def test_it_lets_kubectl_apply_compute_a_strategic_patch_from_the_document(kubectl):
    # Client-side apply builds its patch from the component schemas (merge keys, patch strategies); with an
    # incomplete schema it would warn "error calculating patch from openapi v3 spec" and fall back.
    manifest = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]},
            },
        },
    }
    applied = copy.deepcopy(manifest)
    applied["metadata"].update(namespace="default", annotations={})
    live = copy.deepcopy(applied)
    live["metadata"]["annotations"] = {
        "kubectl.kubernetes.io/last-applied-configuration": json.dumps(applied, separators=(",", ":")) + "\n"
    }
    live["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "envoy"})
    OpenAPIHandler.objects["/apis/apps/v1/namespaces/default/deployments/web"] = live
    manifest["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.28"

    result = kubectl("apply", "-f", "-", stdin=json.dumps(manifest))

    assert result.returncode == 0, result.stderr
    assert result.stdout == "deployment.apps/web configured\n" and result.stderr == ""
    [(method, url, content_type, body)] = OpenAPIHandler.writes
    assert method == "PATCH" and "fieldValidation=Strict" in url
    assert content_type == "application/strategic-merge-patch+json"
    patch = json.loads(body)
    assert patch["spec"] == {
        "template": {
            "spec": {
                "$setElementOrder/containers": [{"name": "nginx"}],
                "containers": [{"image": "nginx:1.28", "name": "nginx"}],
            }
        }
    }
    patched = strategic_merge_patch(live, patch, "apps/v1", "Deployment")
    assert patched["spec"]["template"]["spec"]["containers"] == [
        {"name": "nginx", "image": "nginx:1.28"},
        {"name": "sidecar", "image": "envoy"},
    ]
