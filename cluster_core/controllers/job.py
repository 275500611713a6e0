"""The Job controller.

Key: "namespace/name" of a Job. Contract: a Job runs pods from `spec.template` until `spec.completions` of them
have Succeeded, at most `spec.parallelism` at a time; a pod that Failed is replaced after a back-off (10 s, 20 s,
40 s … as the real controller, a stored due-time on the Job, scaled by the tempo) until more than
`spec.backoffLimit` have failed. Status (startTime, active, ready, succeeded, failed, terminating, completionTime
and the conditions SuccessCriteriaMet + Complete, or FailureTarget + Failed) is recomputed from the pods every time
and written only when it changed; a finished Job's still-active pods are deleted. The pods of a finished Job stay
(`kubectl logs job/…` reads them) until the Job is deleted with them. `plan` is pure.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .. import clock, defaults, events, jsontext, labels, names
from ..models import Job, Playground, Pod, new_row
from ..writes import Batch, stage_delete

# What can give this loop work: a resync skips it while no commit of these came (`workers.run_loop`).
WATCHES = frozenset({"Job", "Pod"})

ACTOR = "job-controller"
BACKOFF_FIRST, BACKOFF_MAX = 10, 360


def keys(pg: Playground) -> list[str]:
    return [f"{ns}/{name}" for ns, name in Job.objects.filter(playground=pg).values_list("namespace", "name")]


# ---------------------------------------------------------------------------------------------------------------
# Pure


def is_ready(pod: Pod) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in (pod.status or {}).get("conditions") or [])


def finished_condition(job: Job) -> str:
    for c in (job.status or {}).get("conditions") or []:
        if c.get("type") in ("Complete", "Failed") and c.get("status") == "True":
            return c["type"]
    return ""


def backoff_seconds(failed: int) -> float:
    return float(min(BACKOFF_FIRST * 2 ** max(failed - 1, 0), BACKOFF_MAX))


@dataclass
class Plan:
    create: int = 0
    delete: list | None = None
    outcome: str = ""  # "", "Complete" or "Failed"
    wait_until: dt.datetime | None = None  # creations held back by the failure back-off


def plan(job: Job, pods: list[Pod], now: dt.datetime, last_failure: dt.datetime | None, factor: float = 1.0) -> Plan:
    """What to do about a Job given its pods (observe → plan; no writes). `factor` scales the back-off to the
    playground's tempo."""
    spec = job.spec or {}
    active = [p for p in pods if p.deletion_timestamp is None and p.phase not in ("Succeeded", "Failed")]
    succeeded = sum(1 for p in pods if p.phase == "Succeeded")
    failed = sum(1 for p in pods if p.phase == "Failed")
    done = finished_condition(job)
    if done:
        return Plan(delete=active, outcome=done)
    completions = spec.get("completions")
    parallelism = int(spec.get("parallelism", 1) or 0)
    if failed > int(spec.get("backoffLimit", 6)):
        return Plan(delete=active, outcome="Failed")
    if completions is not None and succeeded >= int(completions):
        return Plan(delete=active, outcome="Complete")
    if completions is None and succeeded > 0 and not active:
        # Without completions, the first success means done once the rest have stopped (work-queue Jobs).
        return Plan(outcome="Complete")
    if spec.get("suspend"):
        return Plan(delete=active)
    want = parallelism if completions is None else min(parallelism, int(completions) - succeeded)
    missing = max(0, want - len(active))
    if missing and failed and last_failure is not None:
        ready_at = last_failure + dt.timedelta(seconds=backoff_seconds(failed) * factor)
        if ready_at > now:
            return Plan(wait_until=ready_at)
    return Plan(create=missing, delete=[])


def compute_status(job: Job, pods: list[Pod], outcome: str, now: dt.datetime, created: int) -> dict:
    """The Job's status (never incremented): counts from the pods, conditions once it finished."""
    old = job.status or {}
    ts = clock.rfc3339(now)
    active = [p for p in pods if p.deletion_timestamp is None and p.phase not in ("Succeeded", "Failed")]
    status: dict = {}
    conditions = list(old.get("conditions") or [])
    if old.get("startTime") or not (job.spec or {}).get("suspend"):
        status["startTime"] = old.get("startTime") or ts
    count = len(active) + created
    if count and not outcome:
        status["active"] = count
    status["ready"] = sum(1 for p in active if is_ready(p)) if not outcome else 0
    succeeded = sum(1 for p in pods if p.phase == "Succeeded")
    failed = sum(1 for p in pods if p.phase == "Failed")
    if succeeded:
        status["succeeded"] = succeeded
    if failed:
        status["failed"] = failed
    status["terminating"] = sum(1 for p in pods if p.deletion_timestamp is not None)
    status["uncountedTerminatedPods"] = {}
    have = {c.get("type") for c in conditions}
    if outcome == "Complete" and "Complete" not in have:
        for type_, reason, message in (("SuccessCriteriaMet", "CompletionsReached", "Reached expected number of "
                                        "succeeded pods"),
                                       ("Complete", "CompletionsReached", "Reached expected number of succeeded pods")):
            conditions.append({"type": type_, "status": "True", "lastProbeTime": ts, "lastTransitionTime": ts,
                               "reason": reason, "message": message})
    if outcome == "Failed" and "Failed" not in have:
        for type_ in ("FailureTarget", "Failed"):
            conditions.append({"type": type_, "status": "True", "lastProbeTime": ts, "lastTransitionTime": ts,
                               "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"})
    if conditions:
        status["conditions"] = conditions
    if outcome == "Complete":
        status["completionTime"] = old.get("completionTime") or ts
    return status


def pod_for(job: Job, name: str) -> Pod:
    tmpl = jsontext.decode(jsontext.encode((job.spec or {}).get("template") or {}))
    meta = tmpl.get("metadata") or {}
    pod = new_row(Pod, namespace=job.namespace, name=name, generate_name=f"{job.name}-",
                  labels=dict(meta.get("labels") or {}), annotations=dict(meta.get("annotations") or {}),
                  owner_references=[job.controller_ref()], spec=tmpl.get("spec") or {},
                  creation_timestamp=clock.now())
    defaults.apply(pod)
    return pod


# ---------------------------------------------------------------------------------------------------------------
# Reconcile


def reconcile(pg: Playground, key: str) -> int:
    namespace, name = key.split("/", 1)
    job = Job.objects.filter(playground=pg, namespace=namespace, name=name).first()
    if job is None:
        return 0
    now = clock.now()
    selector = (job.spec or {}).get("selector")
    pods = [p for p in Pod.objects.filter(playground=pg, namespace=namespace, controller_uid=job.uid)
            if labels.selector_matches(selector, p.labels)]
    failures = [_finished_at(p) for p in pods if p.phase == "Failed"]
    last_failure = max((f for f in failures if f), default=None)
    b = Batch(pg, ACTOR)
    # A failing pod must not be replaced in a tight loop: the back-off runs at least in real time.
    factor = max(1.0, clock.TEMPO_FACTORS.get(pg.tempo, 1.0))
    p = plan(job, pods, now, last_failure, factor) if job.deletion_timestamp is None else Plan(delete=[])
    made = []
    if p.create:
        taken = set(Pod.objects.filter(playground=pg, namespace=namespace, name__startswith=f"{job.name}-")
                    .values_list("name", flat=True))
        for _ in range(p.create):
            pod_name = f"{job.name}-{names.random_suffix()}"
            while pod_name in taken:
                pod_name = f"{job.name}-{names.random_suffix()}"
            taken.add(pod_name)
            pod = pod_for(job, pod_name)
            b.create(pod, f"{ACTOR} created pod {pod_name} for Job {job.name}", {"job": job.name})
            _event(b, job, "SuccessfulCreate", f"Created pod: {pod_name}")
            made.append(pod)
    for pod in p.delete or []:
        stage_delete(b, pod, f"{ACTOR} deleted pod {pod.name}: Job {job.name} is {p.outcome or 'suspended'}")
    status = compute_status(job, pods, p.outcome, now, len(made))
    due = p.wait_until
    if status != (job.status or {}) or made or due != job.requeue_at:
        newly = p.outcome if p.outcome and finished_condition(job) != p.outcome else ""
        job.status = status
        job.requeue_at = due
        b.update(job, f"{ACTOR} updated the status of Job {job.name}: {status.get('active', 0)} active, "
                      f"{status.get('succeeded', 0)} succeeded, {status.get('failed', 0)} failed"
                      + (f" — {p.outcome}" if p.outcome else ""),
                 {"active": status.get("active", 0), "succeeded": status.get("succeeded", 0),
                  "failed": status.get("failed", 0)})
        if newly == "Complete":
            _event(b, job, "Completed", "Job completed")
        elif newly == "Failed":
            _event(b, job, "BackoffLimitExceeded", "Job has reached the specified backoff limit", "Warning")
    b.commit()
    return len(b)


def _finished_at(pod: Pod) -> dt.datetime | None:
    for cs in (pod.status or {}).get("containerStatuses") or []:
        at = ((cs.get("state") or {}).get("terminated") or {}).get("finishedAt")
        if at:
            return clock.parse_rfc3339(at)
    return None


def _event(b: Batch, job: Job, reason: str, message: str, type_: str = "Normal") -> None:
    b.create(events.new(job, reason, message, ACTOR, type_=type_), f"{ACTOR} recorded {reason} on Job {job.name}")
