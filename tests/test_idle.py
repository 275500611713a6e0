"""A playground nobody touches costs (almost) nothing: the resync looks at it rarely, its converged loops are never
woken for nothing, and after the idle limit it is removed with everything it owns."""

import math

import pytest

from cluster_core import idle, nudge, ticker
from cluster_core.idle import Seen, plan_resync
from cluster_core.models import Playground


def test_it_resyncs_every_playground_the_first_time_it_sees_it():
    seen = {}
    assert sorted(plan_resync([(1, 100), (2, 100), (3, 100)], seen, now=0.0)) == [1, 2, 3]


def test_it_leaves_out_the_first_look_at_a_playground_started_since_the_ticker_began():
    seen = {}
    assert plan_resync([(1, 100), (2, 100)], seen, now=0.0, fresh=frozenset({2})) == [1]
    # Then written to: resynced once an active period has passed since it started.
    assert plan_resync([(1, 100), (2, 101)], seen, now=idle.ACTIVE_RESYNC_SECONDS, fresh=frozenset({2})) == [2]


def test_it_resyncs_a_playground_every_active_period_while_it_is_written_to():
    seen = {}
    plan_resync([(1, 100), (2, 100)], seen, now=0.0)
    period = idle.ACTIVE_RESYNC_SECONDS
    assert plan_resync([(1, 101), (2, 100)], seen, now=5.0) == []  # written, but resynced (first seen) 5 s ago
    assert plan_resync([(1, 102), (2, 100)], seen, now=period) == [1]
    assert plan_resync([(1, 103), (2, 100)], seen, now=period + 5.0) == []  # resynced 5 s ago
    assert plan_resync([(1, 103), (2, 100)], seen, now=2 * period) == [1]  # still active: written 25 s ago


def test_it_stops_resyncing_a_playground_once_it_has_been_quiet_for_a_while():
    seen = {}
    plan_resync([(1, 100)], seen, now=0.0)
    assert plan_resync([(1, 101)], seen, now=idle.ACTIVE_RESYNC_SECONDS) == [1]
    assert plan_resync([(1, 101)], seen, now=idle.ACTIVE_RESYNC_SECONDS + idle.ACTIVE_SECONDS) == []


def test_it_resyncs_idle_playgrounds_rarely_and_a_ticks_share_at_a_time():
    rows = [(pid, 100) for pid in range(300)]
    seen = {}
    plan_resync(rows, seen, now=0.0)
    t, looked = 0.0, []
    while t < idle.IDLE_RESYNC_SECONDS * 2:
        t += idle.RESYNC_SECONDS
        picked = plan_resync(rows, seen, now=t)
        assert len(picked) <= math.ceil(300 * idle.RESYNC_SECONDS / idle.IDLE_RESYNC_SECONDS)
        looked += picked
    # Over two idle periods each playground was looked at about twice, none forgotten.
    assert set(looked) == set(range(300))
    assert max(looked.count(pid) for pid in range(300)) <= 2


def test_it_forgets_a_playground_that_is_gone():
    seen = {1: Seen(100, -math.inf, 0.0), 2: Seen(100, -math.inf, 0.0)}
    plan_resync([(1, 100)], seen, now=5.0)
    assert set(seen) == {1}


# The ticker closes stale connections, as a long-running thread must: outside a test's transaction.
@pytest.mark.django_db(transaction=True)
def test_it_sends_the_resync_only_to_the_active_playgrounds(cluster, fake_clock):
    from cluster_core import actions, playgrounds

    other = playgrounds.start()
    seen = {}
    assert set(ticker.resync_targets(seen, now=0.0)) == {cluster.pk, other.pk}
    actions.deploy(cluster, "test1", "nginx", 1)
    targets = ticker.resync_targets(seen, now=idle.ACTIVE_RESYNC_SECONDS)
    assert set(targets) == {cluster.pk}
    assert targets[cluster.pk] == {(ch, "*") for ch in nudge.LOOP_CHANNELS}


@pytest.mark.django_db(transaction=True)
def test_it_takes_no_first_look_at_playgrounds_started_since_the_ticker_began(cluster, fake_clock):
    from cluster_core import clock, playgrounds

    since = clock.now()
    fake_clock.advance(1)
    new = playgrounds.start()
    assert set(ticker.resync_targets({}, now=0.0, since=since)) == {cluster.pk}
    assert set(ticker.resync_targets({}, now=0.0, since=None)) == {cluster.pk, new.pk}  # after a restart


@pytest.mark.django_db(transaction=True)
def test_it_leaves_out_paused_playgrounds_from_the_resync(cluster):
    Playground.objects.filter(pk=cluster.pk).update(paused=True)
    assert ticker.resync_targets({}, now=0.0) == {}


@pytest.mark.django_db(transaction=True)
def test_it_has_no_due_time_to_wake_in_a_converged_playground(cluster):
    assert cluster.pk not in ticker.due_targets()


# ---------------------------------------------------------------------------------------------------------------
# Requests per minute


# The API reads the database from its own threads: outside a test's transaction.
@pytest.mark.django_db(transaction=True)
def test_it_answers_429_with_a_clear_status_past_the_requests_per_minute_cap(cluster):
    from django.test import Client

    from cluster_core.api import ratelimit

    ratelimit.forget()
    Playground.objects.filter(pk=cluster.pk).update(max_requests_per_minute=3)
    client = Client(headers={"Authorization": f"Bearer {cluster.token}"})
    codes = [client.get("/clusters/default/api/v1/namespaces/default/pods").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    refused = client.get("/clusters/default/api/v1/namespaces/default/pods")
    status = refused.json()
    assert status["reason"] == "TooManyRequests" and status["code"] == 429
    assert "at most 3 requests a minute (cap max_requests_per_minute)" in status["message"]
    assert 1 <= int(refused["Retry-After"]) <= 60
    ratelimit.forget()


def test_it_counts_requests_over_a_sliding_minute():
    from types import SimpleNamespace

    from cluster_core.api import ratelimit
    from cluster_core.errors import TooManyRequests

    ratelimit.forget()
    pg = SimpleNamespace(pk=-1, max_requests_per_minute=2)
    ratelimit.check(pg, now=0.0)
    ratelimit.check(pg, now=30.0)
    with pytest.raises(TooManyRequests) as refused:
        ratelimit.check(pg, now=59.0)
    assert refused.value.details["retryAfterSeconds"] == 1
    ratelimit.check(pg, now=60.5)  # the first request has left the window
    ratelimit.forget()
