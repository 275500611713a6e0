"""The simulated kubelet's stage table, kept as data (as kwok does it).

A pod's containers are observed as one state word (`Scheduled`, `ContainerCreating`, `Starting`, `Running`,
`ErrImagePull`, `ImagePullBackOff`, `Stopped`, ...). Each stage says when it applies (`when`: the state word,
whether the pod is being deleted, whether its images exist), how long the pod sits in that state before the stage
fires (`delay`: seconds, or the name of a delay the kubelet works out — the image's pull or start time, the stop
time, the pull back-off), which state it leaves the pod in (`next`; `Deleted` removes the object), the events it
records for each concerned container, and a plain-words `note` for the change feed. The first matching stage wins.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass


@dataclass(frozen=True)
class EventSpec:
    type: str
    reason: str
    message: str  # formatted with {image}, {container}, {pull}, {size}, {error}


@dataclass(frozen=True)
class Stage:
    name: str
    when: dict
    delay: float | str
    next: str
    events: tuple[EventSpec, ...] = ()
    note: str = ""
    # Deletion does not wait for a stage's stored due-time: the kubelet reacts to it at once.
    interrupts: bool = False
    # The events concern every container, or only those whose image cannot be pulled.
    containers: str = "all"


PULLING = EventSpec("Normal", "Pulling", 'Pulling image "{image}"')
PULL_FAILED = EventSpec("Warning", "Failed", 'Failed to pull image "{image}": {error}')
ERR_IMAGE_PULL = EventSpec("Warning", "Failed", "Error: ErrImagePull")

STARTED_STATES = ("Starting", "Running", "Exited")
NOT_STARTED_STATES = ("Scheduled", "ContainerCreating", "ErrImagePull", "ImagePullBackOff", "CrashLoopBackOff",
                      "Unknown")

STAGES: tuple[Stage, ...] = (
    Stage(
        "stop", {"deleting": True, "state": STARTED_STATES}, 0, "Stopped",
        (EventSpec("Normal", "Killing", "Stopping container {container}"),),
        "is stopping pod {pod} (grace period {grace}s)", interrupts=True,
    ),
    Stage(
        "discard", {"deleting": True, "state": NOT_STARTED_STATES}, 0, "Deleted", (),
        "removed pod {pod}: it was deleted before its containers started", interrupts=True,
    ),
    Stage("remove", {"deleting": True, "state": "Stopped"}, "stop", "Deleted", (),
          "removed pod {pod}: its containers have stopped"),
    Stage("accept", {"deleting": False, "state": "Scheduled"}, 0, "ContainerCreating", (PULLING,),
          "accepted pod {pod} and is pulling image {image}"),
    Stage(
        "pulled", {"deleting": False, "state": "ContainerCreating", "images_known": True}, "pull", "Starting",
        (
            EventSpec("Normal", "Pulled",
                      'Successfully pulled image "{image}" in {pull}s ({pull}s including waiting). '
                      "Image size: {size} bytes."),
            EventSpec("Normal", "Created", "Created container: {container}"),
            EventSpec("Normal", "Started", "Started container {container}"),
        ),
        "pulled image {image} in {pull}s and started container {container} of pod {pod}",
    ),
    Stage("ready", {"deleting": False, "state": "Starting"}, "start", "Running", (),
          "reports pod {pod} Running at {ip}"),
    # A main process that runs to an exit code (`kubectl run … -- echo hi`): it exits after its running time.
    Stage("exit", {"deleting": False, "state": "Running", "exits": True, "live": True}, "run", "Exited", (),
          "saw container {container} of pod {pod} exit with code {code}"),
    # Under restartPolicy Always (or OnFailure after a failure) the kubelet restarts it, backing off 10s, 20s, 40s …
    # up to 5 minutes between restarts.
    Stage(
        "crash", {"deleting": False, "state": "Exited", "restarts": True}, 0, "CrashLoopBackOff",
        (EventSpec("Warning", "BackOff", "Back-off restarting failed container {container} in pod {pod}"),),
        "backs off restarting container {container} of pod {pod} ({backoff}s)",
    ),
    # A container that ended outside the kubelet's own stages (its attached shell exited) under a policy that does
    # not restart it: the pod's phase follows.
    Stage("finish", {"deleting": False, "state": "Exited", "restarts": False, "finished": False}, 0, "Exited", (),
          "recorded that pod {pod} has finished"),
    Stage(
        "restart", {"deleting": False, "state": "CrashLoopBackOff"}, "crash", "Running",
        (EventSpec("Normal", "Pulled", 'Container image "{image}" already present on machine'),
         EventSpec("Normal", "Created", "Created container: {container}"),
         EventSpec("Normal", "Started", "Started container {container}")),
        "restarted container {container} of pod {pod}",
    ),
    # A liveness probe that fails (before the process would end by itself): the kubelet kills the container and
    # starts it again.
    Stage(
        "liveness-failed", {"deleting": False, "state": "Running", "live": False}, "liveness", "Exited",
        (EventSpec("Warning", "Unhealthy", "Liveness probe failed: {probe}"),
         EventSpec("Normal", "Killing", "Container {container} failed liveness probe, will be restarted")),
        "killed container {container} of pod {pod}: its liveness probe failed",
    ),
    Stage(
        "pull-failed", {"deleting": False, "state": "ContainerCreating", "images_known": False}, "pull",
        "ErrImagePull", (PULL_FAILED, ERR_IMAGE_PULL),
        "could not pull image {image} for pod {pod}: the repository does not exist", containers="unknown",
    ),
    Stage(
        "back-off", {"deleting": False, "state": "ErrImagePull"}, 1, "ImagePullBackOff",
        (EventSpec("Normal", "BackOff", 'Back-off pulling image "{image}"'),
         EventSpec("Warning", "Failed", "Error: ImagePullBackOff")),
        "backs off pulling image {image} for pod {pod} ({backoff}s)", containers="unknown",
    ),
    Stage(
        "retry-pull", {"deleting": False, "state": "ImagePullBackOff"}, "backoff", "ErrImagePull",
        (PULLING, PULL_FAILED, ERR_IMAGE_PULL),
        "retried pulling image {image} for pod {pod}: still not found", containers="unknown",
    ),
)


def matches(stage: Stage, facts: dict) -> bool:
    for key, want in stage.when.items():
        have = facts.get(key)
        if isinstance(want, tuple):
            if have not in want:
                return False
        elif have != want:
            return False
    return True


def find(facts: dict) -> Stage | None:
    # The table is constant and the facts are a few flags: each combination is looked up once.
    return _find(tuple(sorted(facts.items())))


@functools.lru_cache(maxsize=256)
def _find(facts: tuple) -> Stage | None:
    return next((s for s in STAGES if matches(s, dict(facts))), None)
