"""kube-proxy records each request it forwards, and the story draws its way from that record."""

import pytest

from cluster_core import actions, runtime, writes
from cluster_core.models import Change
from playground import story


def deploy_and_expose(pg, replicas: int = 3) -> int:
    writes.do_create(pg, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                          "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                                   "template": {"metadata": {"labels": {"app": "web"}},
                                                "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}}},
                     "kubectl")
    writes.do_create(pg, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                          "spec": {"type": "NodePort", "selector": {"app": "web"},
                                   "ports": [{"port": 80, "targetPort": 80, "nodePort": 30080}]}}, "kubectl")
    runtime.settle(pg)
    pg.refresh_from_db()
    return pg.revision


def forwarded(pg, after: int) -> list[Change]:
    return list(Change.objects.filter(playground=pg, kind="Event", revision__gt=after,
                                      actor__startswith="kube-proxy/").order_by("revision"))


def test_it_records_each_forwarded_request_with_the_pod_that_answered(cluster):
    start = deploy_and_expose(cluster)
    answers = [actions.curl(cluster, "localhost:30080") for _ in range(3)]
    records = forwarded(cluster, start)
    assert [r.detail["traffic"]["pod"] for r in records] == [a.object["pod"] for a in answers]
    # Round robin over three replicas: three different pods.
    assert len({a.object["pod"] for a in answers}) == 3
    assert all(r.actor == "kube-proxy/k8s-master" and r.object["reason"] == "Forwarded" for r in records)


def test_it_draws_the_request_through_the_nodes_kube_proxy_to_the_pod_and_back(cluster):
    start = deploy_and_expose(cluster, replicas=1)
    actions.curl(cluster, "k8s-node2:30080")
    [record] = forwarded(cluster, start)
    c = {"revision": record.revision, "type": record.type, "kind": record.kind, "namespace": record.namespace,
         "name": record.name, "object": record.object, "actor": record.actor, "message": record.message,
         "detail": record.detail}
    s = story.step(c)
    pod = record.detail["traffic"]["pod"]
    assert s["path"] == ["client", "kube-proxy@k8s-node2", f"pod:default/{pod}", "kube-proxy@k8s-node2", "client"]
    assert f"to Pod {pod}" in s["text"] and "answered 200" in s["text"]


def test_it_records_nothing_when_the_connection_is_refused(cluster):
    start = deploy_and_expose(cluster)
    assert not actions.curl(cluster, "localhost:31999").ok
    assert forwarded(cluster, start) == []



def test_the_access_log_line_and_the_forwarded_event_are_written_in_one_commit(cluster):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from cluster_core import kube_proxy
    from cluster_core.models import LogLine

    start = deploy_and_expose(cluster, replicas=1)
    lines = LogLine.objects.count()
    with CaptureQueriesContext(connection) as queries:
        resp = kube_proxy.curl(cluster, "localhost:30080", path="/index.html")
    [record] = forwarded(cluster, start)
    assert record.detail["traffic"]["path"] == "/index.html" and record.detail["traffic"]["pod"] == resp.pod
    [line] = LogLine.objects.all()[lines:]
    assert '"GET /index.html HTTP/1.1" 200' in line.text
    # Both inserts inside the one (nested: savepoint) transaction of the batch.
    # (executemany's statements are captured as "N times: INSERT …")
    sql = [q["sql"].split(": ", 1)[1] if " times: " in q["sql"][:16] else q["sql"] for q in queries.captured_queries]
    log_insert = next(i for i, q in enumerate(sql) if q.startswith('INSERT INTO "cluster_core_logline"'))
    event_insert = next(i for i, q in enumerate(sql) if q.startswith('INSERT INTO "cluster_core_event"'))
    batch = next(q for q in sql if q.startswith("SAVEPOINT")).split()[1]
    opened, released = sql.index(f"SAVEPOINT {batch}"), sql.index(f"RELEASE SAVEPOINT {batch}")
    assert opened < event_insert < released and opened < log_insert < released


@pytest.mark.django_db(transaction=True)
def test_the_lessons_hear_of_an_access_log_line_once_it_is_committed(fake_clock, monkeypatch):
    from cluster_core import kube_proxy, nudge
    from cluster_core.bootstrap import create_playground
    from cluster_core.models import LogLine, Pod

    monkeypatch.setattr(nudge, "ENABLED", False)
    pg = create_playground("default", tempo="realtime")
    deploy_and_expose(pg, replicas=1)
    ip = Pod.objects.get(playground=pg, name__startswith="web-").status["podIP"]
    before = LogLine.objects.count()
    seen = []
    # A pod dialled by its IP: no Service, no Event, only the access-log line.
    monkeypatch.setattr(nudge, "send_targets", lambda pg_id, targets: seen.append(
        (targets, LogLine.objects.count() - before)))
    assert kube_proxy.curl(pg, ip).status == 200
    assert seen == [({(nudge.LESSONS, "*")}, 1)]


def test_a_container_reaching_a_service_goes_through_its_own_nodes_kube_proxy(cluster):
    from cluster_core.models import Pod
    from cluster_core.shells import world

    start = deploy_and_expose(cluster, replicas=2)
    inside = Pod.objects.filter(playground=cluster, name__startswith="web-").order_by("name").first()
    net = world.ClusterNetwork(cluster, world.snapshot(cluster, inside, "nginx"))
    assert net.http_get("web", 80, "/").status == 200
    [record] = forwarded(cluster, start)
    assert record.actor == f"kube-proxy/{inside.node_name}" != "kube-proxy/k8s-master"
    assert record.detail["traffic"]["via"] == inside.node_name
    # The story draws it from the pod that sent it, not from the client box.
    c = {"kind": record.kind, "namespace": record.namespace, "actor": record.actor, "detail": record.detail,
         "object": record.object}
    sender, proxy = f"pod:default/{inside.name}", f"kube-proxy@{inside.node_name}"
    assert story.path(c) == [sender, proxy, f"pod:default/{record.detail['traffic']['pod']}", proxy, sender]
