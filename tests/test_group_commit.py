"""Group commit: several nodes' kubelets synced together write what they would write one by one, in one
transaction; a conflict on one node falls back to per-node commits and loses nothing."""

import pytest
from asgiref.sync import async_to_sync

from cluster_core import events, nudge, ticker, workers, writes
from cluster_core.controllers import kubelet
from cluster_core.models import Change, Event, LogLine, Pod
from tests.builders import bare_playground

NODES = ("k8s-node1", "k8s-node2")


def bound_pod(pg, name, node):
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"nodeName": node, "containers": [{"name": "web", "image": "nginx"}]}}
    return writes.do_create(pg, body, "test")


def with_pods(slug, tempo="instant"):
    pg = bare_playground(slug, tempo=tempo)
    for i, node in enumerate(NODES * 2):
        bound_pod(pg, f"web-{i}", node)
    pg.refresh_from_db()
    return pg


def feed(pg, since):
    return [(c.revision - since, c.type, c.kind, c.namespace, c.name, c.actor, c.message, c.detail)
            for c in Change.objects.filter(playground=pg, revision__gt=since).order_by("revision")]


def test_it_writes_the_same_rows_and_feed_entries_as_per_node_commits(db, fake_clock, quiet_nudges, monkeypatch):
    one_by_one, together = with_pods("one-by-one"), with_pods("together")
    start = {pg.pk: pg.revision for pg in (one_by_one, together)}

    monkeypatch.setattr(events, "_seq", 0)
    wrote = sum(kubelet.reconcile(one_by_one, node) for node in NODES)
    monkeypatch.setattr(events, "_seq", 0)
    assert kubelet.reconcile_nodes(together, list(NODES)) == wrote == 4 + 4 * 4

    assert feed(together, start[together.pk]) == feed(one_by_one, start[one_by_one.pk])
    assert {c.actor for c in Change.objects.filter(playground=together, revision__gt=start[together.pk])} == {
        "kubelet/k8s-node1", "kubelet/k8s-node2"}
    # One transaction: every feed row of the group carries the one commit time.
    committed = Change.objects.filter(playground=together, revision__gt=start[together.pk])
    assert len({c.committed_at for c in committed}) == 1
    for pg in (one_by_one, together):
        pods = Pod.objects.filter(playground=pg).order_by("name")
        assert [(p.name, p.phase, p.status["podIP"]) for p in pods] == [
            ("web-0", "Running", "10.244.1.2"), ("web-1", "Running", "10.244.2.2"),
            ("web-2", "Running", "10.244.1.3"), ("web-3", "Running", "10.244.2.3")]
        assert sorted(e.spec["reason"] for e in Event.objects.filter(playground=pg, involved_uid__in=[
            p.uid for p in pods])) == sorted(["Pulling", "Pulled", "Created", "Started"] * 4)
        assert LogLine.objects.filter(playground=pg).count() == 4
    assert kubelet.reconcile_nodes(together, list(NODES)) == 0


def test_it_falls_back_to_per_node_commits_when_one_node_conflicts(db, fake_clock, quiet_nudges, monkeypatch):
    pg = with_pods("conflict")
    start = pg.revision
    real = kubelet.commit_together
    calls = []

    def another_writer_first(batches):
        # Someone labels web-0 between the kubelet's read and its commit: its write of web-0 is stale.
        if not calls:
            body = writes.get_object(pg, "Pod", "default", "web-0").to_k8s()
            body["metadata"]["labels"] = {"touched": "yes"}
            writes.do_update(pg, body, "kubectl")
        calls.append(len(batches))
        return real(batches)

    monkeypatch.setattr(kubelet, "commit_together", another_writer_first)
    assert kubelet.reconcile_nodes(pg, list(NODES)) == 4 + 4 * 4
    assert calls == [2]

    pods = {p.name: p for p in Pod.objects.filter(playground=pg)}
    assert all(p.phase == "Running" for p in pods.values())
    assert pods["web-0"].labels == {"touched": "yes"}  # the other writer's change is kept
    kubelet_writes = Change.objects.filter(playground=pg, revision__gt=start, kind="Pod").exclude(actor="kubectl")
    # Exactly one kubelet write per pod: nothing lost, nothing written twice.
    assert sorted(c.name for c in kubelet_writes) == ["web-0", "web-1", "web-2", "web-3"]
    for p in pods.values():
        reasons = sorted(e.spec["reason"] for e in Event.objects.filter(playground=pg, involved_uid=p.uid))
        assert reasons == ["Created", "Pulled", "Pulling", "Started"]
    assert LogLine.objects.filter(playground=pg).count() == 4
    assert kubelet.reconcile_nodes(pg, list(NODES)) == 0


def test_it_raises_a_lone_nodes_conflict_for_the_caller_to_retry(db, fake_clock, quiet_nudges, monkeypatch):
    pg = with_pods("lone")
    stale = Pod.objects.get(playground=pg, name="web-0")
    writes.do_update(pg, stale.to_k8s() | {"metadata": {**stale.metadata(), "labels": {"a": "b"}}}, "kubectl")
    monkeypatch.setattr(kubelet, "due_pods", lambda pg, names, now: {"k8s-node1": [stale]})
    with pytest.raises(writes.Conflict):
        kubelet.reconcile_nodes(pg, ["k8s-node1"])


def test_it_names_every_due_node_in_one_kubelet_message():
    targets = {(nudge.KUBELET, "k8s-node2"), (nudge.KUBELET, "k8s-node1"), (nudge.SCHEDULER, "")}
    sent = nudge.messages(7, targets)
    assert [(ch, m.get("key"), m.get("keys")) for ch, m in sent] == [
        (nudge.SCHEDULER, "", None), (nudge.KUBELET, None, ["k8s-node1", "k8s-node2"])]
    # A single node keeps its own message.
    [(ch, m)] = nudge.messages(7, {(nudge.KUBELET, "k8s-node1")})
    assert (ch, m["key"], "keys" in m) == (nudge.KUBELET, "k8s-node1", False)


@pytest.mark.django_db(transaction=True)
def test_it_syncs_the_nodes_a_ticker_message_names_in_one_commit(fake_clock, quiet_nudges):
    pg = with_pods("ticker", tempo="realtime")
    for node in NODES:
        kubelet.reconcile(pg, node)  # Pulling: each pod now has a stored due-time
    fake_clock.advance(60)
    targets = ticker.due_targets()[pg.pk]
    assert targets == {(nudge.KUBELET, n) for n in NODES}
    [(channel, message)] = nudge.messages(pg.pk, targets)
    assert message["keys"] == list(NODES)

    before = Change.objects.filter(playground=pg).order_by("-revision").first().revision
    consumer = type("KubeletConsumer", (workers.LoopConsumer,), {"channel": channel})()

    async def deliver(message):  # the consumer looks on tasks of its own: wait for them
        await consumer.reconcile(message)
        await consumer.settled()

    async_to_sync(deliver)(message)

    rows = list(Change.objects.filter(playground=pg, revision__gt=before))
    assert {c.actor for c in rows} == {"kubelet/k8s-node1", "kubelet/k8s-node2"}
    assert len({c.committed_at for c in rows}) == 1
    assert sorted(c.name for c in rows if c.kind == "Pod") == ["web-0", "web-1", "web-2", "web-3"]
    # The same message again: the consumer already looked after it was sent.
    async_to_sync(deliver)(message)
    assert Change.objects.filter(playground=pg, revision__gt=before).count() == len(rows)
    # A single node's nudge still works on its own.
    assert workers.run_loop(nudge.KUBELET, pg.pk, "k8s-node1") == 0
