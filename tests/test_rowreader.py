"""Queries compiled once (`rowreader.Prepared`, `by_pk`): what each call reads is what the ORM reads with the same
values."""

import datetime as dt

import pytest

from cluster_core import rowreader
from cluster_core.models import Change, Playground, Pod
from cluster_core.tempo import set_paused


def fields(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


@pytest.mark.django_db
def test_a_row_read_by_primary_key_is_the_one_the_orm_reads(cluster):
    set_paused(cluster, True)
    Playground.objects.filter(pk=cluster.pk).update(write_after=dt.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=dt.UTC))
    for _ in range(2):  # compiled the first time, reused the second
        read = rowreader.by_pk(Playground, cluster.pk)
        assert fields(read) == fields(Playground.objects.get(pk=cluster.pk))
        assert read.paused is True and read.write_after.tzinfo is not None and read._state.adding is False
    pod = Pod.objects.filter(playground=cluster).first()
    read = rowreader.by_pk(Pod, pod.pk)
    assert fields(read) == fields(pod) and isinstance(read.spec, dict)


@pytest.mark.django_db
def test_a_primary_key_no_row_has_reads_none(cluster):
    assert rowreader.by_pk(Playground, cluster.pk + 1000) is None


def _changes(pg_id, after, kinds):
    return Change.objects.filter(playground_id=pg_id, revision__gt=after, kind__in=kinds).order_by("revision")


@pytest.mark.django_db
def test_a_prepared_query_reads_with_each_calls_values_what_the_orm_reads(cluster):
    objects = rowreader.Prepared(_changes)
    rows = rowreader.Prepared(lambda pg_id, after, kinds: _changes(pg_id, after, kinds).values_list(
        "pk", "revision", "kind", "object"))
    flat = rowreader.Prepared(lambda pg_id, after, kinds: _changes(pg_id, after, kinds).values_list(
        "committed_at", flat=True))
    dicts = rowreader.Prepared(lambda pg_id, after, kinds: _changes(pg_id, after, kinds).values("name", "actor"))
    top = Playground.objects.get(pk=cluster.pk).revision
    for after, kinds in [(0, ("Pod", "Node")), (top // 2, ("Pod", "Node")), (0, ("Namespace", "Service")),
                         (top, ("Pod", "Node"))]:
        orm = _changes(cluster.pk, after, kinds)
        assert [fields(c) for c in objects(cluster.pk, after, kinds)] == [fields(c) for c in orm]
        assert rows(cluster.pk, after, kinds) == list(orm.values_list("pk", "revision", "kind", "object"))
        assert flat(cluster.pk, after, kinds) == list(orm.values_list("committed_at", flat=True))
        assert dicts(cluster.pk, after, kinds) == list(orm.values("name", "actor"))
    for prepared in (objects, rows, flat, dicts):
        assert len(prepared._plans) == 1 and rowreader._ORM not in prepared._plans.values()  # compiled, once
    assert rows(cluster.pk, 0, ("Pod", "Node")), "the seed's cluster has pods and nodes in its feed"
    assert rows(cluster.pk, top, ("Pod", "Node")) == []
    assert isinstance(rows(cluster.pk, 0, ("Pod", "Node"))[0][3], dict)  # a JSON column, decoded
    assert flat(cluster.pk, 0, ("Pod", "Node"))[0].tzinfo is not None


@pytest.mark.django_db
def test_a_prepared_query_compares_datetimes_and_takes_a_first_row(cluster):
    at = Change.objects.filter(playground=cluster).order_by("revision").values_list("committed_at", flat=True)
    middle = list(at)[len(at) // 2]
    since = rowreader.Prepared(lambda pg_id, when: Change.objects.filter(
        playground_id=pg_id, committed_at__gte=when).order_by("revision").values_list("revision", flat=True)[:1])
    orm = Change.objects.filter(playground=cluster, committed_at__gte=middle).order_by("revision")
    assert since.first(cluster.pk, middle) == orm.values_list("revision", flat=True).first()
    assert since.first(cluster.pk, middle + dt.timedelta(days=1)) is None


@pytest.mark.django_db
def test_a_value_the_sql_carries_as_a_pattern_is_left_to_the_orm(cluster):
    named = rowreader.Prepared(lambda pg_id, part: Pod.objects.filter(playground_id=pg_id, name__contains=part)
                               .order_by("name").values_list("name", flat=True))
    assert named(cluster.pk, "etcd") == ["etcd-k8s-master"]
    assert named(cluster.pk, "scheduler") == ["kube-scheduler-k8s-master"]
    assert list(named._plans.values()) == [rowreader._ORM]


def django_reads(qs) -> list:
    from django.db.models.query import ModelIterable

    plain = qs.all()
    plain._iterable_class = ModelIterable
    return [fields(o) for o in plain]


@pytest.mark.django_db
def test_whole_objects_read_through_a_shape_compiled_once_are_those_the_orm_reads(cluster):
    rowreader._SHAPES.clear()
    names = list(Pod.objects.filter(playground=cluster).order_by("name").values_list("name", flat=True))
    queries = [
        lambda: Pod.objects.filter(playground=cluster, namespace="kube-system").order_by("name"),
        lambda: Pod.objects.filter(playground=cluster, namespace="default").order_by("name"),
        lambda: Pod.objects.filter(playground=cluster, name__in=names[:2]).order_by("-name"),
        lambda: Pod.objects.filter(playground=cluster, name__in=names[2:4]).order_by("-name"),
        lambda: Pod.objects.filter(playground=cluster).order_by("name")[1:3],
        lambda: Pod.objects.filter(playground=cluster).order_by("name")[3:5],
        lambda: Pod.objects.all().order_by("pk"),
        lambda: Pod.objects.filter(pk__in=[]),
    ]
    for query in queries:
        for _ in range(2):  # compiled, then from its shape
            assert [fields(o) for o in query()] == django_reads(query())
    # Queries alike but for their values share one shape (the namespaces; the names); each slice is a shape of its
    # own (its bounds are in the SQL); a query that can match nothing is not run.
    assert len(rowreader._SHAPES) == 5
    assert [o.name for o in queries[4]()] == names[1:3] and [o.name for o in queries[5]()] == names[3:5]


@pytest.mark.django_db
def test_values_read_through_a_shape_compiled_once_are_those_the_orm_reads(cluster):
    for namespace in ("kube-system", "default", "kube-system"):
        qs = Pod.objects.filter(playground=cluster, namespace=namespace).order_by("name").values(
            "pk", "name", "spec", "deletion_timestamp", "creation_timestamp")
        assert rowreader.values(qs) == list(qs)
    rows = rowreader.values(Pod.objects.filter(playground=cluster).values("pk", "status"))
    assert rows and all(isinstance(r["status"], dict) and isinstance(r["pk"], int) for r in rows)
    assert rowreader.values(Pod.objects.filter(pk__in=[]).values("name")) == []
