"""New playgrounds are copies of the seed's cluster the loops converged once: the same cluster as a booted one, with
uids, times and pods' random suffixes of their own, and nothing left for the loops to do."""

import re
from collections import Counter

import pytest
from django.utils import timezone

from cluster_core import bootstrap, clock, playgrounds, runtime, seedcopy
from cluster_core.models import Change, Endpoints, Event, LogLine, Playground, Pod, Service
from cluster_core.playgrounds import object_models


@pytest.fixture
def fresh_template():
    seedcopy.forget()
    yield
    seedcopy.forget()


def objects(pg):
    return [o for model in object_models() for o in model.objects.filter(playground=pg)]


def shape(pg) -> dict:
    """What a learner sees of a cluster, without what differs between two boots of it."""
    pods = Pod.objects.filter(playground=pg)
    return {
        "kinds": Counter(o.KIND for o in objects(pg) if o.KIND != "Event"),
        "names": sorted(re.sub(r"-[a-z0-9]{5}$", "-*", f"{o.KIND}/{o.namespace}/{o.name}")
                        for o in objects(pg) if o.KIND != "Event"),
        "placement": Counter(p.node_name for p in pods),
        "phases": Counter(p.phase for p in pods),
        "ips": sorted((p.status.get("podIP"), p.status.get("hostIP")) for p in pods),
        "services": sorted((s.namespace, s.name, s.spec.get("clusterIP"), repr(s.spec.get("ports")))
                           for s in Service.objects.filter(playground=pg)),
        "endpoints": sorted((e.namespace, e.name, len(e.spec.get("subsets") or []),
                             sorted(a["ip"] for s in e.spec.get("subsets") or [] for a in s.get("addresses") or []))
                            for e in Endpoints.objects.filter(playground=pg)),
        "events": Counter(e.spec.get("reason") for e in Event.objects.filter(playground=pg)),
        "feed": Change.objects.filter(playground=pg).count(),
        "logs": LogLine.objects.filter(playground=pg).count(),
        "revision": pg.revision,
    }


def test_it_copies_a_cluster_equal_to_a_booted_one(db, fake_clock, quiet_nudges, fresh_template):
    booted = bootstrap.create_playground("booted", tempo="realtime")
    copied = playgrounds.start()
    assert shape(copied) == shape(booted)
    assert shape(copied)["phases"] == Counter({"Running": len(Pod.objects.filter(playground=copied))})
    assert copied.tempo == "realtime" and not copied.paused


def test_it_gives_two_copies_no_uid_in_common(db, fake_clock, quiet_nudges, fresh_template):
    one, two = playgrounds.start(), playgrounds.start()
    uids = [{o.uid for o in objects(pg)} for pg in (one, two)]
    assert uids[0] and not uids[0] & uids[1]
    feed_uids = [set(Change.objects.filter(playground=pg).values_list("uid", flat=True)) for pg in (one, two)]
    assert not feed_uids[0] & feed_uids[1]


def test_it_points_every_reference_of_a_copy_at_its_own_objects(db, fake_clock, quiet_nudges, fresh_template):
    pg = playgrounds.start()
    uids = {o.uid for o in objects(pg)}
    owners = {r["uid"] for o in objects(pg) for r in o.owner_references}
    involved = {e.involved_uid for e in Event.objects.filter(playground=pg)}
    logs = set(LogLine.objects.filter(playground=pg).values_list("pod_uid", flat=True))
    assert owners and owners <= uids
    assert involved and involved - {""} <= uids
    assert logs <= {p.uid for p in Pod.objects.filter(playground=pg)}


def test_it_gives_the_copied_pods_names_of_their_own(db, fake_clock, quiet_nudges, fresh_template):
    one, two = playgrounds.start(), playgrounds.start()
    names = [set(Pod.objects.filter(playground=pg).exclude(generate_name="").values_list("name", flat=True))
             for pg in (one, two)]
    assert names[0] and not names[0] & names[1]
    # The feed and the Events speak of the pods under their new names.
    assert names[0] <= set(Change.objects.filter(playground=one, kind="Pod").values_list("name", flat=True))


def test_it_moves_a_copy_s_times_to_now(db, fake_clock, quiet_nudges, fresh_template):
    seedcopy.template()
    fake_clock.advance(7200)
    pg = playgrounds.start()
    now = fake_clock.now()
    for pod in Pod.objects.filter(playground=pg):
        assert abs((pod.creation_timestamp - now).total_seconds()) < 60
        started = clock.parse_rfc3339(pod.to_k8s()["status"]["startTime"])
        assert abs((started - now).total_seconds()) < 60
    # The feed's commit times are the wall clock's, as the write path stamps them.
    last = Change.objects.filter(playground=pg).order_by("-revision").first()
    assert abs((last.committed_at - timezone.now()).total_seconds()) < 60


def test_it_leaves_the_loops_nothing_to_do_on_a_copy(db, fake_clock, quiet_nudges, fresh_template):
    pg = playgrounds.start()
    before = Change.objects.filter(playground=pg).count()
    assert runtime.run_once(pg) == 0
    assert runtime.settle(pg) >= 1
    pg.refresh_from_db()
    assert Change.objects.filter(playground=pg).count() == before
    assert pg.revision == Change.objects.filter(playground=pg).order_by("-revision").first().revision


def test_it_keeps_the_feed_s_resource_versions_those_of_the_objects(db, fake_clock, quiet_nudges, fresh_template):
    pg = playgrounds.start()
    for pod in Pod.objects.filter(playground=pg):
        last = Change.objects.filter(playground=pg, uid=pod.uid).order_by("-revision").first()
        assert last.revision == pod.resource_version
        assert last.object["metadata"]["resourceVersion"] == str(pod.resource_version)


def test_it_resets_to_a_copy_after_the_revisions_it_had(db, fake_clock, quiet_nudges, fresh_template):
    pg = playgrounds.start()
    fresh = shape(pg)
    revision = pg.revision
    pg = playgrounds.reset(pg)
    deleted = Change.objects.filter(playground=pg, type="DELETED").count()
    assert pg.revision == revision + deleted + fresh["revision"]
    again = shape(pg)
    assert {k: again[k] for k in fresh if k not in ("feed", "revision")} == {
        k: fresh[k] for k in fresh if k not in ("feed", "revision")}
    for pod in Pod.objects.filter(playground=pg):
        last = Change.objects.filter(playground=pg, uid=pod.uid).order_by("-revision").first()
        assert last.revision == pod.resource_version > revision
        assert last.object["metadata"]["resourceVersion"] == str(pod.resource_version)
    assert runtime.run_once(pg) == 0


def test_it_boots_the_template_through_the_loops_and_keeps_no_playground_of_it(db, fake_clock, quiet_nudges,
                                                                                fresh_template):
    tpl = seedcopy.template()
    assert not Playground.objects.exists()
    assert {t.model.__name__ for t in tpl.tables} >= {"Pod", "Event", "Change", "Node", "DaemonSet", "ReplicaSet"}


def story_of(pg) -> list[str]:
    from playground import story
    from playground.consumers import read_changes

    pods = {p.name: p.generate_name for p in Pod.objects.filter(playground=pg).exclude(generate_name="")}
    out = []
    for change in read_changes(pg.pk, 0):
        shown = story.step(change)
        if shown is None:
            continue
        text = shown["text"]
        for name, prefix in pods.items():
            text = text.replace(name, prefix + "*")
        out.append(f"{change['actor']}: {text}")
    return out


def test_it_tells_a_copy_s_start_up_as_the_booted_one_s(db, fake_clock, quiet_nudges, fresh_template):
    booted = bootstrap.create_playground("booted", tempo="realtime")
    copied = playgrounds.start()
    # Which of the two coredns pods the scheduler takes first follows their random names: the same steps, in an
    # order that differs between two boots as well.
    assert Counter(story_of(copied)) == Counter(story_of(booted))
    assert any("coredns" in line for line in story_of(copied))
