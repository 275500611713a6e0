"""Tempo is the loops' clock, changeable while things run: stored due-times are rescaled."""

from cluster_core import runtime, writes
from cluster_core.models import Playground, Pod
from cluster_core.tempo import set_tempo


def deploy(pg):
    writes.do_create(pg, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "t"},
                          "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "t"}},
                                   "template": {"metadata": {"labels": {"app": "t"}},
                                                "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}}}, "t")
    runtime.settle(pg, advance_clock=False)
    return Pod.objects.filter(playground=pg, labels__app="t").first()


def test_it_stretches_a_pull_in_classroom_slow_motion_and_shrinks_it_back(cluster, fake_clock):
    set_tempo(cluster, "classroom")
    # Paused and stepped up to the kubelet's accept: single steps take no simulated time.
    Playground.objects.filter(pk=cluster.pk).update(paused=True)
    deploy(cluster)
    while not Pod.objects.filter(playground=cluster, labels__app="t", requeue_at__isnull=False).exists():
        assert runtime.single_step(cluster)
    pod = Pod.objects.get(playground=cluster, labels__app="t")
    assert pod.status["containerStatuses"][0]["state"]["waiting"]["reason"] == "ContainerCreating"
    assert (pod.requeue_at - fake_clock.now()).total_seconds() == 3.0 * 4  # nginx pulls in 3 s, slowed 4×
    set_tempo(cluster, "realtime")
    pod.refresh_from_db()
    assert (pod.requeue_at - fake_clock.now()).total_seconds() == 3.0


def test_it_makes_waiting_stages_due_at_once_when_switched_to_instant(cluster, fake_clock):
    pod = deploy(cluster)
    assert pod.phase == "Pending"
    set_tempo(cluster, "instant")
    runtime.settle(cluster, advance_clock=False)  # no time passes: the switch alone finishes the start-up
    pod.refresh_from_db()
    assert pod.phase == "Running" and pod.status["podIP"].startswith("10.244.")


def test_it_sends_every_loop_to_look_again_on_resume_and_none_on_pause(cluster, monkeypatch,
                                                                       django_capture_on_commit_callbacks):
    from cluster_core import nudge
    from cluster_core.tempo import set_paused

    sent = []
    monkeypatch.setattr(nudge, "send_targets", lambda pg_id, targets, revision=0: sent.append((pg_id, targets)))
    monkeypatch.setattr(nudge, "tempo_changed", lambda *args: None)
    with django_capture_on_commit_callbacks(execute=True):
        set_paused(cluster, True)
    assert sent == []
    with django_capture_on_commit_callbacks(execute=True):
        set_paused(cluster, False)
    # Writes made while paused found the loops paused; the resync leaves paused playgrounds out.
    assert sent == [(cluster.pk, {(channel, "*") for channel in nudge.LOOP_CHANNELS})]
    assert (nudge.DEPLOYMENT, "*") in sent[0][1] and (nudge.KUBELET, "*") in sent[0][1]
