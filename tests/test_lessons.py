"""Lessons: the files load, the checks are evaluated from the feed as the loops run, progress is kept."""

import pytest

from cluster_core import actions, runtime
from cluster_core.lessons import checker, checks, loader
from cluster_core.models import LessonProgress, Playground


def test_it_loads_every_lesson_with_both_languages():
    lessons = loader.lessons()
    assert list(lessons)[:1] == ["seed"]
    for lesson in lessons.values():
        for step in lesson.steps:
            assert step.title["en"] and step.title["zh"] and step.text["en"] and step.text["zh"]


def test_it_refuses_a_step_without_chinese():
    text = "title: {en: a, zh: b}\nsummary: {en: a, zh: b}\nsteps:\n- id: x\n  title: {en: a}\n  text: {en: a, zh: b}\n" \
           "  check: {service: {name: test1}}\n"
    with pytest.raises(loader.LessonError, match="English and Chinese"):
        loader.parse(text, "broken")


def test_it_refuses_an_unknown_condition():
    text = "title: {en: a, zh: b}\nsummary: {en: a, zh: b}\nsteps:\n- id: x\n  title: {en: a, zh: b}\n" \
           "  text: {en: a, zh: b}\n  check: {servce: {name: test1}}\n"
    with pytest.raises(loader.LessonError, match="unknown condition 'servce'"):
        loader.parse(text, "broken")


def done(pg, lesson="seed") -> dict:
    return LessonProgress.objects.get(playground=pg, lesson=lesson).done


@pytest.mark.django_db
def test_it_marks_the_seed_steps_done_through_the_page_actions(cluster):
    checker.start(cluster, "seed")
    assert set(done(cluster)) == {"tour", "all-namespaces"}
    assert actions.deploy(cluster, "test1", "nginx").ok
    runtime.settle(cluster)
    assert {"deploy", "wide"} <= set(done(cluster))
    assert actions.expose(cluster, "test1", 80, "NodePort").ok
    runtime.settle(cluster)
    assert "expose" in done(cluster) and "curl" not in done(cluster)
    port = checks.observe(cluster).services["test1"]["spec"]["ports"][0]["nodePort"]
    assert actions.curl(cluster, f"localhost:{port}").ok
    runtime.settle(cluster)
    assert "curl" in done(cluster)
    actions.scale(cluster, "test1", 3)
    runtime.settle(cluster)
    assert "scale-3" in done(cluster) and "scale-1" not in done(cluster)
    actions.scale(cluster, "test1", 1)
    runtime.settle(cluster)
    assert "scale-1" in done(cluster)
    actions.set_image(cluster, "test1", "httpd")
    runtime.settle(cluster)
    assert "update" in done(cluster) and "undo" not in done(cluster)
    actions.rollback(cluster, "test1")
    runtime.settle(cluster)
    assert set(done(cluster)) == {s.id for s in loader.get("seed").steps}


def run_lesson_with_buttons(pg, slug: str) -> list[str]:
    """Every step's page action, in order, the loops settled after each; returns the steps not done after their
    own turn."""
    from playground.lessons import do_action

    checker.start(pg, slug)
    missed = []
    for step in loader.get(slug).steps:
        if step.action:
            result = do_action(pg, step.action)
            assert result.ok, (step.id, result.error)
        runtime.settle(pg)
        if step.id not in done(pg, slug):
            missed.append(step.id)
    return missed


@pytest.mark.django_db
def test_it_completes_every_step_of_the_seed_lesson_with_its_buttons(cluster):
    assert run_lesson_with_buttons(cluster, "seed") == []


@pytest.mark.django_db
def test_it_completes_every_step_of_the_self_healing_lesson_with_its_buttons(cluster):
    assert run_lesson_with_buttons(cluster, "self-healing") == []


def run_lesson_in_the_terminal(pg, slug: str) -> list[str]:
    """Every step's command lines typed into the page's terminal, the loops settled after each step."""
    from playground import terminal
    from playground.lessons import fill

    checker.start(pg, slug)
    missed = []
    for step in loader.get(slug).steps:
        for line in step.commands:
            result = terminal.run(pg, fill(line, checks.observe(pg)))
            assert result.exit_code == 0, (step.id, line, result.output)
        runtime.settle(pg)
        if step.id not in done(pg, slug):
            missed.append(step.id)
    return missed


@pytest.mark.django_db
def test_it_completes_every_step_of_the_seed_lesson_in_the_terminal(cluster):
    assert run_lesson_in_the_terminal(cluster, "seed") == []


@pytest.mark.django_db
def test_it_completes_every_step_of_the_self_healing_lesson_in_the_terminal(cluster):
    assert run_lesson_in_the_terminal(cluster, "self-healing") == []


@pytest.mark.django_db
def test_it_recognises_a_step_done_out_of_order(cluster):
    checker.start(cluster, "seed")
    actions.deploy(cluster, "test1", "nginx")
    runtime.settle(cluster)
    # The rolling update comes before the expose and the scaling in the lesson; the cluster gets there first.
    actions.set_image(cluster, "test1", "httpd")
    runtime.settle(cluster)
    progress = done(cluster)
    assert "update" in progress and "expose" not in progress and "scale-3" not in progress


@pytest.mark.django_db
def test_it_shows_a_hint_and_no_done_for_a_wrong_attempt(cluster):
    checker.start(cluster, "seed")
    actions.deploy(cluster, "test1", "nginx")
    runtime.settle(cluster)
    actions.scale(cluster, "test1", 2)
    runtime.settle(cluster)
    progress = LessonProgress.objects.get(playground=cluster, lesson="seed")
    assert "scale-3" not in progress.done
    step = loader.get("seed").step("scale-3")
    assert [step.hints[i].text["en"] for i in progress.hints["scale-3"]] == [
        "test1 asks for a different number of replicas. This step wants exactly 3 — "
        "kubectl scale deployment test1 --replicas=3."]
    actions.scale(cluster, "test1", 3)
    runtime.settle(cluster)
    progress.refresh_from_db()
    assert "scale-3" in progress.done and "scale-3" not in progress.hints


@pytest.mark.django_db
def test_it_keeps_progress_in_the_database(cluster):
    checker.start(cluster, "seed")
    actions.deploy(cluster, "test1", "nginx")
    runtime.settle(cluster)
    # What a restart keeps: a fresh read of the row, no state in the process.
    loader.lessons.cache_clear()
    assert {"tour", "deploy", "wide"} <= set(LessonProgress.objects.get(playground=cluster, lesson="seed").done)


@pytest.mark.django_db
def test_it_does_nothing_for_a_playground_without_a_lesson(cluster):
    assert checker.keys(cluster) == []
    assert checker.reconcile(cluster, "seed") == 0
    assert not LessonProgress.objects.exists()


def test_it_notes_a_learners_deletion_then_the_replacement():
    rs = {"ownerReferences": [{"controller": True, "kind": "ReplicaSet", "name": "web-abc"}]}
    pod = lambda name, **meta: {"metadata": {"name": name, **rs, **meta}}  # noqa: E731
    facts = checker.facts_from([
        (10, "MODIFIED", "Pod", "web-abc-1", "kubectl delete", pod("web-abc-1", deletionTimestamp="t")),
        (11, "ADDED", "Pod", "web-abc-2", "replicaset-controller", pod("web-abc-2")),
        (12, "DELETED", "Pod", "web-abc-1", "kubelet/k8s-node1", pod("web-abc-1", deletionTimestamp="t")),
    ], {})
    assert facts["deleted:web"] == 10 and facts["added:web"] == 11


def test_it_does_not_count_a_controllers_deletion_as_the_learners():
    rs = {"ownerReferences": [{"controller": True, "kind": "ReplicaSet", "name": "web-abc"}]}
    facts = checker.facts_from([(10, "DELETED", "Pod", "web-abc-1", "replicaset-controller",
                                 {"metadata": {"name": "web-abc-1", **rs}})], {})
    assert "deleted:web" not in facts


@pytest.mark.django_db
def test_it_completes_every_step_of_the_labels_lesson_with_its_buttons(cluster):
    assert run_lesson_with_buttons(cluster, "labels") == []


@pytest.mark.django_db
def test_it_answers_how_many_pods_existed_at_once_during_the_rollout(cluster):
    from playground.lessons import do_action

    progress = checker.start(cluster, "seed")
    actions.deploy(cluster, "test1", "nginx")
    runtime.settle(cluster)
    update = loader.get("seed").step("update")
    checker.predict(cluster, progress, update.question, "3")
    do_action(cluster, update.action)
    runtime.settle(cluster)
    progress.refresh_from_db()
    # One replica, maxSurge 25% rounded up: the new pod comes before the old one goes, and the old one still exists
    # while its kubelet stops it.
    assert progress.predictions["rollout-peak"] == {**progress.predictions["rollout-peak"], "answer": "3",
                                                    "actual": "2"}


def test_a_look_that_moves_nothing_writes_nothing_and_one_that_moves_saves(cluster):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    checker.start(cluster, "seed")
    runtime.settle(cluster)
    saved = LessonProgress.objects.get(playground=cluster, lesson="seed")
    with CaptureQueriesContext(connection) as looked:
        checker.reconcile(cluster, "seed")
    assert not [q for q in looked.captured_queries if q["sql"].startswith(("UPDATE", "INSERT"))]
    assert LessonProgress.objects.get(pk=saved.pk).cursor == saved.cursor
    actions.deploy(cluster, "test1", "nginx")
    runtime.settle(cluster)  # the checker runs last in every round
    after = LessonProgress.objects.get(pk=saved.pk)
    assert "deploy" in after.done and after.cursor > saved.cursor


def test_a_look_reads_only_the_kinds_its_pending_steps_look_at(cluster):
    import re

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def tables(read) -> list[str]:
        return [t for q in read.captured_queries for t in re.findall(r'FROM "(\w+)"', q["sql"])]

    c = checks.observe(cluster)
    with CaptureQueriesContext(connection) as read:
        assert not checks.holds({"deployment": {"name": "test1"}}, c)
        assert not checks.holds({"deployment": {"name": "test1", "image": "nginx"}}, c)  # read once
    assert tables(read) == ["cluster_core_deployment"]
    with CaptureQueriesContext(connection) as read:
        assert checks.holds({"component": {"name": "kube-scheduler"}}, c)
    assert tables(read) == ["cluster_core_pod"] and "'kube-system'" in read.captured_queries[0]["sql"]
    with CaptureQueriesContext(connection) as read:
        assert not checks.holds({"pods": {"of": "test1"}}, c)
    assert tables(read) == ["cluster_core_pod"] and "'default'" in read.captured_queries[0]["sql"]


def test_a_look_goes_on_from_where_the_last_unsaved_look_read_the_feed(cluster):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    checker.start(cluster, "seed")
    actions.deploy(cluster, "test1", "nginx")
    runtime.settle(cluster)
    actions.scale(cluster, "test1", 2)  # no step of the seed lesson is at 2 replicas: nothing moves
    runtime.settle(cluster)
    saved = LessonProgress.objects.get(playground=cluster, lesson="seed")
    checker.reconcile(cluster, "seed")
    top = Playground.objects.get(pk=cluster.pk).revision
    assert LessonProgress.objects.get(pk=saved.pk).cursor == saved.cursor < top  # nothing saved
    with CaptureQueriesContext(connection) as read:
        checker.reconcile(cluster, "seed")
    feed = [q["sql"] for q in read.captured_queries if "cluster_core_change" in q["sql"]]
    assert len(feed) == 1 and f'"revision" > {top}' in feed[0]
