"""A watch reads the feed when a commit wrote its kind, not on every commit of its playground."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from channels.layers import get_channel_layer

from cluster_core import feed, nudge
from cluster_core.api import views
from cluster_core.api.handlers import Call
from cluster_core.api.resources import find
from cluster_core.bootstrap import create_playground

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_skips_the_read_for_a_notice_of_other_kinds_and_reads_for_its_own(fake_clock, monkeypatch):
    pg = create_playground("default", tempo="instant")
    reads = []
    real = feed.changes_since

    def counted(*args, **kwargs):
        reads.append(args[2] if len(args) > 2 else kwargs.get("kinds"))
        return real(*args, **kwargs)

    monkeypatch.setattr(feed, "changes_since", counted)
    call = Call(pg=pg, method="GET", resource=find("apps", "v1", "deployments"), namespace="default",
                query={"watch": "true"})

    async def scenario():
        events = views.watch_events(call, pg.revision, False, 30.0, False)
        assert await anext(events) == b""
        waiting = asyncio.ensure_future(anext(events))
        await asyncio.sleep(0.2)  # the first read (nothing past the revision), then waiting for a notice
        first = len(reads)
        layer, group = get_channel_layer(), nudge.feed_group(pg.pk)
        for _ in range(5):
            await layer.group_send(group, {"type": "feed.changed", "revision": pg.revision, "kinds": ["Pod"]})
        await asyncio.sleep(0.2)
        after_pods = len(reads)
        await layer.group_send(group, {"type": "feed.changed", "revision": pg.revision, "kinds": ["Deployment"]})
        await asyncio.sleep(0.2)
        after_own = len(reads)
        waiting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiting
        await events.aclose()
        return first, after_pods, after_own

    first, after_pods, after_own = asyncio.run(scenario())
    assert first >= 1 and after_pods == first and after_own == first + 1
