"""The official `kubernetes` Python client against a served playground: create, list, patch, scale, watch, delete."""

from __future__ import annotations

import time

import pytest

from tests import processes

kubernetes = pytest.importorskip("kubernetes", reason="the official client is a dev extra (pip install kubernetes)")
from kubernetes import client, watch  # noqa: E402
from kubernetes.client.rest import ApiException  # noqa: E402


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    served = processes.start_playground(tmp_path_factory.mktemp("pyclient"), tempo="instant")
    cfg = client.Configuration()
    cfg.host = f"{served.api}/clusters/default"
    cfg.ssl_ca_cert = str(served.ca_file())
    cfg.api_key = {"authorization": served.token}
    cfg.api_key_prefix = {"authorization": "Bearer"}
    yield client.ApiClient(cfg)
    served.stop()


def deployment(name: str) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}}}


def wait_pods(core, selector: str, n: int, phase: str = "Running", timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = core.list_namespaced_pod("default", label_selector=selector).items
        if len(items) == n and all(p.status.phase == phase for p in items):
            return items
        time.sleep(0.2)
    raise AssertionError(f"expected {n} {phase} pods for {selector}")


def test_it_creates_lists_patches_scales_watches_and_deletes(api):
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    created = apps.create_namespaced_deployment("default", deployment("py1"))
    assert created.metadata.name == "py1" and created.metadata.generation == 1
    assert [d.metadata.name for d in apps.list_namespaced_deployment("default").items] == ["py1"]
    (pod,) = wait_pods(core, "app=py1", 1)
    assert pod.status.pod_ip.startswith("10.244.")

    patched = apps.patch_namespaced_deployment("py1", "default", {"metadata": {"labels": {"tier": "web"}}})
    assert patched.metadata.labels == {"app": "py1", "tier": "web"}
    scale = apps.patch_namespaced_deployment_scale("py1", "default", {"spec": {"replicas": 2}})
    assert scale.spec.replicas == 2
    wait_pods(core, "app=py1", 2)

    events = []
    for event in watch.Watch().stream(core.list_namespaced_pod, "default", label_selector="app=py1",
                                      timeout_seconds=2):
        events.append((event["type"], event["object"].metadata.name))
    assert [t for t, _ in events] == ["ADDED", "ADDED"]

    apps.delete_namespaced_deployment("py1", "default")
    with pytest.raises(ApiException) as err:
        apps.read_namespaced_deployment("py1", "default")
    assert err.value.status == 404
    deadline = time.monotonic() + 30
    while core.list_namespaced_pod("default", label_selector="app=py1").items and time.monotonic() < deadline:
        time.sleep(0.2)
    assert core.list_namespaced_pod("default", label_selector="app=py1").items == []


def test_it_answers_a_stale_update_with_409(api):
    apps = client.AppsV1Api(api)
    apps.create_namespaced_deployment("default", deployment("py2"))
    stale = apps.read_namespaced_deployment("py2", "default")
    # Our write succeeds at some version after `stale` (a controller writing in between only makes us read again,
    # as any client does on a 409); `stale` is then behind it, whatever else happened.
    while True:
        fresh = apps.read_namespaced_deployment("py2", "default")
        fresh.spec.replicas = 2
        try:
            apps.replace_namespaced_deployment("py2", "default", fresh)
            break
        except ApiException as conflict:
            assert conflict.status == 409
    second = stale
    second.spec.replicas = 3
    with pytest.raises(ApiException) as err:
        apps.replace_namespaced_deployment("py2", "default", second)
    assert err.value.status == 409 and "the object has been modified" in err.value.body
    apps.delete_namespaced_deployment("py2", "default")


def test_it_parses_the_deleted_service(api):
    core = client.CoreV1Api(api)
    core.create_namespaced_service("default", {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "py-svc"},
                                               "spec": {"selector": {"app": "py"}, "ports": [{"port": 80}]}})
    deleted = core.delete_namespaced_service("py-svc", "default")
    assert isinstance(deleted, client.V1Service) and deleted.metadata.name == "py-svc"


def test_it_parses_a_created_daemonset(api):
    apps = client.AppsV1Api(api)
    body = deployment("py-ds")
    body["kind"] = "DaemonSet"
    del body["spec"]["replicas"]
    created = apps.create_namespaced_daemon_set("default", body)
    assert created.status.desired_number_scheduled == 0 and created.status.number_ready == 0


def test_it_lets_a_quiet_watch_be_stopped(api):
    import functools
    import threading

    core = client.CoreV1Api(api)
    core.create_namespace({"metadata": {"name": "quiet"}})
    answered = threading.Event()

    @functools.wraps(core.list_namespaced_config_map)
    def listing(*args, **kwargs):
        # Returns once the response's status and headers have arrived, before any event.
        resp = core.list_namespaced_config_map(*args, **kwargs)
        answered.set()
        return resp

    w = watch.Watch()
    seen = []

    def run():
        try:
            for event in w.stream(listing, "quiet"):
                seen.append(event)
        except Exception:  # noqa: BLE001 — stop() shuts the socket; the read under it may end in an error
            pass

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    # Without the headers at once the client has no response to stop and the stream never ends.
    assert answered.wait(timeout=30)
    w.stop()
    thread.join(timeout=30)
    assert not thread.is_alive() and seen == []


def template(name: str, restart: str = "Always") -> dict:
    return {"metadata": {"labels": {"app": name}},
            "spec": {"restartPolicy": restart, "containers": [{"name": "c", "image": "busybox"}]}}


RULES = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]
KINDS = [
    ("CoreV1Api", "secret", "V1Secret", {"metadata": {"name": "py-secret"}, "stringData": {"k": "v"}}),
    ("CoreV1Api", "service_account", "V1ServiceAccount", {"metadata": {"name": "py-sa"}}),
    ("CoreV1Api", "replication_controller", "V1ReplicationController",
     {"metadata": {"name": "py-rc"}, "spec": {"replicas": 0, "selector": {"app": "py-rc"},
                                              "template": template("py-rc")}}),
    ("AppsV1Api", "stateful_set", "V1StatefulSet",
     {"metadata": {"name": "py-sts"}, "spec": {"replicas": 0, "serviceName": "py-sts",
                                               "selector": {"matchLabels": {"app": "py-sts"}},
                                               "template": template("py-sts")}}),
    ("BatchV1Api", "job", "V1Job", {"metadata": {"name": "py-job"}, "spec": {"template": template("py-job", "Never")}}),
    ("BatchV1Api", "cron_job", "V1CronJob",
     {"metadata": {"name": "py-cj"}, "spec": {"schedule": "@daily", "jobTemplate": {
         "spec": {"template": template("py-cj", "OnFailure")}}}}),
    ("RbacAuthorizationV1Api", "role", "V1Role", {"metadata": {"name": "py-role"}, "rules": RULES}),
    ("RbacAuthorizationV1Api", "role_binding", "V1RoleBinding",
     {"metadata": {"name": "py-rb"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                                 "name": "py-role"},
      "subjects": [{"kind": "ServiceAccount", "name": "py-sa", "namespace": "default"}]}),
]
CLUSTER_KINDS = [
    ("cluster_role", "V1ClusterRole", {"metadata": {"name": "py-cr"}, "rules": RULES}),
    ("cluster_role_binding", "V1ClusterRoleBinding",
     {"metadata": {"name": "py-crb"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                                  "name": "py-cr"},
      "subjects": [{"kind": "User", "name": "jane", "apiGroup": "rbac.authorization.k8s.io"}]}),
]


@pytest.mark.parametrize("api_name, kind, model, body", KINDS, ids=[k[1] for k in KINDS])
def test_it_creates_reads_lists_patches_and_deletes_each_new_kind(api, api_name, kind, model, body):
    client_api = getattr(client, api_name)(api)
    name = body["metadata"]["name"]
    created = getattr(client_api, f"create_namespaced_{kind}")("default", body)
    assert type(created).__name__ == model and created.metadata.name == name
    read = getattr(client_api, f"read_namespaced_{kind}")(name, "default")
    assert read.metadata.uid == created.metadata.uid
    listed = getattr(client_api, f"list_namespaced_{kind}")("default")
    assert name in [i.metadata.name for i in listed.items]
    patched = getattr(client_api, f"patch_namespaced_{kind}")(name, "default", {"metadata": {"labels": {"t": "1"}}})
    assert patched.metadata.labels["t"] == "1"
    getattr(client_api, f"delete_namespaced_{kind}")(name, "default")
    with pytest.raises(ApiException) as err:
        getattr(client_api, f"read_namespaced_{kind}")(name, "default")
    assert err.value.status == 404


@pytest.mark.parametrize("kind, model, body", CLUSTER_KINDS, ids=[k[0] for k in CLUSTER_KINDS])
def test_it_creates_reads_lists_and_deletes_cluster_rbac_kinds(api, kind, model, body):
    rbac = client.RbacAuthorizationV1Api(api)
    name = body["metadata"]["name"]
    created = getattr(rbac, f"create_{kind}")(body)
    assert type(created).__name__ == model
    assert getattr(rbac, f"read_{kind}")(name).metadata.uid == created.metadata.uid
    assert name in [i.metadata.name for i in getattr(rbac, f"list_{kind}")().items]
    getattr(rbac, f"delete_{kind}")(name)
    assert name not in [i.metadata.name for i in getattr(rbac, f"list_{kind}")().items]


def test_it_decodes_a_secrets_string_data_into_data(api):
    import base64

    core = client.CoreV1Api(api)
    created = core.create_namespaced_secret("default", {"metadata": {"name": "py-sd"}, "data": {"a": "eA=="},
                                                        "stringData": {"b": "hello"}})
    assert created.type == "Opaque" and created.string_data is None
    assert {k: base64.b64decode(v).decode() for k, v in created.data.items()} == {"a": "x", "b": "hello"}


def test_it_answers_a_self_subject_access_review(api):
    review = client.AuthorizationV1Api(api).create_self_subject_access_review(
        {"spec": {"resourceAttributes": {"namespace": "default", "verb": "create", "resource": "pods"}}})
    assert review.status.allowed is True


def test_it_watches_a_kind_of_the_shared_store(api):
    batch = client.BatchV1Api(api)
    batch.create_namespaced_job("default", {"metadata": {"name": "py-watched"},
                                            "spec": {"template": template("py-watched", "Never")}})
    seen = [(e["type"], e["object"].metadata.name, e["object"].kind)
            for e in watch.Watch().stream(batch.list_namespaced_job, "default", timeout_seconds=2)]
    assert ("ADDED", "py-watched", "Job") in seen
    assert all(kind == "Job" for _, _, kind in seen)
