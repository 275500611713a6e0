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
