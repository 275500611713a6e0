"""Cluster objects as Django models.

Every object keeps the Kubernetes JSON shape: metadata columns plus `spec`/`status` JSON (kinds whose body is not
spec/status — Event, Endpoints, ConfigMap — keep their top-level fields in `spec`, see `BODY_AT_TOP`). `to_k8s()`
renders the object as the API serves it. A `Playground` is one independent cluster; its `revision` is the etcd
revision: every write takes the next numbers and appends to the `Change` feed in the same transaction.
"""

from __future__ import annotations

import base64
import os
import secrets
from types import SimpleNamespace

from django.db import models
from django.db.models.base import ModelState

from . import clock
from .jsoncolumn import JSONColumn
from .rowreader import ObjectIterable
from .rowreader import values as rowreader_values


def new_token() -> str:
    return secrets.token_urlsafe(32)


def new_link() -> str:
    """An unguessable link part (120 random bits) that is also a valid slug and DNS label: lowercase base32."""
    return base64.b32encode(secrets.token_bytes(15)).decode().lower()


_uids: list[str] = []


def new_uid() -> str:
    """A random (version 4) UUID as text, as `str(uuid.uuid4())` makes it, from random bytes read 256 UUIDs at a
    time: a burst of scaling makes thousands of objects, and one system call plus a `UUID` object per uid
    cost more than the rest of making an Event."""
    if not _uids:
        raw = bytearray(os.urandom(16 * 256))
        raw[6::16] = bytes((b & 0x0F) | 0x40 for b in raw[6::16])  # version 4
        raw[8::16] = bytes((b & 0x3F) | 0x80 for b in raw[8::16])  # RFC 4122 variant
        hexed = raw.hex()
        _uids.extend(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
                     for h in (hexed[i : i + 32] for i in range(0, len(hexed), 32)))
    return _uids.pop()


_DEFAULTS: dict[type, tuple[dict, list]] = {}


def new_row(model: type[models.Model], **values) -> models.Model:
    """A new, unsaved instance — every column at its default, then `values` (by attribute name, `playground_id`
    for the foreign key) — without `Model.__init__`, which resolves each field through several layers: a burst
    builds thousands of Events and log lines that are only ever inserted. No signals are sent on construction
    (nothing here listens for them)."""
    if model not in _DEFAULTS:
        # Constant defaults ("", 0, None, False) are copied; callable ones (dict, a uid, the time) are called
        # per row, and not at all when `values` replaces them.
        fixed, made = {}, []
        for f in model._meta.concrete_fields:
            if f.has_default() and callable(f.default):
                made.append((f.attname, f.default))
            else:
                value = f.get_default()
                if isinstance(value, (dict, list, set)):
                    made.append((f.attname, f._get_default))
                else:
                    fixed[f.attname] = value
        _DEFAULTS[model] = fixed, made
    fixed, made = _DEFAULTS[model]
    obj = model.__new__(model)
    obj._state = ModelState()
    row = obj.__dict__
    row.update(fixed)
    for name, default in made:
        if name not in values:
            row[name] = default()
    row.update(values)
    return obj


class Playground(models.Model):
    TEMPOS = [("instant", "instant"), ("realtime", "realtime"), ("classroom", "classroom")]

    slug = models.SlugField(max_length=63, unique=True)
    tempo = models.CharField(max_length=16, choices=TEMPOS, default="realtime")
    paused = models.BooleanField(default=False)
    # A single step in progress while paused (cluster_core/pacing.py): n > 0 writes the loops may still make, -1 the
    # step's write is made; 0, no step (the loops of a paused playground run only in a step or the boot's settle).
    steps = models.IntegerField(default=0)
    # At the classroom tempo, no loop writes before this: the hop of the write before is still being shown.
    write_after = models.DateTimeField(null=True, blank=True)
    revision = models.BigIntegerField(default=0)
    compacted_revision = models.BigIntegerField(default=0)
    token = models.CharField(max_length=64, default=new_token)
    max_pods = models.IntegerField(default=5000)
    max_nodes = models.IntegerField(default=100)
    max_objects = models.IntegerField(default=10000)
    # API requests a minute (`api.ratelimit`); kubectl's busiest commands send a few dozen.
    max_requests_per_minute = models.IntegerField(default=3000)
    created_at = models.DateTimeField(default=clock.now)
    # The read-only link (/p/<read_token>/): watch the playground, change nothing, no kubeconfig.
    read_token = models.CharField(max_length=64, default=new_link, db_index=True)
    # Last time someone used the playground (page, action, API); idle ones are removed (`playgrounds.remove_idle`).
    last_active_at = models.DateTimeField(default=clock.now, db_index=True)

    # Activity is recorded at most this often: a busy playground is not written to on every request.
    TOUCH_SECONDS = 60

    def __str__(self) -> str:
        return self.slug

    def touch(self, now=None) -> None:
        """Someone used the playground (its page, an action, the API): it is not idle."""
        now = now or clock.now()
        if self.last_active_at and (now - self.last_active_at).total_seconds() < self.TOUCH_SECONDS:
            return
        Playground.objects.filter(pk=self.pk).update(last_active_at=now)
        self.last_active_at = now


class KubeQuerySet(models.QuerySet):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Whole objects are read through `rowreader` (the same SQL, fewer layers per value).
        self._iterable_class = ObjectIterable

    def live(self):
        return self.filter(deletion_timestamp__isnull=True)

    def views(self, *fields: str) -> list[SimpleNamespace]:
        """Each row's named columns (and `pk`) as a plain attribute bag, for loops that only read what they
        count or list: no model instance is built and the JSON columns they do not look at are not decoded."""
        return [SimpleNamespace(**row) for row in rowreader_values(self.values("pk", *fields))]


class KubeObject(models.Model):
    KIND = ""
    API_VERSION = "v1"
    GROUP = ""
    PLURAL = ""
    NAMESPACED = True
    BODY_AT_TOP = False
    # What DELETE answers once the object is gone: the object itself (upstream's `ReturnDeletedObject`) or a
    # `Status`.
    RETURNS_DELETED = False
    # Columns that are not part of the API object and that object writes leave alone.
    LOCAL_FIELDS: tuple[str, ...] = ()
    # Whether the apiserver shows metadata.generation from the first version on (kinds with a spec it counts).
    TRACKS_GENERATION = False

    # No index of its own: every kind's unique (playground, [namespace,] name) constraint starts with it.
    playground = models.ForeignKey(Playground, on_delete=models.CASCADE, db_index=False)
    namespace = models.CharField(max_length=63, blank=True, default="")
    name = models.CharField(max_length=253)
    generate_name = models.CharField(max_length=253, blank=True, default="")
    uid = models.CharField(max_length=36, default=new_uid, db_index=True)
    resource_version = models.BigIntegerField(default=0)
    generation = models.BigIntegerField(default=1)
    labels = JSONColumn(default=dict)
    annotations = JSONColumn(default=dict)
    owner_references = JSONColumn(default=list)
    finalizers = JSONColumn(default=list)
    # The uid of the owner with controller: true, kept as a column for fast "my children" queries.
    controller_uid = models.CharField(max_length=36, blank=True, default="", db_index=True)
    creation_timestamp = models.DateTimeField(default=clock.now)
    deletion_timestamp = models.DateTimeField(null=True, blank=True)
    deletion_grace_period_seconds = models.IntegerField(null=True, blank=True)
    spec = JSONColumn(default=dict)
    status = JSONColumn(default=dict)

    objects = KubeQuerySet.as_manager()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.KIND}/{self.namespace}/{self.name}"

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    def sync_columns(self) -> None:
        """Derive indexed columns from the JSON body; called by the write path before every save."""
        ctrl = [r for r in self.owner_references or [] if r.get("controller")]
        self.controller_uid = ctrl[0]["uid"] if ctrl else ""

    def metadata(self) -> dict:
        m = {"name": self.name}
        if self.generate_name:
            m["generateName"] = self.generate_name
        if self.NAMESPACED:
            m["namespace"] = self.namespace
        m["uid"] = self.uid
        m["resourceVersion"] = str(self.resource_version)
        if self.TRACKS_GENERATION or self.KIND in ("Deployment", "ReplicaSet", "DaemonSet", "Service", "Pod", "Node",
                                                   "Namespace") or self.generation > 1:
            m["generation"] = self.generation
        m["creationTimestamp"] = clock.rfc3339(self.creation_timestamp)
        if self.deletion_timestamp:
            m["deletionTimestamp"] = clock.rfc3339(self.deletion_timestamp)
            if self.deletion_grace_period_seconds is not None:
                m["deletionGracePeriodSeconds"] = self.deletion_grace_period_seconds
        if self.labels:
            m["labels"] = dict(self.labels)
        if self.annotations:
            m["annotations"] = dict(self.annotations)
        if self.owner_references:
            m["ownerReferences"] = list(self.owner_references)
        if self.finalizers:
            m["finalizers"] = list(self.finalizers)
        return m

    def to_k8s(self) -> dict:
        d = {"kind": self.KIND, "apiVersion": self.API_VERSION, "metadata": self.metadata()}
        if self.BODY_AT_TOP:
            d.update(self.spec or {})
        else:
            d["spec"] = self.spec or {}
            d["status"] = self.status or {}
        return d

    def controller_ref(self) -> dict:
        return {
            "apiVersion": self.API_VERSION,
            "kind": self.KIND,
            "name": self.name,
            "uid": self.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }


class Namespace(KubeObject):
    KIND, PLURAL, NAMESPACED = "Namespace", "namespaces", False
    RETURNS_DELETED = True

    class Meta:
        constraints = [models.UniqueConstraint(fields=["playground", "name"], name="uniq_namespace")]


class Node(KubeObject):
    KIND, PLURAL, NAMESPACED = "Node", "nodes", False
    # The simulated machine's power and the node lifecycle controller's next due-time: not part of the API
    # object, written only by their own conditional UPDATEs (never by an object write).
    LOCAL_FIELDS = ("powered_off", "lifecycle_due")

    powered_off = models.BooleanField(default=False)
    lifecycle_due = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["playground", "name"], name="uniq_node")]


class Deployment(KubeObject):
    KIND, API_VERSION, GROUP, PLURAL = "Deployment", "apps/v1", "apps", "deployments"

    class Meta:
        constraints = [models.UniqueConstraint(fields=["playground", "namespace", "name"], name="uniq_deployment")]


class ReplicaSet(KubeObject):
    KIND, API_VERSION, GROUP, PLURAL = "ReplicaSet", "apps/v1", "apps", "replicasets"

    class Meta:
        constraints = [models.UniqueConstraint(fields=["playground", "namespace", "name"], name="uniq_replicaset")]


class DaemonSet(KubeObject):
    KIND, API_VERSION, GROUP, PLURAL = "DaemonSet", "apps/v1", "apps", "daemonsets"

    class Meta:
        constraints = [models.UniqueConstraint(fields=["playground", "namespace", "name"], name="uniq_daemonset")]


class PodQuerySet(KubeQuerySet):
    def pending(self):
        """Pods the scheduler still has to place."""
        return self.filter(node_name="", deletion_timestamp__isnull=True)

class Pod(KubeObject):
    KIND, PLURAL = "Pod", "pods"
    RETURNS_DELETED = True

    node_name = models.CharField(max_length=253, blank=True, default="")  # indexed with the playground
    phase = models.CharField(max_length=32, blank=True, default="Pending")
    # The kubelet's next stage is due at this time (stored due-time, never a sleep).
    requeue_at = models.DateTimeField(null=True, blank=True, db_index=True)

    objects = PodQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["playground", "namespace", "name"], name="uniq_pod")]
        indexes = [models.Index(fields=["playground", "node_name"])]

    def sync_columns(self) -> None:
        super().sync_columns()
        self.node_name = (self.spec or {}).get("nodeName", "") or ""
        self.phase = (self.status or {}).get("phase", "Pending") or "Pending"


class Service(KubeObject):
    KIND, PLURAL = "Service", "services"
    RETURNS_DELETED = True
    LOCAL_FIELDS = ("rr_next",)

    # kube-proxy's round-robin position; not part of the API object.
    rr_next = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["playground", "namespace", "name"], name="uniq_service")]


class Endpoints(KubeObject):
    KIND, PLURAL, BODY_AT_TOP = "Endpoints", "endpoints", True

    class Meta:
        constraints = [models.UniqueConstraint(fields=["playground", "namespace", "name"], name="uniq_endpoints")]


class ConfigMap(KubeObject):
    KIND, PLURAL, BODY_AT_TOP = "ConfigMap", "configmaps", True

    class Meta:
        constraints = [models.UniqueConstraint(fields=["playground", "namespace", "name"], name="uniq_configmap")]


class Event(KubeObject):
    KIND, PLURAL, BODY_AT_TOP = "Event", "events", True

    involved_uid = models.CharField(max_length=36, blank=True, default="", db_index=True)
    # An Event has no controlling owner: the index every other kind keeps for "my children" would only ever
    # hold empty strings. Nothing looks an Event up by its uid either (it is found by name, or by the object it
    # is about): no index for that.
    controller_uid = models.CharField(max_length=36, blank=True, default="")
    uid = models.CharField(max_length=36, default=new_uid)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["playground", "namespace", "name"], name="uniq_event")]

    def sync_columns(self) -> None:
        super().sync_columns()
        self.involved_uid = ((self.spec or {}).get("involvedObject") or {}).get("uid", "")


class StoredQuerySet(KubeQuerySet):
    def due(self, now):
        return self.filter(requeue_at__lte=now)


class StoredManager(models.Manager.from_queryset(StoredQuerySet)):
    """Each kind kept in the shared table sees only its own rows."""

    def get_queryset(self):
        qs = super().get_queryset()
        return qs.filter(kind=self.model.KIND) if self.model.KIND else qs


class StoredObject(KubeObject):
    """One table for every kind that needs nothing of its own beyond the Kubernetes JSON shape: a new kind of
    this sort is a proxy class below (no table, no columns of its own), written through the same write path and
    change feed as every other kind."""

    kind = models.CharField(max_length=63)
    # A controller's next look at the object is due at this time (a CronJob's next schedule, a Job's back-off).
    requeue_at = models.DateTimeField(null=True, blank=True, db_index=True)

    objects = StoredManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["playground", "kind", "namespace", "name"],
                                               name="uniq_stored_object")]

    def sync_columns(self) -> None:
        super().sync_columns()
        self.kind = self.KIND


class ServiceAccount(StoredObject):
    KIND, PLURAL, BODY_AT_TOP = "ServiceAccount", "serviceaccounts", True
    RETURNS_DELETED = True

    class Meta:
        proxy = True


class Secret(StoredObject):
    KIND, PLURAL, BODY_AT_TOP = "Secret", "secrets", True

    class Meta:
        proxy = True


class ReplicationController(StoredObject):
    KIND, PLURAL, TRACKS_GENERATION = "ReplicationController", "replicationcontrollers", True

    class Meta:
        proxy = True


class StatefulSet(StoredObject):
    KIND, API_VERSION, GROUP, PLURAL = "StatefulSet", "apps/v1", "apps", "statefulsets"
    TRACKS_GENERATION = True

    class Meta:
        proxy = True


class Job(StoredObject):
    KIND, API_VERSION, GROUP, PLURAL = "Job", "batch/v1", "batch", "jobs"
    TRACKS_GENERATION = True

    class Meta:
        proxy = True


class CronJob(StoredObject):
    KIND, API_VERSION, GROUP, PLURAL = "CronJob", "batch/v1", "batch", "cronjobs"
    TRACKS_GENERATION = True

    class Meta:
        proxy = True


RBAC = "rbac.authorization.k8s.io"


class Role(StoredObject):
    KIND, API_VERSION, GROUP, PLURAL, BODY_AT_TOP = "Role", f"{RBAC}/v1", RBAC, "roles", True

    class Meta:
        proxy = True


class RoleBinding(StoredObject):
    KIND, API_VERSION, GROUP, PLURAL, BODY_AT_TOP = "RoleBinding", f"{RBAC}/v1", RBAC, "rolebindings", True

    class Meta:
        proxy = True


class ClusterRole(StoredObject):
    KIND, API_VERSION, GROUP, PLURAL, BODY_AT_TOP = "ClusterRole", f"{RBAC}/v1", RBAC, "clusterroles", True
    NAMESPACED = False

    class Meta:
        proxy = True


class ClusterRoleBinding(StoredObject):
    KIND, API_VERSION, GROUP, PLURAL = "ClusterRoleBinding", f"{RBAC}/v1", RBAC, "clusterrolebindings"
    BODY_AT_TOP, NAMESPACED = True, False

    class Meta:
        proxy = True


STORED_KINDS = (ServiceAccount, Secret, ReplicationController, StatefulSet, Job, CronJob, Role, RoleBinding,
                ClusterRole, ClusterRoleBinding)

KINDS: dict[str, type[KubeObject]] = {
    m.KIND: m
    for m in (Namespace, Node, Deployment, ReplicaSet, DaemonSet, Pod, Service, Endpoints, ConfigMap, Event,
              *STORED_KINDS)
}


class Change(models.Model):
    """One entry of the change feed: what happened to which object, who did it and why."""

    # Indexed by the unique (playground, revision) constraint.
    playground = models.ForeignKey(Playground, on_delete=models.CASCADE, db_index=False)
    revision = models.BigIntegerField()
    type = models.CharField(max_length=8)  # ADDED, MODIFIED, DELETED
    kind = models.CharField(max_length=32)
    namespace = models.CharField(max_length=63, blank=True, default="")
    name = models.CharField(max_length=253)
    uid = models.CharField(max_length=36, blank=True, default="")
    object = JSONColumn()
    actor = models.CharField(max_length=128)
    message = models.TextField(blank=True, default="")
    detail = JSONColumn(default=dict, blank=True)
    committed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["playground", "revision"], name="uniq_change_revision")]
        ordering = ["revision"]

    def __str__(self) -> str:
        return f"{self.revision} {self.type} {self.kind} {self.namespace}/{self.name} by {self.actor}"

class LogLine(models.Model):
    """A line a simulated container wrote (start-up lines, access logs of requests kube-proxy routed to it)."""

    playground = models.ForeignKey(Playground, on_delete=models.CASCADE)
    pod_uid = models.CharField(max_length=36, db_index=True)
    container = models.CharField(max_length=63)
    restart = models.IntegerField(default=0)
    at = models.DateTimeField()
    text = models.TextField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.text


class LessonProgress(models.Model):
    """How far one playground is in one lesson: which steps the cluster has reached (and at which revision), what
    the lesson checker has noticed in the change feed so far (`facts`), the learner's predictions and how the
    cluster answered them. `cursor` is the last feed revision the checker read; `log_cursor` the last log line."""

    playground = models.ForeignKey(Playground, on_delete=models.CASCADE, related_name="lessons")
    lesson = models.CharField(max_length=63)
    started_at = models.DateTimeField(default=clock.now)  # when the lesson was opened last
    cursor = models.BigIntegerField(default=0)
    log_cursor = models.BigIntegerField(default=0)
    done = models.JSONField(default=dict, blank=True)  # step id -> revision at which the cluster got there
    facts = models.JSONField(default=dict, blank=True)
    hints = models.JSONField(default=dict, blank=True)  # step id -> indexes of the hints the state calls for
    predictions = models.JSONField(default=dict, blank=True)  # question id -> {answer, revision, actual, ...}

    class Meta:
        constraints = [models.UniqueConstraint(fields=["playground", "lesson"], name="uniq_lesson_progress")]

    def __str__(self) -> str:
        return f"{self.playground_id}/{self.lesson}"
