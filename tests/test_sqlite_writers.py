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


def order_of(waits_first, waits_second) -> list[str]:
    """The order in which two writers, queued in this order behind an open transaction, wrote (each appends its
    name to the list it is given)."""
    Playground.objects.create(slug="writers")
    order: list[str] = []
    release = threading.Event()
    held = holder(release)
    first = on_thread(lambda: waits_first(order))
    wait_until(lambda: queue().waiting == 1)
    second = on_thread(lambda: waits_second(order))
    wait_until(lambda: queue().waiting == 2)
    assert order == []  # both wait while the transaction is open
    release.set()
    for t in (held, first, second):
        t.join(10)
    return order


@pytest.mark.parametrize("goes_first", [urgency.urgent, urgency.writes_first],
                         ids=["the lesson checker's look", "a learner's request"])
@pytest.mark.django_db(transaction=True)
def test_a_writer_that_goes_first_goes_before_one_that_waited_longer(goes_first):
    def loop(order):
        with transaction.atomic():
            Playground.objects.filter(slug="writers").update(revision=2)
        order.append("loop")

    def first(order):
        with goes_first():
            Playground.objects.filter(slug="writers").update(revision=3)
        order.append("first")

    assert order_of(loop, first) == ["first", "loop"]
    assert Playground.objects.get(slug="writers").revision == 2  # the loop's write came last
    assert urgency.writes_go_first() is False


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
