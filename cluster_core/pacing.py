"""The cluster's own slow motion: at the classroom tempo, and one write at a time while paused.

A write is one step of the story a class watches. At the classroom tempo each write of a reconcile loop waits for
the hop of the write before it to be shown (`Playground.write_after`, a stored due-time); while paused, each single
step lets exactly one loop write exactly one object (`Playground.steps`, the budget). A loop that wants to write N
objects writes the first and stops (`Paced`); being level-triggered, it writes the next when it looks again. Clients
(kubectl, the page) are never held back; their writes only move the gate on, so the loops wait for them to be shown.

What counts as a step is what the story tells: Events and a kubelet's node heartbeats are carried along for free.
"""

from __future__ import annotations

import datetime as dt

from . import nudge

# Seconds a step takes at the classroom tempo: the page animates one write's hops in this time.
CLASSROOM_STEP_SECONDS = 2.0


def is_loop(actor: str) -> bool:
    return actor in nudge.LOOP_CHANNELS or actor.startswith("kubelet/")


def counts(kind: str, typ: str, actor: str) -> bool:
    """Whether a write is a step of the story (the page leaves Events and node heartbeats out)."""
    if kind == "Event":
        return False
    return not (kind == "Node" and typ == "update" and actor.startswith("kubelet"))


def gated(tempo: str, paused: bool) -> bool:
    return paused or tempo == "classroom"


def first_step(ops: list, actor_of) -> list:
    """The ops to commit when only one step may be written: the first counted op, the Events about it, and what
    does not count (heartbeats). The rest is left for the loop's next look."""
    first = next((op for op in ops if counts(op.obj.KIND, op.kind, actor_of(op))), None)
    if first is None:
        return ops
    kept = []
    for op in ops:
        if op is first or not counts(op.obj.KIND, op.kind, actor_of(op)) and _about(op, first):
            kept.append(op)
    return kept


def _about(op, first) -> bool:
    if op.obj.KIND != "Event":
        return True  # a heartbeat
    body = op.obj.spec or {}
    involved = body.get("involvedObject") or {}
    if involved.get("kind") == first.obj.KIND and involved.get("name") == first.obj.name:
        return True
    # "Created pod: test1-abc" is about the ReplicaSet, and tells of the pod.
    return bool(first.obj.name) and first.obj.name in (body.get("message") or "")


def next_gate(now: dt.datetime, write_after: dt.datetime | None, steps: int) -> dt.datetime:
    start = max(now, write_after) if write_after else now
    return start + dt.timedelta(seconds=CLASSROOM_STEP_SECONDS * steps)
