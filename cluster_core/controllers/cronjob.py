"""The CronJob controller.

Key: "namespace/name" of a CronJob. Contract: when the CronJob's next scheduled time arrives it creates a Job
from `spec.jobTemplate` (named `<cronjob>-<minutes since the epoch>`, as upstream names them), honouring
`concurrencyPolicy` (Allow, Forbid: skip while one runs, Replace: delete the running one first) and `suspend`.
The next scheduled time is a stored due-time on the CronJob (`requeue_at`), never a sleep: the interval the
schedule gives is scaled by the playground's tempo (slow motion stretches it; instant keeps real time, or the
schedule would fire without end). Finished Jobs beyond `successfulJobsHistoryLimit` / `failedJobsHistoryLimit`
are deleted, oldest first. Status (active references, lastScheduleTime, lastSuccessfulTime) is recomputed every
time and written only when it changed.
"""

from __future__ import annotations

import datetime as dt

from .. import clock, cron, defaults, events
from ..models import CronJob, Job, Playground
from ..writes import Batch, stage_delete

# What can give this loop work: a resync skips it while no commit of these came (`workers.run_loop`).
WATCHES = frozenset({"CronJob", "Job"})

ACTOR = "cronjob-controller"


def keys(pg: Playground) -> list[str]:
    return [f"{ns}/{name}" for ns, name in CronJob.objects.filter(playground=pg).values_list("namespace", "name")]


# ---------------------------------------------------------------------------------------------------------------
# Pure


def outcome(job: Job) -> str:
    for c in (job.status or {}).get("conditions") or []:
        if c.get("type") in ("Complete", "Failed") and c.get("status") == "True":
            return c["type"]
    return ""


def tempo_factor(tempo: str) -> float:
    return max(1.0, clock.TEMPO_FACTORS.get(tempo, 1.0))


def next_run(schedule: str, last: dt.datetime, factor: float) -> dt.datetime:
    """When the schedule next fires after `last`, the interval scaled by the tempo `factor`."""
    at = cron.next_after(schedule, last)
    return last + (at - last) * factor


def job_name(cj: CronJob, at: dt.datetime) -> str:
    return f"{cj.name}-{int(at.timestamp() // 60)}"


def job_from_template(cj: CronJob, at: dt.datetime) -> Job:
    template = (cj.spec or {}).get("jobTemplate") or {}
    meta = template.get("metadata") or {}
    ts = clock.rfc3339(at)
    job = Job(namespace=cj.namespace, name=job_name(cj, at), labels=dict(meta.get("labels") or {}),
              annotations={**(meta.get("annotations") or {}), "batch.kubernetes.io/cronjob-scheduled-timestamp": ts},
              owner_references=[cj.controller_ref()], spec=_copy(template.get("spec") or {}))
    job.creation_timestamp = at
    defaults.apply(job)
    return job


def _copy(value):
    from .. import jsontext

    return jsontext.decode(jsontext.encode(value))


def reference(job: Job) -> dict:
    return {"kind": "Job", "namespace": job.namespace, "name": job.name, "uid": job.uid, "apiVersion": "batch/v1",
            "resourceVersion": str(job.resource_version)}


def compute_status(cj: CronJob, jobs: list[Job], last_schedule: str | None) -> dict:
    status: dict = {}
    active = [reference(j) for j in jobs if not outcome(j) and j.deletion_timestamp is None]
    if active:
        status["active"] = active
    if last_schedule:
        status["lastScheduleTime"] = last_schedule
    done = [(j.status or {}).get("completionTime") for j in jobs if outcome(j) == "Complete"]
    last_success = max((d for d in done if d), default=(cj.status or {}).get("lastSuccessfulTime"))
    if last_success:
        status["lastSuccessfulTime"] = last_success
    return status


def surplus(jobs: list[Job], spec: dict) -> list[Job]:
    """Finished Jobs beyond the history limits, oldest first."""
    out = []
    for kind, limit in (("Complete", spec.get("successfulJobsHistoryLimit", 3)),
                        ("Failed", spec.get("failedJobsHistoryLimit", 1))):
        done = sorted((j for j in jobs if outcome(j) == kind and j.deletion_timestamp is None),
                      key=lambda j: j.creation_timestamp)
        out += done[: max(0, len(done) - int(limit or 0))]
    return out


# ---------------------------------------------------------------------------------------------------------------
# Reconcile


def reconcile(pg: Playground, key: str) -> int:
    namespace, name = key.split("/", 1)
    cj = CronJob.objects.filter(playground=pg, namespace=namespace, name=name).first()
    if cj is None:
        return 0
    now = clock.now()
    spec = cj.spec or {}
    jobs = list(Job.objects.filter(playground=pg, namespace=namespace, controller_uid=cj.uid))
    b = Batch(pg, ACTOR)
    last_text = (cj.status or {}).get("lastScheduleTime")
    last = clock.parse_rfc3339(last_text) or cj.creation_timestamp
    factor = tempo_factor(pg.tempo)
    due = None
    if cj.deletion_timestamp is None and not spec.get("suspend"):
        try:
            due = next_run(spec.get("schedule", ""), last, factor)
        except cron.CronError:
            due = None
        if due is not None and due <= now:
            running = [j for j in jobs if not outcome(j) and j.deletion_timestamp is None]
            policy = spec.get("concurrencyPolicy", "Allow")
            if policy == "Forbid" and running:
                _event(b, cj, "JobAlreadyActive", "Not starting job because prior execution is running and "
                                                  "concurrency policy is Forbid")
            else:
                if policy == "Replace":
                    for j in running:
                        stage_delete(b, j, f"{ACTOR} deleted Job {j.name}: CronJob {cj.name} replaces it")
                        _event(b, cj, "SuccessfulDelete", f"Deleted job {j.name}")
                        jobs.remove(j)
                job = job_from_template(cj, now)
                if not any(j.name == job.name for j in jobs):
                    b.create(job, f"{ACTOR} created Job {job.name}: CronJob {cj.name} is due "
                                  f"({spec.get('schedule')})", {"cronjob": cj.name})
                    _event(b, cj, "SuccessfulCreate", f"Created job {job.name}")
                    jobs.append(job)
            last_text = clock.rfc3339(now)
            due = next_run(spec.get("schedule", ""), now, factor)
    for j in surplus(jobs, spec):
        stage_delete(b, j, f"{ACTOR} deleted Job {j.name}: beyond the CronJob's history limit")
        _event(b, cj, "SuccessfulDelete", f"Deleted job {j.name}")
        jobs.remove(j)
    status = compute_status(cj, jobs, last_text)
    if status != (cj.status or {}) or due != cj.requeue_at or len(b):
        cj.status = status
        cj.requeue_at = due
        b.update(cj, f"{ACTOR} updated CronJob {cj.name}: {len(status.get('active') or [])} active, next run "
                     f"{clock.rfc3339(due) if due else 'never'}")
    b.commit()
    return len(b)


def _event(b: Batch, cj: CronJob, reason: str, message: str, type_: str = "Normal") -> None:
    b.create(events.new(cj, reason, message, ACTOR, type_=type_), f"{ACTOR} recorded {reason} on CronJob {cj.name}")
