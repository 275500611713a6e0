"""The lesson checker's looks go first: another loop's query waits while one runs (a moment at most)."""

import threading

import pytest
from django.db import connection

from cluster_core import urgency


@pytest.mark.django_db(transaction=True)
def test_a_giving_way_query_waits_for_the_urgent_look_to_end(monkeypatch):
    monkeypatch.setattr(urgency, "MAX_WAIT", 30.0)
    entered, leave, queried = threading.Event(), threading.Event(), threading.Event()

    def checker():
        with urgency.urgent():
            entered.set()
            leave.wait(10)

    def other_loop():
        with urgency.giving_way():
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        connection.close()
        queried.set()

    t1 = threading.Thread(target=checker)
    t1.start()
    assert entered.wait(5)
    t2 = threading.Thread(target=other_loop)
    t2.start()
    assert not queried.wait(0.3)  # held while the urgent look runs
    leave.set()
    assert queried.wait(5)  # and goes on as soon as it ends
    t1.join()
    t2.join()
    assert urgency.running() == 0


@pytest.mark.django_db(transaction=True)
def test_a_giving_way_query_waits_no_longer_than_the_limit(monkeypatch):
    monkeypatch.setattr(urgency, "MAX_WAIT", 0.05)
    with urgency.urgent():
        done = threading.Event()

        def other_loop():
            with urgency.giving_way():
                with connection.cursor() as cursor:
                    cursor.execute("SELECT 1")
            connection.close()
            done.set()

        t = threading.Thread(target=other_loop)
        t.start()
        assert done.wait(5)  # the urgent look is still running: the query went after its moment
        t.join()
    assert urgency.running() == 0

