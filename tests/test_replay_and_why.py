"""Time travel read from the feed, the "Why?" chain and scheduler table, and the terminal's words in Chinese."""

import re

import pytest
from django.test import Client
from django.utils import translation

from cluster_core import actions, runtime
from cluster_core.models import Playground, Pod

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def client():
    yield Client()
    # A request in Chinese leaves the language active in this thread; the next test starts in the default.
    translation.deactivate()


def revision(pg) -> int:
    return Playground.objects.get(pk=pg.pk).revision


def test_it_gives_the_playground_as_it_was_at_an_earlier_revision_and_the_changes_since(cluster, client):
    before = revision(cluster)
    actions.deploy(cluster, "test1", "nginx", 2)
    runtime.settle(cluster)
    past = client.get(f"/p/default/history?at={before}").json()
    assert past["revision"] == before and past["latest"] == revision(cluster)
    assert not [o for o in past["objects"] if o["name"].startswith("test1")]
    assert {o["name"] for o in past["objects"] if o["kind"] == "Node"} == {"k8s-master", "k8s-node1", "k8s-node2"}
    revs = [c["rev"] for c in past["changes"]]
    assert revs == list(range(before + 1, revision(cluster) + 1))
    assert "asked kube-apiserver to create Deployment test1" in past["changes"][0]["step"]


def test_it_gives_an_object_as_its_last_change_before_the_revision_said(cluster, client):
    actions.deploy(cluster, "test1", "nginx", 1)
    runtime.settle(cluster)
    middle = revision(cluster)
    actions.scale(cluster, "test1", 3)
    runtime.settle(cluster)
    past = client.get(f"/p/default/history?at={middle}").json()
    [dep] = [o for o in past["objects"] if o["kind"] == "Deployment" and o["name"] == "test1"]
    assert dep["replicas"] == 1 and dep["rv"] <= middle
    assert len([o for o in past["objects"] if o["kind"] == "Pod" and o["name"].startswith("test1-")]) == 1


def test_it_answers_a_revision_that_is_no_number_with_a_readable_error(cluster, client):
    response = client.get("/p/default/history?at=yesterday")
    assert response.status_code == 400 and "whole number" in response.json()["error"]


def test_it_follows_one_objects_owners_by_uid_after_a_delete_and_recreate(cluster, client):
    actions.deploy(cluster, "test1", "nginx", 1)
    runtime.settle(cluster)
    first = revision(cluster)
    actions.delete(cluster, "deployment", "test1")
    runtime.settle(cluster)
    actions.deploy(cluster, "test1", "httpd", 1)
    runtime.settle(cluster)
    pod = Pod.objects.get(name__startswith="test1-", deletion_timestamp__isnull=True)
    html = client.get(f"/p/default/why/Pod/default/{pod.name}").content.decode()
    cited = [int(r) for r in re.findall(r'class="rev">#(\d+)', html)]
    assert cited and min(cited) > first  # nothing of the deleted Deployment's story
    assert "1 replicas of httpd" in html and "of nginx" not in html


def test_it_shows_the_scheduler_weights_and_totals_that_add_up(cluster, client):
    actions.deploy(cluster, "test1", "nginx", 1)
    runtime.settle(cluster)
    pod = Pod.objects.get(name__startswith="test1-")
    html = client.get(f"/p/default/why/Pod/default/{pod.name}", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Free CPU and memory" in html and "Fewest pods of the same owner" in html
    rows = re.findall(r'<tr[^>]*><th scope="row">([^<]+)</th>((?:<td>[^<]*</td>)+)<td class="total">(\d+)</td>', html)
    assert rows
    for _node, cells, total in rows:
        parts = re.findall(r"(\d+) × (\d+) = (\d+)", cells)
        assert all(int(a) * int(b) == int(c) for a, b, c in parts)
        assert sum(int(c) for _, _, c in parts) == int(total)
    assert "picked one at random" in html  # two empty workers tie
    zh = client.get(f"/p/default/why/Pod/default/{pod.name}", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "空闲 CPU 和内存" in zh and "同一属主的 Pod 最少" in zh and "least_allocated" not in zh


def test_it_speaks_chinese_in_the_terminal_help_and_hints(cluster, client):
    client.cookies["django_language"] = "zh-hans"
    html = client.post("/p/default/terminal", {"line": "help"}, **HX).content.decode()
    assert "这个终端是本集群中的一个节点" in html and "kubectl get pods" in html
    html = client.post("/p/default/terminal", {"line": "ls"}, **HX).content.decode()
    assert "找不到命令" in html and "试试" in html


def test_it_names_the_dashboard_and_the_terminal_in_chinese_in_the_story(cluster):
    from playground import story

    c = {"revision": 5, "type": "ADDED", "kind": "Service", "namespace": "default", "name": "web", "object": {},
         "actor": "terminal: kubectl expose", "message": "", "detail": {}}
    with translation.override("zh-hans"):
        assert story.step(c)["text"].startswith("终端: kubectl expose")
    c["actor"] = "dashboard: kubectl expose"
    with translation.override("zh-hans"):
        assert story.step(c)["text"].startswith("页面: kubectl expose")
