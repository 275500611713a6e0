"""The cluster's slow motion: one write per single step while paused, one write per hop at the classroom tempo."""

from cluster_core import pacing, runtime, writes
from cluster_core.models import Change, Playground, Pod
from cluster_core.tempo import set_tempo


def deployment(name: str, replicas: int) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}}}


def story_writes(pg, after: int) -> list[Change]:
    """The writes the story tells (not Events, not node heartbeats)."""
    return [c for c in Change.objects.filter(playground=pg, revision__gt=after).order_by("revision")
            if pacing.counts(c.kind, "update" if c.type == "MODIFIED" else "create", c.actor)]


def pause(pg):
    runtime.settle(pg)  # the seed's cluster converged first: the steps are the test's own
    Playground.objects.filter(pk=pg.pk).update(paused=True)
    pg.refresh_from_db()


def test_it_makes_exactly_one_story_write_per_single_step(cluster):
    pause(cluster)
    writes.do_create(cluster, deployment("test1", 3), "kubectl")
    start = cluster.revision
    counted = []
    for _ in range(12):
        before = Playground.objects.get(pk=cluster.pk).revision
        assert runtime.single_step(cluster) >= 1
        counted.append(len(story_writes(cluster, before)))
    assert counted == [1] * 12
    assert len(story_writes(cluster, start)) == 12


def test_it_creates_the_pods_of_a_replicaset_one_step_at_a_time(cluster):
    pause(cluster)
    writes.do_create(cluster, deployment("test1", 3), "kubectl")
    start = cluster.revision
    while Pod.objects.filter(playground=cluster, labels__app="test1").count() < 3:
        runtime.single_step(cluster)
    created = [c for c in story_writes(cluster, start) if c.kind == "Pod" and c.type == "ADDED"]
    # Three pods, three steps: each with the ReplicaSet's "Created pod" Event beside it, none lost.
    assert len(created) == 3
    events = Change.objects.filter(playground=cluster, revision__gt=start, kind="Event",
                                   object__reason="SuccessfulCreate")
    assert sorted(e.object["message"] for e in events) == sorted(f"Created pod: {c.name}" for c in created)


def test_it_steps_through_an_image_pull_by_bringing_the_due_time_forward(cluster):
    pause(cluster)
    writes.do_create(cluster, deployment("test1", 1), "kubectl")
    for _ in range(40):
        if Pod.objects.filter(playground=cluster, labels__app="test1", phase="Running").exists():
            break
        assert runtime.single_step(cluster) >= 1
    assert Pod.objects.get(playground=cluster, labels__app="test1").phase == "Running"


def test_it_says_a_single_step_found_nothing_to_do_when_converged(cluster):
    pause(cluster)
    assert runtime.single_step(cluster) == 0
    assert Playground.objects.get(pk=cluster.pk).steps == 0


def test_it_lets_no_second_write_into_a_single_step(cluster):
    pause(cluster)
    writes.do_create(cluster, deployment("test1", 3), "kubectl")
    Playground.objects.filter(pk=cluster.pk).update(steps=1)
    cluster.refresh_from_db()
    top = Playground.objects.get(pk=cluster.pk).revision
    # Every loop looks at everything, as often as it likes: one story write gets through.
    for _ in range(3):
        runtime.run_once(cluster)
    assert len(story_writes(cluster, top)) == 1
    assert Playground.objects.get(pk=cluster.pk).steps == -1


def test_it_spaces_loop_writes_by_a_step_at_the_classroom_tempo(cluster, fake_clock):
    set_tempo(cluster, "classroom")
    writes.do_create(cluster, deployment("test1", 2), "kubectl")
    seen = {"revision": cluster.revision}
    rounds = []  # (simulated time, story writes) of each round of the loops

    def observe(pg):
        rounds.append((fake_clock.now(), len(story_writes(pg, seen["revision"]))))
        seen["revision"] = Playground.objects.get(pk=pg.pk).revision

    runtime.settle(cluster, after_round=observe)
    wrote = [t for t, n in rounds if n]
    assert len(wrote) > 8 and max(n for _, n in rounds) == 1
    gaps = [(b - a).total_seconds() for a, b in zip(wrote, wrote[1:], strict=False)]
    assert min(gaps) >= pacing.CLASSROOM_STEP_SECONDS
    assert Pod.objects.filter(playground=cluster, labels__app="test1", phase="Running").count() == 2


def test_it_never_holds_back_a_client_at_the_classroom_tempo(cluster):
    set_tempo(cluster, "classroom")
    writes.do_create(cluster, deployment("a", 1), "kubectl")
    writes.do_create(cluster, deployment("b", 1), "kubectl")
    assert Change.objects.filter(playground=cluster, kind="Deployment", actor="kubectl").count() == 2
    assert Playground.objects.get(pk=cluster.pk).write_after is not None


def test_it_keeps_the_first_write_and_the_events_about_it_when_trimming_to_one_step():
    class Obj:
        def __init__(self, kind, name, spec=None):
            self.KIND, self.name, self.spec = kind, name, spec or {}

    class Op:
        def __init__(self, kind, obj):
            self.kind, self.obj, self.actor = kind, obj, "replicaset-controller"

    pod1, pod2 = Op("create", Obj("Pod", "t-1")), Op("create", Obj("Pod", "t-2"))
    ev1 = Op("create", Obj("Event", "rs.1", {"involvedObject": {"kind": "ReplicaSet", "name": "rs"},
                                             "message": "Created pod: t-1"}))
    ev2 = Op("create", Obj("Event", "rs.2", {"involvedObject": {"kind": "ReplicaSet", "name": "rs"},
                                             "message": "Created pod: t-2"}))
    status = Op("update", Obj("ReplicaSet", "rs"))
    assert pacing.first_step([pod1, ev1, pod2, ev2, status], lambda op: op.actor) == [pod1, ev1]
