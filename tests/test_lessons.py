"""Lessons: the files load, the checks are evaluated from the feed as the loops run, progress is kept."""

import pytest

from cluster_core import actions, runtime
from cluster_core.lessons import checker, checks, loader
from cluster_core.models import LessonProgress


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
