import pytest

from cluster_core import bootstrap, defaults
from cluster_core.controllers import scheduler
from cluster_core.models import Event, Pod
from cluster_core.writes import Batch, do_create, do_update
from tests.builders import bare_playground

TAINT_MESSAGE = (
    "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
    "2 node(s) were unschedulable. preemption: 0/3 nodes are available: 3 Preemption is not helpful for "
    "scheduling."
)


def nodes():
    return [bootstrap.node_object(name, ip, cidr, cp) for name, ip, cidr, cp in bootstrap.NODES]


def pod(name="test1-857949f6d6-rwh4c", cpu=None, owner="", **spec) -> Pod:
    container = {"name": "nginx", "image": "nginx"}
    if cpu:
        container["resources"] = {"requests": {"cpu": cpu}}
    p = Pod(namespace="default", name=name, spec=defaults.pod_spec({"containers": [container], **spec}))
    if owner:
        p.owner_references = [{"kind": "ReplicaSet", "name": "test1-857949f6d6", "uid": owner, "controller": True}]
        p.sync_columns()
    return p


# ---------------------------------------------------------------------------------------------------------------
# Pure: quantities, filters, scorers, messages


def test_it_parses_quantities_as_the_apiserver_does():
    assert scheduler.cpu_millis("100m") == 100
    assert scheduler.cpu_millis("2") == 2000
    assert scheduler.cpu_millis("0.5") == 500
    assert scheduler.memory_bytes("70Mi") == 70 * 1024 * 1024
    assert scheduler.memory_bytes("4026512Ki") == 4026512 * 1024
    assert scheduler.memory_bytes("1G") == 10**9
    assert scheduler.memory_bytes("nonsense") == 0


def test_it_counts_default_requests_only_for_scoring():
    p = pod()
    assert scheduler.pod_requests(p) == scheduler.Requests(0, 0)
    assert scheduler.pod_requests(p, non_zero=True) == scheduler.Requests(100, 200 * 1024 * 1024)


def test_it_keeps_pods_off_the_tainted_master():
    master = nodes()[0]
    state = scheduler.snapshot(nodes(), [])
    reason = scheduler.fits_taints(pod(), master, state)
    assert reason == "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"
    tolerant = pod(tolerations=[{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}])
    assert scheduler.fits_taints(tolerant, master, state) is None


def test_it_skips_a_cordoned_node():
    node1 = nodes()[1]
    node1.spec["unschedulable"] = True
    state = scheduler.snapshot(nodes(), [])
    assert scheduler.fits_unschedulable(pod(), node1, state) == "node(s) were unschedulable"


def test_it_treats_a_node_that_is_not_ready_as_tainted():
    node1 = nodes()[1]
    for c in node1.status["conditions"]:
        if c["type"] == "Ready":
            c["status"] = "False"
    state = scheduler.snapshot([node1], [])
    assert "node.kubernetes.io/not-ready" in scheduler.fits_node_ready(pod(), node1, state)
    daemon = pod(tolerations=[{"operator": "Exists"}])
    assert scheduler.fits_node_ready(daemon, node1, state) is None


def test_it_counts_pods_already_placed_against_allocatable():
    all_nodes = nodes()
    placed = pod("big", cpu="1500m")
    placed.spec["nodeName"] = "k8s-node1"
    placed.sync_columns()
    state = scheduler.snapshot(all_nodes, [placed])
    assert scheduler.fits_resources(pod(cpu="600m"), all_nodes[1], state) == "Insufficient cpu"
    assert scheduler.fits_resources(pod(cpu="500m"), all_nodes[1], state) is None


def test_it_matches_node_selector_and_required_affinity():
    node1, node2 = nodes()[1:]
    state = scheduler.snapshot([node1, node2], [])
    picky = pod(nodeSelector={"kubernetes.io/hostname": "k8s-node2"})
    assert scheduler.fits_node_affinity(picky, node1, state) == "node(s) didn't match Pod's node affinity/selector"
    assert scheduler.fits_node_affinity(picky, node2, state) is None
    term = {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "NotIn", "values": ["k8s-node2"]}]}
    affine = pod(affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [term]}}})
    assert scheduler.fits_node_affinity(affine, node1, state) is None
    assert scheduler.fits_node_affinity(affine, node2, state) is not None


def test_it_prefers_the_least_allocated_node():
    all_nodes = nodes()
    busy = pod("busy", cpu="1")
    busy.spec["nodeName"] = "k8s-node1"
    busy.sync_columns()
    state = scheduler.snapshot(all_nodes, [busy])
    p = pod()
    assert scheduler.score_least_allocated(p, all_nodes[2], state) > scheduler.score_least_allocated(
        p, all_nodes[1], state)


def test_it_spreads_pods_of_one_owner():
    all_nodes = nodes()
    sibling = pod("a", owner="rs-1")
    sibling.spec["nodeName"] = "k8s-node1"
    sibling.sync_columns()
    state = scheduler.snapshot(all_nodes, [sibling])
    p = pod("b", owner="rs-1")
    assert scheduler.score_spread(p, all_nodes[1], state) == 0
    assert scheduler.score_spread(p, all_nodes[2], state) == 100


def test_it_breaks_ties_at_random_from_a_generator_seeded_with_the_pod():
    p = pod()
    d = scheduler.decide(p, nodes(), scheduler.snapshot(nodes(), []))
    assert d.scores["k8s-node1"]["total"] == d.scores["k8s-node2"]["total"]
    assert d.tied == ["k8s-node1", "k8s-node2"] and d.chosen in d.tied
    assert d.detail()["tied"] == d.tied
    # The same pod is placed the same way again; other pods land on either node.
    assert scheduler.decide(p, nodes(), scheduler.snapshot(nodes(), [])).chosen == d.chosen
    chosen = set()
    for i in range(20):
        p = pod(f"test1-857949f6d6-{i:03d}")
        p.uid = f"uid-{i}"
        chosen.add(scheduler.decide(p, nodes(), scheduler.snapshot(nodes(), [])).chosen)
    assert chosen == {"k8s-node1", "k8s-node2"}
    assert d.filtered == {"k8s-master": "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"}


def test_it_words_the_fit_error_like_the_real_scheduler():
    all_nodes = nodes()
    for n in all_nodes[1:]:
        n.spec["unschedulable"] = True
    d = scheduler.decide(pod(), all_nodes, scheduler.snapshot(all_nodes, []))
    assert d.chosen is None
    assert scheduler.fit_error(d, 3) == TAINT_MESSAGE


def test_it_says_preemption_might_help_only_for_resources():
    d = scheduler.Decision({"a": "Insufficient cpu", "b": "node(s) were unschedulable"}, {}, None)
    assert scheduler.fit_error(d, 2) == (
        "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) were unschedulable. preemption: 0/2 nodes are "
        "available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling."
    )


# ---------------------------------------------------------------------------------------------------------------
# The loop against the database


@pytest.fixture
def pg(db, fake_clock, quiet_nudges):
    return bare_playground("sched", tempo="realtime")


def make_pod(pg, name, cpu=None, owner=""):
    container = {"name": "nginx", "image": "nginx"}
    if cpu:
        container["resources"] = {"requests": {"cpu": cpu}}
    meta = {"name": name, "namespace": "default", "labels": {"app": "test1"}}
    if owner:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "test1-857949f6d6",
                                    "uid": owner, "controller": True}]
    return do_create(pg, {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
                          "spec": {"containers": [container]}}, "test")


def set_unschedulable(pg, node_name, value):
    from cluster_core.models import Node

    node = Node.objects.get(playground=pg, name=node_name)
    body = node.to_k8s()
    body["spec"]["unschedulable"] = value
    do_update(pg, body, "kubectl")


def test_it_binds_a_pod_with_an_event_and_its_reasons(pg):
    from cluster_core.models import Change

    make_pod(pg, "test1-857949f6d6-rwh4c")
    assert scheduler.reconcile(pg, "") == 2
    p = Pod.objects.get(name="test1-857949f6d6-rwh4c")
    assert p.node_name in ("k8s-node1", "k8s-node2")
    assert {"type": "PodScheduled", "status": "True"}.items() <= p.status["conditions"][0].items()
    ev = Event.objects.get(involved_uid=p.uid)
    assert ev.spec["reason"] == "Scheduled"
    assert ev.spec["message"] == f"Successfully assigned default/test1-857949f6d6-rwh4c to {p.node_name}"
    assert ev.spec["source"]["component"] == "default-scheduler"
    change = Change.objects.filter(kind="Pod", actor="kube-scheduler").get()
    assert change.message == (
        f"kube-scheduler bound pod test1-857949f6d6-rwh4c to {p.node_name}: tied with the others, picked at random "
        "(seeded with the pod's uid); k8s-master rejected: untolerated taint node-role.kubernetes.io/control-plane"
    )
    assert change.detail["chosen"] == p.node_name
    assert set(change.detail["scores"]) == {"k8s-node1", "k8s-node2"}
    assert scheduler.reconcile(pg, "") == 0


def test_it_spreads_three_replicas_over_the_workers(pg):
    for suffix in ("rwh4c", "sln25", "zmll6"):
        make_pod(pg, f"test1-857949f6d6-{suffix}", owner="rs-uid")
    scheduler.reconcile(pg, "")
    placed = list(Pod.objects.order_by("name").values_list("node_name", flat=True))
    # The first goes to either worker (a tie), the second to the other one, the third to either again.
    assert placed[0] != placed[1] and sorted(set(placed)) == ["k8s-node1", "k8s-node2"]


def test_it_reports_failed_scheduling_once_then_binds_after_uncordon(pg):
    make_pod(pg, "hog", cpu="1500m")
    set_unschedulable(pg, "k8s-node2", True)
    scheduler.reconcile(pg, "")
    assert Pod.objects.get(name="hog").node_name == "k8s-node1"
    make_pod(pg, "late", cpu="1")
    assert scheduler.reconcile(pg, "") == 2
    late = Pod.objects.get(name="late")
    cond = late.status["conditions"][0]
    assert (cond["status"], cond["reason"]) == ("False", "Unschedulable")
    assert cond["message"] == (
        "0/3 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint "
        "{node-role.kubernetes.io/control-plane: }, 1 node(s) were unschedulable. preemption: 0/3 nodes are "
        "available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling."
    )
    assert scheduler.reconcile(pg, "") == 0  # a resync with nothing new says nothing
    failed = Event.objects.filter(involved_uid=late.uid, spec__reason="FailedScheduling")
    assert failed.count() == 1
    assert failed.get().spec["type"] == "Warning"
    set_unschedulable(pg, "k8s-node2", False)
    assert scheduler.reconcile(pg, "") == 2
    late.refresh_from_db()
    assert late.node_name == "k8s-node2"
    assert late.status["conditions"][0]["status"] == "True"


def test_it_schedules_500_pending_pods_in_one_cycle(pg, django_assert_max_num_queries):
    from cluster_core.models import Node

    b = Batch(pg, "test")
    for node in Node.objects.filter(playground=pg):
        node.status["allocatable"]["pods"] = "300"
        b.update(node)
    b.commit()
    b = Batch(pg, "test")
    for i in range(500):
        p = pod(f"web-{i:03d}", cpu="1m", owner="rs-web")
        defaults.apply(p)
        b.create(p)
    b.commit()
    # Three reads, then the write path's batched statements: nothing per pod, nothing per pod x node.
    with django_assert_max_num_queries(40):
        writes = scheduler.reconcile(pg, "")
    assert writes == 1000
    on = list(Pod.objects.filter(playground=pg).values_list("node_name", flat=True))
    assert on.count("") == 0
    assert abs(on.count("k8s-node1") - on.count("k8s-node2")) <= 2


def _many_nodes(n=12):
    return [bootstrap.node_object(f"k8s-node{i:02d}", f"192.168.56.{10 + i}", f"10.244.{i}.0/24", cpu="4",
                                  memory="8192Mi") for i in range(n)]


def test_it_decides_the_same_with_and_without_the_equivalence_cache():
    ns = _many_nodes()
    replicas = [pod(f"test1-857949f6d6-{i:03d}", cpu="300m", owner="rs-uid") for i in range(60)]
    cached, fresh = scheduler.snapshot(ns, []), scheduler.snapshot(ns, [])
    for p in replicas:
        a = scheduler.decide(p, ns, cached)
        fresh.results.clear()
        fresh.static.clear()
        b = scheduler.decide(p, ns, fresh)
        assert (a.chosen, a.scores, a.filtered) == (b.chosen, b.scores, b.filtered)
        if a.chosen:
            cached.bind(p, cached.nodes[a.chosen].node)
            fresh.bind(p, fresh.nodes[b.chosen].node)


def test_it_keeps_the_chosen_node_and_the_best_alternatives_in_the_detail():
    from playground.story import scheduling_reason

    ns = _many_nodes()
    state = scheduler.snapshot(ns, [])
    for i in range(30):
        p = pod(f"test1-857949f6d6-{i:03d}", cpu="300m", owner="rs-uid")
        d = scheduler.decide(p, ns, state)
        detail = d.detail()
        assert detail["chosen"] == d.chosen and d.chosen in detail["scores"]
        assert detail["feasible"] == len(d.scores) == 12
        assert len(detail["scores"]) <= scheduler.ALTERNATIVES + 3
        others = [n for n in d.scores if n != d.chosen]
        best = sorted(others, key=lambda n: (-d.scores[n]["total"], n))[: scheduler.ALTERNATIVES]
        assert set(best) <= set(detail["scores"])
        # The page reads the same reason from the trimmed detail as from every score.
        full = {"filtered": d.filtered, "scores": d.scores, "chosen": d.chosen}
        assert scheduling_reason(detail) == scheduling_reason(full)
        state.bind(p, state.nodes[d.chosen].node)
