"""The write path: revisions, optimistic concurrency, the change feed, validation that changes nothing."""

import json
import threading

import pytest
from django.db import connection

from cluster_core import writes
from cluster_core.errors import AlreadyExists, Conflict, Invalid, NotFound
from cluster_core.models import Change, Deployment, Namespace, Playground, Pod


@pytest.fixture
def pg(db, fake_clock, quiet_nudges):
    pg = Playground.objects.create(slug="w", max_pods=100)
    b = writes.Batch(pg, "test")
    b.create(Namespace(name="default"))
    b.commit()
    return pg


def deployment(name="test1", replicas=1, image="nginx", labels=None):
    labels = labels or {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "nginx", "image": image}]}}}}


def test_it_assigns_increasing_resource_versions_and_records_who_did_it(pg):
    a = writes.do_create(pg, deployment("a"), "kubectl create deployment")
    b = writes.do_create(pg, deployment("b"), "kubectl create deployment")
    assert b.resource_version == a.resource_version + 1
    change = Change.objects.get(playground=pg, revision=b.resource_version)
    assert change.type == "ADDED" and change.kind == "Deployment" and change.name == "b"
    assert change.actor == "kubectl create deployment"
    assert change.object["metadata"]["resourceVersion"] == str(b.resource_version)


def test_it_defaults_like_the_apiserver(pg):
    d = writes.do_create(pg, deployment(), "t").to_k8s()
    assert d["spec"]["strategy"] == {"type": "RollingUpdate",
                                     "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    assert d["spec"]["revisionHistoryLimit"] == 10
    c = d["spec"]["template"]["spec"]["containers"][0]
    assert c["imagePullPolicy"] == "Always" and c["terminationMessagePath"] == "/dev/termination-log"
    assert d["metadata"]["generation"] == 1


def test_it_rejects_a_stale_resource_version_with_conflict(pg):
    writes.do_create(pg, deployment(), "t")
    first = writes.get_object(pg, "Deployment", "default", "test1").to_k8s()
    second = writes.get_object(pg, "Deployment", "default", "test1").to_k8s()
    first["spec"]["replicas"] = 2
    writes.do_update(pg, first, "writer-1")
    second["spec"]["replicas"] = 5
    with pytest.raises(Conflict) as err:
        writes.do_update(pg, second, "writer-2")
    assert err.value.code == 409
    assert "the object has been modified" in err.value.message
    stored = writes.get_object(pg, "Deployment", "default", "test1")
    assert stored.spec["replicas"] == 2 and stored.generation == 2


def test_it_lets_exactly_one_of_two_concurrent_writers_win(pg, transactional_db):
    writes.do_create(pg, deployment(), "t")
    base = writes.get_object(pg, "Deployment", "default", "test1").to_k8s()
    results = []
    barrier = threading.Barrier(2)

    def writer(replicas):
        body = {**base, "spec": {**base["spec"], "replicas": replicas}}
        barrier.wait()
        try:
            writes.do_update(pg, body, f"writer-{replicas}")
            results.append("ok")
        except Conflict:
            results.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(r,)) for r in (2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["conflict", "ok"]


def test_it_rejects_bad_input_and_changes_nothing(pg):
    before = Playground.objects.get(pk=pg.pk).revision
    cases = [
        (deployment("Bad_Name"), "metadata.name"),
        (deployment(replicas=-1), "spec.replicas"),
        (deployment(replicas=101), "spec.replicas"),
        (deployment(labels={"app": "other"}), "spec.template.metadata.labels"),
    ]
    for body, field in cases:
        with pytest.raises(Invalid) as err:
            writes.do_create(pg, body, "t")
        assert err.value.code == 422
        assert field in [c["field"] for c in err.value.causes], err.value.message
    assert "max_pods" in str(pytest.raises(Invalid, writes.do_create, pg, deployment(replicas=101), "t").value.message)
    assert Playground.objects.get(pk=pg.pk).revision == before
    assert not Deployment.objects.filter(playground=pg).exists()


def test_it_says_already_exists_and_not_found(pg):
    writes.do_create(pg, deployment(), "t")
    with pytest.raises(AlreadyExists) as err:
        writes.do_create(pg, deployment(), "t")
    assert err.value.message == 'deployments.apps "test1" already exists'
    with pytest.raises(NotFound) as err:
        writes.get_object(pg, "Deployment", "default", "nope")
    assert err.value.message == 'deployments.apps "nope" not found'


def test_it_rejects_objects_in_a_missing_namespace(pg):
    body = deployment()
    body["metadata"]["namespace"] = "nowhere"
    with pytest.raises(NotFound):
        writes.do_create(pg, body, "t")


def test_it_stores_each_feed_object_as_the_api_serves_it(pg):
    import json

    from cluster_core import events
    from cluster_core.models import ConfigMap, Endpoints, Event, Pod

    pod = Pod(namespace="default", name="p", labels={"app": "p"}, spec={"containers": [{"name": "c", "image": "x"}]})
    b = writes.Batch(pg, "test")
    objs = [pod, events.new(pod, "Scheduled", "assigned", "default-scheduler"),
            Endpoints(namespace="default", name="e"), Endpoints(namespace="default", name="f", spec={"subsets": []}),
            ConfigMap(namespace="default", name="c", spec={"data": {"a": "b"}})]
    for obj in objs:
        b.create(obj, "made")
    b.commit()
    for obj in objs:
        change = Change.objects.get(playground=pg, revision=obj.resource_version)
        assert change.object == obj.to_k8s()
        assert json.dumps(change.object) == json.dumps(obj.to_k8s())
    stored = Event.objects.get(playground=pg)
    assert stored.spec == objs[1].spec and stored.labels == {} and stored.owner_references == []
    assert Pod.objects.get(playground=pg).pk == pod.pk


def test_it_writes_plain_rows_with_the_batch(pg):
    import datetime as dt

    from cluster_core.models import LogLine

    b = writes.Batch(pg, "test")
    b.create(Pod(namespace="default", name="p"), "made")
    b.add_rows(LogLine, [LogLine(playground=pg, pod_uid="u", container="c", at=dt.datetime.now(dt.UTC), text="hi")])
    b.commit()
    assert list(LogLine.objects.filter(playground=pg).values_list("text", flat=True)) == ["hi"]


def test_it_encodes_json_that_decodes_to_the_same_value():
    bodies = [{}, [], {"a": 1.5, "b": [None, True, 'é"\n'], "c": {"x": 2.5e-300}}, [1, {}], "text", 3, None,
              {"nested": {"empty": {}, "list": []}}, {"u": "漢字 \u2028"}]
    for body in bodies:
        assert json.loads(writes.encode_json(body)) == body
    # What orjson refuses goes through the standard encoder, with its answers.
    assert writes.encode_json({1: "int key"}) == json.dumps({1: "int key"})
    assert json.loads(writes.encode_json(10**30)) == 10**30
    assert json.loads(writes.encode_json((1, 2))) == [1, 2]
    with pytest.raises(TypeError):
        writes.encode_json({"x": object()})


def test_json_columns_read_back_what_was_written(pg):
    labels = {"app": "x", "big": str(10**30)}
    spec = {"n": 2**63 - 1, "f": 0.1, "s": "é\u2028", "deep": [{"a": [None, False]}]}
    b = writes.Batch(pg, "t")
    b.create(Pod(namespace="default", name="p", labels=labels, spec=spec), "made")
    b.commit()
    pod = Pod.objects.get(playground=pg, name="p")
    assert (pod.labels, pod.spec) == (labels, spec)
    assert Pod.objects.filter(playground=pg, labels__app="x").count() == 1
    # A number past int64 reads back as a float, as the apiserver's own decoder (apimachinery's json) has it.
    spec["n"] = 10**30
    pod.spec = spec
    b = writes.Batch(pg, "t")
    b.update(pod, "bigger")
    b.commit()
    assert Pod.objects.get(pk=pod.pk).spec["n"] == 1e30


def test_it_retries_a_delete_that_raced_a_controller_write(pg, monkeypatch):
    writes.do_create(pg, deployment(), "t")
    stale = writes.get_object(pg, "Deployment", "default", "test1")
    body = stale.to_k8s()
    body["status"] = {"observedGeneration": 1}
    writes.do_update(pg, body, "deployment-controller", subresource="status")
    reads = []
    real = writes.get_object

    def first_read_is_stale(*args):
        reads.append(args)
        return stale if len(reads) == 1 else real(*args)

    monkeypatch.setattr(writes, "get_object", first_read_is_stale)
    _, gone = writes.do_delete(pg, "Deployment", "default", "test1", "kubectl")
    assert gone and len(reads) == 2
    assert not Deployment.objects.filter(playground=pg, name="test1").exists()


def test_it_still_refuses_a_delete_whose_resource_version_precondition_is_stale(pg):
    created = writes.do_create(pg, deployment(), "t")
    body = writes.get_object(pg, "Deployment", "default", "test1").to_k8s()
    body["spec"]["replicas"] = 2
    writes.do_update(pg, body, "kubectl")
    with pytest.raises(Conflict):
        writes.do_delete(pg, "Deployment", "default", "test1", "kubectl",
                         precondition_rv=str(created.resource_version))


def test_new_uids_are_distinct_version_4_uuids():
    import uuid

    from cluster_core.models import new_uid

    uids = [new_uid() for _ in range(1000)]
    assert len(set(uids)) == len(uids)
    for text in uids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)


def test_datetimes_are_written_as_the_database_adapter_writes_them(db):
    import datetime as dt

    from django.db.models import DateTimeField

    convert = writes._db_value(DateTimeField())
    for value in (dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC), dt.datetime(2026, 1, 2, 3, 4, 5, 7, tzinfo=dt.UTC),
                  dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=8))), None):
        assert convert(value) == connection.ops.adapt_datetimefield_value(value)
