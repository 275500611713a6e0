"""Reading one row by primary key through SQL compiled once: the same instance the ORM builds."""

import datetime as dt

import pytest

from cluster_core import rowreader
from cluster_core.models import Playground, Pod
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
