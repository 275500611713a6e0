"""The loops as the workers run them: a resync repairs lost nudges, so a loop skips one when no commit came since its
last whole look began — and only then."""

import pytest

from cluster_core import actions, nudge, runtime, workers
from cluster_core.models import Deployment
from cluster_core.writes import do_create


@pytest.fixture
def looks(monkeypatch):
    """Every look a worker takes, as (channel, keys)."""
    seen = []
    real = runtime.reconcile_keys

    def counted(channel, pg, keys):
        seen.append((channel, tuple(keys)))
        return real(channel, pg, keys)

    monkeypatch.setattr(runtime, "reconcile_keys", counted)
    workers._whole_looks.clear()
    yield seen
    workers._whole_looks.clear()


EVERY_DEPLOYMENT = [(nudge.DEPLOYMENT, ("default/test1",)), (nudge.DEPLOYMENT, ("kube-system/coredns",))]


def deployed_and_settled(cluster, looks) -> None:
    actions.deploy(cluster, "test1", "nginx", 1)
    runtime.settle(cluster)
    looks.clear()


# run_loop closes stale connections, as a worker thread must: outside a test's transaction.
@pytest.mark.django_db(transaction=True)
def test_a_resync_is_skipped_when_no_commit_came_since_the_last_whole_look(cluster, looks):
    deployed_and_settled(cluster, looks)
    workers.run_loop(nudge.DEPLOYMENT, cluster.pk, "*", resync=True)
    assert looks == EVERY_DEPLOYMENT
    workers.run_loop(nudge.DEPLOYMENT, cluster.pk, "*", resync=True)
    assert looks == EVERY_DEPLOYMENT  # nothing committed since: nothing to repair
    workers.run_loop(nudge.DEPLOYMENT, cluster.pk, "*")
    assert looks == EVERY_DEPLOYMENT * 2  # a nudge for every key is never skipped


@pytest.mark.django_db(transaction=True)
def test_a_commit_since_the_last_whole_look_brings_the_resync_back(cluster, looks):
    deployed_and_settled(cluster, looks)
    workers.run_loop(nudge.DEPLOYMENT, cluster.pk, "*", resync=True)
    # A write whose nudge was lost: the deployment's replicas changed, and nobody told the controller.
    actions.scale(cluster, "test1", 3)
    workers.run_loop(nudge.DEPLOYMENT, cluster.pk, "*", resync=True)
    assert looks == EVERY_DEPLOYMENT * 2
    d = Deployment.objects.get(playground=cluster, name="test1")
    assert d.status["observedGeneration"] == d.generation  # the resync repaired it


@pytest.mark.django_db(transaction=True)
def test_a_resync_is_skipped_when_only_kinds_the_loop_does_not_watch_were_committed(cluster, looks):
    deployed_and_settled(cluster, looks)
    workers.run_loop(nudge.SERVICEACCOUNT, cluster.pk, "*", resync=True)
    workers.run_loop(nudge.DEPLOYMENT, cluster.pk, "*", resync=True)
    looks.clear()
    actions.scale(cluster, "test1", 2)  # a Deployment: nothing the ServiceAccount controller watches
    workers.run_loop(nudge.SERVICEACCOUNT, cluster.pk, "*", resync=True)
    workers.run_loop(nudge.DEPLOYMENT, cluster.pk, "*", resync=True)
    assert looks == EVERY_DEPLOYMENT
    looks.clear()
    # A namespace is: the ServiceAccount controller's resync comes back.
    do_create(cluster, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}}, "kubectl")
    workers.run_loop(nudge.SERVICEACCOUNT, cluster.pk, "*", resync=True)
    assert [channel for channel, _ in looks] and {channel for channel, _ in looks} == {nudge.SERVICEACCOUNT}


@pytest.mark.django_db(transaction=True)
def test_a_look_that_left_something_undone_is_not_remembered(cluster, looks, monkeypatch):
    actions.deploy(cluster, "test1", "nginx", 1)
    runtime.settle(cluster)

    def conflicted(channel, pg, keys):
        looks.append((channel, tuple(keys)))
        runtime._left_undone()  # as a write conflict given up on, or a write held back by the pacing gate
        return 0

    monkeypatch.setattr(runtime, "reconcile_keys", conflicted)
    looks.clear()
    workers.run_loop(nudge.DEPLOYMENT, cluster.pk, "*", resync=True)
    assert (nudge.DEPLOYMENT, cluster.pk) not in workers._whole_looks
    workers.run_loop(nudge.DEPLOYMENT, cluster.pk, "*", resync=True)
    assert looks == EVERY_DEPLOYMENT * 2  # looked again


@pytest.mark.django_db(transaction=True)
def test_a_whole_look_is_remembered_only_a_while(cluster, looks, monkeypatch):
    deployed_and_settled(cluster, looks)
    workers.run_loop(nudge.DEPLOYMENT, cluster.pk, "*", resync=True)
    revision, at = workers._whole_looks[(nudge.DEPLOYMENT, cluster.pk)]
    workers._whole_looks[(nudge.DEPLOYMENT, cluster.pk)] = (revision, at - workers.WHOLE_LOOK_KEPT)
    workers.run_loop(nudge.DEPLOYMENT, cluster.pk, "*", resync=True)
    assert looks == EVERY_DEPLOYMENT * 2  # a progress deadline depends on the clock alone


def _touched(kind: str, **extra) -> dict:
    return {"kind": kind, "namespace": "default", "name": "x", "type": "MODIFIED", **extra}


def test_only_a_commit_of_what_the_lessons_look_at_wakes_the_lesson_checker():
    for kind in ("Deployment", "Service", "Pod", "Node", "Event"):
        assert (nudge.LESSONS, "*") in nudge.targets_for([_touched(kind)]), kind
    for kind in ("ReplicaSet", "Endpoints", "EndpointSlice", "Lease", "ConfigMap"):
        assert (nudge.LESSONS, "*") not in nudge.targets_for([_touched(kind)]), kind
    # A ReplicaSet's status together with one of its pods: the pod is enough.
    assert (nudge.LESSONS, "*") in nudge.targets_for([_touched("ReplicaSet"), _touched("Pod", owner="x-1")])


@pytest.mark.django_db(transaction=True)
def test_a_curl_through_a_service_wakes_the_lesson_checker(cluster):
    """kube-proxy's access-log line is no commit of its own: the Event recording the forwarded request is, and it
    is what tells the checker to read the log."""
    actions.deploy(cluster, "test1", "nginx", 1)
    actions.expose(cluster, "test1", 80)
    runtime.settle(cluster)
    with nudge.capture() as nudged:
        actions.curl(cluster, "test1")
    assert (nudge.LESSONS, "*") in nudged


# ---------------------------------------------------------------------------------------------------------------
# A loop's messages: playgrounds side by side, one playground one look at a time


def test_requests_that_waited_for_one_playground_become_one_look():
    assert workers.merged([("*", None, True), ("*", None, True)]) == ("*", None, True)
    assert workers.merged([("*", None, True), ("node1", None, False)]) == ("*", None, False)
    assert workers.merged([("a", None, False), (None, ["a", "b"], False)]) == (None, ["a", "b"], False)
    assert workers.merged([("", None, False), ("", None, False)]) == ("", None, False)  # the scheduler's one key


def test_a_loop_looks_at_several_playgrounds_at_once_and_at_one_playground_once_at_a_time():
    import asyncio
    import time

    events = []

    class Probe(workers.LoopConsumer):
        channel = nudge.KUBELET

        async def _run(self, pid, key="*", keys=None, resync=False):
            events.append(("start", pid, key, tuple(keys or ())))
            await asyncio.sleep(0.05)
            events.append(("end", pid, key, tuple(keys or ())))
            return 0

    async def main():
        c = Probe()
        for pid, key in ((1, "node1"), (2, "node1"), (1, "node2"), (1, "node1")):
            await c.reconcile({"type": "reconcile", "playground": pid, "key": key, "sent": time.time()})
        await c.settled()

    asyncio.run(main())
    starts = [e for e in events if e[0] == "start"]
    assert starts[:2] == [("start", 1, "node1", ()), ("start", 2, "node1", ())]  # side by side
    assert events.index(("end", 1, "node1", ())) < events.index(("start", 1, "*", ("node2", "node1")))
    assert len(starts) == 3  # what waited for playground 1 became one look


def test_a_nudge_reaches_its_loop_while_the_shared_sync_thread_is_busy():
    """The process's one thread-sensitive sync thread runs every consumer's `database_sync_to_async` calls; a loop's
    messages must not wait for it."""
    import asyncio
    import threading
    import time

    from asgiref.sync import sync_to_async

    looked = []

    class Probe(workers.LoopConsumer):
        channel = nudge.KUBELET

        async def _run(self, pid, key="*", keys=None, resync=False):
            looked.append((pid, key))
            return 0

    release = threading.Event()

    async def main():
        busy = asyncio.ensure_future(sync_to_async(release.wait, thread_sensitive=True)(10))
        await asyncio.sleep(0.05)  # the shared thread is now held
        c = Probe()
        try:
            await asyncio.wait_for(c.dispatch({"type": "reconcile", "playground": 7, "key": "node1",
                                               "sent": time.time()}), timeout=2)
            await asyncio.wait_for(c.settled(), timeout=2)
        finally:
            release.set()
            await busy

    asyncio.run(main())
    assert looked == [(7, "node1")]


def test_a_loop_takes_every_queued_nudge_in_one_turn_of_the_event_loop():
    import asyncio
    import time

    asked = []

    class Probe(workers.LoopConsumer):
        channel = nudge.REPLICASET

        def _ask(self, pid, request):
            asked.append(pid)

    async def main():
        queue = asyncio.Queue()
        for pid in range(100):
            queue.put_nowait({"type": "reconcile", "playground": pid, "key": "default/web", "sent": time.time()})
        consumer = asyncio.ensure_future(Probe()({"type": "channel", "channel": nudge.REPLICASET}, queue.get, None))
        await asyncio.sleep(0)  # the consumer starts
        await asyncio.sleep(0)  # one more turn: by now it has taken everything that was queued
        taken = list(asked)
        consumer.cancel()
        return taken

    assert asyncio.run(main()) == list(range(100))


class _Recorder(workers.LoopConsumer):
    channel = nudge.DEPLOYMENT

    def __init__(self, looked):
        super().__init__()
        self.looked = looked

    async def _run(self, pid, key="*", keys=None, resync=False):
        self.looked.append((pid, key, resync))
        return 0


def test_a_resync_waits_while_every_loop_thread_is_busy_and_a_nudge_does_not(monkeypatch):
    import asyncio
    import time

    looked = []
    monkeypatch.setattr(workers, "_looks_running", workers.LOOP_THREAD_COUNT)

    async def main():
        c = _Recorder(looked)
        await c.reconcile({"type": "reconcile", "playground": 1, "key": "*", "resync": True, "sent": time.time()})
        await c.reconcile({"type": "reconcile", "playground": 2, "key": "default/web", "sent": time.time()})
        await asyncio.sleep(0.3)
        held = list(looked)
        workers._looks_running = 0  # a thread is free
        await asyncio.wait_for(c.settled(), timeout=5)
        return held

    held = asyncio.run(main())
    assert held == [(2, "default/web", False)]
    assert looked == [(2, "default/web", False), (1, "*", True)]


def test_a_resync_goes_anyway_once_it_has_waited_long_enough(monkeypatch):
    import asyncio
    import time

    looked = []
    monkeypatch.setattr(workers, "_looks_running", workers.LOOP_THREAD_COUNT)
    monkeypatch.setattr(workers, "RESYNC_DEFER", 0.1)
    monkeypatch.setattr(workers, "RESYNC_SPACING", 0.01)

    async def main():
        c = _Recorder(looked)
        for pid in (1, 2):
            await c.reconcile({"type": "reconcile", "playground": pid, "key": "*", "resync": True,
                               "sent": time.time()})
        await asyncio.wait_for(c.settled(), timeout=5)

    asyncio.run(main())
    assert looked == [(1, "*", True), (2, "*", True)]
