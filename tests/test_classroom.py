"""Classes: start one from the start page, join by link or code, the instructor's keys and a student's, the
console's tiles read from each student's playground, the room's state (follow, release, blank, push, end)."""

import asyncio
import datetime as dt
import functools
import json
import re

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import Client

from cluster_core import actions, clock, nudge, runtime
from cluster_core.models import Change, Deployment, LessonProgress, Playground
from playground.classroom import classes, consumers, tiles
from playground.classroom.models import CODE_ALPHABET, Classroom, Student

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def client():
    return Client()


def start_class(client) -> Classroom:
    response = client.post("/class/start", {"lesson": "seed", "stuck": "7"})
    assert response.status_code == 302
    token = re.fullmatch(r"/class/([a-z2-7]+)/", response["Location"]).group(1)
    return Classroom.objects.select_related("playground").get(instructor_token=token)


def join(room: Classroom, name: str, browser: Client | None = None) -> tuple[Client, Student]:
    browser = browser or Client()
    response = browser.post(f"/join/{room.join_token}/", {"name": name})
    assert response.status_code == 302
    slug = re.fullmatch(r"/p/([a-z2-7]+)/", response["Location"]).group(1)
    return browser, Student.objects.select_related("playground").get(playground__slug=slug)


def test_it_starts_a_class_with_a_join_link_a_code_without_look_alikes_and_an_instructor_link(db, fake_clock,
                                                                                               quiet_nudges, client):
    room = start_class(client)
    assert len(room.code) == 6 and set(room.code) <= set(CODE_ALPHABET)
    assert not set("0O1IL2Z5S8B") & set(CODE_ALPHABET)
    assert len({room.instructor_token, room.join_token, room.playground.slug}) == 3
    assert room.stuck_minutes == 7
    assert LessonProgress.objects.filter(playground=room.playground, lesson="seed").exists()


def test_it_shows_the_console_with_the_code_the_join_link_its_qr_and_the_instructor_link(db, fake_clock,
                                                                                        quiet_nudges, client):
    room = start_class(client)
    html = client.get(f"/class/{room.instructor_token}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert room.code in html
    assert f"http://testserver/join/{room.join_token}/" in html
    assert f"http://testserver/class/{room.instructor_token}/" in html
    assert "<svg" in html and "<script>" not in html
    assert "Nobody has joined yet." in html


def test_it_shows_the_console_in_chinese(db, fake_clock, quiet_nudges, client):
    room = start_class(client)
    html = client.get(f"/class/{room.instructor_token}/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "跟着我" in html and "还没有人加入。" in html


def test_it_offers_starting_and_joining_a_class_on_the_start_page(db, fake_clock, quiet_nudges, client):
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Start a class" in html and 'action="/class/join"' in html and 'action="/class/start"' in html


def test_it_refuses_a_class_without_a_lesson_readably(db, fake_clock, quiet_nudges, client):
    response = client.post("/class/start", {"lesson": "nope"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "Choose a lesson for the class." in response.content.decode()


def test_it_gives_each_student_a_playground_of_their_own_prepared_for_the_lesson(db, fake_clock, quiet_nudges):
    room = start_class(Client())
    _a, ann = join(room, "Ann")
    _b, bob = join(room, "Bob")
    assert ann.playground_id != bob.playground_id
    assert room.playground_id not in (ann.playground_id, bob.playground_id)
    assert LessonProgress.objects.filter(playground=ann.playground, lesson="seed").exists()
    assert ann.name == "Ann" and ann.key != bob.key


def test_it_joins_by_the_code_typed_in_any_case_with_spaces(db, fake_clock, quiet_nudges, client):
    room = start_class(Client())
    typed = f"{room.code[:3].lower()} {room.code[3:]}"
    response = client.post("/class/join", {"code": typed})
    assert response.status_code == 302 and response["Location"] == f"/join/{room.join_token}/"


def test_it_answers_an_unknown_code_readably(db, fake_clock, quiet_nudges, client):
    response = client.post("/class/join", {"code": "XXXXXX"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404 and "No class has the code" in response.content.decode()


def test_it_asks_for_a_name_and_refuses_an_empty_one(db, fake_clock, quiet_nudges, client):
    room = start_class(Client())
    assert "Your name" in client.get(f"/join/{room.join_token}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    response = client.post(f"/join/{room.join_token}/", {"name": "  "}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "Give a name" in response.content.decode()
    assert not Student.objects.exists()


def test_it_brings_a_student_back_to_the_same_playground_from_the_same_browser(db, fake_clock, quiet_nudges):
    room = start_class(Client())
    browser, ann = join(room, "Ann")
    again = browser.get(f"/join/{room.join_token}/")
    assert again.status_code == 302 and again["Location"] == f"/p/{ann.playground.slug}/"
    assert Student.objects.count() == 1


def test_it_refuses_a_student_at_every_instructor_endpoint_with_403(db, fake_clock, quiet_nudges):
    room = start_class(Client())
    browser, ann = join(room, "Ann")
    for key in (room.join_token, ann.key, room.code):
        assert browser.get(f"/class/{key}/").status_code == 403
        for what in ("follow", "blank", "push", "tempo", "show-join", "end", f"students/{ann.pk}/reset"):
            response = browser.post(f"/class/{key}/{what}", {"what": "me", "on": "1"}, HTTP_ACCEPT_LANGUAGE="en")
            assert response.status_code == 403, (key, what)
            assert "it needs the instructor link" in response.content.decode()
    room.refresh_from_db()
    assert not room.following and not room.blank and not room.ended


def test_it_answers_an_unknown_class_key_with_404(db, fake_clock, quiet_nudges, client):
    assert client.get("/class/nosuchclass/").status_code == 404
    assert client.post("/class/nosuchclass/follow", {"what": "me"}).status_code == 404


def test_it_shows_no_instructor_control_on_a_students_page_and_a_raise_hand_button(db, fake_clock, quiet_nudges):
    room = start_class(Client())
    browser, ann = join(room, "Ann")
    html = browser.get(f"/p/{ann.playground.slug}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Raise hand" in html and f"/class/hand/{ann.key}" in html
    assert room.instructor_token not in html and "Follow me" not in html and "/class/" + room.join_token not in html


def test_it_shows_the_tile_of_a_student_from_their_playgrounds_lesson_progress(db, fake_clock, quiet_nudges):
    room = start_class(Client())
    _a, ann = join(room, "Ann")
    _b, bob = join(room, "Bob")
    before = tiles.tile(ann, room, "en")
    assert actions.deploy(ann.playground, "test1", "nginx", 1).ok
    runtime.settle(ann.playground)
    after, html = tiles.render_tile(ann, room, "en")
    assert after["done"] > before["done"]
    assert tiles.tile(bob, room, "en")["done"] == before["done"]
    assert after["activity"] is not None and tiles.tile(bob, room, "en")["activity"] is None
    assert any(p["name"].startswith("test1-") and p["status"] == "Running"
               for node in after["nodes"] for p in node["pods"])
    assert 'class="mini-chip phase-Running"' in html and "Ann" in html


def test_a_tile_read_again_that_shows_the_same_card_is_not_rendered_again(db, fake_clock, quiet_nudges):
    fake_clock.set(dt.datetime.now(dt.UTC))
    room = start_class(Client())
    _a, ann = join(room, "Ann")
    _b, bob = join(room, "Bob")
    _room, first = consumers.read_tiles(room.pk, None, "en")
    assert all(msg is not None for msg, _t in first)  # nothing shown yet: every tile rendered
    shown = {t["id"]: t for _msg, t in first}
    Playground.objects.filter(pk=ann.playground_id).update(revision=ann.playground.revision + 1)  # no visible change
    _room, again = consumers.read_tiles(room.pk, None, "en", shown)
    assert [msg for msg, _t in again] == [None, None]
    assert actions.deploy(ann.playground, "test1", "nginx", 1).ok  # Ann's card changes: pods, progress, activity
    runtime.settle(ann.playground)
    _room, after = consumers.read_tiles(room.pk, None, "en", shown)
    sent = {t["id"]: msg for msg, t in after}
    assert sent[bob.pk] is None and sent[ann.pk] is not None and sent[ann.pk]["done"] > shown[ann.pk]["done"]
    fake_clock.advance(8 * 60)  # the clock alone changes Bob's card: stuck
    _room, later = consumers.read_tiles(room.pk, [bob.pk], "en", shown)
    assert later[0][0] is not None and 'class="flag stuck-flag">' in later[0][0]["html"]


def test_it_marks_a_student_stuck_after_the_class_stuck_time_without_progress(db, fake_clock, quiet_nudges):
    fake_clock.set(dt.datetime.now(dt.UTC))  # the feed's commit times are the wall clock's
    room = start_class(Client())
    _a, ann = join(room, "Ann")
    assert not tiles.tile(ann, room, "en")["stuck"]
    fake_clock.advance(8 * 60)
    assert tiles.tile(ann, room, "en")["stuck"]


def test_it_shows_a_raised_hand_on_the_tile(db, fake_clock, quiet_nudges):
    room = start_class(Client())
    browser, ann = join(room, "Ann")
    response = browser.post(f"/class/hand/{ann.key}", {"up": "1"}, **HX)
    assert response.status_code == 200 and "Lower hand" in response.content.decode()
    ann.refresh_from_db()
    assert tiles.tile(ann, room, "en")["hand"]


def test_it_refuses_to_raise_a_hand_with_anything_but_a_students_key(db, fake_clock, quiet_nudges, client):
    room = start_class(Client())
    assert client.post(f"/class/hand/{room.join_token}", {"up": "1"}).status_code == 404


def test_it_follows_shows_a_student_and_releases_the_room(db, fake_clock, quiet_nudges):
    from playground.classroom.consumers import student_state

    instructor = Client()
    room = start_class(instructor)
    _a, ann = join(room, "Ann")
    assert student_state(ann.pk)["where"] == f"/p/{ann.playground.slug}/"
    assert instructor.post(f"/class/{room.instructor_token}/follow", {"what": "me"}, **HX).status_code == 200
    assert student_state(ann.pk)["where"] == f"/p/{room.playground.read_token}/"
    _b, bob = join(room, "Bob")
    instructor.post(f"/class/{room.instructor_token}/follow", {"what": str(bob.pk)}, **HX)
    assert student_state(ann.pk)["where"] == f"/p/{bob.playground.read_token}/"
    assert student_state(bob.pk)["where"] == f"/p/{bob.playground.slug}/"  # Bob stays in his own
    instructor.post(f"/class/{room.instructor_token}/follow", {"what": "release"}, **HX)
    assert student_state(ann.pk)["where"] == f"/p/{ann.playground.slug}/"


def test_it_shows_the_student_bar_on_the_followed_cluster_only_while_following(db, fake_clock, quiet_nudges):
    instructor = Client()
    room = start_class(instructor)
    browser, ann = join(room, "Ann")
    watch = f"/p/{room.playground.read_token}/"
    assert 'id="class-bar"' not in browser.get(watch).content.decode()
    classes.follow_me(room)
    html = browser.get(watch).content.decode()
    assert 'id="class-bar"' in html and 'class="read-only' in html and 'id="tempo"' not in html


def test_it_pauses_the_followed_cluster_from_the_console(db, fake_clock, quiet_nudges):
    instructor = Client()
    room = start_class(instructor)
    classes.follow_me(room)
    instructor.post(f"/class/{room.instructor_token}/tempo", {"tempo": "pause"}, **HX)
    assert Playground.objects.get(pk=room.playground_id).paused


def test_it_blanks_pushes_a_step_and_refuses_an_unknown_step(db, fake_clock, quiet_nudges):
    from playground.classroom.consumers import student_state

    instructor = Client()
    room = start_class(instructor)
    _a, ann = join(room, "Ann")
    instructor.post(f"/class/{room.instructor_token}/blank", {"on": "1"}, **HX)
    instructor.post(f"/class/{room.instructor_token}/push", {"step": "expose"}, **HX)
    state = student_state(ann.pk)
    assert state["blank"] and state["step"] == "expose"
    response = instructor.post(f"/class/{room.instructor_token}/push", {"step": "nope"}, HTTP_ACCEPT_LANGUAGE="en",
                               **HX)
    assert response.status_code == 422 and "The lesson has no such step." in response.content.decode()


def test_it_resets_a_students_playground_from_the_console(db, fake_clock, quiet_nudges):
    instructor = Client()
    room = start_class(instructor)
    _a, ann = join(room, "Ann")
    assert actions.deploy(ann.playground, "test1", "nginx", 1).ok
    instructor.post(f"/class/{room.instructor_token}/students/{ann.pk}/reset", **HX)
    assert not Deployment.objects.filter(playground=ann.playground, namespace="default").exists()
    assert LessonProgress.objects.filter(playground=ann.playground, lesson="seed").exists()


def test_it_ends_the_class_leaving_each_playground_read_only(db, fake_clock, quiet_nudges):
    from playground.classroom.consumers import student_state

    instructor = Client()
    room = start_class(instructor)
    browser, ann = join(room, "Ann")
    token = ann.playground.token
    instructor.post(f"/class/{room.instructor_token}/end", **HX)
    response = browser.post(f"/p/{ann.playground.slug}/deploy", {"name": "late", "image": "nginx"},
                            HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 403 and "class has ended" in response.content.decode()
    assert Playground.objects.get(pk=ann.playground_id).token != token
    assert student_state(ann.pk)["where"] == f"/p/{ann.playground.read_token}/"
    assert browser.get(f"/p/{ann.playground.read_token}/").status_code == 200


def test_it_removes_an_ended_class_with_its_playgrounds_after_the_keep_time(db, fake_clock, quiet_nudges, settings):
    settings.KUBEPLAY_CLASS_KEEP_HOURS = 2
    room = start_class(Client())
    _a, ann = join(room, "Ann")
    classes.end(room)
    assert classes.remove_expired(clock.now() + dt.timedelta(hours=1)) == 0
    assert classes.remove_expired(clock.now() + dt.timedelta(hours=3)) == 1
    assert not Classroom.objects.exists()
    assert not Playground.objects.filter(pk__in=[room.playground_id, ann.playground_id]).exists()


def test_it_shows_presenter_mode_with_the_join_code_and_no_forms(db, fake_clock, quiet_nudges):
    instructor = Client()
    room = start_class(instructor)
    html = instructor.get(f"/class/{room.instructor_token}/present", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'class="read-only presenter"' in html and room.code in html and "<svg" in html
    assert 'id="presenter-join"' in html and "hx-post" not in html
    classes.show_join(room, False)
    html = instructor.get(f"/class/{room.instructor_token}/present").content.decode()
    assert re.search(r'id="presenter-join"[^>]* hidden', html)


# ---------------------------------------------------------------------------------------------------------------
# The sockets


def run_async(test):
    """Run an async test body in its own event loop (the suite has no asyncio plugin)."""

    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        return asyncio.run(test(*args, **kwargs))

    return wrapper


def _playground_message(pg_id: int, typ: str) -> dict:
    return {"type": typ, "playground": pg_id, "revision": 1}


@pytest.mark.django_db(transaction=True)
@run_async
async def test_it_sends_every_tile_on_connect_then_only_the_tile_of_the_student_whose_lesson_moved(fake_clock,
                                                                                                   quiet_nudges):
    from playground.asgi import application

    room = await sync_to_async(start_class)(Client())
    _a, ann = await sync_to_async(join)(room, "Ann")
    _b, bob = await sync_to_async(join)(room, "Bob")
    console = WebsocketCommunicator(application, f"/ws/class/console/{room.instructor_token}/",
                                    headers=[(b"host", b"testserver"), (b"origin", b"http://testserver")])
    connected, _ = await console.connect()
    assert connected
    first = {json.loads(await console.receive_from())["id"] for _ in range(2)}
    assert first == {ann.pk, bob.pk}
    result = await sync_to_async(actions.deploy)(ann.playground, "test1", "nginx", 1)
    assert result.ok
    await sync_to_async(runtime.settle)(ann.playground)
    await get_channel_layer().group_send(nudge.lessons_group(ann.playground_id),
                                         _playground_message(ann.playground_id, "lessons.changed"))
    tile = json.loads(await console.receive_from(timeout=5))
    assert tile["id"] == ann.pk and tile["done"] >= 2 and "phase-Running" in tile["html"]
    assert tile["rev"] == (await sync_to_async(Playground.objects.get)(pk=ann.playground_id)).revision
    # Only Ann's cluster moves next, and no message says so: the console finds the playground whose revision
    # passed what its tile showed, and sends that tile (with the new pod), not Bob's.
    def scale_to_2() -> int:
        assert actions.scale(ann.playground, "test1", 2).ok
        runtime.settle(ann.playground)
        return Playground.objects.get(pk=ann.playground_id).revision

    settled = await sync_to_async(scale_to_2)()
    seen = [json.loads(await console.receive_from(timeout=5))]
    while seen[-1]["rev"] != settled:
        seen.append(json.loads(await console.receive_from(timeout=5)))
    assert {t["id"] for t in seen} == {ann.pk} and seen[-1]["html"].count("mini-chip") == 2
    # Nothing moves any more: no tile is sent again.
    assert await console.receive_nothing(timeout=consumers.STALE_TILE_INTERVAL * 2)
    await console.disconnect()


@pytest.mark.django_db(transaction=True)
@run_async
async def test_it_shows_a_lesson_move_from_the_progress_the_checker_sent_without_reading_the_tile(
        fake_clock, quiet_nudges, monkeypatch):
    from playground.asgi import application

    room = await sync_to_async(start_class)(Client())
    _a, ann = await sync_to_async(join)(room, "Ann")
    console = WebsocketCommunicator(application, f"/ws/class/console/{room.instructor_token}/",
                                    headers=[(b"host", b"testserver"), (b"origin", b"http://testserver")])
    assert (await console.connect())[0]
    before = json.loads(await console.receive_from())
    joined = (await sync_to_async(LessonProgress.objects.get)(playground=ann.playground_id, lesson=room.lesson)).done
    assert before["id"] == ann.pk and before["done"] == len(joined) == 2
    assert "Step 2: Deploy nginx and watch the hops" in before["html"]
    reads = []
    monkeypatch.setattr(consumers, "read_tiles", lambda *args: reads.append(args) or (room, []))
    moved = {"lesson": room.lesson, "done": {**joined, "deploy": 40, "wide": 40}, "at": 1_900_000_000.0}
    await get_channel_layer().group_send(nudge.lessons_group(ann.playground_id), {
        "type": "lessons.changed", "playground": ann.playground_id, **moved})
    tile = json.loads(await console.receive_from(timeout=5))
    assert tile["id"] == ann.pk and tile["done"] == 4 and tile["progress_at"] == 1_900_000_000.0
    assert "4 of 10 steps done" in tile["html"] and 'data-done="4"' in tile["html"]
    assert "Step 5: Publish it as a NodePort Service" in tile["html"]
    assert tile["rev"] == before["rev"] and reads == []
    # An older move heard late never takes progress back; a move of another lesson is read, not guessed.
    await get_channel_layer().group_send(nudge.lessons_group(ann.playground_id), {
        "type": "lessons.changed", "playground": ann.playground_id, "lesson": room.lesson, "done": joined})
    await get_channel_layer().group_send(nudge.lessons_group(ann.playground_id), {
        "type": "lessons.changed", "playground": ann.playground_id, "lesson": "other", "done": {}})
    assert await console.receive_nothing(timeout=consumers.TILE_INTERVAL * 5)
    assert len(reads) == 1 and reads[0][1] == [ann.pk]
    await console.disconnect()


def test_it_sends_the_progress_it_saved_with_a_lesson_move(db, fake_clock, quiet_nudges, monkeypatch,
                                                           django_capture_on_commit_callbacks):
    from cluster_core.lessons import checker

    room = start_class(Client())
    _a, ann = join(room, "Ann")
    sent = []
    monkeypatch.setattr(nudge, "send_lessons_changed", lambda pg_id, progress=None, console=True, pages=True:
                        sent.append((pg_id, progress, console, pages)))
    with django_capture_on_commit_callbacks(execute=True):
        assert actions.deploy(ann.playground, "test1", "nginx", 1).ok
        runtime.settle(ann.playground)  # the lesson checker is one of the loops it runs
        checker.reconcile(ann.playground, room.lesson)
    progress = LessonProgress.objects.get(playground=ann.playground, lesson=room.lesson)
    # Each move goes once to the console (before the save) and once to the pages (which read it back: after it).
    consoles, pages = [x[:2] for x in sent if x[2:] == (True, False)], [x[:2] for x in sent if x[2:] == (False, True)]
    assert consoles == pages and len(consoles) == len(sent) / 2
    assert sent.index((*consoles[-1], True, False)) < sent.index((*pages[-1], False, True))
    assert sent and sent[-1][0] == ann.playground_id
    assert sent[-1][1]["lesson"] == room.lesson and sent[-1][1]["done"] == progress.done and "deploy" in progress.done
    newest = max(progress.done.values())
    committed = Change.objects.get(playground=ann.playground, revision=newest).committed_at
    assert sent[-1][1]["at"] == round(committed.timestamp(), 3)


@pytest.mark.django_db(transaction=True)
@run_async
async def test_it_tells_a_students_page_where_the_room_is_when_the_instructor_follows(fake_clock, quiet_nudges):
    from playground.asgi import application

    room = await sync_to_async(start_class)(Client())
    _a, ann = await sync_to_async(join)(room, "Ann")
    page = WebsocketCommunicator(application, f"/ws/class/student/{ann.key}/",
                                 headers=[(b"host", b"testserver"), (b"origin", b"http://testserver")])
    assert (await page.connect())[0]
    assert json.loads(await page.receive_from())["where"] == f"/p/{ann.playground.slug}/"
    await sync_to_async(classes.follow_me)(room)
    await get_channel_layer().group_send(classes.class_group(room.pk), {"type": "class.state"})
    state = json.loads(await page.receive_from(timeout=5))
    assert state["where"] == f"/p/{room.playground.read_token}/" and state["following"]
    await page.disconnect()


@pytest.mark.django_db(transaction=True)
@run_async
async def test_it_refuses_a_console_socket_to_a_student(fake_clock, quiet_nudges):
    from playground.asgi import application

    room = await sync_to_async(start_class)(Client())
    _a, ann = await sync_to_async(join)(room, "Ann")
    for key in (ann.key, room.join_token):
        console = WebsocketCommunicator(application, f"/ws/class/console/{key}/",
                                        headers=[(b"host", b"testserver"), (b"origin", b"http://testserver")])
        connected, code = await console.connect()
        assert not connected and code == 4403
