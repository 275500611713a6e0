"""The process's SQLite writers take turns in a queue of their own (`cluster_core.storage.sqlite`): a write
transaction or a lone write statement waits for the turn, the next one goes when the holder commits, rolls back or
closes, and a thread running an urgent look (the lesson checker) goes before the others waiting."""

import threading
import time

import pytest
from django.db import connection, connections, transaction

from cluster_core import urgency
from cluster_core.models import Playground
from cluster_core.storage.sqlite import base

pytestmark = pytest.mark.skipif(connection.vendor != "sqlite", reason="the writer queue is SQLite's")


def queue() -> base.WriterQueue:
    return base.queue_for(connection.settings_dict["NAME"])


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.005)


def on_thread(target) -> threading.Thread:
    def run():
        try:
            target()
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def holder(release: threading.Event) -> threading.Thread:
    """A thread holding a write transaction open until `release` is set."""
    inside = threading.Event()

    def run():
        with transaction.atomic():
            Playground.objects.filter(slug="writers").update(revision=1)
            inside.set()
            release.wait(10)

    thread = on_thread(run)
    assert inside.wait(10)
    return thread


@pytest.mark.django_db(transaction=True)
def test_an_urgent_writer_goes_before_one_that_waited_longer():
    Playground.objects.create(slug="writers")
    order: list[str] = []
    release = threading.Event()
    held = holder(release)

    def write(name: str, urgent: bool):
        def run():
            if urgent:
                with urgency.urgent():
                    Playground.objects.filter(slug="writers").update(revision=2)
            else:
                with transaction.atomic():
                    Playground.objects.filter(slug="writers").update(revision=3)
            order.append(name)
        return run

    plain = on_thread(write("plain", False))
    wait_until(lambda: queue().waiting == 1)
    checker = on_thread(write("checker", True))
    wait_until(lambda: queue().waiting == 2)
    assert order == []  # both wait while the transaction is open
    release.set()
    for t in (held, plain, checker):
        t.join(10)
    assert order == ["checker", "plain"]
    assert Playground.objects.get(slug="writers").revision == 3


@pytest.mark.django_db(transaction=True)
def test_the_turn_is_given_back_by_a_rollback_and_by_a_close():
    Playground.objects.create(slug="writers")
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            Playground.objects.filter(slug="writers").update(revision=5)
            raise RuntimeError("rolled back")
    assert connection._turn is False
    with transaction.atomic():
        Playground.objects.filter(slug="writers").update(revision=6)
        assert connection._turn is True
        connection.close()  # a connection closed mid-transaction: SQLite rolls it back
        assert connection._turn is False
    connection.ensure_connection()
    assert queue().acquire(False, timeout=1.0)  # nobody holds it
    queue().release()
    assert Playground.objects.get(slug="writers").revision == 0


@pytest.mark.django_db(transaction=True)
def test_a_lone_write_statement_waits_for_the_open_transaction():
    pg = Playground.objects.create(slug="writers")
    done = threading.Event()
    release = threading.Event()
    held = holder(release)

    def save():
        Playground.objects.filter(pk=pg.pk).update(tempo="instant")
        done.set()

    lone = on_thread(save)
    wait_until(lambda: queue().waiting == 1)
    assert not done.is_set()
    release.set()
    assert done.wait(10)
    held.join(10)
    lone.join(10)
    assert Playground.objects.get(pk=pg.pk).tempo == "instant"
    assert queue().waiting == 0


@pytest.mark.django_db(transaction=True)
def test_a_learners_request_writes_before_the_loops_waiting():
    Playground.objects.create(slug="writers")
    order: list[str] = []
    release = threading.Event()
    held = holder(release)

    def loop():
        Playground.objects.filter(slug="writers").update(revision=2)
        order.append("loop")

    def request():
        with urgency.writes_first():
            Playground.objects.filter(slug="writers").update(revision=3)
        order.append("request")

    looped = on_thread(loop)
    wait_until(lambda: queue().waiting == 1)
    asked = on_thread(request)
    wait_until(lambda: queue().waiting == 2)
    release.set()
    for t in (held, looped, asked):
        t.join(10)
    assert order == ["request", "loop"]
    assert urgency.is_urgent() is False
