"""API semantics checked against what the store then holds: DELETE of a collection, server-side dry runs, and the
feed's real compaction answering an old watch with 410 Gone."""

import json

import pytest
from asgiref.sync import async_to_sync

from cluster_core import bootstrap, feed
from cluster_core.models import Change, ConfigMap, Playground
from tests.test_api_errors import client_for

pytestmark = pytest.mark.django_db(transaction=True)

CONFIGMAPS = "/clusters/default/api/v1/namespaces/default/configmaps"


@pytest.fixture
def pg(fake_clock, quiet_nudges):
    return bootstrap.create_playground("default", tempo="instant")


def config_map(name: str, **labels: str) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels},
                       "data": {"k": name}})


def create(client, name: str, **labels: str) -> None:
    assert client.post(CONFIGMAPS, config_map(name, **labels), content_type="application/json").status_code == 201


def stored(pg: Playground) -> list[str]:
    return sorted(ConfigMap.objects.filter(playground=pg, namespace="default").values_list("name", flat=True))


def first_event(resp) -> dict:
    async def first(stream):
        async for chunk in stream:
            if chunk:  # the empty first chunk only sends the headers
                return chunk

    return json.loads(async_to_sync(first)(resp.streaming_content))


def test_it_deletes_a_collection_by_label(pg):
    client = client_for(pg)
    for name in ("a1", "a2", "a3"):
        create(client, name, app="a")
    create(client, "b1", app="b")
    before = Playground.objects.get(pk=pg.pk).revision
    resp = client.delete(f"{CONFIGMAPS}?labelSelector=app%3Da")
    body = json.loads(resp.content)
    assert resp.status_code == 200 and body["kind"] == "ConfigMapList"
    assert sorted(i["metadata"]["name"] for i in body["items"]) == ["a1", "a2", "a3"]
    assert stored(pg) == ["b1"]
    deleted = Change.objects.filter(playground=pg, revision__gt=before).order_by("revision")
    assert [(c.type, c.name) for c in deleted] == [("DELETED", "a1"), ("DELETED", "a2"), ("DELETED", "a3")]


def test_it_deletes_nothing_of_a_collection_in_a_dry_run(pg):
    client = client_for(pg)
    create(client, "a1", app="a")
    before = Playground.objects.get(pk=pg.pk).revision
    resp = client.delete(f"{CONFIGMAPS}?labelSelector=app%3Da&dryRun=All")
    assert resp.status_code == 200
    assert [i["metadata"]["name"] for i in json.loads(resp.content)["items"]] == ["a1"]
    assert stored(pg) == ["a1"]
    assert Playground.objects.get(pk=pg.pk).revision == before


def test_it_answers_a_dry_run_create_without_storing_it(pg):
    client = client_for(pg)
    before = Playground.objects.get(pk=pg.pk).revision
    resp = client.post(f"{CONFIGMAPS}?dryRun=All", config_map("ghost"), content_type="application/json")
    body = json.loads(resp.content)
    assert resp.status_code == 201
    assert body["metadata"]["name"] == "ghost" and body["data"] == {"k": "ghost"}
    assert client.get(f"{CONFIGMAPS}/ghost").status_code == 404
    assert Playground.objects.get(pk=pg.pk).revision == before
    assert not Change.objects.filter(playground=pg, name="ghost").exists()


def test_it_answers_a_dry_run_update_and_keeps_the_stored_object(pg):
    client = client_for(pg)
    create(client, "real")
    current = json.loads(client.get(f"{CONFIGMAPS}/real").content)
    current["data"] = {"k": "changed"}
    resp = client.put(f"{CONFIGMAPS}/real?dryRun=All", json.dumps(current), content_type="application/json")
    assert resp.status_code == 200 and json.loads(resp.content)["data"] == {"k": "changed"}
    assert json.loads(client.get(f"{CONFIGMAPS}/real").content)["data"] == {"k": "real"}


def test_it_answers_a_watch_from_before_a_real_compaction_with_410(pg):
    client = client_for(pg)
    for i in range(5):
        create(client, f"cm{i}")
    top = Playground.objects.get(pk=pg.pk).revision
    assert feed.compact(pg, keep=2) > 0  # etcd's compaction: the feed keeps the last two revisions
    assert not Change.objects.filter(playground=pg, revision__lte=top - 2).exists()
    old = client.get(f"{CONFIGMAPS}?watch=true&resourceVersion={top - 4}")
    event = first_event(old)
    assert event["type"] == "ERROR"
    assert (event["object"]["code"], event["object"]["reason"]) == (410, "Expired")
    assert event["object"]["message"] == f"too old resource version: {top - 4} ({top - 2})"
    # From the compacted revision on, the feed still has every change.
    kept = first_event(client.get(f"{CONFIGMAPS}?watch=true&resourceVersion={top - 2}"))
    assert (kept["type"], kept["object"]["metadata"]["name"]) == ("ADDED", "cm3")


# ---------------------------------------------------------------------------------------------------------------
# A patch meets a concurrent writer


def _conflict_once(monkeypatch, changes: dict | None = None):
    """The first write of a patch finds the object changed by someone else since the patch read it (the other
    writer's change, `changes`, lands then); every later write goes through."""
    from cluster_core import writes
    from cluster_core.errors import Conflict

    real, calls = writes.do_update, []

    def racing(pg, obj, actor, **kw):
        calls.append(obj)
        if len(calls) == 1:
            if changes:
                ConfigMap.objects.filter(playground=pg, name=obj["metadata"]["name"]).update(**changes)
            raise Conflict('Operation cannot be fulfilled on configmaps "a": the object has been modified')
        return real(pg, obj, actor, **kw)

    monkeypatch.setattr(writes, "do_update", racing)
    return calls


def test_a_patch_is_applied_again_to_the_new_version_when_another_writer_got_there_first(pg, monkeypatch):
    client = client_for(pg)
    create(client, "a")
    calls = _conflict_once(monkeypatch, changes={"labels": {"other": "writer"}})
    resp = client.patch(f"{CONFIGMAPS}/a", json.dumps({"data": {"k": "patched"}}),
                        content_type="application/merge-patch+json")
    assert resp.status_code == 200, resp.content
    assert len(calls) == 2
    cm = client.get(f"{CONFIGMAPS}/a").json()
    assert cm["data"] == {"k": "patched"} and cm["metadata"]["labels"] == {"other": "writer"}  # both writes kept


def test_a_patch_that_names_its_resource_version_gets_the_conflict(pg, monkeypatch):
    client = client_for(pg)
    create(client, "a")
    rv = client.get(f"{CONFIGMAPS}/a").json()["metadata"]["resourceVersion"]
    calls = _conflict_once(monkeypatch)
    resp = client.patch(f"{CONFIGMAPS}/a", json.dumps({"metadata": {"resourceVersion": rv}, "data": {"k": "x"}}),
                        content_type="application/merge-patch+json")
    assert resp.status_code == 409
    assert resp.json()["reason"] == "Conflict" and len(calls) == 1
