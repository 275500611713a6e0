import datetime as dt

import pytest

from cluster_core import clock, nudge, runtime, writes
from cluster_core.models import Pod, new_row
from tests.builders import bare_playground


@pytest.fixture
def pg(db, fake_clock, quiet_nudges):
    return bare_playground("runtime", tempo="instant")


def replicaset(pg, replicas=3):
    writes.do_create(pg, {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "web-abc", "namespace": "default", "labels": {"app": "web"}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}},
    }, "kubectl")


def test_it_serves_a_nudge_that_arrives_before_the_loops_turn_in_the_same_round(pg):
    replicaset(pg)
    with nudge.capture() as nudged:
        runtime.run_round(pg, {(nudge.REPLICASET, "default/web-abc")}, nudged)
        # The ReplicaSet's new pods nudged the scheduler, which came later in the round: they are bound already,
        # and their kubelet ran them in the same round.
        assert Pod.objects.filter(playground=pg, node_name="").count() == 0
        assert Pod.objects.filter(playground=pg, phase="Running").count() == 3
        assert (nudge.SCHEDULER, "") not in nudged
        # Nudged after their turn: the ReplicaSet by its pods' writes, the kubelets by their own.
        assert (nudge.REPLICASET, "default/web-abc") in nudged
        assert any(ch == nudge.KUBELET for ch, _ in nudged)


def test_it_settles_to_the_same_cluster_and_a_resync_writes_nothing(pg):
    replicaset(pg, replicas=4)
    runtime.settle(pg)
    assert Pod.objects.filter(playground=pg, phase="Running").count() == 4
    assert runtime.run_once(pg) == 0


def test_it_lets_an_observer_see_the_cluster_after_every_round(pg):
    replicaset(pg, replicas=2)
    seen = []
    rounds = runtime.settle(pg, after_round=lambda p: seen.append(
        Pod.objects.filter(playground=p, phase="Running").count()))
    assert len(seen) == rounds and seen[-1] == 2
    assert seen.index(2) < rounds - 1  # converged before the confirming pass that ends the settle


def test_it_builds_a_row_without_making_the_defaults_it_is_given():
    pod = new_row(Pod, uid="given", name="p")
    assert pod.uid == "given"
    assert pod.labels == {} and pod.phase == "Pending"
    assert new_row(Pod).uid != new_row(Pod).uid


def test_it_formats_the_same_instant_the_same_in_any_time_zone():
    at = dt.datetime(2026, 11, 26, 9, 0, 3, tzinfo=dt.UTC)
    there = at.astimezone(dt.timezone(dt.timedelta(hours=2)))
    assert clock.rfc3339(at) == clock.rfc3339(there) == "2026-11-26T09:00:03Z"
    assert clock.rfc3339(at + dt.timedelta(seconds=1)) == "2026-11-26T09:00:04Z"
    assert clock.rfc3339(at + dt.timedelta(microseconds=999_999)) == "2026-11-26T09:00:03Z"
    assert clock.rfc3339(dt.datetime(1969, 12, 31, 23, 59, 59, 500_000, tzinfo=dt.UTC)) == "1969-12-31T23:59:59Z"
    assert clock.rfc3339(dt.datetime.max.replace(tzinfo=dt.UTC)) == "9999-12-31T23:59:59Z"
    assert clock.rfc3339(None) is None


def test_the_cyclic_collector_is_paused_while_reconciles_run_and_resumed_after():
    import gc
    import threading

    from cluster_core import gcpause

    assert gc.isenabled()
    inside = threading.Event()
    release = threading.Event()

    def other():
        with gcpause.paused():
            inside.set()
            release.wait(5)

    t = threading.Thread(target=other)
    with gcpause.paused():
        t.start()
        inside.wait(5)
        assert not gc.isenabled()
    # The other reconcile still runs: the collector stays paused until it ends.
    assert not gc.isenabled()
    release.set()
    t.join(5)
    assert gc.isenabled()
    # Turned off by someone else, it stays off.
    gc.disable()
    try:
        with gcpause.paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_wal_checkpoint_moves_the_log_into_the_database(transactional_db):
    from django.db import connection

    from cluster_core import checkpoint
    from cluster_core.models import Playground

    if connection.vendor != "sqlite":
        assert checkpoint.checkpoint() is None
        return
    for i in range(20):
        Playground.objects.create(slug=f"wal-{i}")
    frames, moved = checkpoint.checkpoint()
    assert frames > 0
    assert moved == frames


def test_it_reads_again_when_another_worker_created_the_object_first(monkeypatch):
    from types import SimpleNamespace

    from cluster_core import runtime
    from cluster_core.errors import AlreadyExists

    calls = []

    def reconcile(pg, key):
        calls.append(key)
        if len(calls) == 1:
            raise AlreadyExists.of("serviceaccounts", "", "default")
        return 0  # the second look finds it there: nothing to do

    monkeypatch.setattr(runtime, "loop", lambda channel: SimpleNamespace(reconcile=reconcile))
    assert runtime.reconcile("serviceaccount-controller", None, "default") == 0
    assert calls == ["default", "default"]
