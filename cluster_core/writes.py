"""The one write path.

Every change to the cluster — from kubectl, the page, or a reconcile loop — goes through a `Batch`: in one
transaction it takes the next revisions of the playground (our etcd revision), writes the objects with optimistic
concurrency (an update or delete whose resourceVersion is stale matches no row and aborts the batch with
`Conflict`), appends one `Change` per write naming the component and the reason, and after commit nudges the
loops that must look again. `do_create` / `do_update` / `do_delete` are the API-level operations built on it.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import operator
from dataclasses import dataclass, field

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from . import clock, defaults, jsontext, nudge, pacing, validation
from .errors import AlreadyExists, Conflict, Forbidden, Invalid, NotFound, Paced, cause
from .models import KINDS, Change, Event, KubeObject, Namespace, Playground

_FIXED = {"id", "playground", "namespace", "name", "uid", "creation_timestamp", "generate_name"}
_UPDATE_FIELDS: dict[type, list[str]] = {}


def update_fields(model: type[KubeObject]) -> list[str]:
    if model not in _UPDATE_FIELDS:
        _UPDATE_FIELDS[model] = [
            f.attname for f in model._meta.concrete_fields if f.name not in _FIXED and f.name not in model.LOCAL_FIELDS
        ]
    return _UPDATE_FIELDS[model]


@dataclass
class _Op:
    kind: str  # create, update, delete
    obj: KubeObject
    message: str
    detail: dict
    expected_rv: int = 0
    # The component that made this write; "" means the batch's actor (a group commit carries several).
    actor: str = ""
    # Only a node's condition heartbeats moved: nothing that decides where pods go or whether a node is ready.
    heartbeat: bool = False


@dataclass
class Batch:
    """Writes that commit together. Use `create/update/delete`, then `commit()`."""

    playground: Playground
    actor: str
    ops: list[_Op] = field(default_factory=list)
    # Rows that are not cluster objects (container logs) written in the same transaction, without feed rows.
    rows: list[tuple[type, list]] = field(default_factory=list)

    def create(self, obj: KubeObject, message: str = "", detail: dict | None = None) -> KubeObject:
        # What assigning `obj.playground` does, without the descriptor's checks: a burst creates thousands.
        obj.playground_id = self.playground.pk
        obj._state.fields_cache["playground"] = self.playground
        self.ops.append(_Op("create", obj, message, detail or {}))
        return obj

    def update(self, obj: KubeObject, message: str = "", detail: dict | None = None,
               heartbeat: bool = False) -> KubeObject:
        """`obj.resource_version` must still be the version it was read at. `heartbeat`: the update only refreshes
        a node's condition heartbeats (the loops that place pods or watch readiness need not look again)."""
        self.ops.append(_Op("update", obj, message, detail or {}, obj.resource_version, heartbeat=heartbeat))
        return obj

    def delete(self, obj: KubeObject, message: str = "", detail: dict | None = None) -> KubeObject:
        self.ops.append(_Op("delete", obj, message, detail or {}, obj.resource_version))
        return obj

    def add_rows(self, model: type, objs: list) -> None:
        """Plain rows (no primary keys read back) to insert when the batch commits."""
        if objs:
            self.rows.append((model, objs))

    def __len__(self) -> int:
        return len(self.ops)

    def commit(self) -> int:
        """Write everything in one transaction; returns the number of writes (feed rows) made."""
        if not self.ops:
            for model, objs in self.rows:
                insert_rows(model, objs)
            return 0
        pg = self.playground
        held_back = False
        with transaction.atomic():
            if pacing.gated(pg.tempo, pg.paused):
                held_back = self._pace()
            n = len(self.ops)
            # Taking the revisions first also takes the playground's row lock: writes of one playground commit
            # in revision order, so a watcher never sees revision N+1 before N.
            Playground.objects.filter(pk=pg.pk).update(revision=F("revision") + n)
            top = Playground.objects.values_list("revision", flat=True).get(pk=pg.pk)
            rv = top - n + 1
            creates: dict[type, list[tuple[KubeObject, dict]]] = {}
            updates: dict[type, list[tuple[KubeObject, int, dict]]] = {}
            # The feed rows as the driver takes them (FEED_COLUMNS order; the commit time is set last), and what
            # each write touched, for the nudges.
            feed: list[list] = []
            touched: list[dict] = []
            for op in self.ops:
                obj = op.obj
                obj.resource_version = rv
                obj.sync_columns()
                model = type(obj)
                # Each JSON column is encoded once: the same text goes into the object's row and, inside the
                # object as the API serves it, into the feed row.
                encoded = _encode_columns(obj)
                if op.kind == "create":
                    creates.setdefault(model, []).append((obj, encoded))
                    typ = "ADDED"
                elif op.kind == "update":
                    updates.setdefault(model, []).append((obj, op.expected_rv, encoded))
                    typ = "MODIFIED"
                else:
                    deleted, _ = model.objects.filter(pk=obj.pk, resource_version=op.expected_rv).delete()
                    if not deleted:
                        raise Conflict.of(model.PLURAL, model.GROUP, obj.name)
                    typ = "DELETED"
                # A plain row, not a model instance: a burst writes thousands of these.
                feed.append([pg.pk, rv, typ, model.KIND, obj.namespace, obj.name, obj.uid, object_json(obj, encoded),
                             op.actor or self.actor, op.message, encode_json(op.detail), None])
                touched.append(_summary(typ, obj, op.heartbeat))
                rv += 1
            for model, items in updates.items():
                _conditional_update(model, items)
            try:
                for model, pairs in creates.items():
                    with transaction.atomic():
                        # Nothing reads an Event's pk back: no RETURNING for those, as for the feed rows.
                        insert_rows(model, [o for o, _ in pairs], [e for _, e in pairs], returning=model is not Event)
            except IntegrityError as exc:
                first = next(iter(creates.values()))[0][0]
                raise AlreadyExists.of(type(first).PLURAL, type(first).GROUP, first.name) from exc
            # The feed row's commit time is taken last, just before the transaction commits: latency measured
            # from it (the page, the benchmarks) does not include this batch's own writing.
            committed = connection.ops.adapt_datetimefield_value(timezone.now())
            for row in feed:
                row[-1] = committed
            _insert_feed(feed)
            for model, objs in self.rows:
                insert_rows(model, objs)
            transaction.on_commit(lambda: nudge.send(pg.pk, touched, top))
        nudge.note(touched)
        pg.revision = top
        if held_back:
            raise Paced(n)
        return n

    def _pace(self) -> bool:
        """The classroom tempo's gate and the paused playground's step budget (cluster_core/pacing.py), read under
        the playground's row lock. Trims the batch to one step when only one may be written; raises `Paced` when
        none may. Returns whether ops were left for the loop's next look."""
        pg = self.playground
        actor_of = lambda op: op.actor or self.actor  # noqa: E731
        steps = sum(1 for op in self.ops if pacing.counts(op.obj.KIND, op.kind, actor_of(op)))
        if not steps:
            return False
        row = Playground.objects.select_for_update().filter(pk=pg.pk).values(
            "tempo", "paused", "steps", "write_after").get()
        now = clock.now()
        loop = pacing.is_loop(self.actor) or all(pacing.is_loop(actor_of(op)) for op in self.ops)
        if not loop:
            # A client is never held back; the loops wait for its writes to be shown.
            if row["tempo"] == "classroom" and not row["paused"]:
                Playground.objects.filter(pk=pg.pk).update(
                    write_after=pacing.next_gate(now, row["write_after"], steps))
            return False
        if row["paused"] and row["steps"]:
            # A single step is being made: its one write, then nothing (the budget spent is -1; 0 means no step
            # in progress — a paused playground's loops are run only by a step or by the boot's own settle).
            if row["steps"] < 0:
                raise Paced(0)
            Playground.objects.filter(pk=pg.pk).update(steps=-1 if row["steps"] == 1 else F("steps") - 1)
        elif row["tempo"] == "classroom" and not row["paused"]:
            if row["write_after"] and row["write_after"] > now:
                raise Paced(0)
            Playground.objects.filter(pk=pg.pk).update(write_after=pacing.next_gate(now, None, 1))
        else:
            return False
        kept = pacing.first_step(self.ops, actor_of)
        left = len(kept) < len(self.ops)
        self.ops = kept
        return left


FEED_COLUMNS = ("playground_id", "revision", "type", "kind", "namespace", "name", "uid", "object", "actor", "message",
                "detail", "committed_at")


def _insert_feed(rows: list[list]) -> None:
    head, one = _insert_sql(Change, [Change._meta.get_field(name) for name in FEED_COLUMNS])
    with connection.cursor() as cur:
        cur.executemany(head + one, rows)


def commit_together(batches: list[Batch]) -> int:
    """Group commit, as etcd's backend batches the proposals that arrive within one interval: several batches of
    one playground written in one transaction, each write keeping its own actor, message and detail, in the order
    the batches are given — the same rows and feed entries as committing them one after the other.

    A conflict anywhere aborts the whole group and nothing is written; the batches are left as they were built, so
    the caller can commit them one by one instead.
    """
    batches = [b for b in batches if b.ops or b.rows]
    if len(batches) == 1:
        return batches[0].commit()
    if not batches:
        return 0
    group = Batch(batches[0].playground, batches[0].actor)
    for b in batches:
        group.ops += [_Op(op.kind, op.obj, op.message, op.detail, op.expected_rv, op.actor or b.actor) for op in b.ops]
        group.rows += b.rows
    return group.commit()


_JSON_COLUMNS = ("labels", "annotations", "owner_references", "finalizers", "spec", "status")


class Encoded(str):
    """JSON text already encoded for a JSONField column: written as it is."""


_EMPTY_MAP, _EMPTY_LIST = Encoded("{}"), Encoded("[]")


def _encode_columns(obj: KubeObject) -> dict[str, Encoded]:
    """`encode_json` of each JSON column; the empty ones (most of a generated object's metadata) without a call."""
    row = obj.__dict__
    out = {}
    for name in _JSON_COLUMNS:
        value = row[name] if name in row else getattr(obj, name)
        if value:
            out[name] = Encoded(jsontext.encode(value))
        elif type(value) is dict:
            out[name] = _EMPTY_MAP
        elif type(value) is list:
            out[name] = _EMPTY_LIST
        else:
            out[name] = encode_json(value)
    return out


def encode_json(value) -> Encoded:
    """JSON text for a JSONField column (`jsontext.encode`), the empty maps and lists most metadata of generated
    objects has without an encoder. Non-finite floats, which JSON has no spelling for, never get here: request
    bodies that carry them are refused where they come in (`api.bodies`), as the Kubernetes apiserver does."""
    if type(value) is dict and not value:
        return _EMPTY_MAP
    if type(value) is list and not value:
        return _EMPTY_LIST
    return Encoded(jsontext.encode(value))


def object_json(obj: KubeObject, encoded: dict[str, str]) -> Encoded:
    """`json.dumps(obj.to_k8s())`, built from the already encoded spec and status (JSON text composes)."""
    body = obj.spec or {}
    if obj.BODY_AT_TOP and body.keys() & {"kind", "apiVersion", "metadata"}:
        return encode_json(obj.to_k8s())  # the body would replace a header field in place
    head = f'{_header(type(obj))}{encode_json(obj.metadata())}'
    spec = encoded["spec"] if obj.spec else "{}"
    if obj.BODY_AT_TOP:
        return Encoded(f"{head}, {spec[1:]}" if body else head + "}")
    status = encoded["status"] if obj.status else "{}"
    return Encoded(f'{head}, "spec": {spec}, "status": {status}}}')


@functools.cache
def _header(model: type[KubeObject]) -> str:
    return f'{{"kind": {json.dumps(model.KIND)}, "apiVersion": {json.dumps(model.API_VERSION)}, "metadata": '


def _db_value(field):
    """A fast converter from a model field's Python value to what the database driver takes (None: as it is)."""
    from django.db.models import DateTimeField, JSONField

    if isinstance(field, JSONField):
        if field.encoder is not None:
            return lambda v: connection.ops.adapt_json_value(v, field.encoder)
        return lambda v: v if type(v) is Encoded else encode_json(v)
    if isinstance(field, DateTimeField):
        adapt = connection.ops.adapt_datetimefield_value
        if connection.vendor == "sqlite" and str(connection.timezone) == "UTC":
            # What SQLite's adapter makes of an aware UTC datetime (`str()` of it made naive), without its checks:
            # every Event of a burst carries its own creation time.
            plain = adapt

            def adapt(v):
                return v.replace(tzinfo=None).isoformat(" ") if v is not None and v.tzinfo is dt.UTC else plain(v)

        last: list = [None, None]

        def convert(v):
            # A batch stamps many rows with the same datetime object (the feed rows' commit time): convert it once.
            if v is not last[0]:
                last[0], last[1] = v, adapt(v)
            return last[1]

        return convert
    return None


def _rows(fields: list, objs: list, encoded: list[dict] | None) -> list[list]:
    """Each object's column values in `fields` order, as the driver takes them: the plain values read in one C
    call, then only the columns that need it converted (datetimes) or taken from `encoded` (JSON columns given
    already encoded, per object)."""
    names = [f.attname for f in fields]
    converters = [(i, c) for i, c in enumerate(_db_value(f) for f in fields) if c is not None]
    pre = [(i, name) for i, name in enumerate(names) if name in _JSON_COLUMNS] if encoded is not None else []
    if pre:
        given = {i for i, _ in pre}
        converters = [(i, c) for i, c in converters if i not in given]
    get = operator.itemgetter(*names)
    rows = []
    for n, o in enumerate(objs):
        try:
            row = list(get(o.__dict__)) if len(names) > 1 else [get(o.__dict__)]
        except KeyError:  # a deferred column: let the model load it
            row = [getattr(o, name) for name in names]
        for i, c in converters:
            row[i] = c(row[i])
        if pre:
            enc = encoded[n]
            for i, name in pre:
                row[i] = enc[name]
        rows.append(row)
    return rows


def _insert_sql(model, fields: list) -> tuple[str, str]:
    """`INSERT INTO <table> (<fields' columns>) VALUES ` and one row's placeholders."""
    qn = connection.ops.quote_name
    head = f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) VALUES "
    return head, f"({', '.join(['%s'] * len(fields))})"


def insert_rows(model, objs: list, encoded: list[dict] | None = None, returning: bool = False) -> None:
    """INSERT many rows, each value prepared once by a plain converter (`encoded` gives JSON columns already
    encoded, per object). Without `returning` it is one executemany and nobody reads the primary keys back (feed
    rows, Events); with it, multi-row INSERTs … RETURNING id set each object's pk, as `bulk_create` does.

    `bulk_create` prepares every value through several layers; for thousands of rows a burst of scaling writes,
    that preparation costs more than the database itself.
    """
    if not objs:
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    head, one = _insert_sql(model, fields)
    qn = connection.ops.quote_name
    rows = _rows(fields, objs, encoded)
    with connection.cursor() as cur:
        if not returning:
            cur.executemany(head + one, rows)
            return
        size = max(1, connection.ops.bulk_batch_size(fields, objs))
        for start in range(0, len(rows), size):
            part = rows[start : start + size]
            cur.execute(f"{head}{', '.join([one] * len(part))} RETURNING {qn('id')}",
                        [v for row in part for v in row])
            for obj, (pk,) in zip(objs[start : start + size], cur.fetchall(), strict=True):
                obj.pk = pk
                obj._state.adding = False
                obj._state.db = connection.alias


def _conditional_update(model: type[KubeObject], items: list[tuple[KubeObject, int, dict]]) -> None:
    """UPDATE … WHERE id = ? AND resource_version = <the version it was read at>, for many rows in one call.

    A row whose version moved on matches nothing: the row count comes up short and the whole batch is a Conflict.
    """
    fields = [model._meta.get_field(name) for name in update_fields(model)]
    qn = connection.ops.quote_name
    sql = (
        f"UPDATE {qn(model._meta.db_table)} SET {', '.join(f'{qn(f.column)} = %s' for f in fields)} "
        f"WHERE {qn('id')} = %s AND {qn('resource_version')} = %s"
    )
    rows = _rows(fields, [obj for obj, _, _ in items], [enc for _, _, enc in items])
    params = [row + [obj.pk, expected] for row, (obj, expected, _) in zip(rows, items, strict=True)]
    with connection.cursor() as cur:
        cur.executemany(sql, params)
        matched = cur.rowcount
    if matched != len(items):
        stale = items[0][0]
        for obj, _expected, _ in items:
            if not model.objects.filter(pk=obj.pk, resource_version=obj.resource_version).exists():
                stale = obj
                break
        raise Conflict.of(model.PLURAL, model.GROUP, stale.name)


def _summary(typ: str, obj: KubeObject, heartbeat: bool = False) -> dict:
    owner = owner_kind = ""
    for ref in obj.owner_references or []:
        if ref.get("controller"):
            owner, owner_kind = ref.get("name", ""), ref.get("kind", "")
    return {
        "kind": obj.KIND,
        "namespace": obj.namespace,
        "name": obj.name,
        "type": typ,
        "owner": owner,
        "owner_kind": owner_kind,
        "node": getattr(obj, "node_name", ""),
        "deleting": bool(obj.deletion_timestamp),
        "heartbeat": heartbeat,
    }


# ---------------------------------------------------------------------------------------------------------------
# Objects <-> Kubernetes JSON


def model_for(kind: str) -> type[KubeObject]:
    return KINDS[kind]


def from_k8s(model: type[KubeObject], body: dict, namespace: str = "") -> KubeObject:
    meta = body.get("metadata") or {}
    obj = model(
        namespace=(meta.get("namespace") or namespace) if model.NAMESPACED else "",
        name=meta.get("name") or "",
        generate_name=meta.get("generateName") or "",
        labels=dict(meta.get("labels") or {}),
        annotations=dict(meta.get("annotations") or {}),
        owner_references=list(meta.get("ownerReferences") or []),
        finalizers=list(meta.get("finalizers") or []),
    )
    apply_body(obj, body)
    return obj


def apply_body(obj: KubeObject, body: dict) -> None:
    if obj.BODY_AT_TOP:
        obj.spec = {k: v for k, v in body.items() if k not in ("apiVersion", "kind", "metadata")}
    else:
        obj.spec = body.get("spec") or {}
        obj.status = body.get("status") or {}


def get_object(pg: Playground, kind: str, namespace: str, name: str) -> KubeObject:
    model = model_for(kind)
    try:
        return model.objects.get(playground=pg, namespace=namespace if model.NAMESPACED else "", name=name)
    except model.DoesNotExist:
        raise NotFound.of(model.PLURAL, model.GROUP, name) from None


# ---------------------------------------------------------------------------------------------------------------
# API-level operations


def do_create(pg: Playground, body: dict, actor: str, namespace: str = "", dry_run: bool = False,
              message: str = "") -> KubeObject:
    """Validate, default and store a new object (as the apiserver does for POST)."""
    from . import allocators, names

    kind = body.get("kind") or ""
    model = model_for(kind)
    obj = from_k8s(model, body, namespace)
    if model.NAMESPACED and not obj.namespace:
        obj.namespace = "default"
    if not obj.name and obj.generate_name:
        obj.name = obj.generate_name + names.random_suffix()
    obj.status = {} if not obj.BODY_AT_TOP else obj.status
    defaults.apply(obj)
    validation.check(pg, obj)
    if model.NAMESPACED:
        ns = Namespace.objects.filter(playground=pg, name=obj.namespace).first()
        if ns is None:
            raise NotFound.of("namespaces", "", obj.namespace)
        if ns.deletion_timestamp:
            from .errors import Forbidden

            raise Forbidden(
                f'{model.PLURAL} "{obj.name}" is forbidden: unable to create new content in namespace '
                f"{obj.namespace} because it is being terminated"
            )
    validation.check_caps(pg, obj)
    if model.objects.filter(playground=pg, namespace=obj.namespace, name=obj.name).exists():
        raise AlreadyExists.of(model.PLURAL, model.GROUP, obj.name)
    if kind == "Service":
        allocators.allocate_service(pg, obj, dry_run=dry_run)
    obj.creation_timestamp = clock.now()
    obj.generation = 1
    obj.playground = pg
    if dry_run:
        obj.resource_version = pg.revision
        obj.sync_columns()
        return obj
    b = Batch(pg, actor)
    b.create(obj, message or f"{actor} created {kind.lower()} {obj.key}")
    b.commit()
    return obj


def do_update(pg: Playground, body: dict, actor: str, namespace: str = "", subresource: str = "",
              dry_run: bool = False, message: str = "") -> KubeObject:
    """Replace an object (PUT). A stale metadata.resourceVersion is a Conflict; an absent one means "latest"."""
    kind = body.get("kind") or ""
    model = model_for(kind)
    meta = body.get("metadata") or {}
    current = get_object(pg, kind, namespace or meta.get("namespace") or "", meta.get("name") or "")
    wanted_rv = meta.get("resourceVersion")
    if wanted_rv not in (None, "") and str(wanted_rv) != str(current.resource_version):
        raise Conflict.of(model.PLURAL, model.GROUP, current.name)
    if meta.get("uid") and meta["uid"] != current.uid:
        raise Conflict.of(model.PLURAL, model.GROUP, current.name)
    new = from_k8s(model, body, current.namespace)
    obj = current
    before_spec = obj.spec
    if subresource == "status":
        obj.status = new.status
    else:
        obj.labels, obj.annotations = new.labels, new.annotations
        obj.owner_references, obj.finalizers = new.owner_references, new.finalizers
        old_status = obj.status
        apply_body(obj, body)
        if not obj.BODY_AT_TOP:
            obj.status = old_status
        defaults.apply(obj)
        if kind == "Service":
            from . import allocators

            allocators.keep_allocations(pg, current_spec=before_spec, obj=obj)
        validation.check(pg, obj, old_spec=before_spec)
        if obj.spec != before_spec and not obj.BODY_AT_TOP:
            obj.generation += 1
    if dry_run:
        return obj
    b = Batch(pg, actor)
    b.update(obj, message or f"{actor} updated {kind.lower()} {obj.key}")
    b.commit()
    return obj


PROTECTED_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def deletion_grace(obj: KubeObject, grace: int | None) -> int:
    if grace is not None:
        return max(0, int(grace))
    return int((obj.spec or {}).get("terminationGracePeriodSeconds", 30))


def do_delete(pg: Playground, kind: str, namespace: str, name: str, actor: str, propagation: str | None = None,
              grace: int | None = None, precondition_uid: str = "", precondition_rv: str = "",
              dry_run: bool = False, attempts: int = 3) -> tuple[KubeObject, bool]:
    """Delete as the apiserver does. Returns (object, gone): gone is False while it is terminating.

    A delete without a resourceVersion precondition does not fail because a controller wrote the object between
    our read and our write: like the apiserver's storage, it reads the object again and retries."""
    for attempt in range(attempts):
        try:
            return _delete(pg, kind, namespace, name, actor, propagation, grace, precondition_uid, precondition_rv,
                           dry_run)
        except Conflict:
            if precondition_rv or attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def _delete(pg: Playground, kind: str, namespace: str, name: str, actor: str, propagation: str | None,
            grace: int | None, precondition_uid: str, precondition_rv: str, dry_run: bool) -> tuple[KubeObject, bool]:
    model = model_for(kind)
    obj = get_object(pg, kind, namespace, name)
    if precondition_uid and precondition_uid != obj.uid:
        raise Conflict(
            f"Precondition failed: UID in precondition: {precondition_uid}, UID in object meta: {obj.uid}"
        )
    if precondition_rv and str(precondition_rv) != str(obj.resource_version):
        raise Conflict.of(model.PLURAL, model.GROUP, name)
    if kind == "Namespace" and name in PROTECTED_NAMESPACES:
        # The apiserver's NamespaceLifecycle admission refuses these, dry-run or not.
        raise Forbidden(f'namespaces "{name}" is forbidden: this namespace may not be deleted')
    if propagation not in (None, "", "Background", "Foreground", "Orphan"):
        raise Invalid("DeleteOptions", "", "", [cause("propagationPolicy", f'Unsupported value: "{propagation}"',
                                                    "FieldValueNotSupported")])
    if dry_run:
        return obj, True
    now = clock.now()
    b = Batch(pg, actor)
    verb = f"{actor} deleted {kind.lower()} {obj.key}"
    if obj.deletion_timestamp and kind != "Pod":
        return obj, False
    if kind == "Namespace":
        obj.deletion_timestamp = now
        obj.status = {**(obj.status or {}), "phase": "Terminating"}
        b.update(obj, f"{actor} asked to delete namespace {name}; the namespace controller empties it first")
        b.commit()
        return obj, False
    if propagation == "Orphan":
        for child in _dependents(pg, obj):
            child.owner_references = [r for r in child.owner_references if r.get("uid") != obj.uid]
            b.update(child, f"orphaned {child.KIND.lower()} {child.name}: its owner {obj.name} is deleted")
    if propagation == "Foreground" and _dependents(pg, obj):
        obj.deletion_timestamp = now
        obj.deletion_grace_period_seconds = 0
        if "foregroundDeletion" not in obj.finalizers:
            obj.finalizers = [*obj.finalizers, "foregroundDeletion"]
        b.update(obj, f"{verb} (foreground: dependents first)")
        b.commit()
        return obj, False
    if kind == "Pod" and obj.deletion_timestamp:
        # A second delete may only shorten the grace period.
        g = deletion_grace(obj, grace)
        if grace is None or obj.deletion_grace_period_seconds is not None and g >= obj.deletion_grace_period_seconds:
            return obj, False
    gone = stage_delete(b, obj, verb, grace)
    b.commit()
    return obj, gone


def _dependents(pg: Playground, owner: KubeObject) -> list[KubeObject]:
    out = []
    for model in KINDS.values():
        if model.KIND in ("Event", "Node", "Namespace"):
            continue
        for child in model.objects.filter(playground=pg, controller_uid=owner.uid):
            out.append(child)
    return out


def stage_delete(b: Batch, obj: KubeObject, message: str, grace: int | None = None,
                 node_gone: bool = False) -> bool:
    """Add a background deletion to a batch the way `do_delete` does it, for loops that delete many objects
    in one commit. Returns True when the object goes at once, False while it terminates: a scheduled pod
    waits for its kubelet (unless its node is gone, then nobody would ever finish it), finalizers wait for
    their controllers."""
    now = clock.now()
    if obj.KIND == "Pod" and not node_gone:
        g = deletion_grace(obj, grace)
        if obj.node_name and g > 0 and obj.phase not in ("Succeeded", "Failed"):
            obj.deletion_timestamp = now + dt.timedelta(seconds=g)
            obj.deletion_grace_period_seconds = g
            obj.requeue_at = now
            b.update(obj, f"{message}; the kubelet on {obj.node_name} stops it gracefully ({g}s)")
            return False
    if obj.finalizers:
        obj.deletion_timestamp = obj.deletion_timestamp or now
        obj.deletion_grace_period_seconds = 0
        b.update(obj, f"{message} (waiting for finalizers {', '.join(obj.finalizers)})")
        return False
    b.delete(obj, message)
    return True
