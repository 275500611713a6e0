"""Parts of the API that kubectl commands beyond the seed depend on: the eviction subresource (`kubectl drain`),
node leases (`kubectl describe node`), EndpointSlice ports (`kubectl describe svc`), the API at the server root
(`kubectl proxy`), and 404 for paths that name no served subresource."""

import datetime as dt
import json

import pytest
from django.test import Client

from cluster_core import bootstrap, clock
from cluster_core.api import resources
from cluster_core.models import Pod

# --- pure: derived views -------------------------------------------------------------------------------------


def test_it_names_every_endpoint_slice_port():
    ep = {"metadata": {"name": "web", "namespace": "default", "uid": "u1"},
          "subsets": [{"addresses": [{"ip": "10.244.1.2", "nodeName": "k8s-node1"}],
                       "ports": [{"port": 80, "protocol": "TCP"}, {"name": "metrics", "port": 9113,
                                                                    "protocol": "TCP"}]}]}
    slice_ = resources.endpoint_slice(ep)
    # kubectl describe svc dereferences the name of each port: the slice controller never leaves it out.
    assert slice_["ports"] == [{"name": "", "port": 80, "protocol": "TCP"},
                               {"name": "metrics", "port": 9113, "protocol": "TCP"}]
    assert slice_["endpoints"] == [{"addresses": ["10.244.1.2"], "nodeName": "k8s-node1",
                                    "conditions": {"ready": True, "serving": True, "terminating": False}}]


def test_it_derives_a_nodes_lease_from_its_heartbeat(fake_clock):
    node = {"metadata": {"name": "k8s-node1", "uid": "n1", "resourceVersion": "7",
                         "creationTimestamp": "2026-11-26T15:00:00Z"},
            "status": {"conditions": [{"type": "Ready", "status": "True",
                                       "lastHeartbeatTime": "2026-11-26T15:00:00Z"}]}}
    lease = resources.node_lease(node)
    assert lease["metadata"]["namespace"] == "kube-node-lease" and lease["metadata"]["name"] == "k8s-node1"
    assert lease["metadata"]["ownerReferences"] == [{"apiVersion": "v1", "kind": "Node", "name": "k8s-node1",
                                                     "uid": "n1"}]
    assert lease["metadata"]["uid"] == resources.node_lease(node)["metadata"]["uid"] != "n1"
    assert lease["spec"] == {"holderIdentity": "k8s-node1", "leaseDurationSeconds": 40,
                             "renewTime": clock.rfc3339(clock.now()).replace("Z", ".000000Z")}
    node["status"]["conditions"][0]["status"] = "Unknown"
    assert resources.node_lease(node)["spec"]["renewTime"] == "2026-11-26T15:00:00.000000Z"


# --- through the API -------------------------------------------------------------------------------------------


@pytest.fixture
def pg(transactional_db, fake_clock, quiet_nudges):
    return bootstrap.create_playground("default", tempo="instant")


def client_for(pg) -> Client:
    return Client(headers={"Authorization": f"Bearer {pg.token}"})


def eviction(name: str, **options) -> str:
    return json.dumps({"apiVersion": "policy/v1", "kind": "Eviction",
                       "metadata": {"name": name, "namespace": "kube-system"}, "deleteOptions": options})


def test_it_evicts_a_pod_as_a_graceful_delete(pg):
    pod = Pod.objects.filter(playground=pg, name__startswith="coredns-").first()
    url = f"/clusters/default/api/v1/namespaces/kube-system/pods/{pod.name}/eviction"
    resp = client_for(pg).post(url, eviction(pod.name), content_type="application/json")
    assert resp.status_code == 201
    assert json.loads(resp.content) == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                                        "code": 201}
    pod.refresh_from_db()
    # The kubelet stops it within the pod's grace period, as for `kubectl delete pod`.
    assert pod.deletion_timestamp == clock.now() + dt.timedelta(seconds=30)


def test_it_refuses_evictions_that_do_not_match(pg):
    pod = Pod.objects.filter(playground=pg, name__startswith="coredns-").first()
    client = client_for(pg)
    base = "/clusters/default/api/v1/namespaces/kube-system/pods"
    other = client.post(f"{base}/{pod.name}/eviction", eviction("someone-else"), content_type="application/json")
    assert other.status_code == 400
    assert json.loads(other.content)["message"] == "name in URL does not match name in Eviction object"
    missing = client.post(f"{base}/nope/eviction", eviction("nope"), content_type="application/json")
    assert missing.status_code == 404 and json.loads(missing.content)["message"] == 'pods "nope" not found'
    stale = client.post(f"{base}/{pod.name}/eviction", eviction(pod.name, preconditions={"uid": "other"}),
                        content_type="application/json")
    assert stale.status_code == 409
    pod.refresh_from_db()
    assert pod.deletion_timestamp is None


def test_it_lists_node_leases_only_in_kube_node_lease(pg):
    client = client_for(pg)
    base = "/clusters/default/apis/coordination.k8s.io/v1"
    leases = json.loads(client.get(f"{base}/namespaces/kube-node-lease/leases").content)
    assert leases["kind"] == "LeaseList"
    assert [i["metadata"]["name"] for i in leases["items"]] == ["k8s-master", "k8s-node1", "k8s-node2"]
    assert json.loads(client.get(f"{base}/namespaces/default/leases").content)["items"] == []
    assert len(json.loads(client.get(f"{base}/leases").content)["items"]) == 3
    one = json.loads(client.get(f"{base}/namespaces/kube-node-lease/leases/k8s-node1").content)
    assert one["spec"]["holderIdentity"] == "k8s-node1"
    elsewhere = client.get(f"{base}/namespaces/default/leases/k8s-node1")
    assert elsewhere.status_code == 404
    assert json.loads(elsewhere.content)["message"] == 'leases.coordination.k8s.io "k8s-node1" not found'
    written = client.delete(f"{base}/namespaces/kube-node-lease/leases/k8s-node1")
    assert written.status_code == 405


@pytest.mark.parametrize("method,path", [
    ("post", "/api/v1/namespaces/default/widgets"),  # not served: namespaces/default has no such subresource
    ("get", "/api/v1/namespaces/default/pods/x/ephemeralcontainers"),
    ("get", "/apis/apps/v1/namespaces/default/deployments/x/rollback"),
])
def test_it_answers_paths_naming_no_served_subresource_with_404(pg, method, path):
    resp = getattr(client_for(pg), method)(f"/clusters/default{path}", *(("{}",) if method == "post" else ()),
                                           content_type="application/json")
    body = json.loads(resp.content)
    assert (resp.status_code, body["reason"], body["message"]) == (
        404, "NotFound", "the server could not find the requested resource")


def test_it_serves_the_api_at_the_root_for_the_tokens_playground(pg):
    other = bootstrap.create_playground("other", tempo="instant")
    mine = client_for(pg).get("/api/v1/namespaces/default/services/kubernetes")
    assert mine.status_code == 200 and json.loads(mine.content)["metadata"]["name"] == "kubernetes"
    assert Client().get("/api/v1/namespaces/default/pods").status_code == 401
    assert Client().get("/version").status_code == 200
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "theirs"}}
    assert client_for(other).post("/api/v1/namespaces/default/configmaps", json.dumps(cm),
                                  content_type="application/json").status_code == 201
    assert client_for(pg).get("/api/v1/namespaces/default/configmaps/theirs").status_code == 404
    index = json.loads(client_for(pg).get("/openapi/v3").content)
    assert index["paths"]["apis/apps/v1"]["serverRelativeURL"].startswith("/openapi/v3/apis/apps/v1?hash=")
