"""The lesson checker's looks go first: another loop's query waits while one runs (a moment at most)."""

import threading

import pytest
from django.db import connection

from cluster_core import urgency


def another_loops_query() -> tuple[threading.Thread, threading.Event]:
    """A query of another loop, on a thread of its own; the event is set once it has run."""
    queried = threading.Event()

    def run():
        with urgency.giving_way():
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        connection.close()
        queried.set()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, queried


@pytest.mark.django_db(transaction=True)
def test_a_giving_way_query_waits_for_the_urgent_look_to_end(monkeypatch):
    monkeypatch.setattr(urgency, "MAX_WAIT", 30.0)
    entered, leave = threading.Event(), threading.Event()

    def checker():
        with urgency.urgent():
            entered.set()
            leave.wait(10)

    look = threading.Thread(target=checker)
    look.start()
    assert entered.wait(5)
    other, queried = another_loops_query()
    assert not queried.wait(0.3)  # held while the urgent look runs
    leave.set()
    assert queried.wait(5)  # and goes on as soon as it ends
    look.join()
    other.join()
    assert urgency.running() == 0


@pytest.mark.django_db(transaction=True)
def test_a_giving_way_query_waits_no_longer_than_the_limit(monkeypatch):
    monkeypatch.setattr(urgency, "MAX_WAIT", 0.05)
    with urgency.urgent():
        other, queried = another_loops_query()
        assert queried.wait(5)  # the urgent look is still running: the query went after its moment
        other.join()
    assert urgency.running() == 0
