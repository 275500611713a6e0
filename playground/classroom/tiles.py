"""A student's tile on the instructor's console: read from the student's playground (lesson progress, the
cluster's nodes and pods, the feed's newest learner write), never from anything the student's page claims."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import translation

from cluster_core import clock, feed
from cluster_core.lessons import loader
from cluster_core.models import Change, LessonProgress, Node, Pod
from cluster_core.rowreader import Prepared

from .. import story
from .models import Classroom, Student


def lang_key(lang: str) -> str:
    return "zh" if lang.startswith("zh") else "en"


def by_learner(actor: str) -> bool:
    """A write the learner made — the page's buttons and terminal (`page: kubectl …`), kubectl, another client —
    never one of the cluster's own components (the API server names every client write so)."""
    return "kubectl" in actor or actor.startswith(("client", "python client"))


# `by_learner` as a filter of feed rows, so that the database finds the newest such row and hands over only that.
LEARNER_ACTORS = Q(actor__contains="kubectl") | Q(actor__startswith="client") | Q(actor__startswith="python client")


# What a tile reads, compiled once: a class's console reads sixty tiles again every few seconds.
_LAST_ACTIVITY = Prepared(lambda pg_id: Change.objects.filter(LEARNER_ACTORS, playground_id=pg_id)
                          .order_by("-revision").values_list("committed_at", flat=True)[:1])
_NODES = Prepared(lambda pg_id: Node.objects.filter(playground_id=pg_id).values_list("name", flat=True))
_PODS = Prepared(lambda pg_id: Pod.objects.filter(playground_id=pg_id).exclude(namespace="kube-system")
                 .order_by("id").values_list("name", "node_name", "phase", "deletion_timestamp", "status"))
_PROGRESS = Prepared(lambda pg_id, lesson: LessonProgress.objects.filter(playground_id=pg_id, lesson=lesson)
                     .values_list("done", flat=True)[:1])


def last_activity(pg_id: int) -> dt.datetime | None:
    return _LAST_ACTIVITY.first(pg_id)


def miniature(pg_id: int) -> list[dict]:
    """Nodes (master first) with their pods as chips; kube-system's pods are left out, as on the page."""
    nodes = {name: [] for name in sorted(_NODES(pg_id), key=lambda name: (name != "k8s-master", name))}
    pending = []
    for name, node_name, phase, deleting, status in _PODS(pg_id):
        obj = {"metadata": {"deletionTimestamp": deleting} if deleting else {}, "status": {**(status or {}),
                                                                                          "phase": phase}}
        chip = {"name": name, "status": story.pod_status(obj)}
        (nodes[node_name] if node_name in nodes else pending).append(chip)
    out = [{"name": name, "pods": sorted(pods, key=lambda c: c["name"])} for name, pods in nodes.items()]
    if pending:
        out.append({"name": "", "pods": pending})
    return out


def tile(student: Student, room: Classroom, lang: str, now: dt.datetime | None = None) -> dict:
    now = now or clock.now()
    pg_id = student.playground_id
    done = _PROGRESS.first(pg_id, room.lesson) or {}
    # Progress moment: when the newest done step got done (its revision's commit), or the join.
    progress_at = student.joined_at
    if done:
        at = feed.committed_at(pg_id, max(done.values()))
        if at and at > progress_at:
            progress_at = at
    revision = student.playground.revision
    latest_at = feed.committed_at(pg_id, revision) if revision else None
    activity = last_activity(pg_id)
    return {
        "id": student.pk,
        "name": student.name,
        **progressed(room, lang, done, progress_at, now),
        "nodes": miniature(pg_id),
        "activity": activity,
        # What "last activity … ago" says changes with the minute (`timesince`).
        "activity_minutes": int((now - activity).total_seconds() // 60) if activity else None,
        "hand": student.hand_raised_at is not None,
        "hand_at": student.hand_raised_at,
        "watch": student.playground.read_token,
        "link": student.playground.slug,
        "spotlight": room.following and room.spotlight_id == student.pk,
        "revision": revision,
        "at": latest_at.timestamp() if latest_at else 0.0,
    }


def progressed(room: Classroom, lang: str, done: dict, progress_at: dt.datetime, now: dt.datetime) -> dict:
    """What a tile shows of the lesson: steps done of all, the current step, finished, when it last moved, stuck."""
    lesson = loader.get(room.lesson)
    steps = lesson.steps if lesson else ()
    current = next((s for s in steps if s.id not in done), None)
    finished = bool(steps) and current is None
    return {
        "done": sum(1 for s in steps if s.id in done),
        "total": len(steps),
        "step_n": (steps.index(current) + 1) if current else len(steps),
        "step": current.title[lang_key(lang)] if current else "",
        "finished": finished,
        "progress_at": progress_at,
        "stuck": not finished and (now - progress_at).total_seconds() > room.stuck_minutes * 60,
    }


# What a tile carries that its student's card does not show: a tile read again that differs only in these shows
# the same card.
NOT_SHOWN = frozenset({"revision", "at"})


def shows_the_same(a: dict | None, b: dict) -> bool:
    return a is not None and a.keys() == b.keys() and all(a[k] == b[k] for k in a if k not in NOT_SHOWN)


def moved(t: dict, room: Classroom, lang: str, done: dict, at: float, now: dt.datetime | None = None) -> dict:
    """Tile `t` with the lesson progress a lesson move carried (`checker`'s message: its done steps, and the commit
    time of the newest), the rest as last read."""
    now = now or clock.now()
    progress_at = t["progress_at"]
    if at:
        progress_at = max(progress_at, dt.datetime.fromtimestamp(at, tz=dt.UTC))
    return {**t, **progressed(room, lang, done, progress_at, now)}


def render(t: dict, room: Classroom, lang: str, now: dt.datetime | None = None) -> str:
    with translation.override(lang):
        return render_to_string("classroom/_tile.html", {"t": t, "room": room, "now": now or clock.now()})


def render_tile(student: Student, room: Classroom, lang: str, now: dt.datetime | None = None) -> tuple[dict, str]:
    with translation.override(lang):
        t = tile(student, room, lang, now)
    return t, render(t, room, lang, now)
