"""Playgrounds for everyone: the landing page, unguessable links, the browser's memory of them, read-only links,
Reset, the cap, idle removal, and the tempo every open page shows."""

import asyncio
import datetime as dt
import json
import re

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from cluster_core import actions, clock, playgrounds, runtime
from cluster_core.models import Change, Deployment, Playground, Pod
from playground import landing

HX = {"HTTP_HX_REQUEST": "true"}
WRITES = ["deploy", "expose", "scale", "set-image", "rollback", "delete", "curl", "terminal", "tempo", "reset",
          "lessons/start", "lessons/do", "lessons/predict", "failure"]


@pytest.fixture
def client():
    return Client()


def started(client) -> Playground:
    response = client.post("/start")
    assert response.status_code == 302
    slug = re.fullmatch(r"/p/([a-z2-7]+)/", response["Location"]).group(1)
    return Playground.objects.get(slug=slug)


def test_it_shows_the_landing_page_in_english(db, fake_clock, quiet_nudges, client):
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert ">Start a playground</button>" in html
    assert "Your playgrounds" in html and "This browser has not opened a playground yet." in html


def test_it_shows_the_landing_page_in_chinese(db, fake_clock, quiet_nudges, client):
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()
    assert '<html lang="zh-hans">' in html
    assert ">开始一个练习场</button>" in html and "你的练习场" in html


def test_it_starts_a_playground_behind_an_unguessable_link_with_its_system_pods_running(db, fake_clock, quiet_nudges,
                                                                                       client):
    pg = started(client)
    assert len(pg.slug) == 24 and pg.slug != pg.read_token
    phases = list(Pod.objects.filter(playground=pg).values_list("phase", flat=True))
    assert len(phases) == 12 and set(phases) == {"Running"}
    assert pg.tempo == "realtime"


def test_it_gives_each_new_playground_its_own_links_and_token(db, fake_clock, quiet_nudges, client):
    one, two = started(client), started(Client())
    assert len({one.slug, two.slug, one.read_token, two.read_token}) == 4
    assert one.token != two.token


def test_it_opens_the_new_playground_and_remembers_it_in_the_browser(db, fake_clock, quiet_nudges, client):
    pg = started(client)
    assert client.get(f"/p/{pg.slug}/").status_code == 200
    assert landing.remembered(client.get("/").wsgi_request) == [pg.slug]
    html = client.get("/").content.decode()
    assert f'href="/p/{pg.slug}/"' in html


def test_it_lists_the_newest_playground_first(db, fake_clock, quiet_nudges, client):
    first, second = started(client), started(client)
    html = client.get("/").content.decode()
    assert html.index(f"/p/{second.slug}/") < html.index(f"/p/{first.slug}/")


def test_it_ignores_a_remembered_list_that_was_not_signed_by_the_server(db, fake_clock, quiet_nudges, client):
    pg = started(Client())
    client.cookies[landing.REMEMBER] = pg.slug
    html = client.get("/").content.decode()
    assert pg.slug not in html


def test_it_forgets_a_playground_that_was_removed(db, fake_clock, quiet_nudges, client):
    pg = started(client)
    pg.delete()
    html = client.get("/").content.decode()
    assert pg.slug not in html and "This browser has not opened a playground yet." in html


def test_it_answers_an_unknown_link_with_a_readable_404(db, fake_clock, quiet_nudges, client):
    response = client.get("/p/nosuchplayground/")
    assert response.status_code == 404


def test_it_says_so_when_the_server_holds_its_maximum_of_playgrounds(cluster, client, settings):
    settings.KUBEPLAY_MAX_PLAYGROUNDS = 1
    response = client.post("/start", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 503
    assert "This server already runs its maximum of 1 playgrounds." in response.content.decode()
    assert Playground.objects.count() == 1


def test_it_shows_the_read_only_link_without_any_action_tempo_control_or_kubeconfig(db, fake_clock, quiet_nudges,
                                                                                   client):
    cluster = playgrounds.start()
    html = client.get(f"/p/{cluster.read_token}/").content.decode()
    assert 'class="read-only"' in html and "read-only" in html
    assert "hx-post" not in html and "/kubeconfig" not in html and "Download kubeconfig" not in html
    assert 'id="tempo"' not in html and 'id="terminal-form"' not in html
    assert "Tempo now:" in html
    assert cluster.slug not in html.replace(cluster.read_token, "")
    assert cluster.token not in html


def test_it_hands_the_read_only_link_to_full_link_holders(cluster, client):
    html = client.get(f"/p/{cluster.slug}/").content.decode()
    assert f"/p/{cluster.read_token}/" in html


def test_it_refuses_every_write_through_the_read_only_link_with_a_readable_403(cluster, client):
    for action in WRITES:
        response = client.post(f"/p/{cluster.read_token}/{action}", {"name": "test1", "image": "nginx"}, **HX,
                               HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 403, action
        assert "This is a read-only link" in response.content.decode(), action
    assert not Deployment.objects.filter(playground=cluster, name="test1").exists()


def test_it_shows_the_read_only_link_the_lesson_panel_without_its_buttons_or_the_full_link(db, fake_clock,
                                                                                          quiet_nudges, client):
    pg = playgrounds.start()
    response = client.get(f"/p/{pg.read_token}/lessons/", HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert response.status_code == 200
    assert "hx-post" not in html and pg.slug not in html


def test_it_lists_the_lessons_on_the_landing_page(db, fake_clock, quiet_nudges, client):
    from cluster_core.lessons import loader

    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for lesson in loader.lessons().values():
        assert f'name="lesson" value="{lesson.slug}"' in html and lesson.title["en"] in html


def test_it_starts_a_playground_with_the_chosen_lesson_open(db, fake_clock, quiet_nudges, client):
    from cluster_core.lessons import loader
    from cluster_core.models import LessonProgress

    first = next(iter(loader.lessons()))
    response = client.post("/start", {"lesson": first})
    pg = Playground.objects.get(slug=re.fullmatch(r"/p/([a-z2-7]+)/", response["Location"]).group(1))
    assert list(LessonProgress.objects.filter(playground=pg).values_list("lesson", flat=True)) == [first]


def test_it_gives_the_kubeconfig_only_to_the_full_link(cluster, client):
    assert client.get(f"/p/{cluster.read_token}/kubeconfig").status_code == 403
    text = client.get(f"/p/{cluster.slug}/kubeconfig").content.decode()
    assert f"token: {cluster.token}" in text and f"/clusters/{cluster.slug}" in text


def test_it_lets_the_read_only_link_ask_why(cluster, client):
    response = client.get(f"/p/{cluster.read_token}/why/Pod/kube-system/etcd-k8s-master")
    assert response.status_code == 200


def test_it_asks_before_deleting_or_resetting(cluster, client):
    html = client.get(f"/p/{cluster.slug}/").content.decode()
    delete = re.search(r"<form[^>]*url[^>]*/delete\"[^>]*>|<form hx-post=\"/p/default/delete\"[^>]*>", html).group(0)
    reset = re.search(r"<form hx-post=\"/p/default/reset\"[^>]*>", html).group(0)
    assert "hx-confirm=" in delete and "hx-confirm=" in reset


def test_it_has_no_inline_script_on_the_landing_page_or_the_playground_page(cluster, client):
    for url in ("/", f"/p/{cluster.slug}/", f"/p/{cluster.read_token}/"):
        html = client.get(url).content.decode()
        for tag in re.findall(r"<script[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag, (url, tag)


def test_it_resets_the_playground_to_the_seeds_fresh_cluster_behind_the_same_links(cluster, client):
    actions.deploy(cluster, "test1", "nginx", 2)
    runtime.settle(cluster)
    before = Playground.objects.get(pk=cluster.pk)
    response = client.post(f"/p/{cluster.slug}/reset", **HX)
    assert response.status_code == 200 and response["HX-Refresh"] == "true"
    after = Playground.objects.get(pk=cluster.pk)
    assert (after.slug, after.token, after.read_token) == (before.slug, before.token, before.read_token)
    assert not Deployment.objects.filter(playground=cluster, name="test1").exists()
    pods = Pod.objects.filter(playground=cluster)
    assert pods.count() == 12 and set(pods.values_list("phase", flat=True)) == {"Running"}
    assert after.revision > before.revision and after.tempo == "realtime"
    deleted = Change.objects.filter(playground=cluster, type="DELETED", name="test1", kind="Deployment")
    assert deleted.exists()


def test_it_resets_the_kinds_kept_in_the_shared_table_too(cluster):
    from cluster_core.models import Secret
    from cluster_core.writes import do_create

    do_create(cluster, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s1", "namespace": "default"},
                        "data": {"k": "dg=="}}, "kubectl")
    playgrounds.reset(cluster)
    assert not Secret.objects.filter(playground=cluster, name="s1").exists()
    assert Change.objects.filter(playground=cluster, kind="Secret", name="s1", type="DELETED").exists()


def test_it_starts_the_lessons_over_on_reset(cluster):
    from cluster_core.models import LessonProgress

    LessonProgress.objects.create(playground=cluster, lesson="seed", done={"deploy": 120})
    playgrounds.reset(cluster)
    assert not LessonProgress.objects.filter(playground=cluster).exists()


def test_it_removes_playgrounds_idle_past_the_limit_with_everything_they_own(cluster, fake_clock, settings):
    settings.KUBEPLAY_IDLE_SECONDS = 3600
    old = playgrounds.start()
    fake_clock.advance(1800)
    recent = playgrounds.start()
    fake_clock.advance(1801)
    assert playgrounds.remove_idle() == 1
    assert set(Playground.objects.values_list("slug", flat=True)) == {"default", recent.slug}
    assert not Pod.objects.filter(playground_id=old.pk).exists()
    assert not Change.objects.filter(playground_id=old.pk).exists()


def test_it_keeps_a_playground_someone_uses(cluster, fake_clock, settings, client):
    settings.KUBEPLAY_IDLE_SECONDS = 3600
    pg = playgrounds.start()
    fake_clock.advance(3000)
    client.get(f"/p/{pg.read_token}/")
    fake_clock.advance(3000)
    assert playgrounds.remove_idle() == 0
    assert Playground.objects.filter(pk=pg.pk).exists()


def test_it_records_activity_at_most_once_a_minute(cluster, fake_clock, django_assert_num_queries):
    fake_clock.advance(120)
    cluster.touch()
    with django_assert_num_queries(0):
        fake_clock.advance(30)
        cluster.touch()
    assert Playground.objects.get(pk=cluster.pk).last_active_at == clock.now() - dt.timedelta(seconds=30)


def test_it_never_removes_the_default_playground(cluster, fake_clock):
    fake_clock.advance(400 * 24 * 3600)
    assert playgrounds.remove_idle() == 0
    assert Playground.objects.filter(slug="default").exists()


# ---------------------------------------------------------------------------------------------------------------
# The tempo in force, on every open page (over the live feed)

HEADERS = [(b"origin", b"http://testserver"), (b"host", b"testserver")]


async def _tempo_message(ws: WebsocketCommunicator) -> dict:
    async with asyncio.timeout(10):
        while True:
            msg = json.loads(await ws.receive_from(timeout=10))
            if msg["type"] == "tempo":
                return msg


@pytest.mark.django_db(transaction=True)
def test_it_tells_every_open_page_the_tempo_changed_elsewhere(fake_clock):
    from playground.asgi import application

    pg = playgrounds.start()

    async def body():
        watcher = WebsocketCommunicator(application, f"/ws/p/{pg.read_token}/", headers=HEADERS)
        assert (await watcher.connect())[0]
        state = json.loads(await watcher.receive_from(timeout=10))
        assert state["type"] == "state" and state["tempo"] == "realtime"
        response = await sync_to_async(Client().post)(f"/p/{pg.slug}/tempo", {"tempo": "classroom"}, **HX)
        assert response.status_code == 200
        assert await _tempo_message(watcher) == {"type": "tempo", "tempo": "classroom", "paused": False}
        await sync_to_async(Client().post)(f"/p/{pg.slug}/tempo", {"tempo": "pause"}, **HX)
        assert await _tempo_message(watcher) == {"type": "tempo", "tempo": "classroom", "paused": True}
        await watcher.disconnect()

    asyncio.run(body())


def test_it_shows_the_tempo_in_force_in_the_header(cluster, client):
    from cluster_core.tempo import set_tempo

    set_tempo(cluster, "classroom")
    html = client.get(f"/p/{cluster.read_token}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    now = re.search(r'<p id="tempo-now".*?</p>', html, re.S).group(0)
    assert "Slow motion (classroom)" in now
