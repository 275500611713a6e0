"""The lesson panel's views: open a lesson, run a step's page action, predict, and the failure buttons."""

import pytest
from django.test import Client

from cluster_core import runtime
from cluster_core.models import LessonProgress, Node, Pod

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def client():
    return Client()


def post(client, path, **data):
    return client.post(f"/p/default/{path}", data, **HX)


def test_it_lists_the_lessons_on_the_page(cluster, client):
    html = client.get("/p/default/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="lessons"' in html and "Kubernetes basics, the seed walkthrough" in html


def test_it_opens_a_lesson_and_shows_done_steps(cluster, client):
    html = post(client, "lessons/start", lesson="seed").content.decode()
    assert LessonProgress.objects.filter(lesson="seed").exists()
    assert '<span class="badge-done">Done</span>' in html
    assert "kubectl create deployment test1 --image=nginx" in html


def test_it_says_done_in_chinese(cluster, client):
    post(client, "lessons/start", lesson="seed")
    html = client.get("/p/default/lessons/?lesson=seed", HTTP_ACCEPT_LANGUAGE="zh-CN", **HX).content.decode()
    assert '<span class="badge-done">完成</span>' in html and "Kubernetes 架构" in html


def test_it_refuses_an_unknown_lesson_readably(cluster, client):
    response = post(client, "lessons/start", lesson="nope")
    assert response.status_code == 422 and "There is no such lesson." in response.content.decode()


def test_it_runs_a_steps_page_action_and_the_checker_marks_it(cluster, client):
    post(client, "lessons/start", lesson="seed")
    response = post(client, "lessons/do", lesson="seed", step="deploy")
    assert response.status_code == 200 and "deployment.apps/test1 created" in response.content.decode()
    runtime.settle(cluster)
    assert "deploy" in LessonProgress.objects.get(lesson="seed").done


def test_it_never_marks_a_step_from_a_click_alone(cluster, client):
    post(client, "lessons/start", lesson="seed")
    post(client, "lessons/do", lesson="seed", step="deploy")
    # The button's request is in, but the loops have not run: no pod is Running yet, so the step is not done.
    assert "deploy" not in LessonProgress.objects.get(lesson="seed").done


def test_it_answers_a_prediction_from_the_schedulers_decision(cluster, client):
    post(client, "lessons/start", lesson="seed")
    assert post(client, "lessons/predict", lesson="seed", step="deploy", answer="k8s-master").status_code == 200
    post(client, "lessons/do", lesson="seed", step="deploy")
    runtime.settle(cluster)
    progress = LessonProgress.objects.get(lesson="seed")
    node = Pod.objects.get(name__startswith="test1-").node_name
    assert progress.predictions["first-node"]["actual"] == node != "k8s-master"
    html = client.get("/p/default/lessons/?lesson=seed", HTTP_ACCEPT_LANGUAGE="en", **HX).content.decode()
    assert f"The cluster did: {node}." in html


def test_it_refuses_a_prediction_that_is_not_a_choice(cluster, client):
    post(client, "lessons/start", lesson="seed")
    response = post(client, "lessons/predict", lesson="seed", step="deploy", answer="k8s-node9")
    assert response.status_code == 422 and "Choose one of the answers." in response.content.decode()


def test_it_takes_a_node_down_from_the_failure_button(cluster, client):
    response = post(client, "failure", what="power-off", node="k8s-node2")
    assert response.status_code == 200
    assert Node.objects.get(name="k8s-node2").powered_off


def test_it_refuses_an_unknown_failure(cluster, client):
    response = post(client, "failure", what="explode", node="k8s-node2")
    assert response.status_code == 422 and "Unknown failure." in response.content.decode()

