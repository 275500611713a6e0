"""The story told from hand-made Change rows: step texts, token paths, why-chains, compact rows."""

from django.utils import translation

from playground import story


def change(revision, type_, kind, name, actor, obj=None, message="", detail=None, namespace="default"):
    obj = obj or {}
    obj.setdefault("metadata", {}).update({"name": name, "namespace": namespace, "resourceVersion": str(revision)})
    return {"revision": revision, "type": type_, "kind": kind, "namespace": namespace, "name": name,
            "object": obj, "actor": actor, "message": message, "detail": detail or {}}


def deployment(replicas=1, image="nginx"):
    return {"spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "nginx", "image": image}]}}}}


def pod(node="", owner="test1-7c9f", status=None, deleting=False):
    meta = {"ownerReferences": [{"kind": "ReplicaSet", "name": owner, "controller": True}]}
    if deleting:
        meta["deletionTimestamp"] = "2026-11-26T09:00:30Z"
    return {"metadata": meta, "spec": {"nodeName": node, "containers": [{"name": "nginx", "image": "nginx"}]},
            "status": status or {"phase": "Pending"}}


BOUND = {
    "filtered": {"k8s-master": "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"},
    "scores": {"k8s-node1": {"least_allocated": 80, "spread": 100, "total": 280},
               "k8s-node2": {"least_allocated": 90, "spread": 100, "total": 290}},
    "chosen": "k8s-node2",
}


def test_it_tells_a_kubectl_create_as_a_client_step_through_apiserver_to_etcd():
    c = change(812, "ADDED", "Deployment", "test1", "kubectl create deployment", deployment())
    s = story.step(c)
    assert s["text"] == ("kubectl create deployment asked kube-apiserver to create Deployment test1 "
                         "(1 replicas of nginx); etcd stored it at revision 812")
    assert s["path"] == ["client", "apiserver", "etcd"]


def test_it_names_the_controller_inside_the_controller_manager():
    rs = {"metadata": {"ownerReferences": [{"name": "test1", "controller": True}]}, **deployment(3)}
    c = change(813, "ADDED", "ReplicaSet", "test1-7c9f", "deployment-controller", rs)
    s = story.step(c)
    assert s["text"] == ("kube-controller-manager (deployment controller) created ReplicaSet test1-7c9f for "
                         "Deployment test1 with 3 replicas")
    # It learnt of the Deployment through its watch: the token comes from the apiserver first.
    assert s["path"] == ["apiserver", "controller-manager", "apiserver", "etcd"]


def test_it_tells_the_daemonset_controller_aiming_a_pod_at_its_node():
    agent = {"metadata": {"ownerReferences": [{"kind": "DaemonSet", "name": "kube-proxy", "controller": True}]},
             "spec": {"containers": [{"name": "kube-proxy", "image": "registry.k8s.io/kube-proxy:v1.37.1"}]}}
    c = change(820, "ADDED", "Pod", "kube-proxy-x2b4c", "daemonset-controller", agent, namespace="kube-system",
               detail={"daemonSet": "kube-proxy", "node": "k8s-node3"})
    s = story.step(c)
    assert s["text"] == ("kube-controller-manager (daemonset controller) created Pod kube-proxy-x2b4c for "
                         "DaemonSet kube-proxy, aimed at node k8s-node3; the scheduler binds it there")
    assert s["path"][:4] == ["apiserver", "controller-manager", "apiserver", "etcd"]
    status = {"status": {"desiredNumberScheduled": 3, "numberReady": 2}}
    c = change(821, "MODIFIED", "DaemonSet", "kube-proxy", "daemonset-controller", status, namespace="kube-system")
    assert story.step(c)["text"] == ("kube-controller-manager (daemonset controller) updated the status of "
                                     "DaemonSet kube-proxy: 2 of 3 nodes run a ready pod")
    assert not story.is_cause(c)
    with translation.override("zh-hans"):
        assert "DaemonSet 控制器" in story.step(c)["text"]


def test_it_explains_the_scheduling_decision_from_the_detail():
    c = change(815, "MODIFIED", "Pod", "test1-7c9f-x2", "kube-scheduler", pod("k8s-node2"), detail=BOUND)
    s = story.step(c)
    assert s["text"] == ("kube-scheduler bound Pod test1-7c9f-x2 to k8s-node2: most free CPU and memory; "
                         "k8s-master rejected: untolerated taint node-role.kubernetes.io/control-plane")
    # The pending pod reaches the scheduler through its watch, and the binding the chosen node's kubelet.
    assert s["path"] == ["apiserver", "scheduler", "apiserver", "etcd", "apiserver", "kubelet@k8s-node2"]


def test_it_tells_the_kubelet_stages_in_order():
    status = {"phase": "Running", "podIP": "10.244.2.3"}
    c = change(820, "MODIFIED", "Pod", "test1-7c9f-x2", "kubelet/k8s-node2", pod("k8s-node2", status=status),
               detail={"stages": ["pulled", "ready"]})
    s = story.step(c)
    assert s["text"] == ("kubelet on k8s-node2 pulled image nginx and started the container of Pod test1-7c9f-x2, "
                         "then reports Pod test1-7c9f-x2 Running at 10.244.2.3")
    assert s["path"] == ["kubelet@k8s-node2", "apiserver", "etcd"]  # its own timer: no watch hop
    c["detail"] = {"stages": ["accept"]}
    assert story.step(c)["path"] == ["apiserver", "kubelet@k8s-node2", "apiserver", "etcd"]


def test_it_sends_endpoints_changes_on_to_every_kube_proxy():
    ep = {"subsets": [{"addresses": [{"ip": "10.244.1.2"}, {"ip": "10.244.2.3"}]}]}
    c = change(830, "MODIFIED", "Endpoints", "test1", "endpoints-controller", ep)
    s = story.step(c, nodes=["k8s-node1", "k8s-node2"])
    assert "10.244.1.2, 10.244.2.3" in s["text"]
    assert s["path"][-2:] == ["kube-proxy@k8s-node1", "kube-proxy@k8s-node2"]


def test_it_leaves_out_events_and_node_heartbeats():
    assert story.step(change(1, "ADDED", "Event", "x.1", "kube-scheduler")) is None
    assert story.step(change(2, "MODIFIED", "Node", "k8s-node1", "kubelet/k8s-node1", namespace="")) is None


def test_it_tells_a_pod_draining_in_a_rolling_update():
    c = change(900, "MODIFIED", "Pod", "test1-7c9f-x2", "replicaset-controller", pod("k8s-node1", deleting=True))
    s = story.step(c)
    assert s["text"] == "kube-controller-manager (replicaset controller) deleted Pod test1-7c9f-x2 of ReplicaSet test1-7c9f"
    assert s["path"][-1] == "kubelet@k8s-node1"


def test_it_translates_step_texts_to_chinese():
    c = change(815, "MODIFIED", "Pod", "test1-7c9f-x2", "kube-scheduler", pod("k8s-node2"), detail=BOUND)
    with translation.override("zh-hans"):
        text = story.step_text(c)
    assert text.startswith("kube-scheduler 将 Pod test1-7c9f-x2 绑定到 k8s-node2")
    assert "CPU" in text


def test_it_shows_pod_status_like_kubectl():
    creating = {"phase": "Pending", "containerStatuses": [{"state": {"waiting": {"reason": "ContainerCreating"}}}]}
    assert story.pod_status(pod(status=creating)) == "ContainerCreating"
    assert story.pod_status(pod(deleting=True)) == "Terminating"
    assert story.pod_status(pod(status={"phase": "Running"})) == "Running"


def test_it_uses_the_real_etcd_key_layout():
    assert story.etcd_key("Deployment", "default", "test1") == "/registry/deployments/default/test1"
    assert story.etcd_key("Service", "default", "test1") == "/registry/services/specs/default/test1"
    assert story.etcd_key("Node", "", "k8s-node1") == "/registry/minions/k8s-node1"


def test_it_resolves_the_rollout_budget_as_kubernetes_rounds_it():
    assert story.resolve_budget("25%", 3, round_up=True) == 1
    assert story.resolve_budget("25%", 3, round_up=False) == 0
    assert story.resolve_budget(2, 3, round_up=False) == 2


def test_it_builds_a_why_chain_with_filters_and_scores_and_no_status_noise():
    rows = [
        change(812, "ADDED", "Deployment", "test1", "kubectl create deployment", deployment()),
        change(814, "MODIFIED", "Deployment", "test1", "deployment-controller", deployment()),
        change(815, "MODIFIED", "Pod", "test1-7c9f-x2", "kube-scheduler", pod("k8s-node2"), detail=BOUND),
        change(813, "ADDED", "Pod", "test1-7c9f-x2", "replicaset-controller", pod()),
    ]
    chain = story.why_chain(rows)
    assert [line["revision"] for line in chain] == [812, 813, 815]
    assert chain[2]["filtered"] == [{"node": "k8s-master",
                                     "reason": "untolerated taint node-role.kubernetes.io/control-plane"}]
    assert [s["node"] for s in chain[2]["scores"] if s["chosen"]] == ["k8s-node2"]


def test_it_finds_the_owner_write_that_caused_a_child():
    owner = [
        change(10, "ADDED", "ReplicaSet", "test1-7c9f", "deployment-controller", deployment(1)),
        change(11, "MODIFIED", "ReplicaSet", "test1-7c9f", "replicaset-controller", deployment(1)),
        change(20, "MODIFIED", "ReplicaSet", "test1-7c9f", "deployment-controller", deployment(3)),
        change(30, "MODIFIED", "ReplicaSet", "test1-7c9f", "deployment-controller", deployment(1)),
    ]
    assert story.cause_before(owner, 25)["revision"] == 20
    assert story.cause_before(owner, 12)["revision"] == 10
    assert story.cause_before(owner, 5) is None


def test_it_leaves_out_fields_an_entry_shares_with_the_one_before_and_restores_them():
    items = [
        {"rev": 1, "type": "ADDED", "kind": "Pod", "ns": "default", "name": "a", "actor": "x", "at": 1.0,
         "step": "one", "path": ["client", "apiserver"]},
        {"rev": 2, "type": "ADDED", "kind": "Event", "ns": "default", "name": "a.1", "actor": "x", "at": 1.0},
        {"rev": 3, "type": "MODIFIED", "kind": "Pod", "ns": "default", "name": "a", "actor": "x", "at": 1.0,
         "step": "two", "path": ["client", "apiserver"]},
    ]
    lean = story.carry(items)
    assert lean[1] == {"rev": 2, "type": "ADDED", "kind": "Event", "name": "a.1"}
    assert lean[2] == {"rev": 3, "kind": "Pod", "name": "a", "step": "two"}
    assert story.uncarry(lean) == items


def test_it_tells_what_the_job_and_statefulset_controllers_did():
    pod = {"metadata": {"name": "web-0", "ownerReferences": [{"kind": "StatefulSet", "name": "web",
                                                              "controller": True}]}}
    added = {"kind": "Pod", "name": "web-0", "type": "ADDED", "actor": "statefulset-controller", "object": pod}
    assert story.step_text(added) == "kube-controller-manager (statefulset controller) created Pod web-0 for " \
                                     "StatefulSet web"
    job = {"metadata": {"name": "pi"}, "spec": {"completions": 3}, "status": {"succeeded": 2}}
    status = {"kind": "Job", "name": "pi", "type": "MODIFIED", "actor": "job-controller", "object": job}
    assert story.step_text(status) == "kube-controller-manager (job controller) updated the status of Job pi: 2 " \
                                      "of 3 pods succeeded"
