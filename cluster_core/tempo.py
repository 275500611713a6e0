"""Changing a playground's tempo while things run: stored due-times are rescaled, not left at the old pace.

A pod pulling an image in classroom slow motion has (simulated seconds × 4) left; switched to realtime it has
the same simulated seconds × 1, and switched to instant it is due now.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from . import clock, nudge
from .models import Playground, Pod


def set_tempo(pg: Playground, tempo: str) -> None:
    if tempo not in clock.TEMPO_FACTORS:
        raise ValueError(f"unknown tempo {tempo!r}: choose one of {', '.join(clock.TEMPO_FACTORS)}")
    now = clock.now()
    old, new = clock.TEMPO_FACTORS.get(pg.tempo, 1.0), clock.TEMPO_FACTORS[tempo]
    nodes = set()
    with transaction.atomic():
        Playground.objects.filter(pk=pg.pk).update(tempo=tempo)
        if old != new:
            for pk, node, due in Pod.objects.filter(playground=pg, requeue_at__gt=now).values_list(
                    "pk", "node_name", "requeue_at"):
                # Back-off is kept in real time whatever the tempo (see the kubelet): only scale what was scaled.
                simulated = (due - now).total_seconds() / old if old else 0.0
                Pod.objects.filter(pk=pk).update(requeue_at=now + dt.timedelta(seconds=simulated * new))
                nodes.add(node)
    pg.tempo = tempo
    if nodes:
        transaction.on_commit(lambda: nudge.send_targets(pg.pk, {(nudge.KUBELET, n) for n in nodes if n}))
    transaction.on_commit(lambda: nudge.tempo_changed(pg.pk, tempo, pg.paused))


def set_paused(pg: Playground, paused: bool) -> None:
    """Pause or resume the playground's loops; every open page of it is told. On resume every loop looks again:
    what was written while paused found the loops paused, and the periodic resync leaves paused playgrounds out,
    so without this look it would wait for the next idle resync."""
    Playground.objects.filter(pk=pg.pk).update(paused=paused)
    pg.paused = paused
    if not paused:
        transaction.on_commit(lambda: nudge.send_targets(pg.pk, {(ch, "*") for ch in nudge.LOOP_CHANNELS}))
    transaction.on_commit(lambda: nudge.tempo_changed(pg.pk, pg.tempo, paused))
