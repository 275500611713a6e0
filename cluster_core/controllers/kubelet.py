"""kubelet: runs the pods bound to one node.

Key = node name; actor `kubelet/<node>`. One sync looks at the node's pods that are due — stored due-time
`Pod.requeue_at` reached, freshly bound (Pending without a due-time) or terminating — and walks each through the
stage table in `kubelet_stages` while its next stage is due, all in one Batch (one write per pod). Every delay
becomes a due-time from `clock.due(tempo, seconds)`: at tempo instant a pod goes from bound to Running in one
sync; otherwise later syncs pick it up when due. Reaching Running allocates the pod IP (lowest free address of the
node's podCIDR; hostNetwork pods take the node's InternalIP) and writes the image's start-up lines as container
logs. A deleted pod's containers are stopped, then the pod object is removed. The node's Ready heartbeat is
refreshed when older than 40 s. Pods already Running without a due-time (the static control plane) are left alone,
so a second sync writes nothing. Nodes due at the same moment (`reconcile_nodes`: a resync, a tick naming several
nodes) each sync exactly so, with one query for all their due pods, and commit together in one transaction.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db.models import Q

from .. import bootstrap, clock, events, images
from ..errors import Conflict
from ..models import Event, LogLine, Node, Playground, Pod, new_row
from ..shells import process, world
from ..writes import Batch, commit_together
from . import kubelet_stages as stages

log = logging.getLogger(__name__)

COMPONENT = "kubelet"
# How long a registry takes to answer "no such repository".
UNKNOWN_PULL_SECONDS = 2.0
# nginx, httpd and friends exit promptly on SIGTERM, well inside the grace period.
STOP_SECONDS = 1.0
# How long a container whose command ends by itself runs before it exits.
RUN_SECONDS = 1.0
BACKOFF_FIRST, BACKOFF_MAX = 10, 300
HEARTBEAT_SECONDS = 40
CONDITIONS = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")


def keys(pg: Playground) -> list[str]:
    return list(Node.objects.filter(playground=pg).order_by("name").values_list("name", flat=True))


# ---------------------------------------------------------------------------------------------------------------
# Observing a pod (pure)


def containers(pod: Pod) -> list[dict]:
    """The pod's containers; kept on the pod while its spec is the same object (a sync asks a dozen times)."""
    spec = pod.spec or {}
    kept = pod.__dict__.get("_containers")
    if kept is not None and kept[0] is spec:
        return kept[1]
    found = [c for c in spec.get("containers") or [] if isinstance(c, dict)]
    pod.__dict__["_containers"] = (spec, found)
    return found


def observe(pod: Pod) -> dict:
    """The facts the stage table matches on."""
    st = pod.status or {}
    statuses = st.get("containerStatuses") or []
    states = [c.get("state") or {} for c in statuses]
    waiting = {(s.get("waiting") or {}).get("reason") for s in states if "waiting" in s}
    deleting = pod.deletion_timestamp is not None
    if deleting and states and all("terminated" in s for s in states):
        state = "Stopped"
    elif not st.get("startTime"):
        state = "Scheduled"
    elif "ErrImagePull" in waiting:
        state = "ErrImagePull"
    elif "ImagePullBackOff" in waiting:
        state = "ImagePullBackOff"
    elif "ContainerCreating" in waiting:
        # The image ID is only known once the image is on the node: pulled, container being started.
        state = "Starting" if all(c.get("imageID") for c in statuses) else "ContainerCreating"
    elif "CrashLoopBackOff" in waiting:
        state = "CrashLoopBackOff"
    elif states and not waiting and any("terminated" in s for s in states):
        state = "Exited"
    elif states and all("running" in s for s in states):
        state = "Running"
    else:
        state = "Unknown"
    known = all(images.lookup(c.get("image") or "") for c in containers(pod))
    return {"state": state, "deleting": deleting, "images_known": known}


# ---------------------------------------------------------------------------------------------------------------
# Image references and IDs as containerd reports them


@functools.lru_cache(maxsize=1024)
def image_ref(image: str) -> str:
    """`nginx` → `docker.io/library/nginx:latest`."""
    name, _, digest = image.partition("@")
    head, _, tail = name.rpartition("/")
    if ":" in tail:
        tail, tag = tail.split(":", 1)
    else:
        tag = "latest"
    path = f"{head}/{tail}" if head else tail
    first = path.split("/", 1)[0]
    if "/" not in path:
        path = f"docker.io/library/{path}"
    elif "." not in first and ":" not in first and first != "localhost":
        path = f"docker.io/{path}"
    return f"{path}@{digest}" if digest else f"{path}:{tag}"


@functools.lru_cache(maxsize=1024)
def image_id(image: str) -> str:
    ref = image_ref(image)
    repo = ref.split("@", 1)[0] if "@" in ref else ref.rsplit(":", 1)[0]
    return f"{repo}@sha256:{hashlib.sha256(images.repository(image).encode()).hexdigest()}"


def container_id(pod: Pod, name: str) -> str:
    return "containerd://" + hashlib.sha256(f"{pod.uid}/{name}".encode()).hexdigest()


def pull_error(image: str) -> str:
    ref = image_ref(image)
    return (
        f'failed to pull and unpack image "{ref}": failed to resolve reference "{ref}": pull access denied, '
        "repository does not exist or may require authorization: server message: insufficient_scope: "
        "authorization failed"
    )


# ---------------------------------------------------------------------------------------------------------------
# Status builders (pure, given the time and the allocated IP)


def set_conditions(status: dict, now: str, values: dict[str, bool], unready: list[str]) -> None:
    """Set condition statuses; lastTransitionTime only moves when the status flips."""
    old = {c.get("type"): c for c in status.get("conditions") or []}
    out = []
    for type_ in CONDITIONS:
        if type_ not in values:
            if type_ in old:
                out.append(old[type_])
            continue
        value = "True" if values[type_] else "False"
        prev = old.get(type_) or {}
        cond = {"type": type_, "status": value, "lastProbeTime": None,
                "lastTransitionTime": prev.get("lastTransitionTime") if prev.get("status") == value else now}
        if value == "False" and type_ in ("Ready", "ContainersReady"):
            cond["reason"] = "ContainersNotReady"
            cond["message"] = f"containers with unready status: [{' '.join(unready)}]"
        out.append(cond)
    status["conditions"] = out


def _waiting(c: dict, reason: str, message: str = "", pulled: bool = False) -> dict:
    waiting = {"reason": reason, **({"message": message} if message else {})}
    return {"name": c["name"], "image": c.get("image", ""), "imageID": image_id(c.get("image", "")) if pulled else "",
            "ready": False, "started": False, "restartCount": 0, "state": {"waiting": waiting}, "lastState": {}}


def crash_backoff(restarts: int) -> int:
    """The wait before restart number `restarts` of a crashed container: none before the first, then 10s, 20s,
    40s … capped at five minutes (the kubelet's CrashLoopBackOff)."""
    if restarts <= 1:
        return 0
    return min(BACKOFF_FIRST * 2 ** (restarts - 2), BACKOFF_MAX)


def restarts_after(pod: Pod, statuses: list[dict]) -> bool:
    """Whether the kubelet restarts the pod's terminated containers: always under `Always`, after a failure under
    `OnFailure`, never under `Never`."""
    policy = (pod.spec or {}).get("restartPolicy") or "Always"
    if policy == "Never":
        return False
    if policy == "OnFailure":
        return any(((cs.get("state") or {}).get("terminated") or {}).get("exitCode") for cs in statuses)
    return True


def enter(pod: Pod, state: str, node: Node, now: dt.datetime, ip: str = "", unready: frozenset[str] = frozenset(),
          exits: dict[str, int] | None = None) -> None:
    """Leave the pod's status as the kubelet reports it in `state` (`unready`: containers whose readiness probe
    fails; `exits`: the exit codes of the containers that ended)."""
    ts = clock.rfc3339(now)
    st = dict(pod.status or {})
    names = [c["name"] for c in containers(pod)]
    if state == "ContainerCreating":
        host = node_ip(node)
        st.update(phase="Pending", hostIP=host, hostIPs=[{"ip": host}], startTime=ts)
        st["containerStatuses"] = [_waiting(c, "ContainerCreating") for c in containers(pod)]
        set_conditions(st, ts, {"PodReadyToStartContainers": False, "Initialized": True, "Ready": False,
                                "ContainersReady": False, "PodScheduled": True}, names)
    elif state == "Starting":
        st["containerStatuses"] = [_waiting(c, "ContainerCreating", pulled=True) for c in containers(pod)]
        set_conditions(st, ts, {"PodReadyToStartContainers": True}, names)
    elif state in ("ErrImagePull", "ImagePullBackOff"):
        out = []
        for c in containers(pod):
            image = c.get("image", "")
            if images.lookup(image):
                out.append(_waiting(c, "ContainerCreating"))
            elif state == "ErrImagePull":
                out.append(_waiting(c, "ErrImagePull", pull_error(image)))
            else:
                out.append(_waiting(c, "ImagePullBackOff",
                                    f'Back-off pulling image "{image}": ErrImagePull: {pull_error(image)}'))
        st["containerStatuses"] = out
        set_conditions(st, ts, {"PodReadyToStartContainers": True}, names)
    elif state == "Running":
        st.update(phase="Running", podIP=ip, podIPs=[{"ip": ip}])
        prev = {cs.get("name"): cs for cs in st.get("containerStatuses") or []}
        out = []
        for c in containers(pod):
            old = prev.get(c["name"]) or {}
            restarts = int(old.get("restartCount") or 0)
            crashed = "CrashLoopBackOff" == ((old.get("state") or {}).get("waiting") or {}).get("reason")
            if crashed:
                # The same container started again: it counts a restart and remembers how it ended.
                out.append({**old, "ready": c["name"] not in unready, "started": True,
                            "restartCount": restarts + 1, "state": {"running": {"startedAt": ts}}})
                continue
            if "running" in (old.get("state") or {}):
                out.append({**old, "ready": c["name"] not in unready})
                continue
            out.append({"name": c["name"], "image": image_ref(c.get("image", "")),
                        "imageID": image_id(c.get("image", "")), "containerID": container_id(pod, c["name"]),
                        "ready": c["name"] not in unready, "started": True, "restartCount": 0,
                        "state": {"running": {"startedAt": ts}}, "lastState": {}})
        st["containerStatuses"] = out
        set_conditions(st, ts, {**dict.fromkeys(CONDITIONS, True), "Ready": not unready,
                                "ContainersReady": not unready}, sorted(unready))
    elif state == "Exited":
        codes = exits or {}
        out = []
        for cs in st.get("containerStatuses") or []:
            if cs.get("name") not in codes:
                out.append(cs)
                continue
            started = ((cs.get("state") or {}).get("running") or {}).get("startedAt")
            code = codes[cs["name"]]
            term = {"exitCode": code, "reason": "Completed" if code == 0 else "Error", "startedAt": started,
                    "finishedAt": ts, "containerID": cs.get("containerID", "")}
            out.append({**cs, "ready": False, "started": False, "state": {"terminated": term}})
        st["containerStatuses"] = out
        done = all("terminated" in (cs.get("state") or {}) for cs in out)
        if done and not restarts_after(pod, out):
            failed = any(cs["state"]["terminated"].get("exitCode") for cs in out)
            st["phase"] = "Failed" if failed else "Succeeded"
            set_conditions(st, ts, {"Ready": False, "ContainersReady": False}, [])
            for cond in st["conditions"]:
                if cond["type"] in ("Ready", "ContainersReady"):
                    cond["reason"] = "PodCompleted"
                    cond.pop("message", None)
        else:
            set_conditions(st, ts, {"Ready": False, "ContainersReady": False},
                           [cs["name"] for cs in out if not cs.get("ready")])
    elif state == "CrashLoopBackOff":
        out = []
        for cs in st.get("containerStatuses") or []:
            term = (cs.get("state") or {}).get("terminated")
            if term is None:
                out.append(cs)
                continue
            wait = crash_backoff(int(cs.get("restartCount") or 0) + 1)
            message = (f"back-off {wait}s restarting failed container={cs['name']} "
                       f"pod={pod.name}_{pod.namespace}({pod.uid})")
            out.append({**cs, "state": {"waiting": {"reason": "CrashLoopBackOff", "message": message}},
                        "lastState": {"terminated": term}})
        st["containerStatuses"] = out
    elif state == "Stopped":
        stopped = []
        for cs in st.get("containerStatuses") or []:
            started = ((cs.get("state") or {}).get("running") or {}).get("startedAt")
            term = {"exitCode": 0, "reason": "Completed", "startedAt": started, "finishedAt": ts,
                    "containerID": cs.get("containerID", "")}
            stopped.append({**cs, "ready": False, "started": False, "state": {"terminated": term}})
        st["containerStatuses"] = stopped
        set_conditions(st, ts, {"Ready": False, "ContainersReady": False}, names)
    pod.status = st


def node_ip(node: Node) -> str:
    for a in (node.status or {}).get("addresses") or []:
        if a.get("type") == "InternalIP":
            return a.get("address", "")
    return ""


def startup_lines(image: images.Image, ip: str, at: dt.datetime, hostname: str = "") -> list[str]:
    ts, apache = _log_stamps(at)
    return [line.format(ts=ts, ip=ip, apache=apache, hostname=hostname) for line in image.startup_log]


@functools.lru_cache(maxsize=64)
def _log_stamps(at: dt.datetime) -> tuple[str, str]:
    # One sync starts every container of its node at the same instant.
    return at.strftime("%Y/%m/%d %H:%M:%S"), at.strftime("%a %b %d %H:%M:%S.%f %Y")


# ---------------------------------------------------------------------------------------------------------------
# One sync


class Recorder:
    """Records a pod's events; a repeat of the same event bumps its count, as the real event recorder does."""

    def __init__(self, batch: Batch, pod: Pod, node: Node, known: list[Event]):
        self.batch, self.pod, self.node, self.known = batch, pod, node, known
        self.updated: set[int] = set()

    def record(self, spec: stages.EventSpec, container: dict, values: dict) -> None:
        message = spec.message.format(**values)
        path = f"spec.containers{{{container['name']}}}"
        for ev in self.known:
            body = ev.spec or {}
            same_path = (body.get("involvedObject") or {}).get("fieldPath") == path
            if body.get("reason") == spec.reason and body.get("message") == message and same_path:
                ev.spec = {**body, "count": body.get("count", 1) + 1, "lastTimestamp": clock.rfc3339(clock.now())}
                # An event already queued in this batch is written with its latest body at commit.
                if ev.pk is not None and ev.pk not in self.updated:
                    self.updated.add(ev.pk)
                    self.batch.update(ev, f"{self._said(spec.reason)} again (x{ev.spec['count']})")
                return
        ev = events.new(self.pod, spec.reason, message, COMPONENT, host=self.node.name, type_=spec.type,
                        field_path=path)
        self.batch.create(ev, f"{self._said(spec.reason)}: {message}")
        self.known.append(ev)

    def _said(self, reason: str) -> str:
        return f"kubelet on {self.node.name} recorded {reason} on pod {self.pod.name}"

    def count(self, reason: str) -> int:
        return sum((e.spec or {}).get("count", 1) for e in self.known if (e.spec or {}).get("reason") == reason)


@dataclass
class HeldIPs:
    """The pod IPs still held on some nodes (a terminating pod keeps its IP until it is removed), read for all of
    them in one query the first time one of their syncs allocates an address. The syncs of one reconcile commit
    only after every node has synced, so one read serves them all."""

    pg: Playground
    nodes: list[str]
    _held: dict[str, set[str]] | None = None

    def on(self, node: str) -> set[str]:
        if self._held is None:
            self._held = {}
            # A pod gets its IP on going Running and its phase never goes back to Pending: the pods a burst just
            # bound (Pending, by the thousand) hold none.
            rows = (Pod.objects.filter(playground=self.pg, node_name__in=self.nodes).exclude(phase="Pending")
                    .values_list("node_name", "status__podIP"))
            for name, ip in rows:
                if ip and isinstance(ip, str):
                    self._held.setdefault(name, set()).add(ip)
        return set(self._held.get(node, ()))


@dataclass
class Sync:
    pg: Playground
    node: Node
    now: dt.datetime
    batch: Batch
    logs: list[LogLine] = field(default_factory=list)
    held: HeldIPs | None = None
    _taken: set[str] | None = None
    _free: Iterator[str] | None = None

    def allocate_ip(self, pod: Pod) -> str:
        if (pod.spec or {}).get("hostNetwork"):
            return node_ip(self.node)
        if self._taken is None:
            self._taken = (self.held or HeldIPs(self.pg, [self.node.name])).on(self.node.name)
            # One walk over the range per sync: an address passed over was taken, or handed out, already.
            self._free = bootstrap.pod_cidr_hosts((self.node.spec or {}).get("podCIDR") or "0.0.0.0/32")
        for ip in self._free:
            if ip not in self._taken:
                self._taken.add(ip)
                return ip
        return ""

    def delay(self, stage: stages.Stage, pod: Pod, rec: Recorder) -> float:
        """The simulated seconds a pod sits in its state before `stage` fires."""
        if not isinstance(stage.delay, str):
            return float(stage.delay)
        found = [images.lookup(c.get("image") or "") for c in containers(pod)]
        if stage.delay == "pull":
            return max((i.pull_seconds if i else UNKNOWN_PULL_SECONDS) for i in found) if found else 0.0
        if stage.delay == "start":
            return max((i.start_seconds for i in found if i), default=0.0)
        if stage.delay == "stop":
            grace = pod.deletion_grace_period_seconds
            if grace is None:
                grace = (pod.spec or {}).get("terminationGracePeriodSeconds", 30)
            return min(STOP_SECONDS, float(grace))
        if stage.delay == "run":
            # Even `echo hi` is seen running for a moment before it exits.
            return max([RUN_SECONDS] + [r.seconds for r in self.mains(pod).values() if not r.forever])
        if stage.delay == "crash":
            counts = [int(cs.get("restartCount") or 0) for cs in (pod.status or {}).get("containerStatuses") or []
                      if ((cs.get("state") or {}).get("waiting") or {}).get("reason") == "CrashLoopBackOff"]
            return float(crash_backoff(max(counts, default=0) + 1))
        if stage.delay == "liveness":
            return max(0.0, (self.kill_at(pod) or 0.0) - self.elapsed(pod))
        # "backoff": 10s, 20s, 40s … capped at 5 minutes, counted by the BackOff events already recorded.
        return float(min(BACKOFF_FIRST * 2 ** max(rec.count("BackOff") - 1, 0), BACKOFF_MAX))

    # The containers' main processes and probes, worked out once per pod and sync (most pods run their image's
    # server: that is known from the argv alone, with no query).

    def facts(self, pod: Pod) -> dict:
        facts = observe(pod)
        if facts["deleting"]:
            return facts
        if facts["state"] == "Running":
            facts["exits"] = any(not r.forever for r in self.mains(pod).values())
            facts["live"] = self.kill_at(pod) is None
        elif facts["state"] == "Exited":
            facts["restarts"] = restarts_after(pod, (pod.status or {}).get("containerStatuses") or [])
            facts["finished"] = (pod.status or {}).get("phase") in ("Succeeded", "Failed")
        return facts

    def forget(self, pod: Pod) -> None:
        """The pod's containers changed state: their processes and probes are worked out afresh."""
        for key in [k for k in pod.__dict__ if k == "_mains" or isinstance(k, tuple)]:
            del pod.__dict__[key]

    def snapshot(self, pod: Pod, c: dict):
        """The container as it starts (its main process's own files come from `mains`)."""
        key = ("_snap", c["name"])
        if key not in pod.__dict__:
            pod.__dict__[key] = world.snapshot(self.pg, pod, c["name"], with_main_files=False)
        return pod.__dict__[key]

    def shell(self, pod: Pod, c: dict, seconds: float | None = None):
        """A shell in the container; at `seconds` into its run, it sees the files its main process left."""
        from ..shells.container import at_time
        from ..shells.sh import Shell

        snap = self.snapshot(pod, c)
        if seconds is not None:
            run = self.mains(pod).get(c["name"])
            snap = at_time(snap, run.timeline if run else (), seconds)
        return Shell(snap, world.ClusterNetwork(self.pg, snap), lambda: self.now)

    def elapsed(self, pod: Pod) -> float:
        """Seconds since the containers (last) started."""
        starts = [clock.parse_rfc3339(((cs.get("state") or {}).get("running") or {}).get("startedAt"))
                  for cs in (pod.status or {}).get("containerStatuses") or []]
        starts = [t for t in starts if t is not None]
        return max(0.0, (self.now - max(starts)).total_seconds()) if starts else 0.0

    def kill_at(self, pod: Pod) -> float | None:
        """The second of the run at which a failing liveness probe gets a container killed — failureThreshold
        failures, periodSeconds apart — unless its process ends by itself before (None)."""
        kills = []
        for c in containers(pod):
            at = self.fails_at(pod, c)
            if at is not None:
                probe = c["livenessProbe"]
                kills.append(at + probe.get("periodSeconds", 10) * probe.get("failureThreshold", 3))
        if not kills:
            return None
        ends = [r.seconds for r in self.mains(pod).values() if not r.forever]
        if ends and max(ends) <= min(kills):
            return None
        return min(kills)

    def fails_at(self, pod: Pod, c: dict) -> float | None:
        """The second of the container's run from which its liveness probe fails (None: it never does)."""
        probe = c.get("livenessProbe")
        if not probe:
            return None
        key = ("_fails_at", c["name"])
        if key not in pod.__dict__:
            ip = (pod.status or {}).get("podIP") or ""
            initial = float(probe.get("initialDelaySeconds", 0))
            run = self.mains(pod).get(c["name"])
            moments = [initial] + [t for t in process.changes(run.timeline if run else ()) if t > initial]
            pod.__dict__[key] = next((t for t in moments
                                      if process.probe(probe, c, ip, lambda t=t: self.shell(pod, c, t))), None)
        return pod.__dict__[key]

    def mains(self, pod: Pod) -> dict[str, process.MainRun]:
        kept = pod.__dict__.get("_mains")
        if kept is not None:
            return kept
        out = {}
        for c in containers(pod):
            if process.serves(c):
                out[c["name"]] = process.FOREVER
            else:
                sh = self.shell(pod, c)
                out[c["name"]] = process.run(sh, sh.container.main)
        pod.__dict__["_mains"] = out
        return out

    def probe_failure(self, pod: Pod, c: dict, kind: str = "livenessProbe") -> str:
        """Why the container's probe fails ("" when it passes or there is none)."""
        probe = c.get(kind)
        if not probe:
            return ""
        key = ("_probe", kind, c["name"])
        if key not in pod.__dict__:
            pod.__dict__[key] = process.probe(probe, c, (pod.status or {}).get("podIP") or "",
                                              lambda: self.shell(pod, c, self.elapsed(pod)))
        return pod.__dict__[key]

    def unready(self, pod: Pod) -> frozenset[str]:
        return frozenset(c["name"] for c in containers(pod) if self.probe_failure(pod, c, "readinessProbe"))

    def concerned(self, stage: stages.Stage, pod: Pod) -> list[dict]:
        found = containers(pod)
        if stage.containers == "unknown":
            return [c for c in found if not images.lookup(c.get("image") or "")]
        if stage.name == "exit":
            mains = self.mains(pod)
            return [c for c in found if not mains[c["name"]].forever]
        if stage.name == "liveness-failed":
            return [c for c in found if self.fails_at(pod, c) is not None]
        if stage.name in ("crash", "restart"):
            st = {cs.get("name"): cs.get("state") or {} for cs in (pod.status or {}).get("containerStatuses") or []}
            return [c for c in found if "terminated" in st.get(c["name"], {})
                    or (st.get(c["name"], {}).get("waiting") or {}).get("reason") == "CrashLoopBackOff"]
        return found

    def exit_codes(self, stage: stages.Stage, pod: Pod, concerned: list[dict]) -> dict[str, int]:
        if stage.name == "finish":
            return {}  # the containers have already ended: only the pod's phase follows
        if stage.name == "liveness-failed":
            # A server stops on SIGTERM and exits 0; anything else is killed when the grace period ends.
            return {c["name"]: 0 if process.serves(c) else 137 for c in concerned}
        mains = self.mains(pod)
        return {c["name"]: mains[c["name"]].code for c in concerned}

    def log_start(self, pod: Pod) -> None:
        """What a container writes as it starts: its image's start-up lines, or its own command's output."""
        restarts = {cs.get("name"): int(cs.get("restartCount") or 0)
                    for cs in (pod.status or {}).get("containerStatuses") or []}
        mains = self.mains(pod)
        ip = (pod.status or {}).get("podIP") or ""
        for c in containers(pod):
            info = images.lookup(c.get("image") or "")
            text = ""
            if info and not c.get("command") and not c.get("args"):
                text = "\n".join(startup_lines(info, ip, self.now, pod.name))
            run = mains.get(c["name"])
            if run is not None and run.out:
                text = run.out.rstrip("\n")
            if text:
                self.logs.append(new_row(LogLine, playground_id=self.pg.pk, pod_uid=pod.uid, container=c["name"],
                                         restart=restarts.get(c["name"], 0), at=self.now, text=text))

    def due(self, stage: stages.Stage, seconds: float) -> dt.datetime:
        tempo = self.pg.tempo
        if stage.delay in ("backoff", "crash") and tempo == "instant":
            # A pull that cannot succeed must not be retried in a tight loop: back-off runs at least in real time.
            tempo = "realtime"
        # Counted from this sync's own "now": at tempo instant the next stage is due within the same pass.
        return clock.due(tempo, seconds, start=self.now)


def _values(pod: Pod, concerned: list[dict], ip: str, extra: dict) -> dict:
    found = [images.lookup(c.get("image") or "") for c in concerned]
    grace = pod.deletion_grace_period_seconds
    return {
        "pod": pod.name,
        "image": ", ".join(c.get("image", "") for c in concerned),
        "container": ", ".join(c["name"] for c in concerned),
        "pull": f"{max((i.pull_seconds for i in found if i), default=0):g}",
        "ip": ip,
        "grace": grace if grace is not None else (pod.spec or {}).get("terminationGracePeriodSeconds", 30),
        **extra,
    }


def _event_values(c: dict) -> dict:
    image = c.get("image", "")
    info = images.lookup(image)
    return {
        "image": image,
        "container": c["name"],
        "pull": f"{info.pull_seconds:g}" if info else "0",
        "size": info.size_mb * 1_000_000 if info else 0,
        "error": pull_error(image),
    }


def sync_pod(s: Sync, pod: Pod) -> None:
    facts = s.facts(pod)
    known: list[Event] = []
    if facts["state"] in ("ErrImagePull", "ImagePullBackOff", "Exited", "CrashLoopBackOff") or facts.get("exits") \
            or facts.get("live") is False:
        known = list(Event.objects.filter(playground=s.pg, involved_uid=pod.uid))
    rec = Recorder(s.batch, pod, s.node, known)
    notes: list[str] = []
    done: list[str] = []
    for _ in range(2 * len(stages.STAGES)):
        stage = stages.find(facts)
        if stage is None:
            break
        if not stage.interrupts and pod.requeue_at is not None and pod.requeue_at > s.now:
            break
        concerned = s.concerned(stage, pod)
        extra = {}
        for spec in stage.events:
            for c in concerned:
                rec.record(spec, c, {**_event_values(c), "pod": pod.name, "probe": s.probe_failure(pod, c)})
        done.append(stage.name)
        if stage.next == "Deleted":
            notes.append(stage.note.format(**_values(pod, concerned, "", {})))
            s.batch.delete(pod, _message(s, notes), {"stages": done})
            return
        ip, codes = "", None
        if stage.next == "Running":
            ip = (pod.status or {}).get("podIP") if stage.name == "restart" else s.allocate_ip(pod)
        if stage.next == "Exited":
            codes = s.exit_codes(stage, pod, concerned)
            extra["code"] = ", ".join(str(v) for v in codes.values())
        enter(pod, stage.next, s.node, s.now, ip or "", s.unready(pod) if stage.next == "Running" else frozenset(),
              codes)
        s.forget(pod)
        if stage.next == "Running":
            s.log_start(pod)
        facts = s.facts(pod)
        following = stages.find(facts)
        seconds = s.delay(following, pod, rec) if following else 0.0
        pod.requeue_at = s.due(following, seconds) if following else None
        notes.append(stage.note.format(**_values(pod, concerned, ip or "", {"backoff": f"{seconds:g}", **extra})))
    if done:
        s.batch.update(pod, _message(s, notes), {"stages": done, "requeue_at": clock.rfc3339(pod.requeue_at)})


def _message(s: Sync, notes: list[str]) -> str:
    return f"kubelet on {s.node.name} " + ", then ".join(notes)


def heartbeat(s: Sync) -> None:
    """Refresh the node's condition heartbeats when the last one is older than 40 simulated seconds."""
    conds = (s.node.status or {}).get("conditions") or []
    ready = next((c for c in conds if c.get("type") == "Ready"), None)
    if ready is None:
        return
    if ready.get("status") != "True":
        # Back from an outage (the node lifecycle controller had set Unknown): post the node healthy again.
        ts = clock.rfc3339(s.now)
        fresh = {c["type"]: c for c in bootstrap.node_conditions(ts)}
        s.node.status = {**s.node.status, "conditions": [fresh.get(c.get("type"), c) for c in conds]}
        s.batch.update(s.node, f"kubelet on {s.node.name} posted its node status: Ready (KubeletReady)")
        return
    last = clock.parse_rfc3339(ready.get("lastHeartbeatTime"))
    # Instant tempo would make every sync a heartbeat: never beat faster than real time.
    interval = HEARTBEAT_SECONDS * max(1.0, clock.TEMPO_FACTORS.get(s.pg.tempo, 1.0))
    if last is not None and (s.now - last).total_seconds() < interval:
        return
    ts = clock.rfc3339(s.now)
    s.node.status = {**s.node.status, "conditions": [{**c, "lastHeartbeatTime": ts} for c in conds]}
    s.batch.update(s.node, f"kubelet on {s.node.name} posted its node status (heartbeat)", heartbeat=True)


def sync_node(pg: Playground, node: Node, pods: list[Pod], now: dt.datetime, held: HeldIPs | None = None) -> Sync:
    """One node's sync over its due pods (creation order), its writes staged in its own Batch."""
    s = Sync(pg, node, now, Batch(pg, f"kubelet/{node.name}"), held=held)
    heartbeat(s)
    for pod in pods:
        sync_pod(s, pod)
    # The start-up lines commit with the pods that went Running.
    s.batch.add_rows(LogLine, s.logs)
    return s


def due_pods(pg: Playground, names: list[str], now: dt.datetime) -> dict[str, list[Pod]]:
    """The due pods of these nodes, by node, each list in creation order: one query for all of them, so a node
    with nothing due costs no query at all."""
    due = (
        Pod.objects.filter(playground=pg, node_name__in=names)
        .filter(Q(requeue_at__lte=now) | Q(requeue_at__isnull=True, phase="Pending")
                | Q(deletion_timestamp__isnull=False))
        .order_by("creation_timestamp", "id")
    )
    out: dict[str, list[Pod]] = {}
    for pod in due:
        out.setdefault(pod.node_name, []).append(pod)
    return out


def reconcile(pg: Playground, key: str) -> int:
    return reconcile_nodes(pg, [key])


def reconcile_nodes(pg: Playground, names: list[str]) -> int:
    """Sync several nodes' kubelets that are due at once, each exactly as on its own (its own actor, messages and
    events), and commit them together in one transaction — a group commit, as etcd batches the proposals of one
    interval. A conflict on one node's pod aborts the group; then every node commits on its own, and a node that
    conflicts again is synced from a fresh read, so no write is lost or made twice.

    With one node a conflict is raised, as from any reconcile: the caller retries."""
    # A node whose machine is off has no kubelet running: nothing is synced there until it is back.
    nodes = list(Node.objects.filter(playground=pg, name__in=names, powered_off=False).order_by("name"))
    if not nodes:
        return 0
    now = clock.now()
    due = due_pods(pg, [n.name for n in nodes], now)
    held = HeldIPs(pg, [n.name for n in nodes])
    syncs = [sync_node(pg, node, due.get(node.name, []), now, held) for node in nodes]
    syncs = [s for s in syncs if s.batch.ops or s.batch.rows]
    if len(syncs) <= 1:
        for s in syncs:
            s.batch.commit()
        return sum(len(s.batch) for s in syncs)
    try:
        commit_together([s.batch for s in syncs])
        return sum(len(s.batch) for s in syncs)
    except Conflict:
        log.info("kubelet group commit of %d nodes conflicted: committing node by node", len(syncs))
    writes = 0
    for s in syncs:
        try:
            s.batch.commit()
            writes += len(s.batch)
        except Conflict:
            writes += _resync(pg, s.node.name)
    return writes


def _resync(pg: Playground, name: str, attempts: int = 2) -> int:
    """Sync one node again from a fresh read after its writes conflicted (the retry a lone reconcile gets)."""
    for _ in range(attempts):
        try:
            return reconcile_nodes(pg, [name])
        except Conflict:
            continue
    log.info("kubelet %s: conflict, leaving it to the next resync", name)
    return 0
