"""The lesson checker: a loop that marks a lesson's steps done the moment the cluster gets there.

Key: a lesson's slug; `keys(pg)` lists the lessons opened in the playground (a `LessonProgress` each), so a
playground without a lesson costs one query per look. Every commit nudges it (`nudge.targets_for`); it runs last
in a round, after the loops that react to the same commit. One reconcile:

1. reads the change feed past its cursor (Pods and Nodes only) and the containers' log lines past its log cursor,
   and notes *facts* the current state alone cannot show — `deleted:<deployment>` (a learner deleted one of its
   pods), `added:<deployment>`, `evicted:<deployment>`, `ErrImagePull:<deployment>`,
   `ImagePullBackOff:<deployment>`, `scheduled:<deployment>`, `notready:<node>`, `curled:<deployment>` (one of
   its pods answered an HTTP request: kube-proxy appends the access-log line) — each with the revision it was
   seen at;
2. observes the cluster and evaluates every step's check (`checks.holds`), in order, a step's `after` steps first:
   a step reached out of order is done too; a done step stays done (progress is never taken back);
3. recomputes the hints the state calls for (a wrong attempt: `when` conditions) and resolves the learner's
   predictions from what the cluster really did (the scheduler's binding, the number of pods during a rollout);
4. saves, and after commit tells the playground's pages that the lesson moved.

A click never marks anything: only the cluster's state and feed do, so the button, the page's terminal and the
real kubectl complete a step the same way. It writes no cluster object (returns 0 writes).
"""

from __future__ import annotations

from django.db import transaction

from .. import clock, feed, nudge
from ..models import Change, LessonProgress, LogLine, Playground, Pod
from ..rowreader import Prepared
from . import checks, loader

ACTOR = "lesson-checker"
SYSTEM_ACTORS = ("kubeadm", "deployment-controller", "replicaset-controller", "daemonset-controller",
                 "kube-scheduler", "endpoints-controller", "garbage-collector", "namespace-controller",
                 "node-lifecycle-controller", "serviceaccount-controller", "job-controller", "cronjob-controller",
                 "statefulset-controller")
# What can give this loop work: a resync skips it while no commit of these came (`workers.run_loop`).
WATCHES = nudge.LESSON_KINDS
READ_LIMIT = 5000
CURSOR_SAVE_EVERY = 500  # revisions read past the saved cursor before a look that moved nothing saves it anyway


# What a look reads, compiled once (the checker looks after every commit of every learner's playground).
_LESSONS = Prepared(lambda pg_id: LessonProgress.objects.filter(playground_id=pg_id).values_list("lesson", flat=True))
_PROGRESS = Prepared(lambda pg_id, lesson: LessonProgress.objects.filter(playground_id=pg_id, lesson=lesson)[:1])
_REVISION = Prepared(lambda pg_id: Playground.objects.filter(pk=pg_id).values_list("revision", flat=True))
_FEED = Prepared(lambda pg_id, after, upto: Change.objects.filter(
    playground_id=pg_id, revision__gt=after, revision__lte=upto, kind__in=("Pod", "Node")).order_by("revision")
    .values_list("revision", "type", "kind", "name", "actor", "object")[:READ_LIMIT])
_ANSWERED = Prepared(lambda pg_id, after: LogLine.objects.filter(
    playground_id=pg_id, id__gt=after, text__contains=" HTTP/1.1\" 200 ").values_list("id", "pod_uid"))


def keys(pg: Playground) -> list[str]:
    return _LESSONS(pg.pk)


def is_learner(actor: str) -> bool:
    return actor not in SYSTEM_ACTORS and not actor.endswith("-controller") and not actor.startswith("kubelet")


# ---------------------------------------------------------------------------------------------------------------
# Facts from the feed (pure)


def facts_from(changes: list[tuple], facts: dict) -> dict:
    """`changes` are (revision, type, kind, name, actor, object) rows in revision order."""
    out = dict(facts)
    for revision, typ, kind, name, actor, obj in changes:
        obj = obj or {}
        if kind == "Node":
            if not checks.node_ready(obj):
                out[f"notready:{name}"] = revision
            continue
        dep = checks.deployment_of(obj)
        if not dep:
            continue
        meta = obj.get("metadata") or {}
        if typ == "ADDED":
            out[f"added:{dep}"] = revision
        deleting = typ == "DELETED" or bool(meta.get("deletionTimestamp"))
        if deleting and is_learner(actor) and out.get(f"deleted:{dep}", -1) < out.get(f"added:{dep}", 0):
            # The first deletion since the last pod was added: what a replacement has to come after.
            out[f"deleted:{dep}"] = revision
        if deleting and actor == "node-lifecycle-controller":
            out[f"evicted:{dep}"] = revision
        for reason in checks.waiting_reasons(obj) & {"ErrImagePull", "ImagePullBackOff"}:
            out[f"{reason}:{dep}"] = revision
        if actor == "kube-scheduler" and (obj.get("spec") or {}).get("nodeName"):
            out[f"scheduled:{dep}"] = revision
    return out


# ---------------------------------------------------------------------------------------------------------------
# Predictions


def resolve(pg: Playground, lesson: loader.Lesson, progress: LessonProgress) -> bool:
    """Answer the learner's open predictions from the feed; True when one was answered."""
    moved = False
    for step in lesson.steps:
        q = step.question
        p = progress.predictions.get(q.id) if q else None
        if not p or p.get("actual") is not None:
            continue
        if "scheduled" in q.answer:
            dep = q.answer["scheduled"]
            for revision, obj in Change.objects.filter(playground=pg, kind="Pod", actor="kube-scheduler",
                                                       revision__gt=p["revision"], name__startswith=f"{dep}-"
                                                       ).order_by("revision").values_list("revision", "object"):
                node = ((obj or {}).get("spec") or {}).get("nodeName")
                if node and checks.deployment_of(obj) == dep:
                    p.update(actual=node, pod=obj["metadata"]["name"], at=revision)
                    moved = True
                    break
        elif "peak" in q.answer and step.id in progress.done:
            dep = q.answer["peak"]
            count = peak = int(p.get("base", 0))
            for typ, obj in Change.objects.filter(playground=pg, kind="Pod", name__startswith=f"{dep}-",
                                                  revision__gt=p["revision"],
                                                  revision__lte=progress.done[step.id]).order_by("revision"
                                                  ).values_list("type", "object"):
                if checks.deployment_of(obj or {}) != dep:
                    continue
                count += {"ADDED": 1, "DELETED": -1}.get(typ, 0)
                peak = max(peak, count)
            p.update(actual=str(peak))
            moved = True
    return moved


def predict(pg: Playground, progress: LessonProgress, question: loader.Question, answer: str) -> None:
    """Store the learner's answer before the cluster shows it; the checker answers it from the feed."""
    pg.refresh_from_db(fields=["revision"])
    entry = {"answer": answer, "revision": pg.revision, "actual": None}
    if "peak" in question.answer:
        dep = question.answer["peak"]
        entry["base"] = sum(1 for p in Pod.objects.filter(playground=pg, namespace="default")
                            if checks.deployment_of(p.to_k8s()) == dep)
    progress.predictions = {**progress.predictions, question.id: entry}
    progress.save(update_fields=["predictions"])


# ---------------------------------------------------------------------------------------------------------------
# The loop


def evaluate(lesson: loader.Lesson, cluster: checks.Cluster, done: dict, revision: int) -> tuple[dict, dict]:
    """(done, hints) after looking at `cluster`: pure. Steps already done stay done."""
    done = dict(done)
    hints: dict[str, list[int]] = {}
    for step in lesson.steps:
        if step.id in done:
            continue
        if all(a in done for a in step.after) and checks.holds(step.check, cluster):
            done[step.id] = revision
            continue
        active = [i for i, h in enumerate(step.hints) if h.when is not None and checks.holds(h.when, cluster)]
        if active:
            hints[step.id] = active
    return done, hints


# What this process's looks read past a progress's saved cursors and did not save (nothing moved): progress id →
# (saved cursor, saved log cursor, cursor read to, log cursor read to, facts then). The next look goes on from
# there while the saved cursors are still those; a save anywhere (here or in another process) makes it stale.
_read_ahead: dict[int, tuple[int, int, int, int, dict]] = {}
READ_AHEAD_KEPT = 5000


def reconcile(pg: Playground, key: str) -> int:
    progress = _PROGRESS.first(pg.pk, key)
    lesson = loader.get(key)
    revision = _REVISION.first(pg.pk)
    if progress is None or lesson is None or revision is None:
        return 0
    cursor, log_cursor, facts = progress.cursor, progress.log_cursor, progress.facts
    ahead = _read_ahead.get(progress.pk)
    if ahead and ahead[:2] == (progress.cursor, progress.log_cursor):
        cursor, log_cursor, facts = ahead[2], ahead[3], ahead[4]
    rows = _FEED(pg.pk, cursor, revision)
    facts = facts_from(rows, facts)
    cursor = rows[-1][0] if len(rows) == READ_LIMIT else max(cursor, revision)
    lines = _ANSWERED(pg.pk, log_cursor)
    if lines:
        log_cursor = lines[-1][0]
        uids = {u for _, u in lines}
        for pod in Pod.objects.filter(playground=pg, uid__in=uids):
            dep = checks.deployment_of(pod.to_k8s())
            if dep:
                facts[f"curled:{dep}"] = revision
    cluster = checks.observe(pg, facts)
    done, hints = evaluate(lesson, cluster, progress.done, revision)
    before = (progress.done, progress.facts, progress.hints, progress.predictions)
    progress.done, progress.facts, progress.hints = done, facts, hints
    answered = resolve(pg, lesson, progress)
    moved = answered or (done, facts, hints) != before[:3]
    if not moved and cursor - progress.cursor < CURSOR_SAVE_EVERY:
        # Nothing moved: no write, and the checker stays out of the writers' queue while a class's clusters are
        # busy. This process's next look goes on from what this one read.
        if len(_read_ahead) > READ_AHEAD_KEPT:
            _read_ahead.clear()
        _read_ahead[progress.pk] = (progress.cursor, progress.log_cursor, cursor, log_cursor, facts)
        return 0
    _read_ahead.pop(progress.pk, None)
    progress.cursor, progress.log_cursor = cursor, log_cursor
    moved_to = None
    if moved:
        at = feed.committed_at(pg.pk, max(done.values(), default=0))
        moved_to = {"lesson": key, "done": done, "at": round(at.timestamp(), 3) if at else 0.0}
        # The instructor's console shows the move from this message alone, so it hears it now, while the save waits
        # its turn for the database (a save that fails is done again by the next look: the feed and the state are
        # still there). The pages read their lesson panel back: they hear it once it is saved.
        nudge.send_lessons_changed(pg.pk, moved_to, pages=False)
    progress.save(update_fields=["cursor", "log_cursor", "done", "facts", "hints", "predictions"])
    if moved_to is not None:
        transaction.on_commit(lambda: nudge.send_lessons_changed(pg.pk, moved_to, console=False))
    return 0


def start(pg: Playground, slug: str) -> LessonProgress:
    """Open a lesson in a playground (again: its progress is kept) and look at the cluster at once."""
    pg.refresh_from_db(fields=["revision"])
    last_line = LogLine.objects.filter(playground=pg).order_by("-id").values_list("id", flat=True).first()
    progress, created = LessonProgress.objects.get_or_create(playground=pg, lesson=slug, defaults={
        "cursor": pg.revision, "log_cursor": last_line or 0})
    if not created:
        # The panel shows the lesson opened last.
        LessonProgress.objects.filter(pk=progress.pk).update(started_at=clock.now())
    reconcile(pg, slug)
    progress.refresh_from_db()
    return progress
