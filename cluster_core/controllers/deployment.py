"""The Deployment controller.

Key: "namespace/name" of a Deployment. Contract: a Deployment owns one ReplicaSet per pod template it has had,
named `<deployment>-<pod-template-hash>`; the "new" ReplicaSet is the one whose template equals the Deployment's
(a rollback re-uses an old one and gives it the next revision). Each reconcile takes one step, as the real
controller's syncDeployment does: a scaling event scales all active ReplicaSets proportionally; otherwise the
strategy rolls — RollingUpdate scales the new ReplicaSet up within maxSurge, then the old ones down within
maxUnavailable (unhealthy replicas first); Recreate scales the old ones to zero, waits until their pods are gone,
then scales the new one up. Paused Deployments only scale. Old ReplicaSets beyond revisionHistoryLimit are
deleted once scaled to zero and the rollout is complete. Status is recomputed from the ReplicaSets' statuses and
written only when it changed; the scaling decisions come from pure functions (`plan_rollout`, `plan_scale`).
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from dataclasses import dataclass, field, replace

from .. import clock, events, labels, names
from ..models import Deployment, Playground, Pod, ReplicaSet
from ..writes import Batch

# What can give this loop work: a resync skips it while no commit of these came (`workers.run_loop`).
WATCHES = frozenset({"Deployment", "ReplicaSet", "Pod"})

ACTOR = "deployment-controller"
HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
# Deployment annotations a ReplicaSet does not copy (annotationsToSkip); kubernetes.io/change-cause is copied.
SKIP_ANNOTATIONS = {
    "kubectl.kubernetes.io/last-applied-configuration", REVISION, REVISION_HISTORY, DESIRED, MAX_REPLICAS,
    "deprecated.deployment.rollback.to",
}
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def keys(pg: Playground) -> list[str]:
    return [f"{ns}/{name}" for ns, name in Deployment.objects.filter(playground=pg).values_list("namespace", "name")]


# ---------------------------------------------------------------------------------------------------------------
# Pure planning: ReplicaSets as plain values, decisions as {name: replicas}


@dataclass(frozen=True)
class RSView:
    name: str
    replicas: int = 0  # spec.replicas
    available: int = 0  # status.availableReplicas
    actual: int = 0  # status.replicas
    ready: int = 0  # status.readyReplicas
    created: dt.datetime = EPOCH
    revision: int = 0
    desired: int | None = None  # the desired-replicas annotation: spec.replicas of the Deployment when last scaled
    max_replicas: int | None = None  # the max-replicas annotation: replicas + maxSurge then
    stale: bool = False  # generation > status.observedGeneration
    deleting: bool = False
    exists: bool = True  # False for the new ReplicaSet this reconcile is about to create
    failure: dict | None = None  # its ReplicaFailure condition


@dataclass
class Plan:
    scale: dict[str, int] = field(default_factory=dict)  # ReplicaSet name -> spec.replicas
    create_new: bool = False


def _avail(rs: RSView) -> int:
    # A ReplicaSet just scaled down still reports the availability of pods it is about to delete; counting more
    # available pods than it will keep would let the next step break the maxUnavailable budget.
    return min(rs.available, rs.replicas)


def _by_creation(rs: RSView):
    return (rs.created, rs.name)


def replicas_of(spec: dict) -> int:
    return int(spec.get("replicas", 1) or 0)


def is_rolling(spec: dict) -> bool:
    return ((spec.get("strategy") or {}).get("type") or "RollingUpdate") == "RollingUpdate"


def scaled_value(value, total: int, round_up: bool) -> int:
    """An int-or-percent (maxSurge, maxUnavailable) as a number of pods out of `total`."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.endswith("%"):
        pct = int(text[:-1])
        return -(-pct * total // 100) if round_up else pct * total // 100
    return int(text)


def fenceposts(spec: dict) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) in pods: surge rounds up, unavailable down, and both 0 would deadlock → 1."""
    if not is_rolling(spec):
        return 0, 0
    ru = (spec.get("strategy") or {}).get("rollingUpdate") or {}
    want = replicas_of(spec)
    surge = scaled_value(ru.get("maxSurge", "25%"), want, True)
    unavailable = scaled_value(ru.get("maxUnavailable", "25%"), want, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def max_surge(spec: dict) -> int:
    return fenceposts(spec)[0]


def max_unavailable(spec: dict) -> int:
    want = replicas_of(spec)
    if not is_rolling(spec) or want == 0:
        return 0
    return min(fenceposts(spec)[1], want)


def new_rs_replicas(spec: dict, all_rss: list[RSView], new: RSView) -> int:
    """How far the new ReplicaSet may grow now (NewRSNewReplicas)."""
    want = replicas_of(spec)
    if not is_rolling(spec):
        return want
    max_total = want + max_surge(spec)
    current = sum(rs.replicas for rs in all_rss)
    if current >= max_total:
        return new.replicas
    return new.replicas + min(max_total - current, want - new.replicas)


def reconcile_new(spec: dict, all_rss: list[RSView], new: RSView) -> int:
    """The new ReplicaSet's target size for this step (reconcileNewReplicaSet)."""
    want = replicas_of(spec)
    if new.replicas >= want:
        return want
    return new_rs_replicas(spec, all_rss, new)


def reconcile_old(spec: dict, olds: list[RSView], new: RSView) -> dict[str, int]:
    """Scale old ReplicaSets down within the availability budget (reconcileOldReplicaSets): first the replicas
    that are not available anyway (they would otherwise block the rollout), then available ones."""
    old_count = sum(rs.replicas for rs in olds)
    if old_count == 0:
        return {}
    want = replicas_of(spec)
    min_available = want - max_unavailable(spec)
    new_unavailable = new.replicas - _avail(new)
    max_scaled_down = old_count + new.replicas - min_available - new_unavailable
    if max_scaled_down <= 0:
        return {}
    sizes = {rs.name: rs.replicas for rs in olds}
    ordered = sorted(olds, key=_by_creation)
    cleaned = 0
    for rs in ordered:  # cleanupUnhealthyReplicas
        if cleaned >= max_scaled_down:
            break
        unhealthy = rs.replicas - _avail(rs)
        if rs.replicas == 0 or unhealthy <= 0:
            continue
        n = min(max_scaled_down - cleaned, unhealthy)
        sizes[rs.name] -= n
        cleaned += n
    # scaleDownOldReplicaSetsForRollingUpdate: removing unhealthy replicas did not change availability.
    available = sum(_avail(rs) for rs in olds) + _avail(new)
    budget = available - min_available
    scaled = 0
    for rs in ordered:
        if scaled >= budget:
            break
        if sizes[rs.name] == 0:
            continue
        n = min(sizes[rs.name], budget - scaled)
        sizes[rs.name] -= n
        scaled += n
    return {rs.name: sizes[rs.name] for rs in olds if sizes[rs.name] != rs.replicas}


def plan_rollout(spec: dict, new: RSView, olds: list[RSView], old_pods_running: bool = False) -> Plan:
    """One step of a rollout towards `new` (which may not exist yet: `new.exists` is False)."""
    if not is_rolling(spec):
        return _plan_recreate(spec, new, olds, old_pods_running)
    plan = Plan(create_new=not new.exists)
    all_rss = [*olds, new]
    if not new.exists:
        # The new ReplicaSet is created at its first step's size; the old ones may shrink in the same step.
        new = replace(new, replicas=new_rs_replicas(spec, all_rss, new))
        plan.scale[new.name] = new.replicas
    else:
        target = reconcile_new(spec, all_rss, new)
        if target != new.replicas:
            plan.scale[new.name] = target
            return plan
    plan.scale.update(reconcile_old(spec, [rs for rs in olds if rs.replicas > 0], new))
    return plan


def _plan_recreate(spec: dict, new: RSView, olds: list[RSView], old_pods_running: bool) -> Plan:
    active = [rs for rs in olds if rs.replicas > 0]
    if active:
        return Plan({rs.name: 0 for rs in active})
    if old_pods_running:
        # Recreate's promise: no old and new pods at the same time, so wait until the old ones are gone.
        return Plan()
    want = replicas_of(spec)
    plan = Plan(create_new=not new.exists)
    if new.replicas != want or not new.exists:
        plan.scale[new.name] = want
    return plan


def is_saturated(spec: dict, rs: RSView | None) -> bool:
    want = replicas_of(spec)
    return rs is not None and rs.replicas == want and rs.desired == want and rs.available == want


def is_scaling_event(spec: dict, new: RSView | None, olds: list[RSView]) -> bool:
    """spec.replicas changed since the active ReplicaSets were last scaled (their desired-replicas annotation)."""
    if new is None:
        return False
    want = replicas_of(spec)
    return any(rs.desired is not None and rs.desired != want for rs in [*olds, new] if rs.replicas > 0)


def _proportion(rs: RSView, spec: dict, to_add: int, added: int, status_replicas: int) -> int:
    if rs.replicas == 0 or to_add == 0 or to_add == added:
        return 0
    want = replicas_of(spec)
    if want == 0:
        fraction = -rs.replicas
    else:
        max_now = want + max_surge(spec)
        before = rs.max_replicas or status_replicas or max_now
        fraction = math.floor(rs.replicas * max_now / before + 0.5) - rs.replicas
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def plan_scale(spec: dict, new: RSView | None, olds: list[RSView], status_replicas: int = 0) -> Plan:
    """A plain scale (no rollout step): one active ReplicaSet takes the new size; during a rolling update the
    change is spread over the active ReplicaSets in proportion to their size (the controller's `scale`)."""
    want = replicas_of(spec)
    if new is None and not olds:
        return Plan()
    candidates = [rs for rs in [new, *sorted(olds, key=_by_creation, reverse=True)] if rs is not None]
    active = [rs for rs in candidates if rs.replicas > 0]
    target = candidates[0] if not active else (active[0] if len(active) == 1 else None)
    if target is not None:
        return Plan() if target.replicas == want else Plan({target.name: want})
    if is_saturated(spec, new):
        return Plan({rs.name: 0 for rs in olds if rs.replicas > 0})
    if not is_rolling(spec):
        return Plan()
    allowed = want + max_surge(spec) if want > 0 else 0
    to_add = allowed - sum(rs.replicas for rs in active)
    if to_add > 0:  # the biggest, then newest, takes most
        active.sort(key=lambda rs: (-rs.replicas, -rs.created.timestamp(), rs.name))
    elif to_add < 0:  # the biggest, then oldest, gives most
        active.sort(key=lambda rs: (-rs.replicas, rs.created.timestamp(), rs.name))
    sizes, added = {}, 0
    for rs in active:
        p = _proportion(rs, spec, to_add, added, status_replicas)
        sizes[rs.name] = rs.replicas + p
        added += p
    if to_add and active:  # leftovers of the rounding go to the largest
        first = active[0].name
        sizes[first] = max(0, sizes[first] + to_add - added)
    # Every active ReplicaSet is listed: its desired/max annotations are refreshed even if its size stays.
    return Plan(sizes)


def plan_cleanup(limit: int | None, olds: list[RSView]) -> list[str]:
    """Old ReplicaSets to delete beyond revisionHistoryLimit, oldest revision first, only when fully scaled down."""
    if limit is None:
        return []
    alive = [rs for rs in olds if not rs.deleting]
    diff = len(alive) - limit
    if diff <= 0:
        return []
    alive.sort(key=lambda rs: (rs.revision, rs.created, rs.name))
    return [rs.name for rs in alive[:diff] if rs.actual == 0 and rs.replicas == 0 and not rs.stale]


# ---------------------------------------------------------------------------------------------------------------
# Pure status


def condition(type_: str, status: str, reason: str, message: str, now: dt.datetime) -> dict:
    t = clock.rfc3339(now)
    return {"type": type_, "status": status, "lastUpdateTime": t, "lastTransitionTime": t, "reason": reason,
            "message": message}


def get_condition(status: dict, type_: str) -> dict | None:
    for c in status.get("conditions") or []:
        if c.get("type") == type_:
            return c
    return None


def set_condition(status: dict, cond: dict) -> None:
    """SetDeploymentCondition: same status and reason → keep as is; same status → keep lastTransitionTime."""
    current = get_condition(status, cond["type"])
    if current and current.get("status") == cond["status"] and current.get("reason") == cond["reason"]:
        return
    if current and current.get("status") == cond["status"]:
        cond = {**cond, "lastTransitionTime": current.get("lastTransitionTime")}
    status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != cond["type"]] + [cond]


def remove_condition(status: dict, type_: str) -> None:
    if "conditions" in status:
        status["conditions"] = [c for c in status["conditions"] if c.get("type") != type_]
        if not status["conditions"]:
            del status["conditions"]


def compute_status(spec: dict, generation: int, base: dict, rss: list[RSView], new: RSView | None,
                   now: dt.datetime) -> dict:
    """calculateStatus: counts summed from the ReplicaSets (zero counts omitted, as the API does) + Available."""
    available = sum(rs.available for rs in rss)
    counts = {
        "replicas": sum(rs.actual for rs in rss),
        "updatedReplicas": new.actual if new else 0,
        "readyReplicas": sum(rs.ready for rs in rss),
        "availableReplicas": available,
        "unavailableReplicas": max(0, sum(rs.replicas for rs in rss) - available),
    }
    status = {"observedGeneration": generation, **{k: v for k, v in counts.items() if v}}
    if base.get("collisionCount"):
        status["collisionCount"] = base["collisionCount"]
    if base.get("conditions"):
        status["conditions"] = [dict(c) for c in base["conditions"]]
    if available >= replicas_of(spec) - max_unavailable(spec):
        set_condition(status, condition("Available", "True", "MinimumReplicasAvailable",
                                        "Deployment has minimum availability.", now))
    else:
        set_condition(status, condition("Available", "False", "MinimumReplicasUnavailable",
                                        "Deployment does not have minimum availability.", now))
    return status


def is_complete(spec: dict, generation: int, status: dict) -> bool:
    want = replicas_of(spec)
    return (status.get("updatedReplicas", 0) == want and status.get("replicas", 0) == want
            and status.get("availableReplicas", 0) == want and status.get("observedGeneration", 0) >= generation)


def _progressing(old: dict, new: dict) -> bool:
    def g(s, k):
        return s.get(k, 0)

    return (g(new, "updatedReplicas") > g(old, "updatedReplicas")
            or g(new, "replicas") - g(new, "updatedReplicas") < g(old, "replicas") - g(old, "updatedReplicas")
            or g(new, "readyReplicas") > g(old, "readyReplicas")
            or g(new, "availableReplicas") > g(old, "availableReplicas"))


def _timed_out(spec: dict, status: dict, now: dt.datetime) -> bool:
    cond = get_condition(status, "Progressing")
    if cond is None or cond.get("reason") == "NewReplicaSetAvailable":
        return False
    if cond.get("reason") == "ProgressDeadlineExceeded":
        return True
    since = clock.parse_rfc3339(cond.get("lastUpdateTime"))
    return since is not None and since + dt.timedelta(seconds=int(spec["progressDeadlineSeconds"])) < now


def rollout_status(spec: dict, name: str, generation: int, base: dict, rss: list[RSView], new: RSView | None,
                   now: dt.datetime) -> dict:
    """syncRolloutStatus: compute_status plus the Progressing and ReplicaFailure conditions."""
    status = compute_status(spec, generation, base, rss, new, now)
    has_deadline = spec.get("progressDeadlineSeconds") is not None
    if not has_deadline:
        remove_condition(status, "Progressing")
    current = get_condition(base, "Progressing")
    done_before = (status.get("replicas", 0) == status.get("updatedReplicas", 0) and current is not None
                   and current.get("reason") == "NewReplicaSetAvailable")
    subject = f'ReplicaSet "{new.name}"' if new else f'Deployment "{name}"'
    if has_deadline and not done_before:
        if is_complete(spec, generation, status):
            set_condition(status, condition("Progressing", "True", "NewReplicaSetAvailable",
                                            f"{subject} has successfully progressed.", now))
        elif _progressing(base, status):
            cond = condition("Progressing", "True", "ReplicaSetUpdated", f"{subject} is progressing.", now)
            # Unlike other conditions, progress refreshes lastUpdateTime even when the reason stays the same.
            if current is not None:
                if current.get("status") == "True":
                    cond["lastTransitionTime"] = current.get("lastTransitionTime")
                remove_condition(status, "Progressing")
            set_condition(status, cond)
        elif _timed_out(spec, status, now):
            set_condition(status, condition("Progressing", "False", "ProgressDeadlineExceeded",
                                            f"{subject} has timed out progressing.", now))
    failures = [rs.failure for rs in ([new] if new else []) if rs.failure] or [
        rs.failure for rs in rss if rs.failure]
    if failures:
        f = failures[0]
        set_condition(status, {"type": "ReplicaFailure", "status": f.get("status", "True"),
                               "lastUpdateTime": f.get("lastTransitionTime"),
                               "lastTransitionTime": f.get("lastTransitionTime"), "reason": f.get("reason"),
                               "message": f.get("message")})
    else:
        remove_condition(status, "ReplicaFailure")
    return status


# ---------------------------------------------------------------------------------------------------------------
# Reconcile


def view(rs: ReplicaSet, exists: bool = True) -> RSView:
    spec, status, ann = rs.spec or {}, rs.status or {}, rs.annotations or {}
    failure = next((c for c in status.get("conditions") or [] if c.get("type") == "ReplicaFailure"), None)
    return RSView(
        name=rs.name,
        replicas=int(spec.get("replicas", 1) or 0),
        available=int(status.get("availableReplicas") or 0),
        actual=int(status.get("replicas") or 0),
        ready=int(status.get("readyReplicas") or 0),
        created=rs.creation_timestamp,
        revision=_int(ann.get(REVISION)) or 0,
        desired=_int(ann.get(DESIRED)),
        max_replicas=_int(ann.get(MAX_REPLICAS)),
        stale=rs.generation > int(status.get("observedGeneration") or 0),
        deleting=rs.deletion_timestamp is not None,
        exists=exists,
        failure=failure,
    )


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def reconcile(pg: Playground, key: str) -> int:
    namespace, name = key.split("/", 1)
    d = Deployment.objects.filter(playground=pg, namespace=namespace, name=name).first()
    if d is None:
        return 0
    b = Batch(pg, ACTOR)
    rss = _claim(b, d)
    # Adoption writes commit first, so the ReplicaSets they touched can be written again below.
    claimed = b.commit() if len(b) else 0
    sync = _Sync(pg, d, rss)
    sync.run()
    return claimed + sync.commit()


def _claim(b: Batch, d: Deployment) -> list[ReplicaSet]:
    """Adopt orphan ReplicaSets matching the selector, release owned ones that stopped matching."""
    selector = (d.spec or {}).get("selector")
    mine = []
    for rs in ReplicaSet.objects.filter(playground=d.playground_id, namespace=d.namespace, controller_uid=d.uid):
        if labels.selector_matches(selector, rs.labels) or rs.deletion_timestamp is not None:
            mine.append(rs)
        else:
            rs.owner_references = [r for r in rs.owner_references if r.get("uid") != d.uid]
            b.update(rs, f"{ACTOR} released ReplicaSet {rs.name}: its labels no longer match deployment {d.name}")
    if d.deletion_timestamp is None and selector:
        for rs in ReplicaSet.objects.filter(playground=d.playground_id, namespace=d.namespace, controller_uid="",
                                            deletion_timestamp__isnull=True):
            if labels.selector_matches(selector, rs.labels):
                rs.owner_references = [*rs.owner_references, d.controller_ref()]
                b.update(rs, f"{ACTOR} adopted ReplicaSet {rs.name}: it matches the selector of deployment {d.name}")
                mine.append(rs)
    return mine


class _Sync:
    """One syncDeployment: decisions accumulate on the objects, then commit as one batch."""

    def __init__(self, pg: Playground, d: Deployment, rss: list[ReplicaSet]):
        self.pg, self.d, self.now = pg, d, clock.now()
        self.spec = d.spec or {}
        self.rss = sorted(rss, key=lambda rs: (rs.creation_timestamp, rs.name))
        self.base = copy.deepcopy(d.status or {})  # the status being worked on (conditions set on the way)
        self.notes: list[str] = []  # why the Deployment itself is written
        self.created: ReplicaSet | None = None
        self.changed: dict[str, list[str]] = {}  # ReplicaSet name -> what changed
        self.deleted: list[ReplicaSet] = []
        self.events = []
        self.new: ReplicaSet | None = None
        self.olds: list[ReplicaSet] = []

    # -- the steps ------------------------------------------------------------------------------------------

    def run(self) -> None:
        d, spec = self.d, self.spec
        template = spec.get("template")
        # The oldest ReplicaSet with the Deployment's template is the new one (FindNewReplicaSet).
        self.new = next((rs for rs in self.rss if names.templates_equal(rs.spec.get("template"), template)), None)
        self.olds = [rs for rs in self.rss if rs is not self.new]
        if d.deletion_timestamp is not None:
            self.sync_revision(create=False)
            self.write_status(rollout=False)
            return
        self.paused_conditions()
        if spec.get("paused"):
            self.sync_revision(create=False)
            self.apply(plan_scale(spec, self.view_new(), self.view_olds(), int(self.base.get("replicas") or 0)),
                       f"the paused deployment was scaled to {replicas_of(spec)}")
            self.cleanup()
            self.write_status(rollout=False)
            return
        if self.new is not None:
            self.sync_revision(create=False)
            if is_scaling_event(spec, self.view_new(), self.view_olds()):
                self.apply(plan_scale(spec, self.view_new(), self.view_olds(), int(self.base.get("replicas") or 0)),
                           f"the deployment was scaled to {replicas_of(spec)}")
                self.write_status(rollout=False)
                return
        if is_rolling(spec):
            if self.new is None and not self.sync_revision(create=True):
                return
            plan = plan_rollout(spec, self.view_new(), self.view_olds())
        else:
            plan = plan_rollout(spec, self.view_new() or self.placeholder(), self.view_olds(),
                                self.old_pods_running())
            if plan.create_new and not self.sync_revision(create=True):
                return
        scaled = self.apply(plan, self.strategy_words())
        if not scaled and is_complete(spec, d.generation, d.status or {}):
            self.cleanup()
        self.write_status(rollout=True)

    def strategy_words(self) -> str:
        if not is_rolling(self.spec):
            return "Recreate: the old pods go before the new ones start"
        want = replicas_of(self.spec)
        most, least = want + max_surge(self.spec), want - max_unavailable(self.spec)
        return f"rolling update: at most {most} pods, at least {least} available"

    def view_new(self) -> RSView | None:
        if self.new is None:
            return None
        return view(self.new, exists=self.new is not self.created)

    def placeholder(self) -> RSView:
        """The new ReplicaSet as it would be named, before Recreate decides it may exist."""
        h = names.pod_template_hash(self.spec.get("template") or {}, int(self.base.get("collisionCount") or 0))
        return RSView(name=f"{self.d.name}-{h}", exists=False)

    def view_olds(self) -> list[RSView]:
        return [view(rs) for rs in self.olds]

    def old_pods_running(self) -> bool:
        """Recreate waits for every old pod to be gone, terminating ones included."""
        if any(int((rs.status or {}).get("replicas") or 0) > 0 for rs in self.olds):
            return True
        uids = [rs.uid for rs in self.olds]
        return bool(uids) and Pod.objects.filter(playground=self.pg, namespace=self.d.namespace,
                                                 controller_uid__in=uids).exclude(
            phase__in=["Succeeded", "Failed"]).exists()

    def paused_conditions(self) -> None:
        """checkPausedConditions: Progressing is Unknown while paused, and says so once resumed."""
        if self.spec.get("progressDeadlineSeconds") is None:
            return
        cond = get_condition(self.base, "Progressing")
        if cond and cond.get("reason") == "ProgressDeadlineExceeded":
            return
        paused_before = bool(cond) and cond.get("reason") == "DeploymentPaused"
        if self.spec.get("paused") and not paused_before:
            set_condition(self.base, condition("Progressing", "Unknown", "DeploymentPaused", "Deployment is paused",
                                               self.now))
        elif not self.spec.get("paused") and paused_before:
            set_condition(self.base, condition("Progressing", "Unknown", "DeploymentResumed",
                                               "Deployment is resumed", self.now))

    def sync_revision(self, create: bool) -> bool:
        """getNewReplicaSet: keep the new ReplicaSet's annotations and revision in sync, or build it.
        Returns False when the name is taken by a foreign ReplicaSet (a hash collision: try another hash)."""
        d = self.d
        max_old = max((view(rs).revision for rs in self.olds), default=0)
        revision = max_old + 1
        if self.new is not None:
            rs = self.new
            before = dict(rs.annotations)
            rs.annotations = new_rs_annotations(d, rs.annotations, revision, exists=True, spec=self.spec)
            if rs.annotations != before:
                old_rev = before.get(REVISION)
                if old_rev and _int(old_rev) != _int(rs.annotations.get(REVISION)):
                    self.note_rs(rs, f"re-used for the deployment's template again: revision {old_rev} → "
                                     f"{rs.annotations[REVISION]}")
                else:
                    self.note_rs(rs, "copied the deployment's annotations")
            if (rs.spec or {}).get("minReadySeconds", 0) != self.spec.get("minReadySeconds", 0):
                rs.spec = {**rs.spec, "minReadySeconds": self.spec.get("minReadySeconds", 0)}
                rs.generation += 1
                self.note_rs(rs, "minReadySeconds follows the deployment")
            self.set_deployment_revision(rs.annotations.get(REVISION, ""))
            if self.spec.get("progressDeadlineSeconds") is not None and get_condition(self.base, "Progressing") is None:
                set_condition(self.base, condition("Progressing", "True", "FoundNewReplicaSet",
                                                   f'Found new replica set "{rs.name}"', self.now))
            return True
        if not create:
            return True
        collisions = int(self.base.get("collisionCount") or 0)
        rs = build_replicaset(d, collisions, revision, self.spec)
        if ReplicaSet.objects.filter(playground=self.pg, namespace=d.namespace, name=rs.name).exists():
            # Another ReplicaSet holds this name with a different template: the next hash comes from a new
            # collisionCount, as the real controller does.
            self.base["collisionCount"] = collisions + 1
            self.notes.append(f"hash collision on ReplicaSet name {rs.name}, collisionCount is now {collisions + 1}")
            self.write_status(rollout=False, force=True)
            return False
        self.created = self.new = rs
        self.set_deployment_revision(str(revision))
        if self.spec.get("progressDeadlineSeconds") is not None:
            set_condition(self.base, condition("Progressing", "True", "NewReplicaSetCreated",
                                               f'Created new replica set "{rs.name}"', self.now))
        return True

    def set_deployment_revision(self, revision: str) -> None:
        if revision and self.d.annotations.get(REVISION) != revision:
            self.d.annotations = {**self.d.annotations, REVISION: revision}
            self.notes.append(f"revision {revision}")

    def apply(self, plan: Plan, why: str) -> bool:
        """Set the planned sizes (and desired/max annotations); returns whether any size changed."""
        want = replicas_of(self.spec)
        by_name = {rs.name: rs for rs in self.rss}
        if self.created is not None:
            by_name[self.created.name] = self.created
        scaled = False
        for name, size in plan.scale.items():
            rs = by_name[name]
            old = int((rs.spec or {}).get("replicas", 1) or 0) if rs is not self.created else 0
            ann = {**rs.annotations, DESIRED: str(want), MAX_REPLICAS: str(want + max_surge(self.spec))}
            if rs is self.created:
                rs.spec["replicas"] = size
                rs.annotations = ann
                if size > 0:
                    self.event(f"Scaled up replica set {rs.name} from 0 to {size}")
                continue
            if size == old and ann == rs.annotations:
                continue
            rs.annotations = ann
            if size != old:
                rs.spec = {**rs.spec, "replicas": size}
                rs.generation += 1  # the apiserver bumps generation on every spec change
                scaled = True
                verb = "up" if size > old else "down"
                self.note_rs(rs, f"scaled {verb} from {old} to {size} ({why})")
                self.event(f"Scaled {verb} replica set {rs.name} from {old} to {size}")
            else:
                self.note_rs(rs, f"desired replicas now {want}")
        return scaled or self.created is not None

    def cleanup(self) -> None:
        limit = self.spec.get("revisionHistoryLimit")
        doomed = set(plan_cleanup(None if limit is None else int(limit), self.view_olds()))
        for rs in self.olds:
            if rs.name in doomed and rs.name not in self.changed:
                self.deleted.append(rs)

    def write_status(self, rollout: bool, force: bool = False) -> None:
        rss = [view(rs, exists=rs is not self.created) for rs in [*self.olds, *([self.new] if self.new else [])]]
        new = view(self.new) if self.new is not None else None
        d = self.d
        if rollout:
            status = rollout_status(self.spec, d.name, d.generation, self.base, rss, new, self.now)
        else:
            status = compute_status(self.spec, d.generation, self.base, rss, new, self.now)
        if status != (d.status or {}) or force:
            d.status = status
            ready, want = status.get("readyReplicas", 0), replicas_of(self.spec)
            self.notes.append(f"{ready}/{want} ready, {status.get('updatedReplicas', 0)} up-to-date, "
                              f"{status.get('availableReplicas', 0)} available")

    # -- recording ------------------------------------------------------------------------------------------

    def note_rs(self, rs: ReplicaSet, what: str) -> None:
        self.changed.setdefault(rs.name, []).append(what)

    def event(self, message: str) -> None:
        self.events.append(events.new(self.d, "ScalingReplicaSet", message, ACTOR))

    def commit(self) -> int:
        b = Batch(self.pg, ACTOR)
        d = self.d
        if self.created is not None:
            rs = self.created
            b.create(rs, f"{ACTOR} created ReplicaSet {rs.name} for the new pod template of deployment {d.name} "
                         f"(revision {rs.annotations.get(REVISION)}, {_pods(rs.spec['replicas'])})",
                     {"deployment": d.name, "revision": rs.annotations.get(REVISION),
                      "replicas": rs.spec["replicas"]})
        for rs in self.rss:
            if rs.name in self.changed and rs is not self.created:
                b.update(rs, f"{ACTOR} updated ReplicaSet {rs.name} of deployment {d.name}: "
                             + "; ".join(self.changed[rs.name]),
                         {"deployment": d.name, "replicas": rs.spec.get("replicas")})
        limit = self.spec.get("revisionHistoryLimit")
        for rs in self.deleted:
            b.delete(rs, f"{ACTOR} deleted old ReplicaSet {rs.name} (revision {rs.annotations.get(REVISION)}): "
                         f"deployment {d.name} keeps {limit} old revisions (revisionHistoryLimit)",
                     {"deployment": d.name, "revisionHistoryLimit": limit})
        for ev in self.events:
            b.create(ev, f"{ACTOR} recorded ScalingReplicaSet on deployment {d.name}: {ev.spec['message']}")
        if self.notes:
            b.update(d, f"{ACTOR} updated deployment {d.name}: " + "; ".join(self.notes),
                     {"status": d.status, "revision": d.annotations.get(REVISION)})
        b.commit()
        return len(b)


def _pods(n: int) -> str:
    return f"{n} replica" if n == 1 else f"{n} replicas"


def new_rs_annotations(d: Deployment, current: dict, revision: int, exists: bool, spec: dict) -> dict:
    """SetNewReplicaSetAnnotations: copy the Deployment's annotations, raise the revision (keeping the old one in
    revision-history on a rollback) and, for a ReplicaSet being created, the desired/max replicas."""
    ann = dict(current or {})
    for k, v in (d.annotations or {}).items():
        if k not in SKIP_ANNOTATIONS:
            ann[k] = v
    old = _int(ann.get(REVISION))
    if old is None or old < revision:
        ann[REVISION] = str(revision)
        if old is not None:
            history = [h for h in (ann.get(REVISION_HISTORY) or "").split(",") if h]
            ann[REVISION_HISTORY] = ",".join([*history, str(old)])
    if not exists:
        want = replicas_of(spec)
        ann[DESIRED] = str(want)
        ann[MAX_REPLICAS] = str(want + max_surge(spec))
    return ann


def build_replicaset(d: Deployment, collision_count: int, revision: int, spec: dict) -> ReplicaSet:
    """The new ReplicaSet for the Deployment's current template (replicas set by the plan)."""
    template = copy.deepcopy(spec.get("template") or {})
    h = names.pod_template_hash(template, collision_count)
    meta = template.setdefault("metadata", {})
    meta["labels"] = {**(meta.get("labels") or {}), HASH_LABEL: h}
    selector = copy.deepcopy(spec.get("selector") or {})
    selector["matchLabels"] = {**(selector.get("matchLabels") or {}), HASH_LABEL: h}
    rs_spec = {"replicas": 0, "selector": selector, "template": template}
    if spec.get("minReadySeconds"):
        rs_spec["minReadySeconds"] = spec["minReadySeconds"]
    return ReplicaSet(
        namespace=d.namespace,
        name=f"{d.name}-{h}",
        labels=dict(meta["labels"]),
        annotations=new_rs_annotations(d, {}, revision, exists=False, spec=spec),
        owner_references=[d.controller_ref()],
        spec=rs_spec,
        creation_timestamp=clock.now(),
    )
